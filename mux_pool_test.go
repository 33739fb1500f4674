package pgpipe

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// muxHangGuard bounds the waits of these tests: only a hang trips it.
const muxHangGuard = time.Minute

// fakePool is a pool of size connections whose Config points at no server.
func fakePool(t *testing.T, size int) *muxPool {
	cn, err := NewConnector("host=/nonexistent-mux-test-dir port=1 user=x")
	if err != nil {
		t.Fatal(err)
	}
	return newMuxPool(cn.cfg, size)
}

// fakeMconn is a shared mconn with one request in flight and no owner
// goroutine: the test plays the owner.
func fakeMconn(t *testing.T, p *muxPool) *mconn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := newCore(p.cfg, a, a)
	c.broken = errors.New("test: no server") // close skips Terminate
	c.key.dial = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("test: no cancel connection")
	}
	m := &mconn{p: p, core: c, mode: muxShared, wake: make(chan struct{}, 1),
		sent: []*mreq{{done: make(chan struct{}, 1), queued: true}}}
	p.conns = append(p.conns, m)
	return m
}

func waitReserved(m *mconn) {
	for {
		m.mu.Lock()
		mode := m.mode
		m.mu.Unlock()
		if mode == muxReserved {
			return
		}
		runtime.Gosched()
	}
}

// A pin that reserved a busy shared connection must not wait forever when
// that connection is lost (backend killed, network error) before its owner
// hands it over.
func TestMuxPinReservedConnectionLost(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	done := make(chan error, 1)
	go func() {
		_, err := p.pin(context.Background()) // BeginTx(context.Background())
		done <- err
	}()
	waitReserved(m)
	m.lost(errors.New("test: the server closed the connection")) // what the owner does on a read error
	select {
	case <-done:
	case <-time.After(muxHangGuard):
		t.Fatal("pin still waits for a connection that was lost while reserved (handed never closed)")
	}
}

// The same when the pool is closed while the pin waits: the owner sees
// muxGone in next and calls lost.
func TestMuxPinReservedPoolClosed(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	done := make(chan error, 1)
	go func() {
		_, err := p.pin(context.Background())
		done <- err
	}()
	waitReserved(m)
	_ = p.close()
	if _, stop := m.next(); !stop { // the owner's next turn
		t.Fatal("owner did not stop")
	}
	select {
	case <-done:
	case <-time.After(muxHangGuard):
		t.Fatal("pin still waits after the pool was closed")
	}
}

// With room for another server connection, a pin must not wait for a busy
// shared one (a long statement of another caller) to drain: it opens one.
func TestMuxPinOpensWhenRoomInsteadOfWaitingForBusy(t *testing.T) {
	p := fakePool(t, 2)
	m := fakeMconn(t, p) // one shared connection, one statement in flight
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := p.pin(ctx)
		done <- err
	}()
	for {
		select {
		case <-done:
			return // it tried to open a connection (fails here: no server)
		default:
		}
		m.mu.Lock()
		mode := m.mode
		m.mu.Unlock()
		if mode == muxReserved {
			t.Fatal("pin reserved the busy connection (waits for its statement to end) while 1 of 2 connections is open")
		}
		runtime.Gosched()
	}
}

// waitBlockedIn waits until some goroutine's stack shows fn.
func waitBlockedIn(fn string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if strings.Contains(string(buf[:n]), fn) {
			return
		}
		runtime.Gosched()
	}
}

// A pin that gives up (its context ended) puts the reserved connection
// back into sharing; a caller that waited in route because every
// connection was reserved must be woken.
func TestMuxRouteWokenWhenTakeOverGivesUp(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	pctx, cancel := context.WithCancel(context.Background())
	pinDone := make(chan error, 1)
	go func() {
		_, err := p.pin(pctx) // BeginTx whose context ends while it waits
		pinDone <- err
	}()
	waitReserved(m)
	routed := make(chan error, 1)
	go func() {
		_, err := p.route(context.Background()) // db.Exec from another caller
		routed <- err
	}()
	waitBlockedIn("(*muxPool).wait")
	cancel()
	<-pinDone
	select {
	case err := <-routed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(muxHangGuard):
		t.Fatal("route still waits: the connection is shared again but nobody notified the pool")
	}
}

// Two written statements abandoned on one connection (two long queries
// whose contexts end): the second must get its CancelRequest too once the
// first one's cancel is over, or it runs to its end, holding the
// connection for every caller behind it.
func TestMuxSecondAbandonedStatementIsCancelled(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	r1 := m.sent[0]
	r2 := &mreq{done: make(chan struct{}, 1), queued: true}
	m.sent = append(m.sent, r2)
	if m.abandon(r1) != abandonSent || m.abandon(r2) != abandonSent {
		t.Fatal("not abandoned as sent")
	}
	m.mu.Lock()
	// The owner's turn: r1 is the one the server runs, its cancel goes out.
	m.maybeCancelLocked()
	m.mu.Unlock()
	// The cancel goroutine ends (here the dial fails); r1 then ends.
	for {
		m.mu.Lock()
		done := m.cancelDone
		m.mu.Unlock()
		if done {
			break
		}
		runtime.Gosched()
	}
	m.mu.Lock()
	m.sent = m.sent[1:] // r1's ReadyForQuery: r2 now runs on the server
	m.maybeCancelLocked()
	m.maybeCancelLocked()
	cancelling := m.cancelling
	m.mu.Unlock()
	if cancelling != r2 {
		t.Fatalf("the abandoned statement the server now runs is never cancelled (cancelling=%p, r2=%p)", cancelling, r2)
	}
}

// A database/sql connection reuses its request from statement to
// statement. One whose context ends after the owner took it from the
// pending list but before the owner claimed it was never written: the
// caller gets a plain context error and the request leaves the
// connection. Marked written by its previous statement, it stayed behind
// instead, unclaimed and unanswered, and every later statement on the
// connection waited behind it forever.
func TestMuxReusedRequestGivenUpBeforeItsWriteLeavesTheConnection(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	m.sent = nil
	s := &muxSession{p: p}
	first := s.request(context.Background(), "SELECT 1", nil, false)
	ownerTakes(t, m, first)
	if !m.claim(first) {
		t.Fatal("first statement not claimed")
	}
	m.finish(first, nil) // answered
	<-first.done

	second := s.request(context.Background(), "SELECT 2", nil, false)
	if second != first {
		t.Fatal("the request is not reused: the test no longer covers the case")
	}
	ownerTakes(t, m, second)
	if got := m.abandon(second); got != abandonUnsent {
		t.Errorf("abandon before the write says %d, want abandonUnsent (%d): the caller is told it may have run", got, abandonUnsent)
	}
	if m.claim(second) {
		t.Error("the owner writes a statement its caller gave up on")
	}
	m.mu.Lock()
	left := len(m.sent)
	m.mu.Unlock()
	if left != 0 {
		t.Errorf("%d requests left on the connection: the statements behind them wait forever", left)
	}
}

// The owner may still hold a request in the batch it is writing after the
// request's caller gave up on it unsent and reused it for its next
// statement. The owner's claim must look at the connection's lists, which
// the caller changes under the lock, before the request's own fields,
// which the caller now rewrites without it (go test -race).
func TestMuxClaimOfAReusedRequestReadsNothingTheCallerRewrites(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	m.sent = nil
	s := &muxSession{p: p}
	r := s.request(context.Background(), "SELECT 1", nil, false)
	ownerTakes(t, m, r)
	if m.abandon(r) != abandonUnsent {
		t.Fatal("not dropped unsent")
	}
	claimed := make(chan bool, 1)
	go func() { claimed <- m.claim(r) }() // the owner, still on its batch
	s.request(context.Background(), "SELECT 2", nil, false)
	if <-claimed {
		t.Error("a request its caller gave up on was claimed")
	}
}

// A connection that sat idle is looked at before the owner writes its
// batch; when the server ended the session meanwhile, the batch's
// statements were never written and go elsewhere. A request of that batch
// whose caller gave up on it unsent, and reuses it for its next
// statement, is no longer the owner's: it must not be told anything.
func TestMuxFailedIdleCheckTellsNothingToARequestItsCallerGaveUpOn(t *testing.T) {
	p := fakePool(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	server.Close() // the server ended the session while it sat idle
	c := newCore(p.cfg, client, client)
	for !c.pendingInput() { // its end of the session has arrived
		runtime.Gosched()
	}
	c.lastUsed = time.Now().Add(-time.Hour)
	m := &mconn{p: p, core: c, mode: muxShared, wake: make(chan struct{}, 1)}
	p.conns = append(p.conns, m)
	s := &muxSession{p: p}
	r := s.request(context.Background(), "SELECT 1", nil, false)
	batch := ownerTakes(t, m, r)
	if m.abandon(r) != abandonUnsent {
		t.Fatal("not dropped unsent")
	}
	s.request(context.Background(), "SELECT 2", nil, false) // its next statement
	if err := m.write(batch); err == nil {
		t.Fatal("the idle check passed on a connection the server closed")
	}
	select {
	case <-r.done:
		t.Errorf("the reused request was told its statement ended (err %v)", r.err)
	default:
	}
}

// liveMconn is a shared mconn whose owner runs (m.run) over a pipe to a
// server that reads everything and answers nothing: a statement written
// there runs for ever.
func liveMconn(t *testing.T, p *muxPool) *mconn {
	a, b := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	c := newCore(p.cfg, a, a)
	c.key.dial = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("test: no cancel connection")
	}
	m := &mconn{p: p, core: c, mode: muxShared, wake: make(chan struct{}, 1)}
	p.mu.Lock()
	p.conns = append(p.conns, m)
	p.mu.Unlock()
	t.Cleanup(func() { a.Close(); b.Close() })
	go m.run()
	return m
}

// A caller whose context ends after its statement was written returns at
// once (*SharedCancelError). It must not wait for other callers'
// statements: here the owner learns the parameter types of a later
// statement (a []byte argument), and first reads the replies to the ones
// written before it, among them the long statement of the caller giving
// up. That caller waited for the owner's encoding lock meanwhile, held
// for the whole wait: until its own statement ended, whatever its context.
func TestMuxCallerGivingUpDoesNotWaitWhileTheOwnerLearnsTypes(t *testing.T) {
	p := fakePool(t, 1)
	liveMconn(t, p)
	long := &conn{mux: &muxSession{p: p}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gaveUp := make(chan error, 1)
	go func() {
		_, err := long.runShared(ctx, "SELECT pg_sleep(3600)", nil, false)
		gaveUp <- err
	}()
	waitBlockedIn("(*mconn).readOneInterruptible") // written; the owner waits for its reply
	other := &conn{mux: &muxSession{p: p}}
	go func() {
		args := []driver.NamedValue{{Ordinal: 1, Value: []byte("x")}}
		_, _ = other.runShared(context.Background(), "INSERT INTO t VALUES ($1)", args, false)
	}()
	waitBlockedIn("(*mconn).learn")
	cancel()
	select {
	case err := <-gaveUp:
		var sce *SharedCancelError
		if !errors.As(err, &sce) {
			t.Fatalf("got %v, want a *SharedCancelError", err)
		}
	case <-time.After(muxHangGuard):
		t.Fatal("the caller whose context ended still waits for its statement to end (the owner holds encMu while it learns another statement's types)")
	}
}

// A Config's CancelGrace of 0 (cancel_grace=0, or a Config built by hand)
// means the default grace, as on a connection of its own. The shared
// connection's CancelRequest for an abandoned statement was dialled with
// a context that had already expired, so it never went out and the
// statement ran to its end, holding the connection.
func TestMuxCancelWithZeroGraceIsSent(t *testing.T) {
	p := fakePool(t, 1)
	p.cfg.CancelGrace = 0
	m := fakeMconn(t, p)
	dialed := make(chan error, 1)
	m.core.key.dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
		dialed <- ctx.Err()
		return nil, errors.New("test: no cancel connection")
	}
	if m.abandon(m.sent[0]) != abandonSent {
		t.Fatal("not abandoned as sent")
	}
	m.mu.Lock()
	m.maybeCancelLocked() // the owner's turn: the cancel goes out
	m.mu.Unlock()
	if err := <-dialed; err != nil {
		t.Fatalf("the cancel connection was dialled with a context already ended (%v): no CancelRequest can go out", err)
	}
}

// waitParkedOnMutex waits until a goroutine whose stack shows fn is parked
// on a sync.Mutex (queued on it, in arrival order).
func waitParkedOnMutex(fn string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "[sync.Mutex.Lock") && strings.Contains(g, fn) {
				return
			}
		}
		runtime.Gosched()
	}
}

// A pin reserved a shared connection; its owner handed it over (and
// stopped), and the pool was closed before the pin took it. Nobody owns
// the connection then: it must be closed and forgotten, not left open
// with the server for the life of the process.
func TestMuxPoolClosedBetweenHandOverAndPinIsNotLeaked(t *testing.T) {
	p := fakePool(t, 1)
	m := fakeMconn(t, p)
	m.sent = nil
	pinned := make(chan error, 1)
	go func() {
		_, err := p.pin(context.Background())
		pinned <- err
	}()
	waitReserved(m)
	p.mu.Lock() // the pin and Close queue up behind the test, Close first
	closed := make(chan struct{})
	go func() {
		_ = p.close()
		close(closed)
	}()
	waitParkedOnMutex("(*muxPool).close")
	if _, stop := m.next(); !stop { // the owner hands the connection over
		p.mu.Unlock()
		t.Fatal("owner did not stop")
	}
	waitParkedOnMutex("(*muxPool).takeOver")
	p.mu.Unlock()
	<-closed
	if err := <-pinned; err == nil {
		t.Fatal("pin succeeded on a closed pool") // not this test's point, but say so
	}
	p.mu.Lock()
	open := len(p.conns)
	p.mu.Unlock()
	if open != 0 {
		t.Errorf("%d server connection(s) left open after the pool was closed, owned by nobody", open)
	}
}

// A CancelRequest for an abandoned statement may land on whatever the
// server runs next, so the statements on the server meanwhile are marked
// exposed and run again when it met them. Learning a statement's
// parameter types is one of them: the server's Parse met the cancel
// (57014), and that error went to the caller of the statement, which
// never gave up: another caller's cancel reached it.
func TestMuxCancelMeetingATypeLookupIsNotTheCallersError(t *testing.T) {
	p := fakePool(t, 1)
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	m := &mconn{p: p, core: newCore(p.cfg, a, a), mode: muxShared, wake: make(chan struct{}, 1)}
	m.core.lastUsed = time.Now()
	p.conns = append(p.conns, m)
	// An abandoned statement ended while its CancelRequest is still on
	// its way to the server.
	m.cancelling, m.cancelSent = &mreq{done: make(chan struct{}, 1)}, true
	s := &muxSession{p: p}
	r := s.request(context.Background(), "INSERT INTO t VALUES ($1)", []driver.NamedValue{{Ordinal: 1, Value: []byte("x")}}, false)
	batch := ownerTakes(t, m, r)
	wrote := make(chan error, 1)
	go func() { wrote <- m.write(batch) }()
	be := pgproto3.NewBackend(b, b)
	for _, want := range []string{"*pgproto3.Parse", "*pgproto3.Describe", "*pgproto3.Flush"} {
		msg, err := be.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", msg); got != want {
			t.Fatalf("server got %s, want %s", got, want)
		}
	}
	be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", Code: "57014", Message: "canceling statement due to user request"})
	if err := be.Flush(); err != nil {
		t.Fatal(err)
	}
	if msg, err := be.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := msg.(*pgproto3.Sync); !ok {
		t.Fatalf("server got %T, want the Sync ending the lookup", msg)
	}
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if err := be.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
		t.Errorf("the statement ended with %v: another caller's cancel reached it", r.err)
	default:
	}
}

// Closing the pool ends what its shared connections run (lost, with a
// CancelRequest for the server). An owner waiting, to learn a later
// statement's parameter types, for the replies to a long statement
// written before it did not notice: its callers waited for the long
// statement to end.
func TestMuxPoolCloseEndsAnOwnerLearningTypes(t *testing.T) {
	p := fakePool(t, 1)
	liveMconn(t, p)
	long := &conn{mux: &muxSession{p: p}}
	ended := make(chan error, 1)
	go func() {
		_, err := long.runShared(context.Background(), "SELECT pg_sleep(3600)", nil, false)
		ended <- err
	}()
	waitBlockedIn("(*mconn).readOneInterruptible")
	other := &conn{mux: &muxSession{p: p}}
	go func() {
		args := []driver.NamedValue{{Ordinal: 1, Value: []byte("x")}}
		_, _ = other.runShared(context.Background(), "INSERT INTO t VALUES ($1)", args, false)
	}()
	waitBlockedIn("(*mconn).learn")
	_ = p.close()
	select {
	case err := <-ended:
		if !errors.Is(err, errPoolClosed) {
			t.Errorf("got %v, want the pool's closing", err)
		}
	case <-time.After(muxHangGuard):
		t.Fatal("the pool was closed, and a caller still waits for its statement on a shared connection")
	}
}

// ownerTakes submits r to m and plays the owner's turn that takes it from
// the pending list: the batch it returns is r alone.
func ownerTakes(t *testing.T, m *mconn, r *mreq) []*mreq {
	t.Helper()
	if !m.submit(r) {
		t.Fatal("submit refused")
	}
	batch, stop := m.next()
	if stop || len(batch) != 1 || batch[0] != r {
		t.Fatalf("owner took %v (stop %v), want the request alone", batch, stop)
	}
	return batch
}

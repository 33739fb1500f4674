package pgpipe

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// cancelDialer dials the scripted server: the first connection is the
// client's, every later one a cancel connection, which hooks may hold.
type cancelDialer struct {
	mu    sync.Mutex
	conns int
	// dialing is closed when the first cancel connection is being opened;
	// the dial then waits for openCancel.
	dialing, openCancel chan struct{}
	// holdRead, when set, holds the cancel connection's reads after the
	// CancelRequest was written (its wait for the server to close it)
	// until closed; holdProbe holds the reads before it (the wait for the
	// server's answer to the probe).
	holdRead, holdProbe chan struct{}
	// cancelDone is closed when the cancel connection is closed; wrote
	// records whether a CancelRequest was written on it, firstWrite is
	// closed at its first write.
	cancelDone chan struct{}
	wrote      bool
	firstWrite chan struct{}
	// order records, in sequence, "cancel finished" and "client wrote".
	order []string
}

func newCancelDialer() *cancelDialer {
	return &cancelDialer{dialing: make(chan struct{}), openCancel: make(chan struct{}), cancelDone: make(chan struct{}), firstWrite: make(chan struct{})}
}

func (d *cancelDialer) note(s string) {
	d.mu.Lock()
	d.order = append(d.order, s)
	d.mu.Unlock()
}

func (d *cancelDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.conns++
	first := d.conns == 1
	d.mu.Unlock()
	if first {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return &clientConn{Conn: c, d: d}, err
	}
	close(d.dialing)
	<-d.openCancel
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	return &cancelConn{Conn: c, d: d}, err
}

type clientConn struct {
	net.Conn
	d *cancelDialer
}

func (c *clientConn) Write(b []byte) (int, error) {
	c.d.note("client wrote")
	return c.Conn.Write(b)
}

type cancelConn struct {
	net.Conn
	d               *cancelDialer
	once, writeOnce sync.Once
}

func (c *cancelConn) Write(b []byte) (int, error) {
	c.d.mu.Lock()
	c.d.wrote = c.d.wrote || isCancelRequest(b)
	c.d.mu.Unlock()
	c.writeOnce.Do(func() { close(c.d.firstWrite) })
	return c.Conn.Write(b)
}

// isCancelRequest reports whether b is a CancelRequest packet.
func isCancelRequest(b []byte) bool {
	return len(b) >= 8 && binary.BigEndian.Uint32(b[4:8]) == 80877102
}

func (c *cancelConn) Read(b []byte) (int, error) {
	c.d.mu.Lock()
	hold := c.d.holdProbe
	if c.d.wrote {
		hold = c.d.holdRead
	}
	c.d.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return c.Conn.Read(b)
}

func (c *cancelConn) Close() error {
	c.once.Do(func() {
		c.d.note("cancel finished")
		close(c.d.cancelDone)
	})
	return c.Conn.Close()
}

// cancelDialerConn opens one connection to s through d.
func cancelDialerConn(t *testing.T, s *pgtest.Server, d *cancelDialer) *sql.Conn {
	t.Helper()
	return scriptConnWith(t, s, func(cfg *Config) { cfg.DialFunc = d.dial })
}

// flightReceived expects an unnamed execution's flight and closes ch once
// the server has it.
func flightReceived(ch chan struct{}) []pgtest.Step {
	return []pgtest.Step{
		pgtest.ExpectFlight(&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}),
		pgtest.ExpectFunc("Sync", func(m pgproto3.FrontendMessage) error {
			if _, ok := m.(*pgproto3.Sync); !ok {
				return fmt.Errorf("got %T, want Sync", m)
			}
			close(ch)
			return nil
		}),
	}
}

// execAsync runs an ExecContext on conn in a goroutine.
func execAsync(ctx context.Context, conn *sql.Conn, query string, args ...any) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := conn.ExecContext(ctx, query, args...)
		ch <- err
	}()
	return ch
}

// awaitErr returns what ch delivers; the generous bound only turns a hang
// into a failure, it times nothing.
func awaitErr(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s never returned", what)
		return nil
	}
}

func TestQueryDoneBeforeTheCancelConnectsReturnsAtOnceAndSendsNoCancel(t *testing.T) {
	serverMayAnswer, received := make(chan struct{}), make(chan struct{})
	d := newCancelDialer()
	s := script(t, append(append(flightReceived(received),
		pgtest.Pause(serverMayAnswer),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
	), oneQuery()...)...)
	conn := cancelDialerConn(t, s, d)
	ctx, cancel := context.WithCancel(context.Background())
	done := execAsync(ctx, conn, "SELECT pg_sleep($1)", 0.004)
	<-received
	cancel()
	<-d.dialing // the context ended and the cancel connection is being opened
	close(serverMayAnswer)
	// The query finished on the server first: its result comes back while
	// the cancel connection is still being opened.
	if err := awaitErr(t, done, "the query"); err != nil {
		t.Fatalf("the query that completed returned %v", err)
	}
	close(d.openCancel)
	<-d.cancelDone
	if d.wrote || len(s.CancelRequests()) != 0 {
		t.Fatal("a CancelRequest was sent for a query that had completed")
	}
	mustQueryOne(t, conn)
}

func TestQueryDoneAfterItsCancelWasSentReturnsAtOnceAndTheNextWaitsForTheCancel(t *testing.T) {
	holdRead := make(chan struct{})
	d := newCancelDialer()
	d.holdRead = holdRead
	close(d.openCancel)
	received := make(chan struct{})
	s := script(t, append(append(flightReceived(received),
		pgtest.WaitForCancel(),
		// The query had finished when the signal came: success.
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
	), oneQuery()...)...)
	conn := cancelDialerConn(t, s, d)
	ctx, cancel := context.WithCancel(context.Background())
	done := execAsync(ctx, conn, "SELECT pg_sleep($1)", 0.004)
	<-received
	cancel()
	// The CancelRequest is written, and its connection's close is held:
	// the query's result must not wait for it.
	if err := awaitErr(t, done, "the query"); err != nil {
		t.Fatalf("the query that completed returned %v", err)
	}
	next := make(chan error, 1)
	go func() {
		var n int
		next <- conn.QueryRowContext(context.Background(), "SELECT $1::int", 1).Scan(&n)
	}()
	close(holdRead)
	if err := awaitErr(t, next, "the next query"); err != nil {
		t.Fatalf("the next query: %v", err)
	}
	d.mu.Lock()
	order := d.order
	d.mu.Unlock()
	// The first client write is the startup; the second the query; the
	// next query's must come after the cancel finished.
	for i, ev := range order {
		if ev == "cancel finished" {
			break
		}
		if ev == "client wrote" && countBefore(order[:i], "client wrote") >= 2 {
			t.Fatalf("the next query was written before the cancel finished: %v", order)
		}
	}
	if n := len(s.CancelRequests()); n != 1 {
		t.Fatalf("%d CancelRequests, want 1", n)
	}
}

func countBefore(evs []string, ev string) int {
	n := 0
	for _, e := range evs {
		if e == ev {
			n++
		}
	}
	return n
}

func TestQueryDoneWhileTheServerStartsItsCancelConnectionSendsNoCancelAndTheNextQueryDoesNotWait(t *testing.T) {
	serverMayAnswer, received, holdProbe := make(chan struct{}), make(chan struct{}), make(chan struct{})
	d := newCancelDialer()
	d.holdProbe = holdProbe
	close(d.openCancel)
	s := script(t, append(append(flightReceived(received),
		pgtest.Pause(serverMayAnswer),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
	), oneQuery()...)...)
	conn := cancelDialerConn(t, s, d)
	t.Cleanup(func() { close(holdProbe) }) // runs before the connection's cleanup
	ctx, cancel := context.WithCancel(context.Background())
	done := execAsync(ctx, conn, "SELECT pg_sleep($1)", 0.004)
	<-received
	cancel()
	// The cancel connection is open and has sent its first packet; the
	// server has not answered it yet (PostgreSQL is still starting the
	// process that serves it) when the query finishes.
	<-d.firstWrite
	close(serverMayAnswer)
	if err := awaitErr(t, done, "the query"); err != nil {
		t.Fatalf("the query that completed returned %v", err)
	}
	d.mu.Lock()
	wrote := d.wrote
	d.mu.Unlock()
	if wrote {
		t.Fatal("a CancelRequest was written before the server was ready to read it, for a query that then completed")
	}
	// The next query runs while the cancel connection still waits for
	// the server's answer: nothing was sent that it must wait for.
	next := make(chan error, 1)
	go func() {
		var n int
		next <- conn.QueryRowContext(context.Background(), "SELECT $1::int", 1).Scan(&n)
	}()
	if err := awaitErr(t, next, "the next query"); err != nil {
		t.Fatalf("the next query: %v", err)
	}
}

// tlsOfferDialer dials the scripted server; its cancel connections answer
// an SSLRequest with 'S' themselves, as a server with TLS on does, while
// the session itself is plaintext.
type tlsOfferDialer struct {
	mu            sync.Mutex
	dials, probes int
}

func (d *tlsOfferDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	d.mu.Lock()
	d.dials++
	first := d.dials == 1
	d.mu.Unlock()
	if first || err != nil {
		return c, err
	}
	return &tlsOfferConn{Conn: c, d: d}, nil
}

type tlsOfferConn struct {
	net.Conn
	d     *tlsOfferDialer
	offer bool
}

func (c *tlsOfferConn) Write(b []byte) (int, error) {
	if len(b) == 8 && binary.BigEndian.Uint32(b[4:8]) == 80877103 { // SSLRequest
		c.d.mu.Lock()
		c.d.probes++
		c.d.mu.Unlock()
		c.offer = true
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *tlsOfferConn) Read(b []byte) (int, error) {
	if c.offer {
		c.offer = false
		b[0] = 'S'
		return 1, nil
	}
	return c.Conn.Read(b)
}

func TestCancelOfAPlaintextSessionToAServerOfferingTLSGoesOnANewConnectionWithoutProbing(t *testing.T) {
	canceled := []pgtest.Step{
		pgtest.ExpectFlight(flightExec...),
		pgtest.WaitForCancel(),
		pgtest.Send(pgtest.ErrorResponse("57014", "canceling statement due to user request"), pgtest.ReadyForQuery('I')),
	}
	s := script(t, append(append(canceled, canceled...), oneQuery()...)...)
	d := &tlsOfferDialer{}
	conn := scriptConnWith(t, s, func(cfg *Config) { cfg.DialFunc = d.dial })
	// Another test's server may get this address later: it must be probed.
	t.Cleanup(func() { probeRefused.Clear() })
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := conn.ExecContext(ctx, "SELECT pg_sleep($1)", 10)
		cancel()
		var pgErr *Error
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pgErr) || pgErr.Code != "57014" {
			t.Fatalf("query %d: err = %v; want both context.DeadlineExceeded and SQLSTATE 57014", i+1, err)
		}
	}
	mustQueryOne(t, conn)
	if n := len(s.CancelRequests()); n != 2 {
		t.Fatalf("%d CancelRequests, want 2", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// The session, the first cancel's probe and its request, the second
	// cancel's request alone.
	if d.dials != 4 || d.probes != 1 {
		t.Fatalf("%d dials and %d probes; want 4 dials (session, probe, two requests) and 1 probe", d.dials, d.probes)
	}
}

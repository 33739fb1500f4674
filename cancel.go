package pgpipe

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// cancelKey is what a CancelRequest needs. It is fixed at connect time and
// read by the cancel goroutine only.
type cancelKey struct {
	network, addr string
	pid           uint32
	secret        []byte
	tls           *tls.Config // nil when the session is plaintext
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ctxWatch ties a running command to its context (PostgreSQL protocol,
// "Canceling Requests in Progress"). When the context ends, a goroutine
// opens a new connection for a CancelRequest and starts the grace period;
// the command's own goroutine keeps reading, so the server's answer (an
// error with SQLSTATE 57014, then ReadyForQuery) leaves the connection
// ready for the next command. If the grace period ends first, the
// connection's deadline is set to the past, the blocked read or write
// returns, and the connection is closed.
//
// A command that completes while its cancel is still on the way returns at
// once, and the cancel never reaches a later command:
//
//   - the CancelRequest is written only once the cancel connection is
//     open, and only if the command is still running then (stop not yet
//     called): a command that completed meanwhile sends none;
//   - a CancelRequest that was written is finished (the server closed the
//     cancel connection, so the backend has been signalled, and a signal
//     that reaches an idle backend is dropped there) before the connection
//     writes anything again: settle, called by every entry point before
//     it sends, waits for it. stop hands the wait over instead of waiting.
//     If the cancel's outcome is unknown (the cancel connection failed
//     after the request was written), settle closes the connection.
type ctxWatch struct {
	c      *core
	ctx    context.Context
	stopFn func() bool
	// pending is the cancel goroutine of a command that already ended,
	// closed when it finished; only the connection's goroutine uses it.
	pending chan struct{}

	// mu guards the fields below. Nothing blocks while it is held; expire
	// only sets a deadline.
	mu      sync.Mutex
	gen     uint64 // counts the watches started
	active  bool
	fired   bool
	sent    bool // the CancelRequest of the current watch was (being) written
	unsure  bool // a CancelRequest was written and its connection failed
	expired bool
	done    chan struct{} // closed when the cancel goroutine has finished
	timer   *time.Timer
}

// start watches ctx until stop. A context that can never end costs nothing.
func (w *ctxWatch) start(ctx context.Context) {
	w.settle()
	if ctx.Done() == nil {
		return
	}
	w.mu.Lock()
	w.gen++
	gen := w.gen
	w.ctx, w.active, w.fired, w.expired = ctx, true, false, false
	w.mu.Unlock()
	w.stopFn = context.AfterFunc(ctx, func() { w.fire(gen) })
}

// fire runs on its own goroutine (context.AfterFunc's) when the watched
// context ends. It owns nothing but the cancel connection it opens; it
// stops when the server closes that connection or the grace period ends.
// For a pipeline it also writes, beside the cancel, the Sync that ends the
// pipeline on the connection itself (pipeMode.inject, under its writeMu).
// gen identifies the watch that registered it: a fire that starts after
// its command ended, even after the next command began, does nothing, and
// one whose command ends before the cancel connection is open sends no
// CancelRequest (see needed), so a cancel can never reach a later command.
func (w *ctxWatch) fire(gen uint64) {
	w.mu.Lock()
	if !w.active || w.gen != gen {
		w.mu.Unlock()
		return
	}
	grace := w.c.cfg.CancelGrace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	w.fired = true
	done := make(chan struct{})
	w.done = done
	w.timer = time.AfterFunc(grace, w.expire)
	w.mu.Unlock()
	defer close(done)
	injected := make(chan struct{})
	if w.c.pipe.active() {
		// Beside the cancel, not before it: a pipeline flush may hold
		// writeMu, blocked on a server that reads nothing until the cancel
		// stops the running command.
		go func() {
			defer close(injected)
			w.c.pipe.inject(func() bool { return w.current(gen) })
		}()
	} else {
		close(injected)
	}
	sent, err := w.c.key.sendCancel(grace, func() bool { return w.needed(gen) })
	if sent && err != nil {
		w.mu.Lock()
		w.unsure = true
		w.mu.Unlock()
	}
	<-injected
}

// current reports whether watch gen is still the running one.
func (w *ctxWatch) current(gen uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.active && w.gen == gen
}

// needed reports, on the cancel goroutine, whether the command of watch gen
// still runs, and if so records that its CancelRequest is being written.
func (w *ctxWatch) needed(gen uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.active || w.gen != gen {
		return false
	}
	w.sent = true
	return true
}

// clearReadDeadline clears a read deadline the connection's goroutine set
// to interrupt its own read (flushReading, waitNotification), unless the
// grace period ran out: then the connection stays doomed. Checked and set
// under mu, so an expire that runs meanwhile is never undone.
func (w *ctxWatch) clearReadDeadline() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired {
		_ = w.c.netConn.SetDeadline(time.Now())
		return
	}
	_ = w.c.netConn.SetReadDeadline(time.Time{})
}

// expire ends the grace period: the blocked read or write returns with a
// timeout and the connection is given up.
func (w *ctxWatch) expire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active {
		w.expired = true
		_ = w.c.netConn.SetDeadline(time.Now())
	}
}

// stop ends the watch. It does not wait for a cancel under way: a
// CancelRequest not yet written is now never written, and one already
// written is left for settle to wait for before the connection's next
// write. If the grace period ran out, the connection is broken.
func (w *ctxWatch) stop() {
	if w.stopFn == nil {
		return
	}
	w.stopFn()
	w.stopFn = nil
	w.mu.Lock()
	w.active = false
	sent, expired, done, timer := w.sent, w.expired, w.done, w.timer
	w.done, w.timer, w.sent = nil, nil, false
	w.ctx, w.fired = nil, false
	w.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	if sent {
		w.pending = done
	}
	if expired && w.c.broken == nil {
		// The deadline was set just as the command finished: the
		// connection cannot be trusted with the next one.
		w.c.fail(&ConnError{Op: "finishing a canceled command", Err: errors.New("the cancel grace period ended")})
	}
}

// settle waits, on the connection's goroutine, until a CancelRequest
// written for a command that has since ended is finished, so that it
// cannot cancel the next command. When the cancel connection failed
// after the request was written, nobody knows when the backend will be
// signalled: the connection is closed.
func (w *ctxWatch) settle() {
	if w.pending == nil {
		return
	}
	<-w.pending
	w.pending = nil
	w.mu.Lock()
	unsure := w.unsure
	w.unsure = false
	w.mu.Unlock()
	if unsure && w.c.broken == nil {
		w.c.fail(&ConnError{Op: "canceling a command", Err: errors.New("the cancel request's connection failed after the request was written: it might still cancel a later command")})
	}
}

// isExpired reports whether the grace period ran out.
func (w *ctxWatch) isExpired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired
}

// err returns the error to report when the watched context has ended, or
// nil while it has not.
func (w *ctxWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fired || w.ctx == nil {
		return nil
	}
	return &CancelError{Ctx: w.ctx.Err(), Closed: w.expired}
}

// wrap turns the server's "canceling statement due to user request"
// (57014) into a *CancelError when the cancel was ours.
func (w *ctxWatch) wrap(e *Error) error {
	if e.Code != "57014" {
		return e
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.fired || w.ctx == nil {
		return e
	}
	return &CancelError{Ctx: w.ctx.Err(), Server: e}
}

// sendCancel opens a new connection to the same server address, over TLS
// when the session uses TLS, and, if needed still says so once it is open,
// sends the CancelRequest and waits for the server to close the
// connection: by then the backend has been signalled. sent reports that
// the request was (perhaps partly) written.
func (k *cancelKey) sendCancel(timeout time.Duration, needed func() bool) (sent bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := k.dial(ctx, k.network, k.addr)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	if k.tls != nil && k.network != "unix" {
		conn, err = startTLS(ctx, conn, k.tls)
		if err != nil {
			return false, err
		}
		defer conn.Close()
	}
	msg, err := (&pgproto3.CancelRequest{ProcessID: k.pid, SecretKey: k.secret}).Encode(nil)
	if err != nil {
		return false, err
	}
	if !needed() {
		return false, nil
	}
	if _, err := conn.Write(msg); err != nil {
		return true, err
	}
	_, err = io.Copy(io.Discard, conn)
	return true, err
}

// startTLS asks the server for TLS on conn (SSLRequest) and performs the
// handshake. errNoTLS means the server declined.
func startTLS(ctx context.Context, conn net.Conn, cfg *tls.Config) (net.Conn, error) {
	req, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	// Read exactly one byte: anything the server (or someone in between)
	// sent after it must go through TLS, never be taken as plaintext.
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return nil, err
	}
	switch b[0] {
	case 'S':
	case 'N':
		return nil, errNoTLS
	default:
		return nil, errProtocol("unexpected reply to SSLRequest")
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

var errNoTLS = errors.New("the server does not support TLS")

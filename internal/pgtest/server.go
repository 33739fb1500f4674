package pgtest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// DefaultStepTimeout bounds each step when [Options.StepTimeout] is zero.
const DefaultStepTimeout = 5 * time.Second

// Options configures a [Server] started with [StartWithOptions].
type Options struct {
	// StepTimeout bounds every step: a step that has not finished this long
	// after it started fails the script. It also bounds the wait for the
	// client to connect and to send its first packet. Zero means
	// [DefaultStepTimeout].
	StepTimeout time.Duration
}

// Server is a scripted PostgreSQL backend listening on 127.0.0.1.
//
// It plays its steps against the first connection that does not start with
// a CancelRequest (the client), one step after the other, in one goroutine
// of its own. A connection opened after the client that starts with
// an SSLRequest is answered 'N' (no TLS), and its next packet decides what
// it is, so a CancelRequest sent after a declined SSLRequest is recorded
// too. A first connection whose first packet is malformed, cut short
// or never comes is the client too, and the first step reports what went
// wrong. Connections that start with a CancelRequest are recorded (see
// [Server.CancelRequests]) and closed without a reply, as PostgreSQL does.
// Any further non-cancel connection is refused with a FATAL ErrorResponse
// (SQLSTATE 53300) and closed: a script serves exactly one client.
//
// When a step fails, the script ends and the server closes the client
// connection, so the client sees EOF instead of waiting for a reply that
// will never come. When every step has run, the server keeps the client
// connection open (reading and discarding whatever arrives) until the client
// closes it or [Server.Close] is called, so the client sees no surprise EOF;
// a script that should end the connection says so with [CloseConn].
//
// The server never calls into package testing: its outcome is reported
// through [Server.Done], [Server.Err] and [Server.Wait], which the test
// goroutine checks. All methods are safe for concurrent use.
type Server struct {
	ln      net.Listener
	steps   []Step
	timeout time.Duration

	done     chan struct{}  // closed when the script ends
	closing  chan struct{}  // closed by Close
	clientc  chan *wire     // the client connection, handed to the script goroutine; capacity 1
	cancelc  chan struct{}  // nudged (non-blocking) when a CancelRequest is recorded; capacity 1
	wg       sync.WaitGroup // every goroutine the server starts; Close waits for it
	closeOne sync.Once
	closeErr error

	// mu guards the fields below. Nothing blocks while holding it: no I/O,
	// no channel operations that can wait.
	mu             sync.Mutex
	conns          map[net.Conn]struct{} // open connections, all closed by Close
	closed         bool                  // Close has begun; no new connections are tracked
	claimed        bool                  // a client connection was handed to the script
	cancels        []pgproto3.CancelRequest
	cancelsPending int // CancelRequests not yet consumed by WaitForCancel
	params         map[string]string
	current        int // index of the running step; -1 while waiting for the client
	err            error
}

// Start starts a [Server] that plays steps with [DefaultStepTimeout]. See
// [StartWithOptions].
func Start(steps ...Step) (*Server, error) {
	return StartWithOptions(Options{}, steps...)
}

// StartWithOptions listens on 127.0.0.1 on a free port and starts the
// goroutines that accept connections and play steps against the client.
//
// It fails if a step was built from invalid arguments (for example
// Expect(nil)) or if it cannot listen. On success the caller owns the
// server and must call [Server.Close] (typically with t.Cleanup); Close
// stops every goroutine the server started.
func StartWithOptions(opts Options, steps ...Step) (*Server, error) {
	for i, st := range steps {
		if st == nil {
			return nil, fmt.Errorf("pgtest: step %d is nil", i)
		}
		if bad, ok := st.(invalidStep); ok {
			return nil, fmt.Errorf("pgtest: step %d %s: %w", i, bad.desc, bad.err)
		}
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = DefaultStepTimeout
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pgtest: listen: %w", err)
	}
	s := &Server{
		ln:      ln,
		steps:   append([]Step(nil), steps...),
		timeout: opts.StepTimeout,
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		clientc: make(chan *wire, 1),
		cancelc: make(chan struct{}, 1),
		conns:   make(map[net.Conn]struct{}),
		current: -1,
	}
	// Both goroutines are owned by s and stopped by Close: acceptLoop ends
	// when the listener closes, play when the script ends and its
	// connection is closed. play reports through s.err and s.done.
	s.wg.Add(2)
	go s.acceptLoop()
	go s.play()
	return s, nil
}

// Addr returns the listening address as "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns the listening host, "127.0.0.1".
func (s *Server) Host() string { return s.tcpAddr().IP.String() }

// Port returns the listening TCP port.
func (s *Server) Port() uint16 { return uint16(s.tcpAddr().Port) }

func (s *Server) tcpAddr() *net.TCPAddr { return s.ln.Addr().(*net.TCPAddr) }

// Done returns a channel that is closed when the script has ended: every
// step ran, a step failed, or [Server.Close] was called.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns nil while the script runs and after it ran as scripted.
// Otherwise it returns an error starting "pgtest: step N DESC: " (N is the
// index of the failing step in the list given to Start, DESC names the step,
// as in "Expect(Bind)") followed by what was expected and what came: the
// message type received, or the fields that differ.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Wait waits until the script has ended and returns [Server.Err]. If the
// script has not ended after timeout, Wait returns an error naming the step
// it is stuck at; the script keeps running (Close stops it).
func (s *Server) Wait(timeout time.Duration) error {
	select {
	case <-s.done:
		return s.Err() // even with timeout <= 0
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.done:
		return s.Err()
	case <-t.C:
	}
	s.mu.Lock()
	i := s.current
	s.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("pgtest: script not finished after %v: still waiting for a client connection", timeout)
	}
	return fmt.Errorf("pgtest: script not finished after %v: still at step %d %s", timeout, i, s.steps[i].describe())
}

// Close stops listening, closes every connection, ends the script if it is
// still running (Err then reports the step it was at) and waits for the
// server's goroutines to exit. It returns the error from closing the
// listener, if any. Calling Close again does nothing and returns the same
// error.
func (s *Server) Close() error {
	s.closeOne.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]net.Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		close(s.closing)
		s.closeErr = s.ln.Close()
		for _, c := range conns {
			c.Close()
		}
		s.wg.Wait()
	})
	return s.closeErr
}

// CancelRequests returns a copy of the CancelRequests received so far, in
// arrival order.
func (s *Server) CancelRequests() []pgproto3.CancelRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pgproto3.CancelRequest, len(s.cancels))
	for i, c := range s.cancels {
		out[i] = pgproto3.CancelRequest{ProcessID: c.ProcessID, SecretKey: append([]byte(nil), c.SecretKey...)}
	}
	return out
}

// StartupParams returns a copy of the parameters of the StartupMessage that
// [Handshake] received (user, database, application_name, ...), or nil if
// no Handshake step has received one yet.
func (s *Server) StartupParams() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.params == nil {
		return nil
	}
	out := make(map[string]string, len(s.params))
	for k, v := range s.params {
		out[k] = v
	}
	return out
}

// acceptLoop accepts connections until the listener is closed, handing each
// to its own serveConn goroutine. Any Accept error ends it: on loopback that
// only happens when Close closed the listener.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(conn) {
			conn.Close()
			return
		}
		// serveConn is owned by s; it ends once it has classified the
		// connection (or the first read fails or times out).
		s.wg.Add(1)
		go s.serveConn(conn)
	}
}

// serveConn reads the first packet of a new connection and decides what it
// is: a CancelRequest (recorded, then closed), the client (handed to the
// script goroutine) or an extra connection (refused). A first connection
// whose first packet fails (garbage, EOF, timeout) is still the client:
// the script's first step reports the failure, where the test looks.
func (s *Server) serveConn(conn net.Conn) {
	defer s.wg.Done()
	w := newWire(conn)
	deadline := time.Now().Add(s.timeout)
	msg, err := w.receive(deadline)
	if _, ok := msg.(*pgproto3.SSLRequest); ok && s.isClaimed() {
		// A cancel connection asking for TLS (or probing the server)
		// first: declined, as a server without TLS does, and its next
		// packet decides.
		if err = w.write(deadline, []byte{'N'}); err == nil {
			msg, err = w.receive(deadline)
		}
	}
	if cr, ok := msg.(*pgproto3.CancelRequest); ok {
		s.recordCancel(cr)
		s.drop(conn)
		return
	}
	if s.claim() {
		w.pending, w.pendingErr = msg, err
		s.clientc <- w // capacity 1 and claimed once: never blocks
		return
	}
	if err != nil {
		s.drop(conn)
		return
	}
	s.refuse(w)
}

// track records conn so that Close closes it. It reports false if Close has
// begun.
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[conn] = struct{}{}
	return true
}

// drop closes conn and forgets it.
func (s *Server) drop(conn net.Conn) {
	conn.Close()
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}

// isClaimed reports whether a client connection was handed to the script.
func (s *Server) isClaimed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claimed
}

// claim reports whether the caller's connection becomes the client.
func (s *Server) claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimed || s.closed {
		return false
	}
	s.claimed = true
	return true
}

// refuse answers an extra connection as an overloaded PostgreSQL would, and
// closes it.
func (s *Server) refuse(w *wire) {
	msg := fatal("53300", "pgtest: this scripted server plays one client connection; extra connection refused")
	_ = w.send(time.Now().Add(s.timeout), msg) // best effort: the connection is dropped either way
	s.drop(w.conn)
}

func (s *Server) recordCancel(cr *pgproto3.CancelRequest) {
	s.mu.Lock()
	s.cancels = append(s.cancels, *cr) // cr is already a private copy
	s.cancelsPending++
	s.mu.Unlock()
	select {
	case s.cancelc <- struct{}{}:
	default: // a nudge is already pending; the count carries the rest
	}
}

// takeCancel consumes one recorded CancelRequest, if any.
func (s *Server) takeCancel() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelsPending == 0 {
		return false
	}
	s.cancelsPending--
	return true
}

func (s *Server) setParams(p map[string]string) {
	s.mu.Lock()
	s.params = p
	s.mu.Unlock()
}

// play is the script goroutine: it waits for the client, runs the steps,
// publishes the outcome, then keeps a healthy connection open until the
// client or Close ends it.
func (s *Server) play() {
	defer s.wg.Done()
	w, err := s.awaitClient()
	if err == nil {
		err = s.runSteps(w)
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.done)
	if w != nil {
		s.linger(w, err == nil)
	}
}

// errServerClosed reports that Close ended the script.
var errServerClosed = errors.New("server closed")

func (s *Server) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

func (s *Server) awaitClient() (*wire, error) {
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case w := <-s.clientc:
		return w, nil
	case <-s.closing:
		return nil, fmt.Errorf("pgtest: %w before a client connected", errServerClosed)
	case <-t.C:
		return nil, fmt.Errorf("pgtest: no client connected and sent a startup packet within %v", s.timeout)
	}
}

func (s *Server) runSteps(w *wire) error {
	for i, st := range s.steps {
		s.mu.Lock()
		s.current = i
		s.mu.Unlock()
		ss := &session{s: s, w: w, deadline: time.Now().Add(s.timeout)}
		err := st.run(ss)
		switch {
		case err == nil:
			continue
		case errors.Is(err, errServerClosed):
			return fmt.Errorf("pgtest: step %d %s: %w before the step finished", i, st.describe(), err)
		case s.isClosing():
			return fmt.Errorf("pgtest: step %d %s: %w before the step finished (%w)", i, st.describe(), errServerClosed, err)
		}
		return fmt.Errorf("pgtest: step %d %s: %w", i, st.describe(), err)
	}
	return nil
}

// linger ends the client connection's life: at once if the script failed or
// the connection is already over, otherwise after the client closes it or
// Close is called.
func (s *Server) linger(w *wire, ok bool) {
	if ok && !w.closed && !w.eof {
		w.discardUntilClosed()
	}
	s.drop(w.conn)
}

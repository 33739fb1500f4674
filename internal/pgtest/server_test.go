package pgtest

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// safetyNet bounds every client read and Wait in these tests, so that a
// broken server fails a test instead of hanging it. Nothing asserts on it.
const safetyNet = 10 * time.Second

// start starts a server that the test's cleanup closes.
func start(t *testing.T, steps ...Step) *Server {
	t.Helper()
	return startWith(t, Options{}, steps...)
}

func startWith(t *testing.T, opts Options, steps ...Step) *Server {
	t.Helper()
	s, err := StartWithOptions(opts, steps...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is a raw pgproto3 frontend used by the test goroutine only.
type client struct {
	t    *testing.T
	conn net.Conn
	fe   *pgproto3.Frontend
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(safetyNet)); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, conn: conn, fe: pgproto3.NewFrontend(conn, conn)}
}

func (c *client) send(msgs ...pgproto3.FrontendMessage) {
	c.t.Helper()
	for _, m := range msgs {
		c.fe.Send(m)
	}
	if err := c.fe.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) receive() pgproto3.BackendMessage {
	c.t.Helper()
	m, err := c.fe.Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return copyMessage(m)
}

// startup sends a StartupMessage for user bob and returns what the server
// sends up to and including ReadyForQuery.
func (c *client) startup() []pgproto3.BackendMessage {
	c.t.Helper()
	c.send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": "bob", "database": "db"},
	})
	msgs := c.receiveUntilReady()
	for _, m := range msgs {
		if _, ok := m.(*pgproto3.ErrorResponse); ok {
			c.t.Fatalf("startup failed: %s", formatMessage(m))
		}
	}
	return msgs
}

// receiveUntilReady returns what the server sends up to and including
// ReadyForQuery.
func (c *client) receiveUntilReady() []pgproto3.BackendMessage {
	c.t.Helper()
	var msgs []pgproto3.BackendMessage
	for {
		m := c.receive()
		msgs = append(msgs, m)
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			return msgs
		}
	}
}

// expectEOF checks that the server has closed the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	m, err := c.fe.Receive()
	if err == nil {
		c.t.Fatalf("got %s, want EOF", formatMessage(m))
	}
	if !isClosedErr(err) {
		c.t.Fatalf("got error %v, want EOF", err)
	}
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// cancel sends a CancelRequest on a new connection and waits until the
// server closes that connection, which it does after recording the request.
func cancel(t *testing.T, s *Server, pid uint32, secret []byte) {
	t.Helper()
	c := dial(t, s)
	c.send(&pgproto3.CancelRequest{ProcessID: pid, SecretKey: secret})
	n, err := c.conn.Read(make([]byte, 1))
	if n != 0 || !isClosedErr(err) {
		t.Fatalf("cancel connection: read %d bytes, %v; want EOF", n, err)
	}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("script succeeded, want error %q", want)
	}
	if err.Error() != want {
		t.Fatalf("got error\n\t%s\nwant\n\t%s", err, want)
	}
}

func wantErrContains(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got error %v, want one containing %q", err, want)
	}
}

func TestHostAndPortMatchAddr(t *testing.T) {
	s := start(t)
	host, port, err := net.SplitHostPort(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if host != "127.0.0.1" || s.Host() != host {
		t.Errorf("Host() = %q, Addr() host = %q, want 127.0.0.1", s.Host(), host)
	}
	if got := s.Port(); got == 0 || port != strconv.Itoa(int(got)) {
		t.Errorf("Port() = %d, Addr() port = %s", got, port)
	}
}

func TestStartRejectsInvalidSteps(t *testing.T) {
	tests := []struct {
		name string
		step Step
		want string
	}{
		{"nil step", nil, "pgtest: step 0 is nil"},
		{"Expect(nil)", Expect(nil), "pgtest: step 0 Expect(nil): no message given"},
		{"Expect(nil pointer)", Expect((*pgproto3.Bind)(nil)), "pgtest: step 0 Expect(nil): no message given"},
		{"ExpectType(nil)", ExpectType(nil), "pgtest: step 0 ExpectType(nil): no message given"},
		{"empty flight", ExpectFlight(), "pgtest: step 0 ExpectFlight(): no message types given"},
		{"nil func", ExpectFunc("x", nil), "pgtest: step 0 ExpectFunc(x): nil function"},
		{"empty Send", Send(), "pgtest: step 0 Send(): no messages given"},
		{"nil in Send", Send(ReadyForQuery('I'), nil), "pgtest: step 0 Send: message 1 is nil"},
		{"Pause(nil)", Pause(nil), "pgtest: step 0 Pause(nil): nil channel would never be closed"},
		{"bad password method", Handshake(WithPassword("scram", "x")), `pgtest: step 0 Handshake: unknown password method "scram" (want "cleartext" or "md5")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(tt.step)
			if err == nil {
				s.Close()
			}
			wantErr(t, err, tt.want)
		})
	}
}

func TestStepTimeoutFailsNamingTheStep(t *testing.T) {
	s := startWith(t, Options{StepTimeout: 20 * time.Millisecond}, Handshake(), Expect(&pgproto3.Sync{}))
	c := dial(t, s)
	c.startup()
	wantErr(t, s.Wait(safetyNet), "pgtest: step 1 Expect(Sync): no message from the client within 20ms")
	c.expectEOF()
}

func TestNoClientFailsAfterStepTimeout(t *testing.T) {
	s := startWith(t, Options{StepTimeout: 20 * time.Millisecond}, Handshake())
	wantErr(t, s.Wait(safetyNet), "pgtest: no client connected and sent a startup packet within 20ms")
}

func TestWaitReportsScriptStillWaitingForClient(t *testing.T) {
	s := start(t, Handshake())
	wantErr(t, s.Wait(time.Millisecond), "pgtest: script not finished after 1ms: still waiting for a client connection")
	if err := s.Err(); err != nil {
		t.Fatalf("Err() = %v while the script runs, want nil", err)
	}
}

func TestCloseEndsRunningScript(t *testing.T) {
	ch := make(chan struct{})
	s := start(t, Handshake(), Pause(ch))
	c := dial(t, s)
	c.startup()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	wantErr(t, s.Err(), "pgtest: step 1 Pause: server closed before the step finished")
	c.expectEOF()
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseBeforeClientConnects(t *testing.T) {
	s := start(t, Handshake())
	s.Close()
	wantErr(t, s.Err(), "pgtest: server closed before a client connected")
}

func TestScriptEndKeepsConnectionOpenUntilClose(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	c.startup()
	<-s.Done()
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	// Writing after the script ended is read and discarded, not refused.
	c.send(&pgproto3.Query{String: "select 1"})
	// The server closing would show as an immediate EOF; the only way this
	// read may end is the deadline.
	if err := c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.fe.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("receive after the script ended: %v, want the read to time out", err)
	}
	s.Close()
	c2 := pgproto3.NewFrontend(c.conn, c.conn) // the first Frontend is mid-read after the timeout
	if err := c.conn.SetReadDeadline(time.Now().Add(safetyNet)); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Receive(); !isClosedErr(err) {
		t.Fatalf("receive after Close: %v, want EOF", err)
	}
}

func TestExtraConnectionIsRefused(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	c.startup()

	extra := dial(t, s)
	extra.send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": "eve"},
	})
	m := extra.receive()
	if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Severity != "FATAL" || e.Code != "53300" {
		t.Fatalf("extra connection got %s, want FATAL 53300", formatMessage(m))
	}
	extra.expectEOF()
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()

	s, err := Start(Handshake(), Expect(&pgproto3.Query{String: "select 1"}), WaitForCancel(),
		Send(ErrorResponse("57014", "canceling statement due to user request"), ReadyForQuery('I')))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s)
	c.startup()
	c.send(&pgproto3.Query{String: "select 1"})
	cancel(t, s, DefaultProcessID, []byte{0, 0, 4, 210})
	c.receiveUntilReady()
	dial(t, s) // never sends anything: Close must end the goroutine reading it
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Close waits for the server's goroutines, so this loop should not
	// need a second round; it is bounded to report a leak instead of
	// hanging.
	var now int
	for range 1000 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before, %d after Close:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

func TestBadStartupPacketFailsFirstStep(t *testing.T) {
	s := start(t, Handshake())
	c := dial(t, s)
	if _, err := c.conn.Write([]byte{0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Wait(safetyNet), "pgtest: step 0 Handshake: receive: invalid length of startup packet: -3")
	c.expectEOF()
}

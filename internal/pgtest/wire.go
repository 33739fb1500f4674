package pgtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// errClientClosed reports that the client closed the connection between two
// messages.
var errClientClosed = errors.New("client closed the connection")

// errClientClosedMidMessage reports that the client closed the connection
// after sending part of a message.
var errClientClosedMidMessage = errors.New("client closed the connection in the middle of a message")

// wire is one accepted connection seen through a pgproto3.Backend. One
// goroutine uses it at a time: first the serveConn goroutine that classifies
// the connection, then the script goroutine it is handed to (through a
// channel, which orders the two).
type wire struct {
	conn net.Conn
	in   *countingReader
	be   *pgproto3.Backend

	pending    pgproto3.FrontendMessage // received by serveConn, not yet given to a step
	pendingErr error                    // or the error serveConn got instead
	startup    bool                     // the next packet is a startup packet (no type byte)
	consumed   int64                    // bytes of the complete messages received; -1 if unknown
	closed     bool                     // the script closed the connection
	eof        bool                     // the client closed the connection
}

func newWire(conn net.Conn) *wire {
	in := &countingReader{r: conn}
	return &wire{conn: conn, in: in, be: pgproto3.NewBackend(in, conn), startup: true}
}

// receive returns a private copy of the next message from the client,
// waiting until deadline. A startup packet (StartupMessage, SSLRequest,
// GSSEncRequest, CancelRequest) is expected until a StartupMessage or
// CancelRequest has come, typed messages afterwards.
func (w *wire) receive(deadline time.Time) (pgproto3.FrontendMessage, error) {
	if msg, err := w.pending, w.pendingErr; msg != nil || err != nil {
		w.pending, w.pendingErr = nil, nil
		return msg, err
	}
	switch {
	case w.closed:
		return nil, errors.New("the script already closed the connection")
	case w.eof:
		return nil, errClientClosed
	}
	if err := w.conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	var msg pgproto3.FrontendMessage
	var err error
	if w.startup {
		msg, err = w.be.ReceiveStartupMessage()
	} else {
		msg, err = w.be.Receive()
	}
	if err != nil {
		return nil, w.readError(err)
	}
	msg = copyMessage(msg) // the Backend reuses msg and its buffers on the next receive
	switch msg.(type) {
	case *pgproto3.StartupMessage, *pgproto3.CancelRequest:
		w.startup = false
	}
	w.count(msg)
	return msg, nil
}

// count adds msg's frame length to the bytes consumed, so that an EOF can
// be told apart from a frame cut short. Re-encoding a well-formed message
// gives back its frame byte for byte.
func (w *wire) count(msg pgproto3.FrontendMessage) {
	if w.consumed < 0 {
		return
	}
	b, err := msg.Encode(nil)
	if err != nil {
		w.consumed = -1
		return
	}
	w.consumed += int64(len(b))
}

// readError turns a receive error into one a script error can show.
func (w *wire) readError(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		w.eof = true
		if w.consumed < 0 || w.in.n == w.consumed {
			return errClientClosed
		}
		return fmt.Errorf("%w (%d bytes of it came)", errClientClosedMidMessage, w.in.n-w.consumed)
	}
	return fmt.Errorf("receive: %w", err)
}

// errTimeout marks a read or write that hit the step deadline.
var errTimeout = errors.New("step timeout")

// send encodes msgs and writes them with one write, waiting until deadline.
func (w *wire) send(deadline time.Time, msgs ...pgproto3.BackendMessage) error {
	for _, m := range msgs {
		w.be.Send(m)
	}
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return w.writeError(w.be.Flush())
}

// write writes b as it is, waiting until deadline.
func (w *wire) write(deadline time.Time, b []byte) error {
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := w.conn.Write(b)
	return w.writeError(err)
}

func (w *wire) writeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	}
	return fmt.Errorf("write: %w", err)
}

// close closes the connection from the server side.
func (w *wire) close() error {
	w.closed = true
	return w.conn.Close()
}

// discardUntilClosed reads and drops everything the client sends until it
// closes the connection or Close closes it, so that a client writing after
// the script ended never blocks on a full socket buffer.
func (w *wire) discardUntilClosed() {
	if err := w.conn.SetDeadline(time.Time{}); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, w.conn)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// session is what a step sees: the client connection and the deadline of
// the step. It lives on the script goroutine only.
type session struct {
	s        *Server
	w        *wire
	deadline time.Time
}

// receive returns the next message from the client. Errors say what
// happened in words: a timeout, the client closing, a bad frame.
func (ss *session) receive() (pgproto3.FrontendMessage, error) {
	msg, err := ss.w.receive(ss.deadline)
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("no message from the client within %v", ss.s.timeout)
	}
	return msg, err
}

// send writes msgs with one write.
func (ss *session) send(msgs ...pgproto3.BackendMessage) error {
	if ss.w.closed {
		return errors.New("the script already closed the connection")
	}
	return ss.writeError(ss.w.send(ss.deadline, msgs...))
}

// write writes raw bytes.
func (ss *session) write(b []byte) error {
	if ss.w.closed {
		return errors.New("the script already closed the connection")
	}
	return ss.writeError(ss.w.write(ss.deadline, b))
}

func (ss *session) writeError(err error) error {
	if errors.Is(err, errTimeout) {
		return fmt.Errorf("write not finished within %v (is the client reading?)", ss.s.timeout)
	}
	return err
}

// wait blocks until ch is closed (nil: never), a CancelRequest is taken
// (if cancel is true), Close is called or the step deadline passes. what
// names the awaited event for the timeout error.
func (ss *session) wait(ch <-chan struct{}, cancel bool, what string) error {
	t := time.NewTimer(time.Until(ss.deadline))
	defer t.Stop()
	for {
		if cancel && ss.s.takeCancel() {
			return nil
		}
		var cancelc <-chan struct{}
		if cancel {
			cancelc = ss.s.cancelc
		}
		select {
		case <-ch:
			return nil
		case <-cancelc:
			// Loop: takeCancel decides; the nudge may be for a request
			// already consumed.
		case <-ss.s.closing:
			return errServerClosed
		case <-t.C:
			return fmt.Errorf("%s within %v", what, ss.s.timeout)
		}
	}
}

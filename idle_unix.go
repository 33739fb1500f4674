//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pgpipe

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// checkIdle looks, without blocking, whether an idle connection's server
// went away: a closed socket, or bytes waiting (a FATAL error such as an
// administrator's termination, or a notification, which is kept).
func (c *core) checkIdle() error {
	switch waiting, err := c.peek.waiting(c.rawConn); {
	case err != nil:
		c.fail(&ConnError{Op: "checking an idle connection", Err: err})
		return c.broken
	case !waiting:
		return nil // nothing waiting: alive
	}
	return c.drainIdle()
}

// pendingInput reports, without blocking, whether the server has sent
// something not yet read (a COPY uses it to notice an error early).
func (c *core) pendingInput() bool {
	if c.rd.buffered() > 0 || c.fe.ReadBufferLen() > 0 {
		return true
	}
	waiting, err := c.peek.waiting(c.rawConn)
	return waiting || err != nil
}

// waiting looks at conn, the socket under TLS, without blocking: waiting
// is true when bytes are there; err reports a closed or failed socket. It
// allocates nothing: the raw connection and the read function are bound
// at the first call, once per connection.
func (p *peeker) waiting(conn net.Conn) (waiting bool, err error) {
	if p.rc == nil {
		sc, ok := conn.(syscall.Conn)
		if !ok {
			return false, nil
		}
		if p.rc, err = sc.SyscallConn(); err != nil {
			return false, err
		}
		p.fn = func(fd uintptr) bool {
			p.n, _, p.err = syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return true
		}
	}
	if err := p.rc.Read(p.fn); err != nil {
		return false, err
	}
	switch {
	case errors.Is(p.err, syscall.EAGAIN) || errors.Is(p.err, syscall.EWOULDBLOCK):
		return false, nil
	case p.err != nil:
		return false, p.err
	case p.n == 0:
		return false, errors.New("the server closed the connection")
	}
	return true, nil
}

// peeker is waiting's state, bound once per connection.
type peeker struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	buf [1]byte
	n   int
	err error
}

// drainIdle reads what the server sent while the connection was idle.
// Only asynchronous messages are allowed; anything else (a FATAL error
// before the server hangs up) breaks the connection.
func (c *core) drainIdle() error {
	_ = c.netConn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	defer func() { _ = c.netConn.SetReadDeadline(time.Time{}) }()
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			c.fail(&ConnError{Op: "checking an idle connection", Err: err})
			return c.broken
		}
		if !c.handleAsync(msg) {
			c.fail(&ConnError{Op: "checking an idle connection", Err: errProtocol("unexpected " + msgName(msg) + " on an idle connection")})
			return c.broken
		}
		if c.rd.buffered() == 0 && c.fe.ReadBufferLen() == 0 {
			return nil
		}
	}
}

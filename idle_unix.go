//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package pgpipe

import (
	"errors"
	"syscall"
	"time"
)

// checkIdle looks, without blocking, whether an idle connection's server
// went away: a closed socket, or bytes waiting (a FATAL error such as an
// administrator's termination, or a notification, which is kept).
func (c *core) checkIdle() error {
	switch waiting, err := c.peekSocket(); {
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
	waiting, err := c.peekSocket()
	return waiting || err != nil
}

// peekSocket looks at the socket under TLS without blocking: waiting is
// true when bytes are there; err reports a closed or failed socket.
func (c *core) peekSocket() (waiting bool, err error) {
	sc, ok := c.rawConn.(syscall.Conn)
	if !ok {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, err
	}
	var n int
	var rerr error
	var b [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return false, err
	}
	switch {
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK):
		return false, nil
	case rerr != nil:
		return false, rerr
	case n == 0:
		return false, errors.New("the server closed the connection")
	}
	return true, nil
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

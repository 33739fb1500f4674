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
	sc, ok := c.rawConn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var rerr error
	var b [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return err
	}
	switch {
	case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK):
		return nil // nothing waiting: alive
	case rerr != nil:
		c.fail(&ConnError{Op: "checking an idle connection", Err: rerr})
		return rerr
	case n == 0:
		c.fail(&ConnError{Op: "checking an idle connection", Err: errors.New("the server closed the connection")})
		return c.broken
	}
	return c.drainIdle()
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

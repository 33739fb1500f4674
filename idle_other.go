//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package pgpipe

// checkIdle cannot look at the socket without blocking on this platform;
// a dead connection is found by the next command instead.
func (c *core) checkIdle() error { return nil }

// pendingInput cannot look at the socket without blocking on this
// platform; it reports only what was already read.
func (c *core) pendingInput() bool { return c.rd.buffered() > 0 || c.fe.ReadBufferLen() > 0 }

// peeker has nothing to keep on this platform.
type peeker struct{}

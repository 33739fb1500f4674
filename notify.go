package pgpipe

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// LISTEN/NOTIFY (PostgreSQL, "NOTIFY"). A connection keeps the
// notifications the server sends for the channels it LISTENs to, also
// those that arrive while it runs ordinary queries, until they are taken
// with WaitForNotification; the [Listener] helper owns a connection for
// that and delivers on a Go channel.

// MaxPendingNotifications bounds the notifications a connection keeps
// when nobody takes them. Beyond it each new notification drops the
// oldest (logged once per connection, counted by
// Conn.DroppedNotifications).
const MaxPendingNotifications = 1 << 16

// notifyRing holds the notifications nobody took yet, oldest first: a
// ring that grows up to MaxPendingNotifications and then drops its oldest
// entry for each new one, in constant time.
type notifyRing struct {
	buf     []Notification
	head, n int
	dropped uint64
}

// push adds n, dropping the oldest when full; it reports a drop.
func (r *notifyRing) push(n Notification) bool {
	if r.n == MaxPendingNotifications {
		r.buf[r.head] = n
		r.head = (r.head + 1) % len(r.buf)
		r.dropped++
		return true
	}
	if r.n == len(r.buf) {
		grown := make([]Notification, min(max(16, 2*len(r.buf)), MaxPendingNotifications))
		for i := 0; i < r.n; i++ {
			grown[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = grown, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = n
	r.n++
	return false
}

// pop removes and returns the oldest notification; the ring is not empty.
func (r *notifyRing) pop() Notification {
	n := r.buf[r.head]
	r.buf[r.head] = Notification{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 && len(r.buf) > 1024 {
		r.buf, r.head = nil, 0 // a drained backlog gives its memory back
	}
	return n
}

// keepNotification stores one notification.
func (c *core) keepNotification(n Notification) {
	if c.notifications.push(n) && c.notifications.dropped == 1 {
		c.log(slog.LevelWarn, "notifications nobody waits for are being dropped, oldest first", "kept", MaxPendingNotifications)
	}
}

// DroppedNotifications returns how many notifications this connection
// dropped because MaxPendingNotifications were waiting to be taken.
func (c *conn) DroppedNotifications() uint64 {
	if !c.pinned() {
		return 0
	}
	return c.core.notifications.dropped
}

// WaitForNotification returns the oldest notification the connection
// received, waiting for one if none is pending, until ctx ends. Through
// (*sql.Conn).Raw:
//
//	sc.ExecContext(ctx, "LISTEN jobs")
//	sc.Raw(func(dc any) error {
//		n, err := dc.(pgpipe.Conn).WaitForNotification(ctx)
//		...
//	})
//
// When ctx ends it returns ctx.Err() and the connection stays usable.
func (c *conn) WaitForNotification(ctx context.Context) (Notification, error) {
	if err := c.begin(ctx, "WaitForNotification"); err != nil {
		return Notification{}, err
	}
	defer c.endOp()
	return c.core.waitNotification(ctx)
}

// waitNotification reads until a NotificationResponse arrives. Only
// asynchronous messages may come while the connection is idle; an
// ErrorResponse (FATAL: the server ends the session) breaks it.
func (c *core) waitNotification(ctx context.Context) (Notification, error) {
	if c.notifications.n > 0 {
		return c.notifications.pop(), nil
	}
	// The end of ctx interrupts the read with a past deadline: a timeout
	// leaves pgproto3 ready to go on where it stopped.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.netConn.SetReadDeadline(time.Now())
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired // the deadline is set: clear it only after
			c.watch.clearReadDeadline()
		}
	}()
	for c.notifications.n == 0 {
		msg, err := c.fe.Receive()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil && !c.watch.isExpired() {
				return Notification{}, ctx.Err()
			}
			return Notification{}, c.readFailed(err)
		}
		if c.handleAsync(msg) {
			continue
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			err := newError(e, "")
			c.fail(&ConnError{Op: "waiting for notifications", Err: err})
			return Notification{}, c.broken
		}
		return Notification{}, c.violation("unexpected " + msgName(msg) + " while waiting for notifications")
	}
	return c.notifications.pop(), nil
}

// WaitForNotification waits for a notification on the connection behind
// sc; see Conn.WaitForNotification.
func WaitForNotification(ctx context.Context, sc *sql.Conn) (Notification, error) {
	var n Notification
	err := withConn(sc, func(c *conn) (err error) {
		n, err = c.WaitForNotification(ctx)
		return err
	})
	return n, err
}

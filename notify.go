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

// maxPendingNotifications bounds the notifications a connection keeps when
// nobody takes them; beyond it the oldest are dropped, logged once.
const maxPendingNotifications = 1 << 16

// keepNotification stores one notification.
func (c *core) keepNotification(n Notification) {
	if len(c.notifications) >= maxPendingNotifications {
		copy(c.notifications, c.notifications[1:])
		c.notifications = c.notifications[:len(c.notifications)-1]
		if !c.notifyDropped {
			c.notifyDropped = true
			c.log(slog.LevelWarn, "notifications nobody waits for are being dropped", "kept", maxPendingNotifications)
		}
	}
	c.notifications = append(c.notifications, n)
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
	if len(c.notifications) > 0 {
		return c.popNotification(), nil
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
			c.restoreDeadline()
		}
	}()
	for len(c.notifications) == 0 {
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
	return c.popNotification(), nil
}

func (c *core) popNotification() Notification {
	n := c.notifications[0]
	c.notifications = c.notifications[1:]
	if len(c.notifications) == 0 {
		c.notifications = nil
	}
	return n
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

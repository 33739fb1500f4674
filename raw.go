package pgpipe

import (
	"context"
	"io"

	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Conn is the driver connection as (*sql.Conn).Raw hands it to its
// callback, with pgpipe's extensions:
//
//	err := sqlConn.Raw(func(driverConn any) error {
//		pc := driverConn.(pgpipe.Conn)
//		fmt.Println(pc.StatementStats())
//		return nil
//	})
//
// A Conn must not be used after the callback returns, nor from another
// goroutine while the callback runs: database/sql holds the connection for
// the callback only. The helpers that take a *sql.Conn ([Stats], ...) do
// the type assertion for you.
type Conn interface {
	// StatementStats returns this connection's prepared-statement
	// counters.
	StatementStats() StatementStats
	// ServerParam returns a parameter the server reported
	// (ParameterStatus), such as "server_version" or "TimeZone".
	ServerParam(name string) string
	// BackendPID is the process ID of the server backend, as the server
	// gave it at startup (behind a pooler, the pooler's).
	BackendPID() uint32
	// Pipeline runs f in pipeline mode; see [RunPipeline].
	Pipeline(ctx context.Context, f func(*Pipeline) error) error
	// Trace starts writing a protocol trace of this connection to w in
	// libpq's PQtrace format (F for messages sent, B for received, then
	// the length, the message and its fields); regress leaves out
	// timestamps and values that change between runs. A nil w stops it.
	// Messages are traced when queued, so a pipeline's commands show
	// before their replies.
	Trace(w io.Writer, regress bool)
	// CopyFrom, CopyFromRows, CopyTo and CopyToStream run COPY; see the
	// package functions of the same names.
	CopyFrom(ctx context.Context, query string, r io.Reader) (int64, error)
	CopyFromRows(ctx context.Context, table string, columns []string, src RowSource) (int64, error)
	CopyTo(ctx context.Context, query string, w io.Writer) (int64, error)
	CopyToStream(ctx context.Context, query string) (*CopyStream, error)
	// WaitForNotification returns the next notification for a channel
	// this connection LISTENs to, waiting until ctx ends.
	WaitForNotification(ctx context.Context) (Notification, error)
	// DroppedNotifications returns how many notifications the connection
	// dropped, oldest first, because [MaxPendingNotifications] were
	// already waiting to be taken.
	DroppedNotifications() uint64

	conn() *conn // only pgpipe implements Conn
}

// StatementStats are one connection's prepared-statement counters.
type StatementStats struct {
	Prepared   int    // statements prepared on the server now (automatic ones)
	Hits       uint64 // executions that reused a prepared statement
	Prepares   uint64 // statements prepared automatically so far
	Evictions  uint64 // statements closed to stay within prepared_max
	Recoveries uint64 // executions re-run after the server lost a statement
	// Disabled reports that automatic preparation stopped on this
	// connection after a pooler was seen losing statements.
	Disabled bool
	// Pooled reports that a pooler sits between the driver and the server
	// (the backend process differs from the one that answered the startup).
	Pooled bool
}

func (c *conn) conn() *conn { return c }

// StatementStats returns the connection's prepared-statement counters.
func (c *conn) StatementStats() StatementStats {
	if !c.pinned() {
		return StatementStats{}
	}
	s := c.core.prep.stmts.Stats()
	return StatementStats{
		Prepared: s.Prepared, Hits: s.Hits, Prepares: s.Prepares,
		Evictions: s.Evictions, Recoveries: s.Recoveries,
		Disabled: c.core.prep.stmts.Disabled(), Pooled: c.core.prep.pooled,
	}
}

// ServerParam returns a ParameterStatus value the server reported.
func (c *conn) ServerParam(name string) string {
	if !c.pinned() {
		return ""
	}
	return c.core.params[name]
}

// BackendPID returns the backend process ID from BackendKeyData.
func (c *conn) BackendPID() uint32 {
	if !c.pinned() {
		return 0
	}
	return c.core.key.pid
}

// errNotPgpipe is returned by the helpers when a *sql.Conn belongs to
// another driver.
var errNotPgpipe = errors.New("pgpipe: the *sql.Conn was not opened with the pgpipe driver")

// withConn runs f on the pgpipe connection behind sc.
func withConn(sc *sql.Conn, f func(*conn) error) error {
	return sc.Raw(func(dc any) error {
		pc, ok := dc.(Conn)
		if !ok {
			return errNotPgpipe
		}
		return f(pc.conn())
	})
}

// Stats returns the prepared-statement counters of the connection behind
// sc.
func Stats(sc *sql.Conn) (StatementStats, error) {
	var s StatementStats
	err := withConn(sc, func(c *conn) error {
		s = c.StatementStats()
		return nil
	})
	return s, err
}

// Trace starts or (with a nil w) stops the protocol trace.
func (c *conn) Trace(w io.Writer, regress bool) {
	if c.pinned() {
		c.core.trace(w, regress)
	}
}

// trace sets pgproto3's tracer, which writes libpq's PQtrace format.
func (c *core) trace(w io.Writer, regress bool) {
	if w == nil {
		c.fe.Untrace()
		return
	}
	c.fe.Trace(w, pgproto3.TracerOptions{SuppressTimestamps: regress, RegressMode: regress})
}

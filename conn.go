package pgpipe

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/pgpipe/pgpipe/internal/cache"
	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/sqltext"
)

// conn is the database/sql face of one connection.
//
// database/sql uses a conn from one goroutine at a time. The exceptions:
// database/sql itself may call rows.Close from its own goroutine when a
// query's context ends (it serialises that with Next), and the core's
// cancel goroutine (cancel.go) touches only what it documents.
type conn struct {
	core *core
	// rows is reused for every query.
	rows    rows
	execRes result
	tx      tx
	// state is who holds the connection between calls (holder.go).
	state connState
	// mux is set when the Connector multiplexes (multiplex=N): core is
	// then nil until a session pins a server connection (mux_conn.go).
	mux *muxSession
}

// BusyError is returned when a command is started on a connection that
// is still busy with an earlier one: rows not yet closed, or a pipeline
// or COPY not yet finished. Nothing was sent.
type BusyError struct {
	Op    string // what holds the connection, e.g. "rows of a query"
	Query string // the statement that holds it
}

func (e *BusyError) Error() string {
	return "pgpipe: connection busy: the " + e.Op + " (" + shortSQL(e.Query) + ") must be finished or closed before another command runs on this connection"
}

// PrepareMode overrides automatic preparation for the queries run with a
// context made by [WithPrepare] (psycopg's prepare=True/False).
type PrepareMode int8

const (
	// PrepareAuto follows prepare_threshold (the default).
	PrepareAuto PrepareMode = iota
	// PrepareAlways prepares the statement now, whatever the threshold,
	// unless preparation is off on the connection (prepare_threshold=none,
	// or a pooler was detected losing statements).
	PrepareAlways
	// PrepareNever runs the statement unnamed and does not count it.
	PrepareNever
)

type prepareKey struct{}

// WithPrepare returns a context whose queries and statements use mode:
//
//	ctx := pgpipe.WithPrepare(ctx, pgpipe.PrepareAlways)
//	db.QueryRowContext(ctx, "SELECT ...", arg)
func WithPrepare(ctx context.Context, mode PrepareMode) context.Context {
	return context.WithValue(ctx, prepareKey{}, mode)
}

// force reads the PrepareMode of ctx.
func force(ctx context.Context) cache.Force {
	switch m, _ := ctx.Value(prepareKey{}).(PrepareMode); m {
	case PrepareAlways:
		return cache.Always
	case PrepareNever:
		return cache.Never
	}
	return cache.Auto
}

// begin checks that a command may start and watches ctx for it. Nothing is
// sent before it returns nil.
func (c *conn) begin(ctx context.Context, query string) error {
	if err := c.sessionFor(ctx, query); err != nil {
		return err
	}
	c.core.watch.settle()
	if c.core.broken != nil {
		return driver.ErrBadConn
	}
	if err := c.state.busy(query); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.core.out.wrote = false
	c.core.watch.start(ctx)
	return nil
}

// endOp ends a command: the connection reached ReadyForQuery (or broke).
func (c *conn) endOp() {
	c.core.watch.stop()
	c.core.lastUsed = time.Now()
}

// QueryContext runs a query and returns its rows, streaming: it returns
// once the first row has arrived (or the statement ended without one), so
// an error before the first row is its error. A query without arguments holding several
// statements runs with the simple protocol (see rows).
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.sharedPath(query) {
		return c.queryShared(ctx, query, args)
	}
	if err := c.begin(ctx, query); err != nil {
		return nil, err
	}
	r := &c.rows
	r.reset(c, query)
	r.span = c.core.startTrace(ctx, TraceQuery{SQL: query, Args: len(args)})
	var err error
	if len(args) == 0 && sqltext.MultipleStatements(query) {
		r.simple = true
		err = c.core.startSimple(&r.res)
	} else {
		err = c.core.startQuery(&r.res, args, execOpts{force: force(ctx)})
	}
	if err != nil {
		c.endOp()
		r.span.end(&r.res, 0, err)
		return nil, err
	}
	c.state.holdRows(r)
	if r.res.state == resDone {
		r.finish() // statements that returned no rows
	}
	return r, nil
}

// ExecContext runs a statement and returns the number of rows it
// affected. LastInsertId is not supported: use RETURNING.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.sharedPath(query) {
		return c.execShared(ctx, query, args)
	}
	if err := c.begin(ctx, query); err != nil {
		return nil, err
	}
	defer c.endOp()
	res := &c.execRes
	res.reset(query)
	span := c.core.startTrace(ctx, TraceQuery{SQL: query, Args: len(args)})
	var err error
	if len(args) == 0 && sqltext.MultipleStatements(query) {
		err = c.core.execSimple(res)
	} else {
		err = c.core.exec(res, args, execOpts{force: force(ctx)})
	}
	span.end(res, res.rowsAffected, err)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(res.rowsAffected), nil
}

// PrepareContext prepares a statement on the server (one round trip), or,
// when preparation is off on this connection, only remembers its text:
// the statement then runs unnamed, one flight per execution, which keeps
// it working behind a pooler in transaction mode.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if sqltext.Classify(query, false).CopyIn {
		if err := c.session(ctx, true); err != nil {
			return nil, err
		}
		return &copyStmt{c: c, sql: query}, nil // lib/pq's COPY idiom (copy_stmt.go)
	}
	s := &stmt{c: c, serverStmt: serverStmt{sql: query, params: -1}}
	if c.mux != nil {
		// Multiplexed: the statement may run on any server connection,
		// each preparing it automatically (see stmt).
		return s, nil
	}
	if c.core.cfg.PrepareThreshold == PrepareNone || c.core.prep.stmts.Disabled() || sqltext.MultipleStatements(query) {
		return s, nil
	}
	if err := c.begin(ctx, query); err != nil {
		return nil, err
	}
	defer c.endOp()
	pt, _ := c.core.cfg.Tracer.(PrepareTracer)
	var start time.Time
	if pt != nil {
		ctx = pt.TracePrepareStart(ctx, query)
		start = time.Now()
	}
	err := c.core.prepare(&s.serverStmt)
	if pt != nil {
		pt.TracePrepareEnd(ctx, query, time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Prepare is PrepareContext without a context.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Begin is BeginTx with default options.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// Ping checks the connection with an empty query: one round trip. When
// the connection broke, the error wraps driver.ErrBadConn (an empty query
// changes nothing, so database/sql may try another connection) and the
// cause: a context that ended while the server did not answer
// (errors.Is(err, context.DeadlineExceeded) holds, as with pgx), or the
// server's or the network's error.
func (c *conn) Ping(ctx context.Context) error {
	if c.mux != nil && c.mux.m == nil {
		return c.pingShared(ctx)
	}
	if err := c.begin(ctx, ""); err != nil {
		return err
	}
	defer c.endOp()
	res := &c.execRes
	res.reset("")
	res.discard = true
	if err := c.core.execSimple(res); err != nil {
		if c.core.broken != nil && !errors.Is(err, driver.ErrBadConn) {
			return &badConnError{err: err}
		}
		return err
	}
	return nil
}

// ResetSession runs before database/sql reuses the connection: a broken
// connection, or one whose server went away meanwhile, reports
// driver.ErrBadConn so the pool drops it.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.mux != nil && c.mux.m == nil {
		return nil
	}
	c.core.watch.settle()
	if c.core.broken != nil {
		return driver.ErrBadConn
	}
	switch c.state.holder {
	case holdNone:
	case holdCopyStmt:
		// lib/pq's COPY idiom run on a *sql.DB: database/sql put the
		// connection back in the pool between two Execs, and whoever
		// takes it now must not find a COPY in progress. The COPY is
		// aborted, nothing of it committed (see copyStmt).
		if err := c.state.copy.abandon(); err != nil {
			return driver.ErrBadConn
		}
	default:
		return driver.ErrBadConn // rows, a pipeline or a COPY left open
	}
	if !c.core.txn.serverIdle() {
		// A transaction block that no sql.Tx owns (an Exec of BEGIN
		// without its COMMIT): the next user must not inherit it. pgx's
		// stdlib discards such a connection too.
		return driver.ErrBadConn
	}
	// One non-blocking look at the socket of a connection that sat idle:
	// a server that ended the session meanwhile (a restart,
	// pg_terminate_backend, an idle timeout) has sent its FATAL error or
	// closed the socket by now, and the pool then opens another connection
	// instead of failing the caller's next statement. A connection reused
	// at once, as in a busy loop, skips the system call.
	if time.Since(c.core.lastUsed) >= idleCheckAfter {
		if err := c.core.checkIdle(); err != nil {
			return driver.ErrBadConn
		}
	}
	return nil
}

// idleCheckAfter is how long a connection may sit idle before
// ResetSession looks at its socket.
const idleCheckAfter = time.Millisecond

// IsValid reports whether the connection can be reused. database/sql
// calls it when it takes the connection back, which ends a multiplexed
// connection's session: the server connection it pinned is shared again
// (a broken one is dropped), and the database/sql connection stays valid.
func (c *conn) IsValid() bool {
	if c.mux != nil {
		c.endSession()
		return true
	}
	return c.core.broken == nil
}

// CheckNamedValue accepts the argument types the driver encodes (see
// codec.CheckArg), calling driver.Valuer itself, and converts the rest as
// database/sql's default converter would (named scalar types).
//
// An argument nothing fits, or whose Value method fails, is not refused
// here: database/sql would wrap any error returned here in its own "sql:
// converting argument" text. It is kept as a codec.BadArg, and the statement
// fails with an *[ArgError] naming it before anything is sent.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return errors.New("pgpipe: named arguments are not supported: PostgreSQL takes positional $1, $2, ... parameters")
	}
	if nv.Ordinal == 1 && isPgxExecMode(nv.Value) {
		// pgx's stdlib driver takes a leading pgx.QueryExecMode out of the
		// arguments; code written for it (GORM's postgres dialector given
		// an *sql.DB without a DriverName) passes one.
		return driver.ErrRemoveArgument
	}
	v, err := codec.CheckArg(nv.Value)
	if errors.Is(err, driver.ErrSkip) {
		if v, err = driver.DefaultParameterConverter.ConvertValue(nv.Value); err != nil {
			err = fmt.Errorf("pgpipe: %w", err)
		}
	}
	if err != nil {
		v = codec.BadArg{Err: err}
	}
	nv.Value = v
	return nil
}

// Close closes the connection (Terminate, then the socket). A
// multiplexed connection gives its pinned server connection back, or
// closes it when something is still in progress on it.
func (c *conn) Close() error {
	if c.mux != nil {
		if m := c.mux.m; m != nil {
			if c.state.holder != holdNone {
				c.core.fail(errClosedBusy)
			}
			c.state = connState{}
			c.endSession()
		}
		return nil
	}
	return c.core.close()
}

// errClosedBusy breaks a pinned server connection closed with work in
// progress: it is not shared again.
var errClosedBusy = errors.New("pgpipe: connection closed with a command in progress")

// rowsClosed frees the connection held by r.
func (c *conn) rowsClosed(r *rows) {
	c.state.releaseRows(r)
}

// reset readies the reused rows for a new query.
func (r *rows) reset(c *conn, query string) {
	r.c = c
	if c.core != nil {
		r.env = &c.core.env
	}
	r.res.reset(query)
	r.simple, r.finished, r.closed, r.span = false, false, false, nil
	r.ahead, r.errReported = false, false
}

// isPgxExecMode reports whether v is a pgx.QueryExecMode, known by name so
// that pgpipe need not import pgx.
func isPgxExecMode(v any) bool {
	t := reflect.TypeOf(v)
	return t != nil && t.Name() == "QueryExecMode" && t.PkgPath() == "github.com/jackc/pgx/v5"
}

package pgpipe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/pgpipe/pgpipe/internal/cache"
	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/sqltext"
)

// Pipeline is a connection in pipeline mode (PostgreSQL libpq, "Pipeline
// Mode"): commands are written without waiting for the results of earlier
// ones, and the results come back in order, each bound to the handle its
// command returned. Get one with [RunPipeline], or with Conn.Pipeline
// inside (*sql.Conn).Raw.
//
//	err := pgpipe.RunPipeline(ctx, sqlConn, func(p *pgpipe.Pipeline) error {
//		for _, item := range items {
//			p.Exec("INSERT INTO t (x) VALUES ($1)", item)
//		}
//		return nil
//	})
//
// Exec, Query and QueryRow queue a command and return its handle at once.
// Reading a handle (Result.Err, Rows.Next, ...) sends what is queued and
// reads up to that command's result; results of earlier commands read on
// the way are kept for their handles. Queued data is sent in chunks as it
// grows, while a goroutine reads the server's replies, so neither side
// blocks on a full buffer; memory holds the unsent chunk and the replies
// not yet read by their handles.
//
// Errors: when a command fails, the server skips every later command up to
// the next sync point ([Pipeline.Sync], a [Pipeline.Block] or
// [Pipeline.Tx] boundary, the end of the pipeline). The failed command's
// handle returns the *[Error]; each skipped one returns an *[AbortedError]
// (errors.Is(err, ErrPipelineAborted)) naming the failed command. Commands
// in one segment between sync points form one implicit transaction: they
// commit together at the sync point, or, after an error, roll back
// together.
//
// A Pipeline and its handles belong to the goroutine running the callback
// and must not be used after it returns. COPY cannot run in a pipeline.
type Pipeline struct {
	c      *conn
	core   *core
	ctx    context.Context
	closed bool
	// curTx is the Tx block being queued, if any.
	curTx *txFence
	// failed lists the handles whose command failed, in order, to report
	// the first one nobody looked at when the pipeline ends.
	failed []*handle
	// syncs counts the sync points queued: a handle whose seg is below it
	// has its segment's Sync queued, so its outcome can be awaited whole.
	syncs uint64
}

// pipelineChunk is how much queued data a pipeline buffers before writing.
const pipelineChunk = 64 << 10

// handle is what every pipeline command result holds.
type handle struct {
	p        *Pipeline
	res      result
	observed bool  // the caller saw the error (or asked for it)
	queued   bool  // the command went into the queue
	localErr error // why it was not queued, or a Tx callback's error
	span     *traceSpan
	// tx is the transaction fence the command ran in: looking at the
	// transaction's outcome counts as looking at its commands' errors.
	tx *txFence
	// seg is the number of sync points queued before the command.
	seg uint64
	// toldLate is set once the caller was given an error that arrived at
	// the segment's sync point after the command had succeeded.
	toldLate bool
}

// txFence is one Pipeline.Tx block.
type txFence struct{ observed bool }

// seen reports whether the caller looked at h's error, directly or
// through its transaction's outcome.
// A commit-time error that replaced a success the caller already saw is
// seen only once returned.
func (h *handle) seen() bool {
	if h.tx != nil && h.tx.observed {
		return true
	}
	return h.observed && (!h.res.late || h.toldLate)
}

// RunPipeline runs f with the connection behind sc in pipeline mode. When
// f returns, the pipeline writes a final Sync and reads every outstanding
// result, so the connection is back in normal mode. It returns f's error,
// or else the first command error that no handle reported. ctx bounds the
// whole pipeline: when it ends, the running command is cancelled,
// commands not yet sent are dropped (their handles return ctx's error),
// and the connection is drained and kept.
func RunPipeline(ctx context.Context, sc *sql.Conn, f func(*Pipeline) error) error {
	return withConn(sc, func(c *conn) error { return c.Pipeline(ctx, f) })
}

// Pipeline runs f in pipeline mode on this connection; see [RunPipeline].
func (c *conn) Pipeline(ctx context.Context, f func(*Pipeline) error) error {
	if err := c.begin(ctx, "pipeline"); err != nil {
		if errors.Is(err, driver.ErrBadConn) {
			return c.core.broken
		}
		return err
	}
	p := &Pipeline{c: c, core: c.core, ctx: ctx}
	c.state.hold(holdPipeline, "RunPipeline")
	c.core.pipe.enter()
	defer func() {
		c.state.release(holdPipeline)
		_ = c.core.closePipeline() // an error breaks the connection: reported by its next use
		c.endOp()
	}()
	ferr := f(p)
	err := p.finish()
	if ferr != nil {
		return ferr
	}
	return err
}

// resultEnded records a failed result for the end-of-pipeline report, and
// ends the command's trace.
func (h *handle) resultEnded(res *result) {
	if res.err != nil {
		h.p.failed = append(h.p.failed, h)
	}
	h.span.end(res, res.rowsAffected, res.err)
	h.span = nil
}

// finish writes the final Sync, drains every result, and returns the
// first error no handle reported.
func (p *Pipeline) finish() error {
	p.closed = true
	core := p.core
	if core.broken == nil {
		if p.ctx.Err() != nil || core.pipe.cut() {
			core.endPipeline()
		} else {
			p.syncs++
			core.queueSync()
			_ = core.flushReading()
		}
		for core.inFlight() > 0 && core.broken == nil {
			if _, err := core.advance(nil); err != nil {
				break
			}
		}
	}
	for _, h := range p.failed {
		if !h.seen() {
			return h.res.err
		}
	}
	if core.broken != nil {
		return core.broken
	}
	return nil
}

// newHandle prepares a handle for sql, or fails it at once when the
// pipeline cannot take the command.
func (p *Pipeline) newHandle(sql string) *handle {
	h := &handle{p: p, tx: p.curTx, seg: p.syncs}
	h.res.reset(sql)
	h.res.owner = h
	switch {
	case p.closed:
		h.fail(errors.New("pgpipe: pipeline used after its callback returned"))
	case p.core.broken != nil:
		h.fail(p.core.broken)
	case p.ctx.Err() != nil:
		h.fail(p.ctx.Err())
	case sqltext.Classify(sql, false).Copy:
		h.fail(errors.New("pgpipe: COPY cannot run inside a pipeline: run it after the pipeline ends"))
	}
	return h
}

// fail ends a command the pipeline could not queue.
func (h *handle) fail(err error) {
	h.localErr = err
	h.res.err = err
	h.res.state = resDone
	h.p.failed = append(h.p.failed, h)
}

// queue adds one execution to the pipeline; quiet drops the server's
// "no transaction in progress" warning for it.
func (p *Pipeline) queue(h *handle, args []any, describe, quiet bool, force cache.Force) {
	if h.localErr != nil {
		return
	}
	nv, err := namedArgs(args)
	if err == nil {
		h.span = p.core.startTrace(p.ctx, TraceQuery{SQL: h.res.sql, Args: len(args), Pipelined: true})
		err = p.core.queueExec(&h.res, nv, execOpts{describe: describe, force: force, quiet: quiet})
	}
	if err != nil {
		h.span.end(&h.res, 0, err)
		h.span = nil
		h.fail(err)
		return
	}
	h.queued = true
	if p.core.out.buffered() >= pipelineChunk {
		p.send(false)
	}
}

// internal queues a statement of the pipeline's own (BEGIN, COMMIT,
// ROLLBACK), never prepared.
func (p *Pipeline) internal(sql string) *handle {
	h := p.newHandle(sql)
	h.res.discard = true
	p.queue(h, nil, false, false, cache.Never)
	return h
}

// namedArgs converts pipeline arguments as database/sql would for a
// pgpipe connection: the driver's own checks, then database/sql's default
// conversion for the rest.
func namedArgs(args []any) ([]driver.NamedValue, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := codec.CheckArg(a)
		if errors.Is(err, driver.ErrSkip) {
			v, err = driver.DefaultParameterConverter.ConvertValue(a)
		}
		if err != nil {
			return nil, &ArgError{Position: i + 1, Err: err}
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv, nil
}

// send writes what is queued, with a Flush message when the caller is
// about to read (the server holds its output until a Sync or a Flush).
func (p *Pipeline) send(forRead bool) error {
	core := p.core
	if core.broken != nil {
		return core.broken
	}
	if p.ctx.Err() != nil {
		// Commands not yet sent are dropped; what was sent is answered
		// up to the Sync that ends the pipeline.
		core.endPipeline()
		return nil
	}
	if !core.hasUnsent() {
		return nil
	}
	if forRead {
		core.out.queueFlush()
	}
	return core.flushReading()
}

// await reads until h's result reaches want (resDescribed or resDone).
func (p *Pipeline) await(h *handle, want resState, sink *result) error {
	if h.res.state >= want {
		return nil
	}
	if err := p.send(true); err != nil && h.res.state < want {
		return err
	}
	for h.res.state < want {
		if _, err := p.core.advance(sink); err != nil {
			return err
		}
	}
	return nil
}

// settle waits, once h's command ended, for the sync point of its segment
// when that Sync is queued: an error the server reports there (a deferred
// constraint at the implicit commit) is then h's outcome too. A handle
// read before its segment's Sync was queued cannot wait for it; a later
// commit error then reaches the pipeline's own error (see seen).
func (p *Pipeline) settle(h *handle) error {
	if !h.queued || h.settled() || p.syncs == h.seg {
		return nil
	}
	if err := p.send(true); err != nil && !h.settled() {
		return err
	}
	for !h.settled() {
		if _, err := p.core.advance(nil); err != nil {
			return err
		}
	}
	return nil
}

// settled reports whether h's outcome is final: it failed, or its
// segment's sync point was answered.
func (h *handle) settled() bool {
	return h.res.state == resDone && (h.res.err != nil || h.res.synced)
}

// Sync writes a sync point: the commands before it form a unit (an
// implicit transaction) whose failure does not skip the commands after it.
func (p *Pipeline) Sync() error {
	if p.closed {
		return errors.New("pgpipe: pipeline used after its callback returned")
	}
	if p.core.broken != nil {
		return p.core.broken
	}
	p.syncs++
	if err := p.ctx.Err(); err != nil || p.core.pipe.cut() {
		// The pipeline was cut (or is now): the Sync that ends it is
		// written already, and a Sync queued now would never be sent.
		p.core.endPipeline()
		return firstErr(err, context.Canceled)
	}
	p.core.queueSync()
	if p.core.out.buffered() >= pipelineChunk {
		return p.send(false)
	}
	return nil
}

// Block runs f between two sync points (psycopg's nested pipeline): a
// failure inside it skips only the rest of the block, and a failure before
// it does not skip it.
func (p *Pipeline) Block(f func(*Pipeline) error) error {
	if err := p.Sync(); err != nil {
		return err
	}
	ferr := f(p)
	if err := p.Sync(); err != nil && ferr == nil {
		return err
	}
	return ferr
}

// Tx runs f as one transaction fenced by sync points: BEGIN, f's
// commands, COMMIT. If a command in it fails, the transaction rolls back
// alone: commands after the fence still run. If f returns an error, the
// transaction is rolled back instead of committed. The returned handle
// reports the outcome: nil once committed, else the error of the command
// that failed first. Transactions cannot nest in a pipeline.
func (p *Pipeline) Tx(f func(*Pipeline) error) *Result {
	if p.curTx != nil {
		h := p.newHandle("COMMIT")
		h.fail(errors.New("pgpipe: transactions cannot nest in a pipeline"))
		return &Result{h: h, tx: true}
	}
	p.Sync()
	fence := &txFence{}
	p.curTx = fence
	p.internal("BEGIN")
	ferr := f(p)
	end := "COMMIT"
	if ferr != nil {
		end = "ROLLBACK"
	}
	h := p.internal(end)
	p.curTx = nil
	if ferr != nil && h.localErr == nil {
		h.localErr = ferr
	}
	p.Sync()
	// After a failure the transaction block is still open, aborted, at
	// the sync point: this ROLLBACK ends it (and after a commit it is a
	// no-op whose warning the driver drops).
	rb := p.newHandle("ROLLBACK")
	rb.observed = true
	p.queue(rb, nil, false, true, cache.Never)
	return &Result{h: h, tx: true}
}

// Exec queues a statement and returns the handle of its result.
func (p *Pipeline) Exec(query string, args ...any) *Result {
	h := p.newHandle(query)
	h.res.discard = true
	p.queue(h, args, false, false, force(p.ctx))
	return &Result{h: h}
}

// Query queues a query and returns the handle of its rows.
func (p *Pipeline) Query(query string, args ...any) *Rows {
	h := p.newHandle(query)
	p.queue(h, args, true, false, force(p.ctx))
	return &Rows{h: h}
}

// QueryRow queues a query whose first row is wanted.
func (p *Pipeline) QueryRow(query string, args ...any) *Row {
	return &Row{rows: p.Query(query, args...)}
}

// Result is the handle of a command queued with [Pipeline.Exec] or of a
// transaction queued with [Pipeline.Tx].
type Result struct {
	h  *handle
	tx bool
}

// Err waits for the command's result and returns its error: an *[Error]
// when it failed, an *[AbortedError] when the server skipped it, nil when
// it succeeded.
func (r *Result) Err() error {
	h := r.h
	h.observed = true
	if r.tx && h.tx != nil {
		h.tx.observed = true
	}
	if !h.queued {
		return h.localErr
	}
	if err := h.p.await(h, resDone, nil); err != nil {
		return err
	}
	if err := h.p.settle(h); err != nil {
		return err
	}
	err := h.res.err
	h.toldLate = h.res.late
	if !r.tx {
		return err
	}
	var ab *AbortedError
	if errors.As(err, &ab) {
		return ab.Cause // the transaction's outcome is the command that failed
	}
	if err == nil {
		err = h.localErr // the callback's error: rolled back
	}
	return err
}

// RowsAffected waits for the command and returns the rows it affected.
func (r *Result) RowsAffected() (int64, error) {
	if err := r.Err(); err != nil {
		return 0, err
	}
	return r.h.res.rowsAffected, nil
}

// CommandTag waits for the command and returns its tag, e.g. "INSERT 0 1".
func (r *Result) CommandTag() (string, error) {
	if err := r.Err(); err != nil {
		return "", err
	}
	return r.h.res.commandTag(), nil
}

// Rows is the handle of a query queued with [Pipeline.Query]. Its methods
// follow *sql.Rows: Next, Scan (with database/sql's conversions), Err,
// Close, Columns.
type Rows struct {
	h      *handle
	vals   []driver.Value
	box    codec.Boxer
	err    error
	closed bool
}

// Next waits for the query's next row; false at the end or on error.
func (r *Rows) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	h := r.h
	h.observed = true
	if err := h.p.await(h, resDescribed, &h.res); err != nil {
		r.err = err
		return false
	}
	if raw, ok := h.res.buf.next(); ok {
		return r.decode(raw)
	}
	for h.res.state != resDone {
		ev, err := h.p.core.advance(&h.res)
		if err != nil {
			r.err = err
			return false
		}
		if ev == evRow {
			h.res.delivered = true
			return r.decode(h.p.core.rowValues)
		}
	}
	if raw, ok := h.res.buf.next(); ok {
		return r.decode(raw)
	}
	if err := h.p.settle(h); err != nil {
		r.err = err
		return false
	}
	r.err = h.res.err
	h.toldLate = h.res.late
	return false
}

// decode converts one row into r.vals.
func (r *Rows) decode(raw [][]byte) bool {
	cols := r.h.res.cols
	if cap(r.vals) < len(cols) {
		r.vals = make([]driver.Value, len(cols))
	}
	r.vals = r.vals[:len(cols)]
	if err := r.h.p.core.env.decodeRow(&r.box, cols, raw, r.vals); err != nil {
		r.err = err
		return false
	}
	return true
}

// Scan copies the current row into dest, as (*sql.Rows).Scan does.
func (r *Rows) Scan(dest ...any) error {
	if len(dest) != len(r.vals) {
		return fmt.Errorf("pgpipe: Scan expected %d destination arguments, not %d", len(r.vals), len(dest))
	}
	for i := range dest {
		if err := codec.ConvertAssign(dest[i], r.vals[i]); err != nil {
			return fmt.Errorf("pgpipe: Scan column %d (%s): %w", i, r.h.res.cols[i].name, err)
		}
	}
	return nil
}

// Err returns the error that ended the rows, if any.
func (r *Rows) Err() error {
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// Columns waits for the query to be described and returns its column names.
func (r *Rows) Columns() ([]string, error) {
	h := r.h
	h.observed = true
	if err := h.p.await(h, resDescribed, &h.res); err != nil {
		return nil, err
	}
	if h.res.err != nil && h.res.cols == nil {
		return nil, h.res.err
	}
	names := make([]string, len(h.res.cols))
	for i, c := range h.res.cols {
		names[i] = c.name
	}
	return names, nil
}

// Close discards the rest of the rows. It does not wait for them.
func (r *Rows) Close() error {
	if !r.closed {
		r.closed = true
		r.h.res.discard = true
		r.h.res.buf.reset()
	}
	return r.Err()
}

// Row is the handle of a query queued with [Pipeline.QueryRow].
type Row struct {
	rows *Rows
}

// Scan waits for the query and copies its first row into dest;
// sql.ErrNoRows when there is none.
func (r *Row) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	return r.rows.Scan(dest...)
}

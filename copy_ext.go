package pgpipe

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// COPY (PostgreSQL, "COPY" and protocol "COPY Operations"), through
// (*sql.Conn).Raw or the helpers below. Data streams in chunks of
// copyChunk bytes in both directions: memory does not grow with the number
// of rows. Every call leaves the connection ready for the next command,
// whatever fails:
//
//   - COPY FROM: a source that fails mid-stream makes the driver send
//     CopyFail with the source's error text; the server aborts the COPY
//     and the call returns the source's error. A server error (a bad
//     value on some line) is an *Error whose Where says which line. A
//     context that ends does the same as a failing source.
//   - COPY TO: a writer that fails, or a stream closed before its end,
//     stops the COPY: outside a transaction block by cancelling it on the
//     server; inside one by reading the rest and discarding it, because a
//     cancel would abort the transaction. A context that ends cancels the
//     COPY in both cases; inside a transaction block the transaction is
//     then aborted, and the error says so.
//
// A failed COPY inside the caller's transaction block leaves that
// transaction aborted, as any failed statement does; it is never committed
// or rolled back by the driver. COPY cannot run inside a pipeline.

// copyChunk is the size of the CopyData messages the driver sends: a
// message goes out once it holds copyChunk bytes of data.
const copyChunk = 64 << 10

// copyRowSlack is the room a COPY's buffer has past copyChunk, so the row
// that fills a chunk fits without the buffer growing (rows are written
// whole; one longer than this grows it once).
const copyRowSlack = 4 << 10

// RowSource yields the rows of a COPY FROM from Go values ([CopyFromRows]).
type RowSource interface {
	// Next advances to the next row; false at the end or on error.
	Next() bool
	// Values returns the current row. The slice may be reused by Next.
	Values() ([]any, error)
	// Err returns the error that stopped Next, if any.
	Err() error
}

// CopyFromSlice is a RowSource over rows held in memory.
func CopyFromSlice(rows [][]any) RowSource { return &sliceSource{rows: rows, i: -1} }

type sliceSource struct {
	rows [][]any
	i    int
}

func (s *sliceSource) Next() bool             { s.i++; return s.i < len(s.rows) }
func (s *sliceSource) Values() ([]any, error) { return s.rows[s.i], nil }
func (s *sliceSource) Err() error             { return nil }

// CopyValueError reports a value COPY FROM could not encode. Nothing after
// it was sent; the COPY was aborted.
type CopyValueError struct {
	Row    int64  // 1-based
	Column string // the column's name
	Err    error
}

func (e *CopyValueError) Error() string {
	return fmt.Sprintf("pgpipe: COPY row %d, column %q: %s", e.Row, e.Column, strings.TrimPrefix(e.Err.Error(), "pgpipe: "))
}

// Unwrap returns the encoding error.
func (e *CopyValueError) Unwrap() error { return e.Err }

// CopyFrom runs a COPY ... FROM STDIN statement on the connection behind
// sc, feeding it from r in whatever format the statement names (text, csv,
// binary), and returns the number of rows copied.
func CopyFrom(ctx context.Context, sc *sql.Conn, query string, r io.Reader) (int64, error) {
	var n int64
	err := withConn(sc, func(c *conn) (err error) {
		n, err = c.CopyFrom(ctx, query, r)
		return err
	})
	return n, err
}

// CopyFromRows copies rows of Go values into table's columns (all of
// them, in order, when columns is empty) with COPY ... FROM STDIN, in the
// binary format when the driver can encode every column's type, else in
// text. table is used as written (schema-qualify or quote it as needed);
// column names are quoted.
func CopyFromRows(ctx context.Context, sc *sql.Conn, table string, columns []string, src RowSource) (int64, error) {
	var n int64
	err := withConn(sc, func(c *conn) (err error) {
		n, err = c.CopyFromRows(ctx, table, columns, src)
		return err
	})
	return n, err
}

// CopyTo runs a COPY ... TO STDOUT statement on the connection behind sc
// and writes its output to w; it returns the number of rows copied.
func CopyTo(ctx context.Context, sc *sql.Conn, query string, w io.Writer) (int64, error) {
	var n int64
	err := withConn(sc, func(c *conn) (err error) {
		n, err = c.CopyTo(ctx, query, w)
		return err
	})
	return n, err
}

// CopyToStream runs a COPY ... TO STDOUT statement on the connection
// behind sc and hands its output to f as a stream to read at f's own
// pace. f may stop reading early: when it returns, the COPY is stopped as
// described above. The reader must not be used after f returns.
func CopyToStream(ctx context.Context, sc *sql.Conn, query string, f func(io.Reader) error) error {
	return withConn(sc, func(c *conn) error {
		s, err := c.CopyToStream(ctx, query)
		if err != nil {
			return err
		}
		ferr := f(s)
		cerr := s.Close()
		if ferr != nil {
			return ferr
		}
		return cerr
	})
}

// CopyFrom runs a COPY ... FROM STDIN statement fed from r; see [CopyFrom].
func (c *conn) CopyFrom(ctx context.Context, query string, r io.Reader) (int64, error) {
	return c.copyIn(ctx, query, func(w *copyWriter) error {
		for {
			buf := w.space()
			n, err := r.Read(buf)
			w.wrote(n)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if werr := w.maybeFlush(); werr != nil {
				return werr
			}
		}
	})
}

// copyIn sends query with the simple protocol, waits for CopyInResponse,
// lets feed write the data, and ends the COPY: CopyDone when feed returned
// nil, CopyFail with its error otherwise.
func (c *conn) copyIn(ctx context.Context, query string, feed func(*copyWriter) error) (int64, error) {
	if err := c.begin(ctx, query); err != nil {
		return 0, err
	}
	defer c.endOp()
	core := c.core
	res := &c.execRes
	res.reset(query)
	res.copyWanted, res.discard = true, true
	span := core.startTrace(ctx, TraceQuery{SQL: query, Copy: true})
	n, err := c.copyInRun(ctx, res, feed)
	span.end(res, n, err)
	return n, err
}

// copyInRun is copyIn after the trace started.
func (c *conn) copyInRun(ctx context.Context, res *result, feed func(*copyWriter) error) (int64, error) {
	core := c.core
	if err := core.copy.start(res, evCopyIn); err != nil || res.state == resDone {
		return 0, firstErr(err, res.err, errors.New("pgpipe: the statement is not a COPY FROM STDIN"))
	}
	w := &copyWriter{core: core, ctx: ctx}
	ferr := feed(w)
	if ferr == nil {
		ferr = w.flush()
	}
	if ferr == nil {
		core.copy.done()
	} else {
		// Also after a server error: the server discards data until
		// CopyDone or CopyFail, then answers ReadyForQuery.
		core.copy.fail(ferr.Error())
	}
	if err := core.flush(); err != nil {
		return 0, err
	}
	if err := core.awaitSync(); err != nil {
		return 0, err
	}
	if ferr != nil && !w.serverFailed {
		return 0, ferr // the source's error, not the server's echo of it
	}
	if res.err != nil {
		return 0, core.txn.note(res.err)
	}
	return res.rowsAffected, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// copyWriter builds CopyData messages in place: buf holds the 5-byte
// header, then data. It notices a server error early (the server keeps
// reading and discarding data after one) and the end of the context.
type copyWriter struct {
	core *core
	ctx  context.Context
	buf  []byte
	// serverFailed is set when the server ended the COPY with an error
	// while data was still being sent.
	serverFailed bool
}

// space returns room to write at least a few KiB of data into.
func (w *copyWriter) space() []byte {
	if len(w.buf) == 0 {
		if w.buf == nil {
			w.buf = make([]byte, 5, 5+copyChunk+copyRowSlack)
		}
		w.buf = w.buf[:5]
	}
	if cap(w.buf)-len(w.buf) < 4096 {
		grown := make([]byte, len(w.buf), 2*cap(w.buf))
		copy(grown, w.buf)
		w.buf = grown
	}
	return w.buf[len(w.buf):cap(w.buf)]
}

// wrote records n bytes written into the space returned last.
func (w *copyWriter) wrote(n int) { w.buf = w.buf[:len(w.buf)+n] }

// append adds data to the current chunk.
func (w *copyWriter) append(b []byte) {
	if len(w.buf) == 0 {
		w.space()
	}
	w.buf = append(w.buf, b...)
}

// maybeFlush sends the chunk once it is full.
func (w *copyWriter) maybeFlush() error {
	if len(w.buf) >= copyChunk {
		return w.flush()
	}
	return nil
}

// flush sends the buffered data as one CopyData message.
func (w *copyWriter) flush() error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if len(w.buf) <= 5 {
		return nil
	}
	w.buf[0] = 'd'
	binary.BigEndian.PutUint32(w.buf[1:5], uint32(len(w.buf)-1))
	err := w.core.copy.send(w.buf)
	w.buf = w.buf[:5]
	if err != nil {
		return err
	}
	failed, err := w.core.copy.poll()
	if failed != nil {
		w.serverFailed = true
		return failed
	}
	return err
}

// CopyTo runs a COPY ... TO STDOUT statement and writes its output to w;
// see [CopyTo].
func (c *conn) CopyTo(ctx context.Context, query string, w io.Writer) (int64, error) {
	s, err := c.CopyToStream(ctx, query)
	if err != nil {
		return 0, err
	}
	for {
		data, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.Close()
			return 0, err
		}
		if _, werr := w.Write(data); werr != nil {
			s.Close()
			return 0, werr
		}
	}
	if err := s.Close(); err != nil {
		return 0, err
	}
	return s.rows, nil
}

// CopyStream is the output of a COPY ... TO STDOUT, read at the caller's
// pace. It must be closed, and not used after the Raw callback returns.
type CopyStream struct {
	c   *conn
	res *result
	// ctxDone is the context's Done channel: once it is closed, no more
	// data goes to the caller (see next).
	ctxDone <-chan struct{}
	ctx     context.Context
	data    []byte // unread part of the current CopyData
	rows    int64
	err     error
	closed  bool
	done    bool
	span    *traceSpan
}

// CopyToStream starts a COPY ... TO STDOUT statement; see [CopyToStream].
func (c *conn) CopyToStream(ctx context.Context, query string) (*CopyStream, error) {
	if err := c.begin(ctx, query); err != nil {
		return nil, err
	}
	res := &c.execRes
	res.reset(query)
	res.copyWanted = true
	if err := c.core.copy.start(res, evCopyOut); err != nil || res.state == resDone {
		c.endOp()
		return nil, firstErr(err, c.core.txn.note(res.err), errors.New("pgpipe: the statement is not a COPY TO STDOUT"))
	}
	s := &CopyStream{c: c, res: res, ctx: ctx, ctxDone: ctx.Done(), span: c.core.startTrace(ctx, TraceQuery{SQL: query, Copy: true})}
	c.state.hold(holdCopyOut, query)
	return s, nil
}

// next returns the next CopyData's data (valid until the next call), or
// io.EOF after the last.
func (s *CopyStream) next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	core := s.c.core
	for !s.done {
		if s.ended() {
			return nil, s.drain()
		}
		ev, err := core.advance(s.res)
		if err != nil {
			s.err = err
			s.done = true
			return nil, err
		}
		switch ev {
		case evCopyData:
			if s.ended() {
				return nil, s.drain()
			}
			return core.copy.data, nil
		case evSync:
			s.done = true
		}
	}
	if s.res.err != nil {
		s.err = core.txn.note(s.res.err)
		return nil, s.err
	}
	s.rows = s.res.rowsAffected
	return nil, io.EOF
}

// ended reports, without blocking, whether the stream's context ended.
func (s *CopyStream) ended() bool {
	select {
	case <-s.ctxDone:
		return true
	default:
		return false
	}
}

// drain ends a COPY whose context ended: no more data reaches the caller,
// whatever its writer's pace. The context's end sent a CancelRequest
// (cancel.go); the rest of the output is read and dropped up to
// ReadyForQuery, within the cancel grace period, and the connection is
// kept. The error is the context's, as a *CancelError; inside a
// transaction block it also says that the transaction is aborted.
func (s *CopyStream) drain() error {
	core := s.c.core
	s.res.discard = true
	err := core.awaitSync()
	s.done = true
	if err == nil {
		err = core.watch.err()
	}
	if err == nil {
		err = s.ctx.Err()
	}
	s.err = core.txn.note(err)
	return s.err
}

// Read reads COPY output; io.EOF after the last row.
func (s *CopyStream) Read(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("pgpipe: read from a closed CopyStream")
	}
	for len(s.data) == 0 {
		data, err := s.next()
		if err != nil {
			return 0, err
		}
		s.data = data
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// Rows is the number of rows copied, known once Read returned io.EOF.
func (s *CopyStream) Rows() int64 { return s.rows }

// Close ends the stream. Before the end of the data it stops the COPY:
// outside a transaction block it cancels it on the server; inside one it
// reads and discards the rest, so the transaction stays valid. Either way
// the connection is ready for the next command.
func (s *CopyStream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	c := s.c
	defer func() {
		c.state.release(holdCopyOut)
		c.endOp()
		s.span.end(s.res, s.res.rowsAffected, s.res.err)
	}()
	if s.done {
		if errors.Is(s.err, io.EOF) {
			return nil
		}
		return s.err
	}
	core := c.core
	s.res.discard = true
	cancelled := false
	if core.txn.serverIdle() {
		// Outside a transaction block the COPY is its own transaction:
		// cancelling it loses nothing the caller did not give up.
		_, err := core.key.sendCancel(cancelGrace(core.cfg), func() bool { return true })
		cancelled = err == nil
	}
	if err := core.awaitSync(); err != nil {
		return err
	}
	if s.res.err != nil && !(cancelled && isQueryCanceled(s.res.err)) {
		return core.txn.note(s.res.err)
	}
	return nil
}

// isQueryCanceled reports the server's 57014.
func isQueryCanceled(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "57014"
}

// cancelGrace is the configured grace period, or its default.
func cancelGrace(cfg *Config) time.Duration {
	if cfg.CancelGrace > 0 {
		return cfg.CancelGrace
	}
	return 5 * time.Second
}

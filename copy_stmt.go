package pgpipe

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// copyStmt is a COPY ... FROM STDIN prepared the way lib/pq users do COPY
// (and the way lib/pq's CopyIn helper builds the statement):
//
//	stmt, _ := tx.Prepare(`COPY "t" ("a", "b") FROM STDIN`)
//	for _, r := range rows {
//		stmt.Exec(r.A, r.B) // one row
//	}
//	res, _ := stmt.Exec() // no arguments: ends the COPY
//	n, _ := res.RowsAffected()
//	stmt.Close()
//
// The COPY starts with the first Exec; rows go out in chunks, as they
// come: in the binary format inside a transaction block when the
// statement names its columns (copy_stmt_binary.go), else in text. From then until the final Exec the connection is
// busy with the COPY. Closing the statement before the final Exec aborts
// the COPY (inside a transaction block, that aborts the transaction, as
// any failed statement does); so does ending the sql.Tx before it, which
// database/sql does before it closes the statement (tx.abortCopy): Commit
// then rolls back and returns ErrTxRolledBack.
//
// Run the idiom on a sql.Tx (as lib/pq requires: it refuses COPY outside
// a transaction) or on a sql.Conn. On a *sql.DB, database/sql puts the
// connection back in its pool after every Exec, and a connection never
// goes back to the pool with a COPY in progress: when database/sql hands
// it out again (ResetSession), the COPY is aborted with CopyFail, so
// nothing of it is committed, and the statement's next Exec on that
// connection returns an [*AbandonedCopyError]. Each Exec may also run on
// another connection of the pool, where it would start a COPY of its own;
// so the idiom cannot load data through a *sql.DB, and the error says so
// instead of committing part of the rows.
type copyStmt struct {
	c        *conn
	sql      string
	res      result
	w        *copyWriter
	started  bool
	finished bool
	err      error // sticky: the COPY failed
	// bin is set while the COPY goes in the binary format
	// (copy_stmt_binary.go); copied counts the rows of a binary COPY
	// that was ended to go on in text; idle is set while no COPY is in
	// progress on the server between the two.
	bin    *copyBinary
	copied int64
	idle   bool
}

// AbandonedCopyError is the error of a lib/pq-style COPY statement (see
// [database/sql.DB.Prepare] of a COPY ... FROM STDIN) whose connection
// went back to database/sql's pool before the final Exec that ends the
// COPY: the COPY was aborted and nothing of it was committed. Run the
// statement on a sql.Tx or a sql.Conn.
type AbandonedCopyError struct {
	Query string // the COPY statement
}

func (e *AbandonedCopyError) Error() string {
	return "pgpipe: the COPY (" + shortSQL(e.Query) + ") was aborted and nothing of it committed: its connection went back to database/sql's pool " +
		"before the final Exec() that ends it (a statement prepared on a *sql.DB); prepare it on a sql.Tx or sql.Conn, as lib/pq requires a transaction"
}

// NumInput returns -1: each Exec carries one row, the last none.
func (s *copyStmt) NumInput() int { return -1 }

// ExecContext sends one row, or, with no arguments, ends the COPY and
// reports the rows copied. ctx is watched (see ctxWatch) only while the
// Exec waits on the connection: a row that only goes into the buffer
// registers nothing with ctx, which database/sql calls for every row.
func (s *copyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.finished {
		return nil, errors.New("pgpipe: the COPY statement already ended")
	}
	if !s.started {
		// With multiplex on, the session pinned by Prepare may have ended
		// when database/sql took the connection back.
		if err := s.c.session(ctx, true); err != nil {
			return nil, err
		}
		err := s.start(ctx)
		s.c.core.watch.stop()
		if err != nil {
			s.err = err
			return nil, err
		}
	} else if s.c.core.broken != nil {
		return nil, s.c.core.broken
	}
	if len(args) == 0 {
		return s.watchedFinish(ctx)
	}
	err := ctx.Err()
	if err == nil {
		err = s.row(ctx, args)
	}
	if err != nil {
		s.watchedAbort(ctx, err)
		return nil, err
	}
	return driver.RowsAffected(0), nil
}

// watchedFinish is finish with ctx watched.
func (s *copyStmt) watchedFinish(ctx context.Context) (driver.Result, error) {
	s.w.ctx = ctx
	s.c.core.watch.start(ctx)
	defer s.c.core.watch.stop()
	return s.finish()
}

// watchedAbort is abort with ctx watched.
func (s *copyStmt) watchedAbort(ctx context.Context, cause error) {
	s.w.ctx = ctx
	s.c.core.watch.start(ctx)
	defer s.c.core.watch.stop()
	s.abort(cause)
}

// watched runs f, which waits on the connection, with ctx watched.
func (s *copyStmt) watched(ctx context.Context, f func() error) error {
	s.c.core.watch.start(ctx)
	defer s.c.core.watch.stop()
	return f()
}

// start sends the COPY and waits for the server to take data.
func (s *copyStmt) start(ctx context.Context) error {
	c := s.c
	query, bin, err := s.binaryPlan(ctx) // a command of its own, when it describes the table
	if err != nil {
		return c.core.txn.note(err)
	}
	if err := c.begin(ctx, s.sql); err != nil {
		return err
	}
	core := c.core
	s.bin = bin
	s.res.reset(query)
	s.res.copyWanted, s.res.discard = true, true
	if err := core.copy.start(&s.res, evCopyIn); err != nil || s.res.state == resDone {
		c.endOp()
		return firstErr(err, core.txn.note(s.res.err), errors.New("pgpipe: the statement is not a COPY FROM STDIN"))
	}
	s.started = true
	s.w = &copyWriter{core: core, ctx: ctx}
	if s.bin != nil {
		s.w.append(binaryCopyHeader)
	}
	c.state.holdCopyStmt(s)
	return nil
}

// textRow appends one row in the text COPY format.
func (s *copyStmt) textRow(args []driver.NamedValue) error {
	w := s.w
	if len(w.buf) == 0 {
		w.space()
	}
	for i, a := range args {
		if i > 0 {
			w.buf = append(w.buf, '\t')
		}
		var err error
		if w.buf, err = appendCopyText(w.buf, a.Value); err != nil {
			return &ArgError{Position: i + 1, Err: err}
		}
	}
	w.buf = append(w.buf, '\n')
	return nil
}

// row buffers one row, in binary while the COPY is binary and the values
// allow it, else in text, and sends the chunk once it is full. ctx is
// watched (and the writer's) only while the connection is waited on: a
// row that only goes into the buffer stores nothing, not even ctx.
func (s *copyStmt) row(ctx context.Context, args []driver.NamedValue) error {
	if s.bin != nil {
		ok, err := s.binaryRow(args)
		if err != nil {
			return err
		}
		if !ok {
			s.w.ctx = ctx
			if err := s.watched(ctx, s.toText); err != nil {
				return err
			}
		}
	}
	if s.bin == nil {
		if err := s.textRow(args); err != nil {
			return err
		}
	}
	if len(s.w.buf) < copyChunk {
		return nil
	}
	s.w.ctx = ctx
	return s.watched(ctx, s.w.flush)
}

// finish sends the rest and CopyDone, and reads the result.
func (s *copyStmt) finish() (driver.Result, error) {
	s.finished = true
	core := s.c.core
	defer s.release()
	if s.bin != nil {
		s.w.append(binaryTrailer)
	}
	if err := s.w.flush(); err != nil {
		return nil, s.end(err)
	}
	core.fe.Send(&pgproto3.CopyDone{})
	if err := core.flush(); err != nil {
		return nil, err
	}
	if err := core.awaitSync(); err != nil {
		return nil, err
	}
	if s.res.err != nil {
		return nil, core.txn.note(s.res.err)
	}
	return driver.RowsAffected(s.copied + s.res.rowsAffected), nil
}

// abort ends the COPY after a failure on the client's side.
func (s *copyStmt) abort(cause error) {
	s.err = cause
	s.finished = true
	defer s.release()
	s.end(cause)
}

// end sends CopyFail with cause and reads the server's answer, so the
// connection is ready; it returns cause (or the server's error, when the
// server failed first).
func (s *copyStmt) end(cause error) error {
	core := s.c.core
	if core.broken != nil {
		return core.broken
	}
	if s.idle {
		return cause // no COPY in progress: nothing to fail
	}
	core.fe.Send(&pgproto3.CopyFail{Message: "pgpipe: " + strings.TrimPrefix(cause.Error(), "pgpipe: ")})
	if err := core.flush(); err != nil {
		return err
	}
	if err := core.awaitSync(); err != nil {
		return err
	}
	if s.w.serverFailed {
		return core.txn.note(s.res.err)
	}
	return cause
}

// abandon aborts a started COPY whose connection database/sql is handing
// out again (ResetSession): CopyFail, then the server's answer is read, so
// the connection is ready and nothing of the COPY is committed. Later
// Execs of the statement return an *AbandonedCopyError. A non-nil error
// means the connection could not be brought back.
func (s *copyStmt) abandon() error {
	s.abort(&AbandonedCopyError{Query: s.sql})
	return s.c.core.broken
}

// release frees the connection from the COPY.
func (s *copyStmt) release() {
	if s.c.state.releaseCopyStmt(s) {
		s.c.core.lastUsed = time.Now()
	}
}

// Close aborts a COPY that was started and not ended with Exec().
func (s *copyStmt) Close() error {
	if s.started && !s.finished {
		s.abort(errors.New("the COPY statement was closed before the final Exec() that ends it"))
	}
	return nil
}

// QueryContext is not possible on a COPY FROM STDIN.
func (s *copyStmt) QueryContext(context.Context, []driver.NamedValue) (driver.Rows, error) {
	return nil, errors.New("pgpipe: a COPY FROM STDIN statement takes Exec, not Query")
}

// Exec is ExecContext without a context.
func (s *copyStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

// Query is QueryContext without a context.
func (s *copyStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

// CheckNamedValue checks arguments as the connection does. The types a
// row usually holds are taken as they are, as the connection's check would
// take them, without its general conversion: database/sql calls this for
// every value of every row.
func (s *copyStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name == "" {
		switch nv.Value.(type) {
		case int64, string, float64, time.Time, bool, []byte, int, int32, nil:
			return nil
		}
	}
	return s.c.CheckNamedValue(nv)
}

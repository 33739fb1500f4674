package pgpipe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// tx is a transaction begun with BeginTx.
//
// BeginTx sends nothing: its BEGIN goes out in the same flight as the
// transaction's first command (exec.go's queueBegin), so a transaction
// costs one round trip less than BEGIN on its own would. A transaction
// with no command in it sends nothing at all.
type tx struct {
	c *conn
}

// BeginTx starts a transaction. Isolation levels map to PostgreSQL's:
// ReadCommitted, RepeatableRead and Serializable as named;
// ReadUncommitted is accepted and behaves as read committed, as in
// PostgreSQL itself. Other levels (WriteCommitted, Snapshot,
// Linearizable) are an error.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	// What can fail without the server is checked before a multiplexing
	// connection pins a server connection for the transaction.
	begin, err := beginSQL(opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.state.busy("BEGIN"); err != nil {
		return nil, err
	}
	if err := c.session(ctx, false); err != nil {
		return nil, err
	}
	if c.core.broken != nil {
		return nil, driver.ErrBadConn
	}
	if c.core.txn.inBlock() {
		return nil, errors.New("pgpipe: a transaction is already open on this connection")
	}
	c.core.txn.deferBegin(begin)
	c.tx.c = c
	return &c.tx, nil
}

// beginSQL is the BEGIN statement for opts.
func beginSQL(opts driver.TxOptions) (string, error) {
	s := "BEGIN"
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		s += " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		s += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead:
		s += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		s += " ISOLATION LEVEL SERIALIZABLE"
	default:
		return "", fmt.Errorf("pgpipe: isolation level %v is not supported by PostgreSQL", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		s += " READ ONLY"
	}
	return s, nil
}

// Commit commits the transaction. When a statement in it had failed, the
// server rolls back instead; Commit then returns an error wrapping
// ErrTxRolledBack and the statement's error. The transaction is over
// either way.
func (t *tx) Commit() error {
	defer t.c.txEnded()
	core := t.c.core
	if core.txn.dropDeferred() {
		return nil
	}
	t.abortCopy()
	if core.broken != nil {
		return core.broken
	}
	if err := core.simpleInternal("COMMIT"); err != nil {
		return err
	}
	if core.internalRes.commandTag() == "ROLLBACK" {
		if cause := core.txn.failure; cause != nil {
			return fmt.Errorf("%w: %w", ErrTxRolledBack, cause)
		}
		return ErrTxRolledBack
	}
	return nil
}

// Rollback rolls the transaction back.
func (t *tx) Rollback() error {
	defer t.c.txEnded()
	core := t.c.core
	if core.txn.dropDeferred() {
		return nil
	}
	t.abortCopy()
	if core.broken != nil {
		return core.broken
	}
	if core.txn.serverIdle() {
		return nil // already ended, e.g. by a COMMIT sent as a statement
	}
	return core.simpleInternal("ROLLBACK")
}

// abortCopy aborts lib/pq's COPY idiom left open in the transaction: no
// final Exec() ended it, and database/sql ends a transaction before it
// closes the statements prepared in it. Nothing of the COPY is committed:
// the CopyFail aborts the transaction block, so a COMMIT that follows
// rolls back and Commit returns ErrTxRolledBack with this cause.
func (t *tx) abortCopy() {
	if t.c.state.holder == holdCopyStmt {
		s := t.c.state.copy
		s.abort(errors.New("pgpipe: the transaction ended before the final Exec() of the COPY (" + shortSQL(s.sql) + ")"))
	}
}

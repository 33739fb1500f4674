package pgpipe

import (
	"context"
	"database/sql"
	"fmt"
)

// ExecBatch is psycopg's executemany: one statement for many argument
// sets, in one pipeline (pipeline_ext.go).

// BatchMode chooses how [ExecBatch] fences the executions of a batch.
type BatchMode int

const (
	// BatchAtomic runs the whole batch as one unit (one sync point, one
	// implicit transaction): if one execution fails, none takes effect.
	BatchAtomic BatchMode = iota
	// BatchIndependent puts a sync point after every execution: each row
	// succeeds or fails on its own, and the result lists the failures.
	BatchIndependent
)

// BatchResult is what [ExecBatch] did.
type BatchResult struct {
	// RowsAffected is the sum over the executions that took effect.
	RowsAffected int64
	// Errors has one entry per argument set, nil where the execution
	// succeeded. For BatchAtomic, after a failure every entry is non-nil
	// (the others were skipped or rolled back with it).
	Errors []error
}

// ExecBatch executes query once per argument set in one pipeline (psycopg's
// executemany): round trips are paid once per batch, not once per row. db
// is a *sql.DB or a *sql.Conn opened with pgpipe. With BatchAtomic the
// error is the first failure; with BatchIndependent it is nil unless the
// connection failed, and the failures are in BatchResult.Errors.
func ExecBatch[DB *sql.DB | *sql.Conn](ctx context.Context, db DB, query string, argSets [][]any, mode BatchMode) (BatchResult, error) {
	var sc *sql.Conn
	switch d := any(db).(type) {
	case *sql.Conn:
		sc = d
	case *sql.DB:
		c, err := d.Conn(ctx)
		if err != nil {
			return BatchResult{}, err
		}
		defer c.Close()
		sc = c
	}
	res := BatchResult{Errors: make([]error, len(argSets))}
	var firstErr error
	err := RunPipeline(ctx, sc, func(p *Pipeline) error {
		if mode == BatchAtomic {
			p.Sync() // the batch is its own unit, whatever came before
		}
		handles := make([]*Result, len(argSets))
		for i, args := range argSets {
			handles[i] = p.Exec(query, args...)
			if mode == BatchIndependent {
				p.Sync()
			}
		}
		if mode == BatchAtomic {
			p.Sync()
		}
		for i, h := range handles {
			n, err := h.RowsAffected()
			res.Errors[i] = err
			if err != nil && firstErr == nil {
				firstErr = err
			}
			res.RowsAffected += n
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if mode == BatchAtomic && firstErr != nil {
		res.RowsAffected = 0
		for i := range res.Errors {
			if res.Errors[i] == nil {
				res.Errors[i] = fmt.Errorf("pgpipe: rolled back with the batch: %w", firstErr)
			}
		}
		return res, firstErr
	}
	return res, nil
}

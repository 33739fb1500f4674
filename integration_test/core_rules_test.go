package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/pgpipe/pgpipe"
)

// The rules the connection core keeps for a plain query hold on every
// other path too: pipelines, batches, COPY and LISTEN.

// deferredChild creates a parent table and a child table whose foreign key
// is checked at commit, and returns the child's name.
func deferredChild(t *testing.T, db *sql.DB) string {
	t.Helper()
	parent := newTable(t, db, "id int PRIMARY KEY")
	return newTable(t, db, "p int REFERENCES "+parent+" DEFERRABLE INITIALLY DEFERRED")
}

func wantSQLState(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("%s: want an error with SQLSTATE %s, got %v", what, code, err)
	}
}

func TestCommitTimeErrorReachesEveryPipelinePath(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	child := deferredChild(t, db)
	ins := "INSERT INTO " + child + " VALUES ($1)"
	ctx := context.Background()

	t.Run("ExecBatchAtomic", func(t *testing.T) {
		res, err := pgpipe.ExecBatch(ctx, db, ins, [][]any{{1}, {2}}, pgpipe.BatchAtomic)
		wantSQLState(t, "ExecBatch", err, "23503")
		if res.RowsAffected != 0 {
			t.Errorf("RowsAffected %d, want 0", res.RowsAffected)
		}
		for i, e := range res.Errors {
			if e == nil {
				t.Errorf("Errors[%d] is nil, but nothing was committed", i)
			}
		}
	})
	t.Run("ExecBatchIndependent", func(t *testing.T) {
		res, err := pgpipe.ExecBatch(ctx, db, ins, [][]any{{1}, {2}}, pgpipe.BatchIndependent)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range res.Errors {
			wantSQLState(t, "Errors["+string(rune('0'+i))+"]", e, "23503")
		}
		if res.RowsAffected != 0 {
			t.Errorf("RowsAffected %d, want 0", res.RowsAffected)
		}
	})
	t.Run("RunPipelineHandleReadBeforeSync", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			return p.Exec(ins, 1).Err() // the INSERT itself succeeds
		})
		wantSQLState(t, "RunPipeline", err, "23503")
	})
	t.Run("RunPipelineHandleReadAfterSync", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			h := p.Exec(ins, 1)
			p.Sync()
			wantSQLState(t, "handle", h.Err(), "23503")
			ok := p.Exec("SELECT 1") // the next segment still runs
			if err := ok.Err(); err != nil {
				t.Errorf("the next segment: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Errorf("RunPipeline: %v; the callback saw every error", err)
		}
	})
	if n := countRows(t, db, child); n != 0 {
		t.Errorf("%d rows committed, want 0", n)
	}
}

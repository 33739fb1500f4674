package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// startBouncer runs a PgBouncer in front of the throwaway cluster.
func startBouncer(t *testing.T, mode string) *pgcluster.Bouncer {
	t.Helper()
	c := needCluster(t, "a PgBouncer it starts in front of it, with its superuser and database named pgpipe")
	b, err := c.StartPgBouncer(context.Background(), pgcluster.BouncerOptions{PoolMode: mode, DefaultPoolSize: 2, MaxClientConn: 100})
	if err != nil {
		t.Fatalf("starting PgBouncer (install it with apt-get install pgbouncer): %v", err)
	}
	t.Cleanup(func() { b.Stop() })
	return b
}

// bouncerDB opens a pool of at most maxOpen connections through b with
// prepare_threshold set, closed when the test ends.
func bouncerDB(t *testing.T, b *pgcluster.Bouncer, threshold string, maxOpen int) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgpipe", b.DSN(pgcluster.SuperUser, "", "dbname=pgpipe", "sslmode=disable", "prepare_threshold="+threshold))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(maxOpen)
	return db
}

// mixedLoad runs goroutines × ops mixed operations through db and returns
// the errors and wrong results seen. Every result is checked.
func mixedLoad(t *testing.T, db *sql.DB, goroutines, ops int) (errs []error, wrong int64) {
	t.Helper()
	tbl := newTable(t, db, "g int, i int, v text")
	stmt, err := db.Prepare("SELECT $1::int * 3, $2::text")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	var mu sync.Mutex
	var bad atomic.Int64
	fail := func(err error) {
		mu.Lock()
		if len(errs) < 20 {
			errs = append(errs, err)
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := 0; i < ops; i++ {
				if err := mixedOp(db, stmt, tbl, r.IntN(7), g, i, &bad); err != nil {
					fail(fmt.Errorf("goroutine %d op %d: %w", g, i, err))
				}
			}
		}(g)
	}
	wg.Wait()
	return errs, bad.Load()
}

// mixedOp runs one operation of kind k: point queries of ten shapes, an
// insert, a short transaction, the explicitly prepared statement, a
// pipeline or a batch.
func mixedOp(db *sql.DB, stmt *sql.Stmt, tbl string, k, g, i int, bad *atomic.Int64) error {
	ctx := context.Background()
	switch k {
	case 5:
		return mixedPipeline(db, tbl, g, i, bad)
	case 6:
		res, err := pgpipe.ExecBatch(ctx, db, "INSERT INTO "+tbl+" (g, i, v) VALUES ($1, $2, 'batch')",
			[][]any{{g, i}, {g, i + 1}, {g, i + 2}}, pgpipe.BatchIndependent)
		if err != nil {
			return err
		}
		for _, e := range res.Errors {
			if e != nil {
				return e
			}
		}
		if res.RowsAffected != 3 {
			bad.Add(1)
		}
	case 0:
		var n int
		shape := i % 10
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT $1::int + %d", shape), i).Scan(&n); err != nil {
			return err
		}
		if n != i+shape {
			bad.Add(1)
		}
	case 1:
		if _, err := db.ExecContext(ctx, "INSERT INTO "+tbl+" (g, i, v) VALUES ($1, $2, $3)", g, i, "x"); err != nil {
			return err
		}
	case 2:
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var n int
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+tbl+" (g, i, v) VALUES ($1, $2, 'tx')", g, i); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+tbl+" WHERE g = $1 AND i = $2 AND v = 'tx'", g, i).Scan(&n); err != nil {
			tx.Rollback()
			return err
		}
		if n != 1 {
			bad.Add(1)
		}
		return tx.Commit()
	case 3:
		var n int
		var s string
		if err := stmt.QueryRowContext(ctx, i, fmt.Sprint(g)).Scan(&n, &s); err != nil {
			return err
		}
		if n != 3*i || s != fmt.Sprint(g) {
			bad.Add(1)
		}
	default:
		var s string
		if err := db.QueryRowContext(ctx, "SELECT $1::text || '-' || $2::text", g, i).Scan(&s); err != nil {
			return err
		}
		if s != fmt.Sprintf("%d-%d", g, i) {
			bad.Add(1)
		}
	}
	return nil
}

func TestPgBouncerTransactionModeHasNoErrors(t *testing.T) {
	b := startBouncer(t, "transaction")
	for _, threshold := range []string{"5", "none"} {
		t.Run("prepare_threshold="+threshold, func(t *testing.T) {
			db := bouncerDB(t, b, threshold, 16)
			errs, wrong := mixedLoad(t, db, 16, 2000)
			if len(errs) > 0 || wrong > 0 {
				t.Fatalf("%d wrong results; errors (first %d): %v", wrong, len(errs), errs)
			}
		})
	}
}

func TestPgBouncerSessionModePreparesAsDirect(t *testing.T) {
	b := startBouncer(t, "session")
	db, err := sql.Open("pgpipe", b.DSN(pgcluster.SuperUser, "", "dbname=pgpipe", "sslmode=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 8; i++ {
		var n int
		if err := conn.QueryRowContext(context.Background(), "SELECT $1::int", i).Scan(&n); err != nil || n != i {
			t.Fatalf("%d, %v", n, err)
		}
	}
	if got := preparedCount(t, conn); got != 1 {
		t.Fatalf("%d statements prepared through a session-mode pooler, want 1", got)
	}
	s := stats(t, conn)
	if !s.Pooled || s.Disabled || s.Hits < 2 {
		t.Fatalf("stats %+v: want pooled, preparation still on, hits", s)
	}
}

func TestPgBouncerTransactionModeStopsPreparingAndSaysSo(t *testing.T) {
	b := startBouncer(t, "transaction")
	cfg, err := pgpipe.ParseDSN(b.DSN(pgcluster.SuperUser, "", "dbname=pgpipe", "sslmode=disable", "prepare_threshold=0"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	cfg.Logger = logs.logger()
	cn, _ := pgpipe.NewConnectorConfig(cfg)
	db := sql.OpenDB(cn)
	defer db.Close()
	db.SetMaxOpenConns(4)
	errs, wrong := mixedLoad(t, db, 8, 300)
	if len(errs) > 0 || wrong > 0 {
		t.Fatalf("%d wrong; errors: %v", wrong, errs)
	}
	// A busy machine may leave PgBouncer running the whole load on one
	// backend, where nothing is lost; then lose a statement for sure.
	loseAStatement(t, db)
	if n := logs.count("pooler"); n != 1 {
		t.Fatalf("%d log lines about the pooler, want exactly one per Connector:\n%s", n, logs.String())
	}
}

// loseAStatement makes PgBouncer (transaction mode, two backends) run a
// statement db prepared on a backend that does not have it: a
// transaction on another connection holds the backend the statement was
// prepared on, so the next execution goes to the other. Once the pool
// stopped preparing, the execution is unnamed and nothing is lost.
func loseAStatement(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const q = "SELECT pg_backend_pid() AS prepared_here"
	var pid int
	if err := a.QueryRowContext(ctx, q).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for attempt := 1; ; attempt++ {
		tx, err := other.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var held int
		if err := tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held == pid {
			var ran int
			err := a.QueryRowContext(ctx, q).Scan(&ran)
			_ = tx.Rollback()
			if err != nil || ran == pid {
				t.Fatalf("while backend %d was held: ran on %d, %v", pid, ran, err)
			}
			return
		}
		_ = tx.Rollback()
		if attempt == 50 {
			t.Fatalf("PgBouncer never gave a transaction backend %d in %d attempts", pid, attempt)
		}
	}
}

// mixedPipeline runs point queries of ten shapes and an insert in a
// pipeline, in segments of their own, and checks every result.
func mixedPipeline(db *sql.DB, tbl string, g, i int, bad *atomic.Int64) error {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		rows := make([]*pgpipe.Row, 4)
		for j := range rows {
			rows[j] = p.QueryRow(fmt.Sprintf("SELECT $1::int + %d", (i+j)%10), i)
			if j == 1 {
				p.Exec("INSERT INTO "+tbl+" (g, i, v) VALUES ($1, $2, 'pipeline')", g, i)
			}
			p.Sync()
		}
		for j, row := range rows {
			var n int
			if err := row.Scan(&n); err != nil {
				return err
			}
			if n != i+(i+j)%10 {
				bad.Add(1)
			}
		}
		return nil
	})
}

func TestPgBouncerPassesTheCancelOnAndKeepsTheConnection(t *testing.T) {
	b := startBouncer(t, "session")
	conn, err := bouncerDB(t, b, "none", 1).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid1, pid2 int
	if err := conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid1); err != nil {
		t.Fatal(err)
	}
	// The cancel goes to PgBouncer, which answers the driver's probe
	// (an SSLRequest) and passes the CancelRequest that follows on.
	ctx := cancelWhenSleeping(t, openDB(t), pid1)
	_, err = conn.ExecContext(ctx, "SELECT pg_sleep(600)")
	var pgErr *pgpipe.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("err = %v; want context.DeadlineExceeded and SQLSTATE 57014", err)
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid2); err != nil || pid2 != pid1 {
		t.Fatalf("next query on the same sql.Conn: pid %d (was %d), %v", pid2, pid1, err)
	}
}

// TestPgBouncerTransactionModeMultiplexed: the mixed load, pipelines and
// ExecBatch included, through PgBouncer in transaction mode with
// multiplex on: statements of many callers share 4 client connections
// to the pooler.
func TestPgBouncerTransactionModeMultiplexed(t *testing.T) {
	b := startBouncer(t, "transaction")
	db, err := sql.Open("pgpipe", b.DSN(pgcluster.SuperUser, "", "dbname=pgpipe", "sslmode=disable", "multiplex=4"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(32)
	errs, wrong := mixedLoad(t, db, 16, 500)
	if len(errs) > 0 || wrong > 0 {
		t.Fatalf("%d wrong results; errors (first %d): %v", wrong, len(errs), errs)
	}
}

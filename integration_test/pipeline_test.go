package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// tableValues returns column v of tbl, ordered.
func tableValues(t *testing.T, db *sql.DB, tbl string) []string {
	t.Helper()
	rows, err := db.Query("SELECT v FROM " + tbl + " ORDER BY v")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		vs = append(vs, v)
	}
	return vs
}

func TestPipelineBindsResultsToTheirQueries(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int, s text")
	conn := openConn(t)
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		ins := p.Exec("INSERT INTO "+tbl+" VALUES ($1, $2), ($3, $4)", 1, "one", 2, "two")
		q1 := p.Query("SELECT n, s FROM " + tbl + " ORDER BY n")
		row := p.QueryRow("SELECT $1::text || '!', $2::int * 10", "hey", 4)
		q2 := p.Query("SELECT g FROM generate_series(1, $1::int) g", 3)
		// Read out of order: the later handles first.
		var g []int
		for q2.Next() {
			var v int
			q2.Scan(&v)
			g = append(g, v)
		}
		var s string
		var n int
		if err := row.Scan(&s, &n); err != nil || s != "hey!" || n != 40 {
			return fmt.Errorf("QueryRow: %q %d %v", s, n, err)
		}
		var pairs []string
		for q1.Next() {
			var n int
			var s string
			q1.Scan(&n, &s)
			pairs = append(pairs, fmt.Sprintf("%d %s", n, s))
		}
		if affected, err := ins.RowsAffected(); err != nil || affected != 2 {
			return fmt.Errorf("insert: %d, %v", affected, err)
		}
		if !reflect.DeepEqual(g, []int{1, 2, 3}) || !reflect.DeepEqual(pairs, []string{"1 one", "2 two"}) {
			return fmt.Errorf("results crossed: %v %v", g, pairs)
		}
		return q1.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := conn.QueryRowContext(context.Background(), "SELECT 5").Scan(&v); err != nil || v != 5 {
		t.Fatalf("the connection after the pipeline: %d, %v", v, err)
	}
}

func TestPipelineErrorInTheMiddleOfAThousandCommands(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int PRIMARY KEY")
	conn := openConn(t)
	var results []*pgpipe.Result
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		for i := 0; i < 1000; i++ {
			n := i
			if i == 500 {
				n = 499 // duplicate key
			}
			results = append(results, p.Exec("INSERT INTO "+tbl+" VALUES ($1)", n))
		}
		return nil
	})
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("RunPipeline = %v; want the first unreported error, 23505", err)
	}
	for i, r := range results {
		err := r.Err()
		switch {
		case i < 500:
			if err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
		case i == 500:
			if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
				t.Fatalf("command 500: %v, want 23505", err)
			}
		default:
			var ab *pgpipe.AbortedError
			if !errors.Is(err, pgpipe.ErrPipelineAborted) || !errors.As(err, &ab) || !strings.Contains(ab.Query, "INSERT") {
				t.Fatalf("command %d: %v, want ErrPipelineAborted naming the failed INSERT", i, err)
			}
		}
	}
	var n int
	db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows: one segment is one implicit transaction, rolled back as a whole", n)
	}
	// With a sync point after each command, only the failed one is lost.
	err = pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		for i := 0; i < 1000; i++ {
			n := i
			if i == 500 {
				n = 499
			}
			r := p.Exec("INSERT INTO "+tbl+" VALUES ($1)", n)
			p.Sync()
			if i == 500 {
				r.Err() // looked at: not reported again at the end
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("RunPipeline after the failure was looked at: %v", err)
	}
	db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n)
	if n != 999 {
		t.Fatalf("%d rows with a sync point after every command, want 999", n)
	}
}

// The article's first example: explicit BEGIN/COMMIT blocks sent raw in
// one pipeline. The error in the second block skips everything after it.
func TestPipelineArticleExampleRawTransactions(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "v text")
	conn := openConn(t)
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		p.Exec("BEGIN")
		p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "abc")
		p.Exec("COMMIT")
		p.Exec("BEGIN")
		p.Exec("INSERT INTO no_such_table VALUES ($1)", "x")
		p.Exec("ROLLBACK")
		p.Exec("BEGIN")
		p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "xyz")
		p.Exec("COMMIT")
		return nil
	})
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Fatalf("RunPipeline = %v, want 42P01", err)
	}
	if got := tableValues(t, db, tbl); !reflect.DeepEqual(got, []string{"abc"}) {
		t.Fatalf("table holds %v, want [abc]", got)
	}
}

// The article's second example, with the driver's transaction fences: the
// failed transaction rolls back alone and the work after it runs.
func TestPipelineArticleExampleTransactionFences(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "v text")
	conn := openConn(t)
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		ok := p.Tx(func(p *pgpipe.Pipeline) error {
			p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "abc")
			return nil
		})
		failed := p.Tx(func(p *pgpipe.Pipeline) error {
			p.Exec("INSERT INTO no_such_table VALUES ($1)", "x")
			return nil
		})
		var pgErr *pgpipe.Error
		if err := failed.Err(); !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
			return fmt.Errorf("failed transaction reported %v, want 42P01", err)
		}
		p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "xyz")
		return ok.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := tableValues(t, db, tbl); !reflect.DeepEqual(got, []string{"abc", "xyz"}) {
		t.Fatalf("table holds %v, want [abc xyz]", got)
	}
	var status string
	if err := conn.QueryRowContext(context.Background(), "SELECT 'ok'").Scan(&status); err != nil {
		t.Fatalf("the connection after the pipeline: %v", err)
	}
}

func TestPipelineTxCallbackErrorRollsBack(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "v text")
	conn := openConn(t)
	boom := errors.New("changed my mind")
	pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		r := p.Tx(func(p *pgpipe.Pipeline) error {
			p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "no")
			return boom
		})
		if err := r.Err(); !errors.Is(err, boom) {
			t.Errorf("Tx handle = %v, want the callback's error", err)
		}
		return nil
	})
	if got := tableValues(t, db, tbl); len(got) != 0 {
		t.Fatalf("table holds %v after a rolled-back transaction", got)
	}
}

func TestPipelineBlocksIsolateFailures(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "v text")
	conn := openConn(t)
	pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "before")
		p.Block(func(p *pgpipe.Pipeline) error {
			p.Exec("INSERT INTO " + tbl + " VALUES (1/0)")
			p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "skipped")
			return nil
		})
		p.Exec("INSERT INTO "+tbl+" VALUES ($1)", "after")
		return nil
	})
	if got := tableValues(t, db, tbl); !reflect.DeepEqual(got, []string{"after", "before"}) {
		t.Fatalf("table holds %v, want [after before]", got)
	}
}

// factorials returns n! as decimal strings for n < 1000.
func factorials() []string {
	out := make([]string, 1000)
	f := big.NewInt(1)
	for n := 0; n < 1000; n++ {
		if n > 0 {
			f.Mul(f, big.NewInt(int64(n)))
		}
		out[n] = f.String()
	}
	return out
}

func TestPipelineOfLargeParametersDoesNotDeadlock(t *testing.T) {
	db := openDB(t)
	tbl := newTable(t, db, "x numeric, d timestamp, p boolean")
	conn := openConn(t)
	facts := factorials()
	const total = 100_000
	var ms runtime.MemStats
	var peak uint64
	start := time.Now()
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		for i := 0; i < total; i++ {
			p.Exec("INSERT INTO "+tbl+" (x, d, p) VALUES ($1, $2, $3)", facts[i%1000], time.Now(), true)
			if i%20000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d inserts of up to %d-digit numerics in %v, peak heap in use %d MiB", total, len(facts[999]), time.Since(start), peak>>20)
	var n int
	var sum string
	db.QueryRow("SELECT count(*), sum(length(x::text)) FROM "+tbl).Scan(&n, &sum)
	if n != total {
		t.Fatalf("%d rows, want %d", n, total)
	}
	if peak > 256<<20 {
		t.Fatalf("peak heap %d MiB: the pipeline buffered what it should have streamed", peak>>20)
	}
}

func TestPipelineOfLargeResultsDoesNotDeadlock(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		var qs []*pgpipe.Rows
		for i := 0; i < 200; i++ {
			qs = append(qs, p.Query("SELECT g, repeat('y', 100) FROM generate_series(1, 5000) g WHERE $1", true))
		}
		for i := len(qs) - 1; i >= 0; i-- { // the last first: the others are buffered
			n := 0
			for qs[i].Next() {
				n++
			}
			if err := qs[i].Err(); err != nil || n != 5000 {
				return fmt.Errorf("query %d: %d rows, %v", i, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPipelinePreparesAutomatically(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		var rows []*pgpipe.Row
		for i := 0; i < 12; i++ {
			rows = append(rows, p.QueryRow("SELECT $1::int * 7", i))
		}
		for i, r := range rows {
			var n int
			if err := r.Scan(&n); err != nil || n != 7*i {
				return fmt.Errorf("query %d: %d, %v", i, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := preparedCount(t, conn); got != 1 {
		t.Fatalf("%d statements prepared after 12 pipelined executions", got)
	}
	if s := stats(t, conn); s.Prepares != 1 || s.Hits < 5 {
		t.Fatalf("stats %+v: want the 6th execution prepared and the later ones bound by name", s)
	}
}

func TestPipelineRejectsCopy(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int")
	conn := openConn(t)
	err := pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
		return p.Exec("COPY " + tbl + " FROM STDIN").Err()
	})
	if err == nil || !strings.Contains(err.Error(), "COPY cannot run inside a pipeline") {
		t.Fatalf("err = %v", err)
	}
}

// TestPipelineCancellation cancels a pipeline of 50 commands while the
// server runs its sixth, a long sleep (the context ends once the test
// sees the backend sleep): the five before it completed, the others fail.
func TestPipelineCancellation(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "cancel_grace=120s")
	var pid int
	if err := conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	ctx := cancelWhenSleeping(t, openDB(t), pid)
	var results []*pgpipe.Result
	err := pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		for i := 0; i < 50; i++ {
			q := "SELECT 1"
			if i == 5 {
				q = "SELECT pg_sleep(600)"
			}
			results = append(results, p.Exec(q))
		}
		results[len(results)-1].Err()
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RunPipeline = %v, want context.DeadlineExceeded", err)
	}
	done, failed := 0, 0
	for _, r := range results {
		if r.Err() == nil {
			done++
		} else {
			failed++
		}
	}
	if done != 5 || failed != 45 {
		t.Fatalf("%d commands completed and %d failed; want the 5 before the cancelled sleep to complete", done, failed)
	}
	var v int
	if err := conn.QueryRowContext(context.Background(), "SELECT 3").Scan(&v); err != nil || v != 3 {
		t.Fatalf("the connection after a cancelled pipeline: %d, %v", v, err)
	}
}

func TestExecBatchAtomicAndIndependent(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int PRIMARY KEY")
	args := [][]any{{1}, {2}, {2}, {3}}
	res, err := pgpipe.ExecBatch(context.Background(), db, "INSERT INTO "+tbl+" VALUES ($1)", args, pgpipe.BatchAtomic)
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || res.RowsAffected != 0 {
		t.Fatalf("atomic batch: %+v, %v", res, err)
	}
	var n int
	db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n)
	if n != 0 {
		t.Fatalf("atomic batch with a failure left %d rows", n)
	}
	conn := openConn(t)
	res, err = pgpipe.ExecBatch(context.Background(), conn, "INSERT INTO "+tbl+" VALUES ($1)", args, pgpipe.BatchIndependent)
	if err != nil || res.RowsAffected != 3 || res.Errors[2] == nil || res.Errors[0] != nil || res.Errors[3] != nil {
		t.Fatalf("independent batch: %+v, %v", res, err)
	}
	db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n)
	if n != 3 {
		t.Fatalf("independent batch left %d rows, want 3", n)
	}
}

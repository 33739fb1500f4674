package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// soakOps is the number of operations per goroutine: short in `make test`,
// long in `make soak` (PGPIPE_SOAK_OPS).
func soakOps() int {
	if n, err := strconv.Atoi(os.Getenv("PGPIPE_SOAK_OPS")); err == nil && n > 0 {
		return n
	}
	return 60
}

// soakStats counts what the soak saw.
type soakStats struct {
	ok, cancelled, wrong atomic.Int64
	mu                   sync.Mutex
	errs                 []error
}

func (s *soakStats) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < 10 {
		s.errs = append(s.errs, err)
	}
}

// TestSoak runs 64 goroutines over a pool of 16 connections: point
// queries, transactions, pipelines and COPY, with 10% of the operations
// cancelled at a random moment. Every result is checked; at the end no
// connection or goroutine is left, and the heap has not grown.
func TestSoak(t *testing.T) {
	app := fmt.Sprintf("soak_%d", time.Now().UnixNano())
	// It counts server connections against database/sql's, one each:
	// without multiplexing (TestMultiplexSoak is the multiplexed soak).
	db := openDB(t, "application_name="+app, "multiplex=0")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	tbl := newTable(t, db, "g int, i int, v text")
	// The checks' own pool, opened before the goroutines are counted.
	admin := openDB(t, "multiplex=0")
	goroutinesBefore := runtime.NumGoroutine()
	ops := soakOps()
	var st soakStats
	var heap []uint64
	var heapMu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 99))
			for i := 0; i < ops; i++ {
				soakOp(db, tbl, r, g, i, &st)
				if g == 0 && i%(max(ops/4, 1)) == 0 {
					var ms runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&ms)
					heapMu.Lock()
					heap = append(heap, ms.HeapInuse)
					heapMu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	t.Logf("%d ok, %d cancelled, %d wrong; heap in use %v", st.ok.Load(), st.cancelled.Load(), st.wrong.Load(), heap)
	if st.wrong.Load() > 0 || len(st.errs) > 0 {
		t.Fatalf("%d wrong results; unexpected errors: %v", st.wrong.Load(), st.errs)
	}
	open := db.Stats().OpenConnections
	var server int
	admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&server)
	if server != open {
		t.Fatalf("the server has %d of the pool's connections, the pool %d", server, open)
	}
	db.Close()
	waitFor(t, "the pool's connections to close", func() bool {
		admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&server)
		return server == 0
	})
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutinesBefore+2 })
	if len(heap) >= 3 && heap[len(heap)-1] > 2*heap[1]+(32<<20) {
		t.Fatalf("the heap grew during the run: %v", heap)
	}
}

// waitFor polls cond until it holds, for up to hangGuard.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitUntil(t, what, func() (bool, string, error) { return cond(), "", nil })
}

// soakOp runs one random operation and checks its result.
func soakOp(db *sql.DB, tbl string, r *rand.Rand, g, i int, st *soakStats) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if r.IntN(10) == 0 {
		time.AfterFunc(time.Duration(r.IntN(3000))*time.Microsecond, cancel)
	}
	var err error
	switch r.IntN(5) {
	case 0:
		err = soakPoint(ctx, db, g, i, st)
	case 1:
		err = soakTx(ctx, db, tbl, g, i, st)
	case 2:
		err = soakPipeline(ctx, db, g, i, st)
	case 3:
		err = soakCopy(ctx, db, g, i, st)
	default:
		err = soakRows(ctx, db, i, st)
	}
	switch {
	case err == nil:
		st.ok.Add(1)
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrTxDone)):
		st.cancelled.Add(1)
	default:
		st.fail(fmt.Errorf("goroutine %d op %d: %w", g, i, err))
	}
}

func soakPoint(ctx context.Context, db *sql.DB, g, i int, st *soakStats) error {
	var s string
	if err := db.QueryRowContext(ctx, "SELECT $1::text || ':' || $2::int", g, i).Scan(&s); err != nil {
		return err
	}
	if s != fmt.Sprintf("%d:%d", g, i) {
		st.wrong.Add(1)
	}
	return nil
}

func soakRows(ctx context.Context, db *sql.DB, i int, st *soakStats) error {
	rows, err := db.QueryContext(ctx, "SELECT g FROM generate_series(1, $1::int) g", 50+i%50)
	if err != nil {
		return err
	}
	defer rows.Close()
	sum := 0
	for rows.Next() {
		var v int
		rows.Scan(&v)
		sum += v
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n := 50 + i%50; sum != n*(n+1)/2 {
		st.wrong.Add(1)
	}
	return nil
}

func soakTx(ctx context.Context, db *sql.DB, tbl string, g, i int, st *soakStats) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tag := fmt.Sprintf("%d-%d", g, i)
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+tbl+" (g, i, v) VALUES ($1, $2, $3)", g, i, tag); err != nil {
		return err
	}
	var v string
	if err := tx.QueryRowContext(ctx, "SELECT v FROM "+tbl+" WHERE g = $1 AND i = $2", g, i).Scan(&v); err != nil {
		return err
	}
	if v != tag {
		st.wrong.Add(1)
	}
	return tx.Commit()
}

func soakPipeline(ctx context.Context, db *sql.DB, g, i int, st *soakStats) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		rows := make([]*pgpipe.Row, 20)
		for k := range rows {
			rows[k] = p.QueryRow("SELECT $1::int * 1000 + $2::int", i, k)
		}
		for k, row := range rows {
			var n int
			if err := row.Scan(&n); err != nil {
				return err
			}
			if n != i*1000+k {
				st.wrong.Add(1)
			}
		}
		return nil
	})
}

func soakCopy(ctx context.Context, db *sql.DB, g, i int, st *soakStats) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var out strings.Builder
	n, err := pgpipe.CopyTo(ctx, conn, fmt.Sprintf("COPY (SELECT g FROM generate_series(1, %d) g) TO STDOUT", 100+i%100), &out)
	if err != nil {
		return err
	}
	if want := int64(100 + i%100); n != want || strings.Count(out.String(), "\n") != int(want) {
		st.wrong.Add(1)
	}
	var sink strings.Builder
	return pgpipe.CopyToStream(ctx, conn, "COPY (SELECT 1) TO STDOUT", func(r io.Reader) error {
		_, err := io.Copy(&sink, r)
		return err
	})
}

// Command pgpipe-demo shows what pgpipe does, against $DATABASE_URL or,
// when that is unset, a throwaway PostgreSQL cluster started from the
// local binaries and removed at the end.
//
// In the database of $DATABASE_URL the demo touches nothing it did not
// create: it creates a schema of its own (pgpipe_demo_ and a unique
// suffix), works only there (search_path names only that schema, so an
// unqualified name can never reach another one), and drops it at the end,
// also when a step fails or the demo is interrupted. It needs the right to
// create a schema in that database.
//
//	make demo
//	DATABASE_URL=postgres://user@host/db go run ./cmd/pgpipe-demo
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/latencyproxy"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgpipe-demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dsn := os.Getenv("DATABASE_URL")
	var cluster *pgcluster.Cluster
	if dsn == "" {
		fmt.Println("DATABASE_URL is unset: starting a throwaway PostgreSQL cluster...")
		start := time.Now()
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return fmt.Errorf("starting a cluster (install PostgreSQL, e.g. apt-get install postgresql, or set DATABASE_URL): %w", err)
		}
		defer c.Stop()
		cluster = c
		dsn = c.DSN("postgres", "", "dbname=pgpipe")
		fmt.Printf("  cluster up in %v on port %d\n", time.Since(start).Round(time.Millisecond), c.Port)
	}
	cfg, err := pgpipe.ParseDSN(dsn)
	if err != nil {
		return err
	}
	schema, dropSchema, err := createSchema(ctx, cfg)
	if err != nil {
		return err
	}
	defer dropSchema()
	cfg.RuntimeParams["search_path"] = schema
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	for _, step := range []struct {
		title string
		run   func(context.Context, *sql.DB) error
	}{
		{"Connect and query", demoQuery},
		{"Transactions", demoTx},
		{"Cancellation keeps the connection", demoCancel},
		{"Automatic prepared statements", demoPrepare},
		{"Pipeline mode: 1,000 inserts of (n!, now(), bool)", func(ctx context.Context, db *sql.DB) error { return demoPipeline(ctx, db, cfg) }},
		{"COPY: a million rows in and out", demoCopy},
		{"PgBouncer in transaction mode, default settings", func(ctx context.Context, db *sql.DB) error { return demoPgBouncer(ctx, cluster) }},
	} {
		fmt.Printf("\n== %s\n", step.title)
		if err := step.run(ctx, db); err != nil {
			return fmt.Errorf("%s: %w", step.title, err)
		}
	}
	return nil
}

// createSchema creates the demo's own schema, with a name no other schema
// has (CREATE SCHEMA fails rather than reuse one), and returns its name
// and a function that drops it with everything in it.
func createSchema(ctx context.Context, cfg *pgpipe.Config) (name string, drop func(), err error) {
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		return "", nil, err
	}
	admin := sql.OpenDB(cn)
	name = fmt.Sprintf("pgpipe_demo_%d_%s", os.Getpid(), strconv.FormatInt(time.Now().UnixNano(), 36))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("creating the demo's own schema %s (the demo needs the CREATE privilege on the database; it creates nothing elsewhere): %w", name, err)
	}
	fmt.Printf("working in a schema of its own, %s, dropped at the end\n", name)
	return name, func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "pgpipe-demo: dropping its schema %s: %v (drop it with DROP SCHEMA %s CASCADE)\n", name, err, name)
			return
		}
		fmt.Printf("\ndropped the schema %s and everything the demo created in it\n", name)
	}, nil
}

func demoQuery(ctx context.Context, db *sql.DB) error {
	var version string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		return err
	}
	fmt.Println("  server version:", version)
	if _, err := db.ExecContext(ctx, `CREATE TABLE demo_items (id int8 PRIMARY KEY, name text, price numeric(10,2), added timestamptz DEFAULT now())`); err != nil {
		return err
	}
	for i, name := range []string{"apple", "pear", "plum"} {
		if _, err := db.ExecContext(ctx, "INSERT INTO demo_items (id, name, price) VALUES ($1, $2, $3)", i+1, name, 0.5+float64(i)); err != nil {
			return err
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT id, name, price, added FROM demo_items WHERE id >= $1 ORDER BY id", 1)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, price string
		var added time.Time
		if err := rows.Scan(&id, &name, &price, &added); err != nil {
			return err
		}
		fmt.Printf("  %d %-6s %s (added %s)\n", id, name, price, added.Format(time.RFC3339))
	}
	return rows.Err()
}

func demoTx(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO demo_items (id, name) VALUES (1, 'duplicate')"); err != nil {
		var pgErr *pgpipe.Error
		if errors.As(err, &pgErr) {
			fmt.Printf("  insert failed as expected: SQLSTATE %s (%s)\n", pgErr.Code, pgErr.ConstraintName)
		}
	}
	err = tx.Commit()
	fmt.Println("  commit after a failed statement:", err)
	if !errors.Is(err, pgpipe.ErrTxRolledBack) {
		return fmt.Errorf("expected ErrTxRolledBack, got %v", err)
	}
	return nil
}

func demoCancel(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = conn.ExecContext(tctx, "SELECT pg_sleep(10)")
	fmt.Printf("  pg_sleep(10) with a 200ms timeout returned after %v: %v\n", time.Since(start).Round(time.Millisecond), err)
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil {
		return fmt.Errorf("the same connection failed afterwards: %w", err)
	}
	fmt.Println("  the same connection then answered:", n)
	return nil
}

func demoPrepare(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	count := func() (n int) {
		never := pgpipe.WithPrepare(ctx, pgpipe.PrepareNever)
		conn.QueryRowContext(never, "SELECT count(*) FROM pg_prepared_statements").Scan(&n)
		return n
	}
	for i := 1; i <= 7; i++ {
		var name string
		if err := conn.QueryRowContext(ctx, "SELECT name FROM demo_items WHERE id = $1", 1+i%3).Scan(&name); err != nil {
			return err
		}
		fmt.Printf("  execution %d: %-5s  statements prepared on the server: %d\n", i, name, count())
	}
	st, err := pgpipe.Stats(conn)
	if err != nil {
		return err
	}
	fmt.Printf("  prepared on the 6th execution (prepare_threshold=5), in the same round trip; stats: %+v\n", st)
	return nil
}

// demoPipeline is the scenario of "Pipeline mode in Psycopg": 1,000
// inserts of (n!, now(), bool), one round trip each, then pipelined;
// directly and through a proxy that adds 0.5ms each way.
func demoPipeline(ctx context.Context, db *sql.DB, cfg *pgpipe.Config) error {
	if _, err := db.ExecContext(ctx, "CREATE UNLOGGED TABLE t (x numeric, d timestamp, p boolean)"); err != nil {
		return err
	}
	facts := make([]string, 1000)
	f := big.NewInt(1)
	for n := range facts {
		if n > 0 {
			f.Mul(f, big.NewInt(int64(n)))
		}
		facts[n] = f.String()
	}
	if len(cfg.Hosts) == 0 || cfg.Hosts[0].Name == "" || cfg.Hosts[0].Name[0] == '/' {
		return errors.New("the pipeline demo needs a TCP host in the DSN")
	}
	h := cfg.Hosts[0]
	addr := h.Addr
	if addr == "" {
		addr = h.Name
	}
	proxy, err := latencyproxy.Start(addr+":"+strconv.Itoa(int(h.Port)), 500*time.Microsecond)
	if err != nil {
		return err
	}
	defer proxy.Close()
	viaProxy := *cfg
	viaProxy.Hosts = []pgpipe.Host{{Name: "127.0.0.1", Port: uint16(proxy.Port())}}
	for _, route := range []struct {
		name string
		cfg  *pgpipe.Config
	}{{"direct (loopback)", cfg}, {"through a 1ms round-trip proxy", &viaProxy}} {
		cn, err := pgpipe.NewConnectorConfig(route.cfg)
		if err != nil {
			return err
		}
		rdb := sql.OpenDB(cn)
		defer rdb.Close()
		conn, err := rdb.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		const q = "INSERT INTO t (x, d, p) VALUES ($1, $2, $3)"
		start := time.Now()
		for n := 0; n < 1000; n++ {
			if _, err := conn.ExecContext(ctx, q, facts[n], time.Now(), false); err != nil {
				return err
			}
		}
		loop := time.Since(start)
		start = time.Now()
		err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			for n := 0; n < 1000; n++ {
				p.Exec(q, facts[n], time.Now(), true)
			}
			return nil
		})
		if err != nil {
			return err
		}
		piped := time.Since(start)
		fmt.Printf("  %-31s loop %8v   pipeline %8v   speed-up %.1fx\n", route.name+":",
			loop.Round(time.Millisecond), piped.Round(time.Millisecond), float64(loop)/float64(piped))
	}
	var rows int
	db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&rows)
	fmt.Printf("  -> %d rows\n", rows)
	return nil
}

// demoCopy loads a million rows of Go values with COPY FROM (binary),
// unloads them with COPY TO, and stops a COPY TO stream early: the
// connection answers the next query.
func demoCopy(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "CREATE UNLOGGED TABLE demo_copy (id int8, name text, score float8, at timestamptz)"); err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const rows = 1_000_000
	src := &demoRows{n: rows, at: time.Now(), heap: heapInUse()}
	start := time.Now()
	n, err := pgpipe.CopyFromRows(ctx, conn, "demo_copy", []string{"id", "name", "score", "at"}, src)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("  COPY FROM, Go values in the binary format: %d rows in %v, %s rows/s (heap in use: %.1f MiB before, at most %.1f MiB during)\n",
		n, took.Round(time.Millisecond), perSecond(n, took), float64(src.heap)/(1<<20), float64(src.peak)/(1<<20))
	var out lineCounter
	start = time.Now()
	n, err = pgpipe.CopyTo(ctx, conn, "COPY demo_copy TO STDOUT", &out)
	if err != nil {
		return err
	}
	took = time.Since(start)
	fmt.Printf("  COPY TO STDOUT, text:                      %d rows in %v, %s rows/s (%d MB, %d lines)\n",
		n, took.Round(time.Millisecond), perSecond(n, took), out.bytes/1e6, out.lines)
	// The trap of seeds/001: a COPY TO read only in part. The driver stops
	// it, and the connection is ready for the next query.
	err = pgpipe.CopyToStream(ctx, conn, "COPY demo_copy TO STDOUT", func(r io.Reader) error {
		_, err := io.ReadFull(r, make([]byte, 100))
		return err
	})
	if err != nil {
		return err
	}
	var count int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM demo_copy").Scan(&count); err != nil {
		return fmt.Errorf("the query after a COPY TO closed early: %w", err)
	}
	fmt.Printf("  a COPY TO stream closed after 100 bytes; the same connection then counted %d rows\n", count)
	return nil
}

// demoRows generates the rows of demoCopy and watches the heap as they go.
type demoRows struct {
	n, i       int64
	at         time.Time
	row        [4]any
	heap, peak uint64
}

func (r *demoRows) Next() bool {
	r.i++
	if r.i%100_000 == 0 {
		r.peak = max(r.peak, heapInUse())
	}
	return r.i <= r.n
}

func (r *demoRows) Values() ([]any, error) {
	r.row = [4]any{r.i, "row " + strconv.FormatInt(r.i, 10), float64(r.i) / 7, r.at.Add(time.Duration(r.i) * time.Second)}
	return r.row[:], nil
}

func (r *demoRows) Err() error { return nil }

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// lineCounter is an io.Writer that counts bytes and lines.
type lineCounter struct{ bytes, lines int64 }

func (w *lineCounter) Write(p []byte) (int, error) {
	w.bytes += int64(len(p))
	w.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

func perSecond(n int64, d time.Duration) string {
	v := float64(n) / d.Seconds()
	if v >= 1e6 {
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + " M"
	}
	return strconv.FormatFloat(v/1e3, 'f', 0, 64) + " k"
}

// demoPgBouncer runs a mixed load through PgBouncer in transaction mode
// with pgpipe's default settings: 16 clients share 4 server connections,
// so statements prepared on one server connection are missing on another.
func demoPgBouncer(ctx context.Context, cluster *pgcluster.Cluster) error {
	if cluster == nil {
		fmt.Println("  skipped: DATABASE_URL is set, and the demo starts PgBouncer only in front of its own cluster")
		return nil
	}
	b, err := cluster.StartPgBouncer(ctx, pgcluster.BouncerOptions{PoolMode: "transaction", DefaultPoolSize: 4})
	if errors.Is(err, pgcluster.ErrNoPgBouncer) {
		fmt.Println("  skipped: pgbouncer is not installed (apt-get install pgbouncer)")
		return nil
	}
	if err != nil {
		return err
	}
	defer b.Stop()
	dsn := b.DSN(pgcluster.SuperUser, pgcluster.SuperPassword)
	fmt.Printf("  sql.Open(\"pgpipe\", %q), the default settings\n", "host=127.0.0.1 port="+strconv.Itoa(b.Port)+" user=postgres dbname=pgpipe")
	cfg, err := pgpipe.ParseDSN(dsn)
	if err != nil {
		return err
	}
	// The driver's log lines are kept and explained after the load.
	var logged bytes.Buffer
	var logMu sync.Mutex
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	db.SetMaxOpenConns(16)
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS demo_bouncer; CREATE TABLE demo_bouncer (k int PRIMARY KEY, v int NOT NULL)"); err != nil {
		return err
	}
	stmt, err := db.PrepareContext(ctx, "SELECT $1::int * 2")
	if err != nil {
		return err
	}
	defer stmt.Close()
	const clients, perClient = 16, 300
	var mu sync.Mutex
	var ops, failed, wrong int
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				ok, err := bouncerOp(ctx, db, stmt, g*perClient+i)
				mu.Lock()
				ops++
				switch {
				case err != nil:
					failed++
					if firstErr == nil {
						firstErr = err
					}
				case !ok:
					wrong++
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	took := time.Since(start)
	var rows int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM demo_bouncer").Scan(&rows); err != nil {
		return err
	}
	fmt.Printf("  %d clients x %d operations (point queries, transactions, a db.Prepare statement) in %v: %d errors, %d wrong results, %d rows written\n",
		clients, perClient, took.Round(time.Millisecond), failed, wrong, rows)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := pgpipe.Stats(conn)
	if err != nil {
		return err
	}
	fmt.Printf("  one connection's statement stats: %+v\n", st)
	fmt.Println("  (Pooled: the driver saw a pooler at connect; statements it lost were re-run unnamed, never twice)")
	logMu.Lock()
	explainBouncerLog(logged.String())
	logMu.Unlock()
	if failed > 0 || wrong > 0 || rows != clients*perClient/3 {
		return fmt.Errorf("%d errors (first: %v), %d wrong results, %d rows", failed, firstErr, wrong, rows)
	}
	return nil
}

// explainBouncerLog prints what the driver logged during the PgBouncer
// load, and what its warning means.
func explainBouncerLog(logged string) {
	if logged == "" {
		fmt.Println("  the driver logged nothing")
		return
	}
	fmt.Println("  the driver logged:")
	for _, line := range strings.Split(strings.TrimRight(logged, "\n"), "\n") {
		fmt.Println("    " + line)
	}
	if strings.Contains(logged, "lost a prepared statement") {
		fmt.Println(`  That warning is the driver doing its job, not a failure. In transaction
  mode PgBouncer gives each transaction whichever server connection is free,
  so a statement the driver prepared on one server connection is missing on
  the next. The server said so before running anything (SQLSTATE 26000: no
  such statement, or 42P05: the name is taken); the driver re-ran that
  statement unnamed, once, and stopped preparing statements automatically on
  this pool. It warns once per pool, so that you know prepared statements
  are off behind this pooler (prepare_threshold=none in the DSN skips the
  detection).`)
	}
}

// lockedWriter serialises the Writes of slog's handler, which the
// connections of the pool call concurrently.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// bouncerOp runs one of three operations and checks its result.
func bouncerOp(ctx context.Context, db *sql.DB, stmt *sql.Stmt, i int) (bool, error) {
	switch i % 3 {
	case 0:
		var got int
		err := db.QueryRowContext(ctx, "SELECT $1::int + "+strconv.Itoa(i%7), i).Scan(&got)
		return got == i+i%7, err
	case 1:
		var got int
		err := stmt.QueryRowContext(ctx, i).Scan(&got)
		return got == 2*i, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO demo_bouncer (k, v) VALUES ($1, $2)", i, i*i); err != nil {
		return false, err
	}
	var v int
	if err := tx.QueryRowContext(ctx, "SELECT v FROM demo_bouncer WHERE k = $1", i).Scan(&v); err != nil {
		return false, err
	}
	return v == i*i, tx.Commit()
}

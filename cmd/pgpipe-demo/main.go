// Command pgpipe-demo shows what pgpipe does, against $DATABASE_URL or,
// when that is unset, a throwaway PostgreSQL cluster started from the
// local binaries and removed at the end.
//
//	make demo
//	DATABASE_URL=postgres://user@host/db go run ./cmd/pgpipe-demo
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
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
	ctx := context.Background()
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		fmt.Println("DATABASE_URL is unset: starting a throwaway PostgreSQL cluster...")
		start := time.Now()
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return fmt.Errorf("starting a cluster (install PostgreSQL, e.g. apt-get install postgresql, or set DATABASE_URL): %w", err)
		}
		defer c.Stop()
		dsn = c.DSN("postgres", "", "dbname=pgpipe")
		fmt.Printf("  cluster up in %v on port %d\n", time.Since(start).Round(time.Millisecond), c.Port)
	}
	db, err := sql.Open("pgpipe", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, step := range []struct {
		title string
		run   func(context.Context, *sql.DB) error
	}{
		{"Connect and query", demoQuery},
		{"Transactions", demoTx},
		{"Cancellation keeps the connection", demoCancel},
		{"Automatic prepared statements", demoPrepare},
		{"Pipeline mode: 1,000 inserts of (n!, now(), bool)", func(ctx context.Context, db *sql.DB) error { return demoPipeline(ctx, db, dsn) }},
	} {
		fmt.Printf("\n== %s\n", step.title)
		if err := step.run(ctx, db); err != nil {
			return fmt.Errorf("%s: %w", step.title, err)
		}
	}
	return nil
}

func demoQuery(ctx context.Context, db *sql.DB) error {
	var version string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		return err
	}
	fmt.Println("  server version:", version)
	if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS demo_items;
		CREATE TABLE demo_items (id int8 PRIMARY KEY, name text, price numeric(10,2), added timestamptz DEFAULT now())`); err != nil {
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
func demoPipeline(ctx context.Context, db *sql.DB, dsn string) error {
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS t; CREATE UNLOGGED TABLE t (x numeric, d timestamp, p boolean)"); err != nil {
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
	cfg, err := pgpipe.ParseDSN(dsn)
	if err != nil {
		return err
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

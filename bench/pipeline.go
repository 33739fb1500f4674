package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgpipe/pgpipe"
)

// The pipeline workloads are the article's (Dalibo, "Pipeline mode in
// Psycopg", 2022): 1,000 executions of one INSERT into an unlogged table,
// row n holding n! as numeric text (up to 2,565 digits), the time and a
// boolean, done one at a time or pipelined, on loopback and through a
// proxy adding latency.

const (
	pipelineTable   = "bench_pipeline_v1"
	pipelineInserts = 1000
	pipelineSQL     = "INSERT INTO " + pipelineTable + " (x, d, p) VALUES ($1, $2, $3)"
)

// factorials holds n! for n < pipelineInserts in decimal.
var factorials = func() []string {
	fs := make([]string, pipelineInserts)
	f := big.NewInt(1)
	for n := range fs {
		if n > 0 {
			f.Mul(f, big.NewInt(int64(n)))
		}
		fs[n] = f.String()
	}
	return fs
}()

// pipelineWorkloads are the same inserts on loopback and through the
// latency proxy; the target speed-up over pgpipe's own loop grows with
// the round-trip time.
func pipelineWorkloads() []Workload {
	mk := func(name string, route Route, loopFactor float64, where string, pgbenchSecs int) Workload {
		return Workload{
			Name: name,
			About: fmt.Sprintf("%d × %s, x = n! (n < %d) as numeric text, d = time.Now(), p = n is even, into an unlogged table, %s; "+
				"one operation is the %d inserts", pipelineInserts, pipelineSQL, pipelineInserts, where, pipelineInserts),
			Route: route,
			Rows:  pipelineInserts,
			// No warm-up: the loops and pipelines prepare within an operation
			// (at the 6th insert), and the fast entries run many operations
			// anyway (testing discards the first, b.N = 1, call).
			Warmups: 0,
			Setup:   setupPipeline,
			Reset:   truncateAfter(pipelineTable),
			Entries: []Entry{
				{Name: "pgpipe-loop", Contender: "pgpipe", Label: "pgpipe, ExecContext loop", Op: sqlOp(insertLoop)},
				{Name: "pgpipe-pipeline", Contender: "pgpipe", Label: "pgpipe RunPipeline", Op: sqlOp(pgpipePipeline), Subject: true},
				{Name: "pgpipe-batch", Contender: "pgpipe", Label: "pgpipe ExecBatch (BatchAtomic)", Op: sqlOp(pgpipeBatch), Subject: true},
				{Name: "pgx-batch", Contender: "pgx", Label: "pgx SendBatch", Op: pgxBatch, Baseline: true},
				{Name: "lib-pq-loop", Contender: "lib-pq", Label: "lib/pq, ExecContext loop", Op: sqlOp(insertLoop), Slow: route == Proxy},
				{Name: "pgbench", Label: "libpq pipeline (pgbench)", Program: &Program{
					Name: "pgbench", Script: pipelinePgbenchScript(), Args: []string{"-D", "loaded=0"}, MinSeconds: pgbenchSecs},
					Slow: route == Proxy},
			},
			Target: Target{Bounds: []Bound{{Of: "pgbench", Max: 1}, {Of: "pgpipe-loop", Max: 1 / loopFactor}}},
		}
	}
	return []Workload{
		mk("Pipeline", Direct, 3, "on loopback", 2),
		// The first transaction prepares 1,000 statements, one round trip
		// each: about 1,000 round trips before the measured ones.
		mk("PipelineProxy", Proxy, 50, fmt.Sprintf("through a proxy adding %v each way", ProxyDelay), 5),
	}
}

// setupPipeline creates the article's table, unlogged, empty.
func setupPipeline(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		`CREATE UNLOGGED TABLE IF NOT EXISTS ` + pipelineTable + ` (x numeric, d timestamp, p boolean)`,
		`TRUNCATE ` + pipelineTable,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// insertLoop runs the inserts one at a time, each waiting for its result.
func insertLoop(ctx context.Context, db *sql.DB, _ int) error {
	for n := range pipelineInserts {
		res, err := db.ExecContext(ctx, pipelineSQL, factorials[n], time.Now(), n%2 == 0)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return fmt.Errorf("insert %d affected %d rows (%v), want 1", n, k, err)
		}
	}
	return nil
}

// pgpipePipeline queues the inserts in one pipeline; RunPipeline returns
// the first error no handle reported, and Reset counts the rows.
func pgpipePipeline(ctx context.Context, db *sql.DB, _ int) error {
	sc, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	return pgpipe.RunPipeline(ctx, sc, func(p *pgpipe.Pipeline) error {
		for n := range pipelineInserts {
			p.Exec(pipelineSQL, factorials[n], time.Now(), n%2 == 0)
		}
		return nil
	})
}

// pgpipeBatch hands the argument sets to ExecBatch.
func pgpipeBatch(ctx context.Context, db *sql.DB, _ int) error {
	sets := make([][]any, pipelineInserts)
	for n := range sets {
		sets[n] = []any{factorials[n], time.Now(), n%2 == 0}
	}
	res, err := pgpipe.ExecBatch(ctx, db, pipelineSQL, sets, pgpipe.BatchAtomic)
	if err != nil {
		return err
	}
	if res.RowsAffected != pipelineInserts {
		return fmt.Errorf("ExecBatch affected %d rows, want %d", res.RowsAffected, pipelineInserts)
	}
	return nil
}

// pgxBatch queues the inserts in a pgx.Batch; Close reads every result
// and returns the first error.
func pgxBatch(ctx context.Context, cl *Client, _ int) error {
	b := &pgx.Batch{}
	for n := range pipelineInserts {
		b.Queue(pipelineSQL, factorials[n], time.Now(), n%2 == 0)
	}
	return cl.PGX.SendBatch(ctx, b).Close()
}

// pipelinePgbenchScript does the inserts in libpq's pipeline mode. pgbench
// variables cannot hold numbers that large, so the first transaction
// (which the runner leaves out of the average) has the server compute the
// factorials once into variables x0..x999, with the time and the
// booleans, guarded by the
// variable loaded (-D loaded=0); every transaction then sends them as
// text parameters of prepared statements, as the Go clients do.
func pipelinePgbenchScript() string {
	var sb strings.Builder
	sb.WriteString("\\if :loaded = 0\nSELECT ")
	for n := range pipelineInserts {
		fmt.Fprintf(&sb, "factorial(%d)::text AS x%d, ", n, n)
	}
	sb.WriteString("localtimestamp::text AS d, 'true' AS even, 'false' AS odd \\gset\n\\set loaded 1\n\\endif\n\\startpipeline\n")
	for n := range pipelineInserts {
		p := map[bool]string{true: "even", false: "odd"}[n%2 == 0]
		fmt.Fprintf(&sb, "INSERT INTO %s (x, d, p) VALUES (:x%d, :d, :%s);\n", pipelineTable, n, p)
	}
	sb.WriteString("\\endpipeline\n")
	return sb.String()
}

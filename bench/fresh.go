package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The workloads of statements a connection runs only a few times (never
// long enough for a driver to prepare them), and of deadlines that expire
// just as the query ends.

// fewRuns is how many times in a row a fresh statement text runs on a
// connection in the "Few" workloads: below pgpipe's preparation threshold
// (5 earlier executions).
const fewRuns = 5

// fewText makes statement text q distinct for operation i: each text runs
// fewRuns times in a row on the connection, then never again. The texts
// differ in an alias (of the table or the column), not in a comment:
// pgpipe knows a query's result shape whatever its comments say (see
// tracedText).
func fewText(q string, i int) string { return fmt.Sprintf("%s AS run%d", q, i/fewRuns) }

// tracedText is q with a trace comment new on every execution, as
// sqlcommenter writes into each query.
func tracedText(q string, i int) string {
	return fmt.Sprintf("%s /*traceparent='00-%032x-%016x-01'*/", q, i, i)
}

// fewWorkloads run statements that are new to the connection.
func fewWorkloads() []Workload {
	read := func(ctx context.Context, cl *Client, i int) error {
		q := fewText(readFewSQL, i)
		if cl.PGX != nil {
			return checkRead(pgxRead(ctx, cl.PGX, q))
		}
		return checkRead(sqlRead(ctx, cl.DB, q))
	}
	traced := func(ctx context.Context, cl *Client, i int) error {
		q := tracedText(readFewSQL, i)
		if cl.PGX != nil {
			return checkRead(pgxRead(ctx, cl.PGX, q))
		}
		return checkRead(sqlRead(ctx, cl.DB, q))
	}
	point := func(ctx context.Context, cl *Client, i int) error {
		q, want := fewText("SELECT $1::int", i), i%1_000_000
		var n int
		var err error
		if cl.PGX != nil {
			err = cl.PGX.QueryRow(ctx, q, want).Scan(&n)
		} else {
			err = cl.DB.QueryRowContext(ctx, q, want).Scan(&n)
		}
		if err == nil && n != want {
			err = fmt.Errorf("%s with %d returned %d", q, want, n)
		}
		return err
	}
	entries := func(op Op, base string) []Entry {
		es := []Entry{subject(sqlEntry("pgpipe", op)), sqlEntry("pgx-stdlib", op), sqlEntry("pgx", op), sqlEntry("lib-pq", op)}
		for i := range es {
			if es[i].Name == base {
				es[i].Baseline = true
			}
		}
		return es
	}
	return []Workload{
		{
			Name: "Read100kFew",
			About: "the Read100k rows through QueryContext+Scan with an argument-less query whose text each connection runs " +
				"5 times in a row and never again (below any preparation threshold); time per read",
			Rows:    read100kRows,
			Setup:   setupRead100k,
			Entries: entries(read, "pgx-stdlib"),
			Target:  Target{FewerAllocsPerRow: true, Bounds: []Bound{{Of: "pgx-stdlib", Max: 0.8}}},
		},
		{
			Name: "Read100kTraced",
			About: "the Read100k rows through QueryContext+Scan with a query whose text carries a trace comment new on every " +
				"execution (sqlcommenter's traceparent): no text runs twice; time per read",
			Rows:    read100kRows,
			Setup:   setupRead100k,
			Entries: entries(traced, "pgx-stdlib"),
		},
		{
			Name:    "PointQueryFew",
			About:   "SELECT $1::int through QueryRowContext+Scan, its text new to the connection every 5 executions: the first five executions of a statement",
			Entries: entries(point, "pgx"),
		},
		{
			Name: "DeadlineAtEnd",
			About: "SELECT pg_sleep(0.004) through QueryRowContext with a context deadline of 0.5 to 8.5 ms (in turn, 0.5 ms apart): " +
				"deadlines that expire about when the query ends; a cancelled query counts, its time too",
			Entries: []Entry{subject(sqlEntry("pgpipe", sqlOp(deadlineQuery))), baseline(sqlEntry("pgx-stdlib", sqlOp(deadlineQuery))),
				sqlEntry("lib-pq", sqlOp(deadlineQuery))},
		},
	}
}

// checkRead checks a read of the Read100k table.
func checkRead(n, sum int64, invalid int, err error) error {
	if err != nil {
		return err
	}
	if n != read100kRows || sum != read100kRows*(read100kRows+1)/2 || invalid != 0 {
		return fmt.Errorf("read %d rows, id sum %d, %d with short text or zero time", n, sum, invalid)
	}
	return nil
}

const readFewSQL = `SELECT id, name, score, at FROM ` + read100kTable

func sqlRead(ctx context.Context, db *sql.DB, q string) (n, sum int64, invalid int, err error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	return scanRead(rows)
}

func pgxRead(ctx context.Context, conn *pgx.Conn, q string) (n, sum int64, invalid int, err error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return 0, 0, 0, err
	}
	defer rows.Close()
	return pgxScanRead(rows)
}

// pgxScanRead is scanRead for pgx's rows.
func pgxScanRead(rows pgx.Rows) (n, sum int64, invalid int, err error) {
	var r readRow
	for rows.Next() {
		if err := rows.Scan(&r.id, &r.name, &r.score, &r.at); err != nil {
			return 0, 0, 0, err
		}
		r.tally()
	}
	return r.n, r.sum, r.invalid, rows.Err()
}

// deadlineQuery runs a 4 ms query with a deadline of 0.5 to 8.5 ms: the
// query either returns its row or is cancelled; both are fine, a wrong
// row or another error is not.
func deadlineQuery(ctx context.Context, db *sql.DB, i int) error {
	d := time.Duration(1+i%17) * 500 * time.Microsecond
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var s string
	err := db.QueryRowContext(ctx, "SELECT pg_sleep(0.004)::text").Scan(&s)
	if err == nil || ctx.Err() != nil || strings.Contains(err.Error(), "failed to connect") {
		// The row, or any error once the deadline passed: the query was
		// cancelled. pgx closes the connection on a cancel, and its
		// reconnection may fail under this load (the dial times out):
		// that is its cost of the deadline too.
		return nil
	}
	return err
}

// pgpipeCopyIdiom is lib/pq's COPY idiom run with pgpipe: the same code
// as pqCopyIn (a prepared COPY ... FROM STDIN in a transaction, one Exec
// per row, an empty Exec to end).
var pgpipeCopyIdiom = sqlOp(pqCopyIn)

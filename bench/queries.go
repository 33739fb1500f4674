package bench

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The workloads of single statements: prepared statements on a direct
// connection and behind PgBouncer, statement-cache churn, and a large
// read.

// pgbouncerWorkloadNote says how the PgBouncer workloads differ.
const pgbouncerWorkloadNote = ", through PgBouncer 1.18 in transaction mode (one client connection, pool of 20)"

// preparedWorkloads compare the prepared path with the unprepared ones.
func preparedWorkloads() []Workload {
	point, insert := sqlOp(pointQuery), sqlOp(insert5)
	direct := func(op Op) []Entry {
		return []Entry{
			subject(sqlEntry("pgpipe", op)),
			sqlEntry("pgpipe-none", op),
			baseline(sqlEntry("pgx-stdlib", op)),
			sqlEntry("lib-pq", op),
		}
	}
	bounced := func(op Op) []Entry {
		return []Entry{subject(sqlEntry("pgpipe", op)), sqlEntry("pgpipe-none", op), baseline(sqlEntry("pgx-exec", op))}
	}
	stats := []string{"prep-hits/op"}
	churn := sqlOp(churnQuery)
	return []Workload{
		{
			Name:    "PointQuery",
			About:   "SELECT $1::int through QueryRowContext+Scan, one connection",
			Warmups: DefaultWarmups,
			Entries: append(direct(point), Entry{Name: "pgbench", Label: "libpq (pgbench -M prepared)", Program: &Program{
				Name: "pgbench", Script: "\\set n random(1, 1000000)\nSELECT :n::int;\n"}}),
			Target: Target{MaxAllocsPerOp: 10, AllocsAtMostBaseline: true},
			Extra:  stats,
		},
		{
			Name:    "Insert5",
			About:   "INSERT INTO t (a, b, c, d, e) VALUES ($1, ..., $5) of (int8, text, float8, timestamptz, bool) through ExecContext, into an unlogged table",
			Warmups: DefaultWarmups,
			Setup:   setupInsert5,
			Entries: direct(insert),
			Target:  Target{AllocsAtMostBaseline: true},
			Extra:   stats,
		},
		{
			Name: "PrepareChurn",
			About: fmt.Sprintf("%d distinct queries (SELECT $1::int + k) executed in turn through QueryRowContext+Scan: "+
				"more than pgpipe keeps prepared (prepared_max=100, the default) or pgx caches (512); after %d warm-up executions; time per execution",
				churnQueries, churnWarmups),
			Warmups: churnWarmups,
			Entries: []Entry{sqlEntry("pgpipe", churn), sqlEntry("pgpipe-none", churn), baseline(sqlEntry("pgx-stdlib", churn)), sqlEntry("lib-pq", churn)},
			Extra:   []string{"prep-hits/op", "prepares/op", "evictions/op"},
		},
		{
			Name:    "PointQueryPgBouncer",
			About:   "SELECT $1::int through QueryRowContext+Scan" + pgbouncerWorkloadNote,
			Route:   PgBouncer,
			Warmups: DefaultWarmups,
			Entries: bounced(point),
			Extra:   stats,
		},
		{
			Name:    "Insert5PgBouncer",
			About:   "the Insert5 INSERT through ExecContext" + pgbouncerWorkloadNote,
			Route:   PgBouncer,
			Warmups: DefaultWarmups,
			Setup:   setupInsert5,
			Entries: bounced(insert),
			Extra:   stats,
		},
	}
}

// pointQuery is the smallest round trip with an argument and a result.
func pointQuery(ctx context.Context, db *sql.DB, i int) error {
	want := i % 1_000_000
	var n int
	if err := db.QueryRowContext(ctx, "SELECT $1::int", want).Scan(&n); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("SELECT $1::int with %d returned %d", want, n)
	}
	return nil
}

const insert5Table = "bench_insert5_v1"

// setupInsert5 creates the table, unlogged, and empties it: it only
// grows during a run.
func setupInsert5(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		`CREATE UNLOGGED TABLE IF NOT EXISTS ` + insert5Table + ` (a int8, b text, c float8, d timestamptz, e bool)`,
		`TRUNCATE ` + insert5Table,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// insert5 inserts one row of five types.
func insert5(ctx context.Context, db *sql.DB, i int) error {
	res, err := db.ExecContext(ctx, `INSERT INTO `+insert5Table+` (a, b, c, d, e) VALUES ($1, $2, $3, $4, $5)`,
		int64(i), benchText(i), float64(i)*0.5, benchTime(i), i%2 == 0)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("INSERT affected %d rows (%v), want 1", n, err)
	}
	return nil
}

const (
	churnQueries = 1000
	churnWarmups = 10_000
)

// churnSQL are the distinct queries of PrepareChurn.
var churnSQL = func() []string {
	qs := make([]string, churnQueries)
	for k := range qs {
		qs[k] = fmt.Sprintf("SELECT $1::int + %d", k)
	}
	return qs
}()

// churnQuery runs query i mod 1000: each query comes back after the 999
// others, by then evicted from any cache smaller than 1000.
func churnQuery(ctx context.Context, db *sql.DB, i int) error {
	k, arg := i%churnQueries, i%1_000_000
	var n int
	if err := db.QueryRowContext(ctx, churnSQL[k], arg).Scan(&n); err != nil {
		return err
	}
	if n != arg+k {
		return fmt.Errorf("%s with %d returned %d", churnSQL[k], arg, n)
	}
	return nil
}

const (
	read100kRows  = 100_000
	read100kTable = "bench_read100k_v1" // bump the suffix when the data changes
)

// benchRowsSQL generates rows 1..n of (id, name, score, at): text of 10
// to 30 characters, a float and a timestamp with microseconds. The
// workloads that write generate values of the same kinds and sizes in Go
// (benchText, benchScore, benchTime).
func benchRowsSQL(n int) string {
	return fmt.Sprintf(`SELECT i,
			initcap(substr(md5(i::text), 1, 5 + i %% 11)) || ' ' || substr(md5((i + 1)::text), 1, 4 + i %% 11),
			((i::int8 * 7919) %% 100003)::float8 / 97,
			timestamptz '2024-01-01 00:00:00+00' + i * interval '37 seconds' + (i %% 1000) * interval '1 microsecond'
		FROM generate_series(1, %d) i`, n)
}

// fillTable creates table (unless it exists) and fills it with rows
// 1..n of benchRowsSQL, unless it holds them already.
func fillTable(ctx context.Context, db *sql.DB, table string, n int) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		id int8 PRIMARY KEY, name text NOT NULL, score float8 NOT NULL, at timestamptz NOT NULL)`); err != nil {
		return err
	}
	var count int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&count); err != nil {
		return err
	}
	if count == n {
		return nil
	}
	for _, q := range []string{
		`TRUNCATE ` + table,
		`INSERT INTO ` + table + ` ` + benchRowsSQL(n),
		`VACUUM ANALYZE ` + table,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// setupRead100k creates and fills the table once.
func setupRead100k(ctx context.Context, db *sql.DB) error {
	return fillTable(ctx, db, read100kTable, read100kRows)
}

// read100k reads the whole table into Go values and checks the ids and
// that no text or time came back empty.
func read100k(ctx context.Context, db *sql.DB, _ int) error {
	rows, err := db.QueryContext(ctx, `SELECT id, name, score, at FROM `+read100kTable+` LIMIT $1`, read100kRows)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := checkRead(scanRead(rows)); err != nil {
		return err
	}
	return rows.Close()
}

// scanRead scans rows of the Read100k table into Go values: their count,
// the sum of their ids, and how many came back with a short text or a
// zero time. It takes *sql.Rows, not an interface pgx's rows share: a
// call of Scan through an interface moves its variadic argument to the
// heap, one allocation per row that is the harness's, not the driver's
// (pgxScanRead has the same loop for pgx's rows, an interface anyway).
func scanRead(rows *sql.Rows) (n, sum int64, invalid int, err error) {
	var r readRow
	for rows.Next() {
		if err := rows.Scan(&r.id, &r.name, &r.score, &r.at); err != nil {
			return 0, 0, 0, err
		}
		r.tally()
	}
	return r.n, r.sum, r.invalid, rows.Err()
}

// readRow is one scanned row of the Read100k table and the tally so far.
type readRow struct {
	id      int64
	name    string
	score   float64
	at      time.Time
	n, sum  int64
	invalid int
}

// tally counts the row just scanned.
func (r *readRow) tally() {
	r.n, r.sum = r.n+1, r.sum+r.id
	if len(r.name) < 10 || r.at.IsZero() {
		r.invalid++
	}
}

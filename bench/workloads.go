package bench

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Workload is one thing the benchmarks measure, the same way for every
// contender.
type Workload struct {
	// Name is the sub-benchmark name: letters, digits, '-' and '_'.
	Name string
	// About says in a line what one operation does, for reports.
	About string
	// Rows is the number of rows one operation reads; when above zero the
	// benchmark also reports allocs/row, B/row and ns/row.
	Rows int
	// Setup prepares the server once (tables, data). It must be idempotent
	// and cheap when the work was already done. Nil when not needed.
	Setup func(ctx context.Context, db *sql.DB) error
	// Op runs one operation; i counts from 0 and varies the arguments.
	// It checks what it read and returns an error when it is wrong.
	Op func(ctx context.Context, db *sql.DB, i int) error
	// Target is what a Subject contender should achieve.
	Target Target
	// Pgbench, when not empty, is a pgbench script doing the same
	// operation; the runner reports its latency as a libpq reference.
	Pgbench string
}

// Target is what a [Contender] marked Subject should achieve on a
// workload. Every target also asks to be no slower than the baseline.
type Target struct {
	// MaxAllocsPerOp is the most allocations one operation may make;
	// zero means no limit.
	MaxAllocsPerOp float64
	// FewerAllocsPerRow asks for fewer allocations per row read than the
	// baseline makes.
	FewerAllocsPerRow bool
}

// Warmups is how many untimed operations run the first time a process
// runs a (workload, contender) pair: more than any contender's
// preparation threshold (pgpipe prepares at the 6th execution by
// default, and uses text results before), so the timed loop measures the
// steady state of a long-running program. Later calls of the same
// benchmark function (b.N = 1, 100, ...) run one.
const Warmups = 10

// Workloads are the workloads measured, in the order they run.
var Workloads = []Workload{
	{
		Name:    "PointQuery",
		About:   "SELECT $1::int through QueryRowContext+Scan, one connection",
		Op:      pointQuery,
		Target:  Target{MaxAllocsPerOp: 10},
		Pgbench: "\\set n random(1, 1000000)\nSELECT :n::int;\n",
	},
	{
		Name:   "Read100k",
		About:  "100,000 rows of (int8, text, float8, timestamptz) through QueryContext+Scan",
		Rows:   read100kRows,
		Setup:  setupRead100k,
		Op:     read100k,
		Target: Target{FewerAllocsPerRow: true},
	},
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

const (
	read100kRows  = 100_000
	read100kTable = "bench_read100k_v1" // bump the suffix when the data changes
)

// setupRead100k creates and fills the table once: ids 1..100000, text of
// 10 to 30 characters, a float and a timestamp with microseconds.
func setupRead100k(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+read100kTable+` (
		id int8 PRIMARY KEY, name text NOT NULL, score float8 NOT NULL, at timestamptz NOT NULL)`); err != nil {
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+read100kTable).Scan(&n); err != nil {
		return err
	}
	if n == read100kRows {
		return nil
	}
	for _, q := range []string{
		`TRUNCATE ` + read100kTable,
		`INSERT INTO ` + read100kTable + `
		SELECT i,
			initcap(substr(md5(i::text), 1, 5 + i % 11)) || ' ' || substr(md5((i + 1)::text), 1, 4 + i % 11),
			((i * 7919) % 100003)::float8 / 97,
			timestamptz '2024-01-01 00:00:00+00' + i * interval '37 seconds' + (i % 1000) * interval '1 microsecond'
		FROM generate_series(1, 100000) i`,
		`VACUUM ANALYZE ` + read100kTable,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// read100k reads the whole table into Go values and checks the ids and
// that no text or time came back empty.
func read100k(ctx context.Context, db *sql.DB, _ int) error {
	rows, err := db.QueryContext(ctx, `SELECT id, name, score, at FROM `+read100kTable+` LIMIT $1`, read100kRows)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		id      int64
		name    string
		score   float64
		at      time.Time
		n, sum  int64
		invalid int
	)
	for rows.Next() {
		if err := rows.Scan(&id, &name, &score, &at); err != nil {
			return err
		}
		n++
		sum += id
		if len(name) < 10 || at.IsZero() {
			invalid++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != read100kRows || sum != read100kRows*(read100kRows+1)/2 || invalid != 0 {
		return fmt.Errorf("read %d rows, id sum %d, %d with short text or zero time", n, sum, invalid)
	}
	return rows.Close()
}

// Setup opens the baseline contender on dsn and runs every workload's
// Setup.
func Setup(ctx context.Context, dsn string) error {
	db, err := Baseline().Open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, w := range Workloads {
		if w.Setup == nil {
			continue
		}
		if err := w.Setup(ctx, db); err != nil {
			return fmt.Errorf("bench: setting up %s: %w", w.Name, err)
		}
	}
	return nil
}

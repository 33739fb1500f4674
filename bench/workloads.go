package bench

import (
	"context"
	"database/sql"
	"fmt"
)

// Workload is one thing the benchmarks measure, the same way for every
// entry.
type Workload struct {
	// Name is the sub-benchmark name: letters, digits, '-' and '_'.
	Name string
	// About says in a line what one operation does, for reports.
	About string
	// Route is how the entries reach the server; empty means [Direct].
	Route Route
	// Rows is the number of rows one operation reads or writes; when above
	// zero the benchmark also reports allocs/row, B/row and ns/row.
	Rows int
	// CopyScaled says that Rows is [CopyRows] instead: the COPY workloads,
	// which quick runs shrink.
	CopyScaled bool
	// Throughput makes the benchmark report rows/s and the peak heap (the
	// largest HeapInuse sampled while timing), and the chart draw rows/s.
	Throughput bool
	// Warmups is how many untimed operations run the first time a process
	// runs an entry: enough to reach the steady state of a long-running
	// program (statements prepared). Later calls of the same benchmark
	// function (b.N = 1, 100, ...) run one. With Goroutines, each
	// goroutine runs Warmups operations (Warmups × Goroutines in all), so
	// that every connection of the pool is open and warm.
	Warmups int
	// Goroutines, when above 1, is how many goroutines run the
	// operations at the same time, taking the next one as they finish
	// one: b.N operations in all, so that time/op is the wall-clock time
	// per operation overall (the inverse of the throughput) and allocs/op
	// the allocations per operation. Such a workload has no Reset, and
	// its entries say the size of their pool ([Entry.Conns]).
	Goroutines int
	// Setup prepares the server once (tables, data). It must be idempotent
	// and cheap when the work was already done. Nil when not needed.
	Setup func(ctx context.Context, db *sql.DB) error
	// Reset runs before every operation, untimed, on the harness's own
	// connection: it checks what the previous operation wrote (0 or rows
	// rows) and empties the table. Nil when not needed.
	Reset func(ctx context.Context, db *sql.DB, rows int) error
	// Entries are who does the workload and how, in the order they run.
	// Exactly one is the Baseline.
	Entries []Entry
	// Target is what the Subject entries should achieve.
	Target Target
	// Extra are more metrics (units, e.g. "prepares/op") the report shows.
	Extra []string
}

// RowsPerOp is the number of rows one operation reads or writes.
func (w Workload) RowsPerOp() int {
	if w.CopyScaled {
		return CopyRows()
	}
	return w.Rows
}

// RouteOrDirect is w's route, [Direct] when none is set.
func (w Workload) RouteOrDirect() Route {
	if w.Route == "" {
		return Direct
	}
	return w.Route
}

// Baseline is the entry every other is compared with.
func (w Workload) Baseline() Entry {
	for _, e := range w.Entries {
		if e.Baseline {
			return e
		}
	}
	panic("bench: workload " + w.Name + " has no baseline entry")
}

// Op runs one operation on cl; i counts up from 0 over the process's
// life and varies the arguments. It checks what it read or wrote and
// returns an error when it is wrong.
type Op func(ctx context.Context, cl *Client, i int) error

// Entry is one contender doing a workload one way: the sub-benchmark
// BenchmarkWorkload/<workload>/<Name>, or an external C program the
// runner starts (a reference, never measured by the Go benchmark).
type Entry struct {
	// Name is the sub-benchmark name: letters, digits, '-' and '_'.
	Name string
	// Label names the entry in reports; the contender's label when empty.
	Label string
	// Contender names the client in [Contenders]; empty for a Program.
	Contender string
	// Op does one operation; nil for a Program.
	Op Op
	// Baseline marks the entry every other is compared with.
	Baseline bool
	// Subject marks an entry whose results get a verdict against the
	// workload's [Target].
	Subject bool
	// Program, when set, makes the entry an external C program.
	Program *Program
	// Slow marks an entry that takes many seconds per operation and
	// that quick runs (pgpipe-bench -quick) leave out.
	Slow bool
	// Conns is the database/sql pool's size (SetMaxOpenConns and
	// SetMaxIdleConns) on a workload with Goroutines; zero means one.
	Conns int
}

// Title is the entry's label in reports.
func (e Entry) Title() string {
	if e.Label != "" {
		return e.Label
	}
	if c, ok := ContenderNamed(e.Contender); ok {
		return c.Label
	}
	return e.Name
}

// Client is the name of the entry's client: its contender, or its
// program ("pgbench", "psql").
func (e Entry) Client() string {
	if e.Program != nil {
		return e.Program.Name
	}
	return e.Contender
}

// Program is an external C program doing a workload, run by the runner
// (cmd/pgpipe-bench) once per repetition, as a reference for what libpq
// achieves.
type Program struct {
	// Name is "pgbench" or "psql".
	Name string
	// Script is pgbench's script, run with -M prepared on one connection.
	Script string
	// Args are more pgbench arguments, e.g. -D settings.
	Args []string
	// Command is psql's -c command; psql gets the CSV file ([WriteCSV])
	// on its standard input.
	Command string
	// MinSeconds is the least time pgbench runs for: its first
	// transaction, which prepares the statements one round trip each, is
	// left out of the average, and others must follow.
	MinSeconds int
}

// Target is what an [Entry] marked Subject should achieve on a workload.
// Every target also asks to be no slower than the baseline.
type Target struct {
	// MaxAllocsPerOp is the most allocations one operation may make;
	// zero means no limit.
	MaxAllocsPerOp float64
	// AllocsAtMostBaseline asks for no more allocations per operation
	// than the baseline makes.
	AllocsAtMostBaseline bool
	// FewerAllocsPerRow asks for fewer allocations per row read than the
	// baseline makes.
	FewerAllocsPerRow bool
	// Bounds compare the time with other entries'.
	Bounds []Bound
	// FlatHeap asks for a peak heap over the whole operation close to the
	// peak over its first tenth of rows: memory does not grow with the
	// row count.
	FlatHeap bool
}

// Bound asks for a time per operation at most Max times entry Of's
// (the median of paired ratios): Max 1 is "no slower than", 1/3 is "at
// least 3 times faster than".
type Bound struct {
	Of  string
	Max float64
}

// DefaultWarmups is the warm-up of the workloads whose statements a
// driver prepares after a few executions: more than any contender's
// preparation threshold (pgpipe prepares at the 6th execution by default,
// and uses text results before).
const DefaultWarmups = 10

// sqlEntry is the entry of a database/sql contender doing op.
func sqlEntry(contender string, op Op) Entry {
	return Entry{Name: contender, Contender: contender, Op: op}
}

// baseline marks e as the baseline.
func baseline(e Entry) Entry { e.Baseline = true; return e }

// subject marks e as a subject.
func subject(e Entry) Entry { e.Subject = true; return e }

// Workloads are the workloads measured, in the order they run.
var Workloads = append(append(append(append(append(preparedWorkloads(), readWorkloads()...), fewWorkloads()...),
	pipelineWorkloads()...), copyWorkloads()...), multiplexWorkloads()...)

// readWorkloads read many rows.
func readWorkloads() []Workload {
	op := sqlOp(read100k)
	return []Workload{{
		Name:    "Read100k",
		About:   "100,000 rows of (int8, text, float8, timestamptz) through QueryContext+Scan",
		Rows:    read100kRows,
		Warmups: DefaultWarmups,
		Setup:   setupRead100k,
		Entries: []Entry{subject(sqlEntry("pgpipe", op)), baseline(sqlEntry("pgx-stdlib", op)), sqlEntry("lib-pq", op)},
		Target:  Target{FewerAllocsPerRow: true},
	}}
}

// Setup opens the harness's client on dsn and runs every workload's
// Setup.
func Setup(ctx context.Context, dsn string) error {
	db, err := OpenAdmin(ctx, dsn)
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

// sqlOp adapts an operation on a database/sql pool.
func sqlOp(f func(ctx context.Context, db *sql.DB, i int) error) Op {
	return func(ctx context.Context, cl *Client, i int) error { return f(ctx, cl.DB, i) }
}

// truncateAfter returns a Reset that checks that table holds no row or
// exactly the rows of one operation (unless rows is negative), then
// empties it.
func truncateAfter(table string) func(ctx context.Context, db *sql.DB, rows int) error {
	return func(ctx context.Context, db *sql.DB, rows int) error {
		if rows < 0 {
			_, err := db.ExecContext(ctx, "TRUNCATE "+table)
			return err
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return err
		}
		if n != 0 && n != rows {
			return fmt.Errorf("%s holds %d rows after an operation, want %d", table, n, rows)
		}
		_, err := db.ExecContext(ctx, "TRUNCATE "+table)
		return err
	}
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"

	"github.com/pgpipe/pgpipe"
)

// The COPY workloads move CopyRows rows of (int8, text, float8,
// timestamptz) into and out of the server, against pgx, lib/pq, a
// multi-row INSERT and psql.

// CopyRowsEnv names the environment variable holding the number of rows
// of the COPY workloads (a multiple of 1,000; 1,000,000 by default).
const CopyRowsEnv = "PGPIPE_BENCH_COPY_ROWS"

// CSVEnv names the environment variable holding the path of the CSV file
// the CSV workload reads ([WriteCSV] of [CopyRows] rows).
const CSVEnv = "PGPIPE_BENCH_CSV"

// DefaultCopyRows is the size of the COPY workloads.
const DefaultCopyRows = 1_000_000

var copyRows = func() int {
	n, err := strconv.Atoi(os.Getenv(CopyRowsEnv))
	if err != nil || n <= 0 || n%insertRowsPerStatement != 0 {
		return DefaultCopyRows
	}
	return n
}()

// CopyRows is the number of rows one COPY operation moves.
func CopyRows() int { return copyRows }

// SetCopyRows changes [CopyRows] in this process; n must be a positive
// multiple of 1,000.
func SetCopyRows(n int) error {
	if n <= 0 || n%insertRowsPerStatement != 0 {
		return fmt.Errorf("bench: %d COPY rows: want a positive multiple of %d", n, insertRowsPerStatement)
	}
	copyRows = n
	return nil
}

const (
	copyTarget             = "bench_copy_target_v1"
	copyColumns            = "id, name, score, at"
	insertRowsPerStatement = 1000
)

// copySource is the table COPY TO reads: CopyRows rows.
func copySource() string { return fmt.Sprintf("bench_copy%d_v1", CopyRows()) }

// copyWorkloads write CopyRows rows from Go values and from CSV, and read
// them into io.Discard.
func copyWorkloads() []Workload {
	flat := Target{FlatHeap: true}
	mk := func(name, about string, entries ...Entry) Workload {
		w := Workload{Name: name, About: about, CopyScaled: true, Throughput: true, Setup: setupCopy, Reset: truncateAfter(copyTarget),
			Entries: entries, Target: flat}
		return w
	}
	csv := mk("CopyFromCSV", "COPY FROM STDIN (FORMAT csv) of the rows from a CSV file (an io.Reader), into an unlogged table",
		Entry{Name: "pgpipe", Contender: "pgpipe", Label: "pgpipe CopyFrom", Op: pgpipeCopyCSV, Subject: true},
		Entry{Name: "pgx", Contender: "pgx", Label: "pgx PgConn().CopyFrom", Op: pgxCopyCSV, Baseline: true},
		Entry{Name: "psql", Label: `psql \copy (C reference)`, Program: &Program{Name: "psql", Command: `\copy ` + copyTarget + ` from stdin csv`}})
	csv.Target.Bounds = []Bound{{Of: "psql", Max: 1.2}}
	to := mk("CopyTo", "COPY TO STDOUT of the rows of a table into io.Discard",
		Entry{Name: "pgpipe", Contender: "pgpipe", Label: "pgpipe CopyTo", Op: pgpipeCopyTo, Subject: true},
		Entry{Name: "pgx", Contender: "pgx", Label: "pgx PgConn().CopyTo", Op: pgxCopyTo, Baseline: true})
	to.Reset = nil
	return []Workload{
		mk("CopyFromValues", "rows of Go values (int64, string, float64, time.Time) generated on the fly, into an unlogged table, "+
			"in the binary format by pgpipe and pgx",
			Entry{Name: "pgpipe", Contender: "pgpipe", Label: "pgpipe CopyFromRows", Op: pgpipeCopyFromRows, Subject: true},
			Entry{Name: "pgx", Contender: "pgx", Label: "pgx CopyFrom (binary)", Op: pgxCopyFrom, Baseline: true},
			Entry{Name: "lib-pq", Contender: "lib-pq", Label: "lib/pq CopyIn (Exec per row, in a tx)", Op: sqlOp(pqCopyIn)},
			Entry{Name: "pgpipe-idiom", Contender: "pgpipe", Label: "pgpipe, lib/pq's idiom (Prepare COPY, Exec per row, in a tx)", Op: pgpipeCopyIdiom},
			Entry{Name: "insert", Contender: "pgx-stdlib", Label: "multi-row INSERT of 1,000 rows (pgx stdlib)", Op: sqlOp(multiRowInsert)}),
		csv,
		to,
	}
}

// setupCopy creates the target (unlogged, no index) and fills the source.
func setupCopy(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS `+copyTarget+
		` (id int8, name text, score float8, at timestamptz)`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `TRUNCATE `+copyTarget); err != nil {
		return err
	}
	return fillTable(ctx, db, copySource(), CopyRows())
}

// benchNames are the texts rows use in turn: 10 to 30 characters.
var benchNames = func() []string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	names := make([]string, 1024)
	for i := range names {
		var sb strings.Builder
		for j := range 10 + i%21 {
			if j == 6 {
				sb.WriteByte(' ')
				continue
			}
			sb.WriteByte(letters[(i*7+j*13)%len(letters)])
		}
		names[i] = sb.String()
	}
	return names
}()

var benchEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func benchText(i int) string   { return benchNames[i%len(benchNames)] }
func benchScore(i int) float64 { return float64((i*7919)%100003) / 97 }
func benchTime(i int) time.Time {
	return benchEpoch.Add(time.Duration(i)*37*time.Second + time.Duration(i%1000)*time.Microsecond)
}
func fillRow(vals []any, i int) {
	vals[0], vals[1], vals[2], vals[3] = int64(i), benchText(i), benchScore(i), benchTime(i)
}
func newRow() []any { return make([]any, 4) }
func copyFromSQL(f string) string {
	return "COPY " + copyTarget + " (" + copyColumns + ") FROM STDIN" + f
}

// rowGen is a pgpipe.RowSource generating rows 1..n into one reused
// slice, and telling the heap sampler how far it got.
type rowGen struct {
	cl   *Client
	n, i int
	vals []any
}

func (g *rowGen) Next() bool {
	if g.i >= g.n {
		return false
	}
	g.i++
	g.cl.progress.Store(int64(g.i))
	fillRow(g.vals, g.i)
	return true
}

func (g *rowGen) Values() ([]any, error) { return g.vals, nil }
func (g *rowGen) Err() error             { return nil }

// checkCount compares the rows a COPY reported with CopyRows.
func checkCount(what string, n int64) error {
	if n != int64(CopyRows()) {
		return fmt.Errorf("%s copied %d rows, want %d", what, n, CopyRows())
	}
	return nil
}

func pgpipeCopyFromRows(ctx context.Context, cl *Client, _ int) error {
	sc, err := cl.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	n, err := pgpipe.CopyFromRows(ctx, sc, copyTarget, strings.Split(copyColumns, ", "),
		&rowGen{cl: cl, n: CopyRows(), vals: newRow()})
	if err != nil {
		return err
	}
	return checkCount("CopyFromRows", n)
}

func pgxCopyFrom(ctx context.Context, cl *Client, _ int) error {
	g := &rowGen{cl: cl, n: CopyRows(), vals: newRow()}
	n, err := cl.PGX.CopyFrom(ctx, pgx.Identifier{copyTarget}, strings.Split(copyColumns, ", "),
		pgx.CopyFromFunc(func() ([]any, error) {
			if !g.Next() {
				return nil, nil
			}
			return g.vals, nil
		}))
	if err != nil {
		return err
	}
	return checkCount("pgx CopyFrom", n)
}

// pqCopyIn is lib/pq's documented COPY: a prepared pq.CopyIn statement in
// a transaction, one Exec per row, an empty Exec to end.
func pqCopyIn(ctx context.Context, db *sql.DB, _ int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(copyTarget, strings.Split(copyColumns, ", ")...))
	if err != nil {
		return err
	}
	vals := newRow()
	for i := 1; i <= CopyRows(); i++ {
		fillRow(vals, i)
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return err
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return err
	}
	if err := stmt.Close(); err != nil {
		return err
	}
	return tx.Commit()
}

// insertSQL is a multi-row INSERT of insertRowsPerStatement rows.
var insertSQL = func() string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + copyTarget + " (" + copyColumns + ") VALUES ")
	for r := range insertRowsPerStatement {
		if r > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d)", 4*r+1, 4*r+2, 4*r+3, 4*r+4)
	}
	return sb.String()
}()

// multiRowInsert is the usual way without COPY: INSERT statements of
// 1,000 rows (4,000 parameters) each.
func multiRowInsert(ctx context.Context, db *sql.DB, _ int) error {
	args := make([]any, 4*insertRowsPerStatement)
	for first := 1; first <= CopyRows(); first += insertRowsPerStatement {
		for r := range insertRowsPerStatement {
			fillRow(args[4*r:4*r+4], first+r)
		}
		res, err := db.ExecContext(ctx, insertSQL, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != insertRowsPerStatement {
			return fmt.Errorf("INSERT affected %d rows (%v), want %d", n, err, insertRowsPerStatement)
		}
	}
	return nil
}

// lineCounter counts the lines going through it (CSV and COPY text rows)
// for the heap sampler.
type lineCounter struct {
	cl    *Client
	lines int64
}

func (lc *lineCounter) count(p []byte) {
	lc.lines += int64(bytes.Count(p, []byte{'\n'}))
	lc.cl.progress.Store(lc.lines)
}

// countingReader reads the CSV file, counting lines.
type countingReader struct {
	r io.Reader
	lineCounter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.count(p[:n])
	return n, err
}

// countingDiscard is io.Discard, counting lines.
type countingDiscard struct{ lineCounter }

func (c *countingDiscard) Write(p []byte) (int, error) { c.count(p); return len(p), nil }

// openCSV opens the CSV file of CopyRows rows.
func openCSV(cl *Client) (*os.File, *countingReader, error) {
	path, err := csvPath()
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, &countingReader{r: f, lineCounter: lineCounter{cl: cl}}, nil
}

func pgpipeCopyCSV(ctx context.Context, cl *Client, _ int) error {
	f, r, err := openCSV(cl)
	if err != nil {
		return err
	}
	defer f.Close()
	sc, err := cl.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	n, err := pgpipe.CopyFrom(ctx, sc, copyFromSQL(" (FORMAT csv)"), r)
	if err != nil {
		return err
	}
	return checkCount("pgpipe CopyFrom", n)
}

func pgxCopyCSV(ctx context.Context, cl *Client, _ int) error {
	f, r, err := openCSV(cl)
	if err != nil {
		return err
	}
	defer f.Close()
	tag, err := cl.PGX.PgConn().CopyFrom(ctx, r, copyFromSQL(" (FORMAT csv)"))
	if err != nil {
		return err
	}
	return checkCount("pgx CopyFrom", tag.RowsAffected())
}

func pgpipeCopyTo(ctx context.Context, cl *Client, _ int) error {
	sc, err := cl.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	n, err := pgpipe.CopyTo(ctx, sc, "COPY "+copySource()+" TO STDOUT", &countingDiscard{lineCounter{cl: cl}})
	if err != nil {
		return err
	}
	return checkCount("pgpipe CopyTo", n)
}

func pgxCopyTo(ctx context.Context, cl *Client, _ int) error {
	tag, err := cl.PGX.PgConn().CopyTo(ctx, &countingDiscard{lineCounter{cl: cl}}, "COPY "+copySource()+" TO STDOUT")
	if err != nil {
		return err
	}
	return checkCount("pgx CopyTo", tag.RowsAffected())
}

// WriteCSV writes rows 1..n of the generated values as CSV.
func WriteCSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	for i := 1; i <= n; i++ {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(append(line, ','), benchText(i)...)
		line = strconv.AppendFloat(append(line, ','), benchScore(i), 'g', -1, 64)
		line = benchTime(i).AppendFormat(append(line, ','), "2006-01-02 15:04:05.999999-07")
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// csvFile is the CSV file of this process, written on first use when
// $PGPIPE_BENCH_CSV does not name one.
var csvFile struct {
	once sync.Once
	path string
	err  error
}

func csvPath() (string, error) {
	csvFile.once.Do(func() {
		if p := os.Getenv(CSVEnv); p != "" {
			csvFile.path = p
			return
		}
		f, err := os.CreateTemp("", "pgpipe-bench-*.csv")
		if err != nil {
			csvFile.err = err
			return
		}
		defer f.Close()
		csvFile.path, csvFile.err = f.Name(), WriteCSV(f, CopyRows())
	})
	return csvFile.path, csvFile.err
}

// RemoveTempCSV removes the CSV file this process wrote, if any.
func RemoveTempCSV() {
	if csvFile.path != "" && os.Getenv(CSVEnv) == "" {
		os.Remove(csvFile.path)
	}
}

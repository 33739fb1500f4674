package integration_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// stillWorks checks that conn runs the next query.
func stillWorks(t *testing.T, conn *sql.Conn) {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT $1::int", 11).Scan(&n); err != nil || n != 11 {
		t.Fatalf("the connection does not run the next query: %d, %v", n, err)
	}
}

func countRows(t *testing.T, db *sql.DB, tbl string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCopyFromReaderInEveryFormat(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int, name text")
	conn := openConn(t)
	ctx := context.Background()
	n, err := pgpipe.CopyFrom(ctx, conn, "COPY "+tbl+" FROM STDIN", strings.NewReader("1\tone\n2\t\\N\n3\ttab\\there\n"))
	if err != nil || n != 3 {
		t.Fatalf("text: %d, %v", n, err)
	}
	n, err = pgpipe.CopyFrom(ctx, conn, "COPY "+tbl+" FROM STDIN (FORMAT csv)", strings.NewReader("4,\"comma, quoted\"\n5,five\n"))
	if err != nil || n != 2 {
		t.Fatalf("csv: %d, %v", n, err)
	}
	var bin bytes.Buffer
	if _, err := pgpipe.CopyTo(ctx, conn, "COPY (SELECT id + 100, name FROM "+tbl+") TO STDOUT (FORMAT binary)", &bin); err != nil {
		t.Fatal(err)
	}
	n, err = pgpipe.CopyFrom(ctx, conn, "COPY "+tbl+" FROM STDIN (FORMAT binary)", &bin)
	if err != nil || n != 5 {
		t.Fatalf("binary: %d, %v", n, err)
	}
	var got string
	conn.QueryRowContext(ctx, "SELECT string_agg(id || ':' || coalesce(name, 'NULL'), ',' ORDER BY id) FROM "+tbl).Scan(&got)
	want := "1:one,2:NULL,3:tab\there,4:comma, quoted,5:five,101:one,102:NULL,103:tab\there,104:comma, quoted,105:five"
	if got != want {
		t.Fatalf("table holds %q, want %q", got, want)
	}
}

// failingReader yields n bytes of rows, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestCopyFromReaderFailingMidStream(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int")
	conn := openConn(t)
	var rows strings.Builder
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&rows, "%d\n", i)
	}
	boom := errors.New("disk on fire")
	_, err := pgpipe.CopyFrom(context.Background(), conn, "COPY "+tbl+" FROM STDIN", &failingReader{data: []byte(rows.String()), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	if n := countRows(t, db, tbl); n != 0 {
		t.Fatalf("%d rows after an aborted COPY", n)
	}
	stillWorks(t, conn)
}

func TestCopyFromServerErrorNamesTheLine(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int")
	conn := openConn(t)
	var rows strings.Builder
	for i := 1; i <= 100000; i++ {
		if i == 1234 {
			rows.WriteString("not a number\n")
			continue
		}
		fmt.Fprintf(&rows, "%d\n", i)
	}
	_, err := pgpipe.CopyFrom(context.Background(), conn, "COPY "+tbl+" FROM STDIN", strings.NewReader(rows.String()))
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "22P02" || !strings.Contains(pgErr.Where, "line 1234") {
		t.Fatalf("err = %v (where %q); want 22P02 at line 1234", err, pgErr.Where)
	}
	stillWorks(t, conn)
}

func TestCopyFromRowsRoundTrip(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int8, name text, score float8, at timestamptz, ok bool, raw bytea, amount numeric, tags text[]")
	conn := openConn(t)
	at := time.Date(2024, 2, 29, 12, 30, 45, 123456000, time.UTC)
	src := [][]any{
		{int64(1), "one", 1.5, at, true, []byte{0, 1, 2}, "12345.678", []string{"a", "b,c"}},
		{2, "tab\tand\nnewline", -0.25, at.Add(time.Hour), false, []byte(`\`), "-0.001", []string{}},
		{3, nil, nil, nil, nil, nil, nil, nil},
	}
	n, err := pgpipe.CopyFromRows(context.Background(), conn, tbl, nil, pgpipe.CopyFromSlice(src))
	if err != nil || n != 3 {
		t.Fatalf("%d, %v", n, err)
	}
	rows, err := conn.QueryContext(context.Background(), "SELECT id, name, score, at, ok, raw, amount, tags FROM "+tbl+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id int64
		var name, amount, tags sql.NullString
		var score sql.NullFloat64
		var ts sql.NullTime
		var ok sql.NullBool
		var raw []byte
		rows.Scan(&id, &name, &score, &ts, &ok, &raw, &amount, &tags)
		got = append(got, fmt.Sprintf("%d|%v|%v|%v|%v|%x|%v|%v", id, name.String, score.Float64, ts.Time.UTC().Format(time.RFC3339Nano), ok.Bool, raw, amount.String, tags.String))
	}
	want := []string{
		"1|one|1.5|2024-02-29T12:30:45.123456Z|true|000102|12345.678|{a,\"b,c\"}",
		"2|tab\tand\nnewline|-0.25|2024-02-29T13:30:45.123456Z|false|5c|-0.001|{}",
		"3||0|0001-01-01T00:00:00Z|false|||",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestCopyFromRowsNamesTheBadValue(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int4, name text")
	conn := openConn(t)
	src := [][]any{{1, "a"}, {2, "b"}, {struct{}{}, "c"}}
	_, err := pgpipe.CopyFromRows(context.Background(), conn, tbl, []string{"id", "name"}, pgpipe.CopyFromSlice(src))
	var ve *pgpipe.CopyValueError
	if !errors.As(err, &ve) || ve.Row != 3 || ve.Column != "id" {
		t.Fatalf("err = %v; want a CopyValueError at row 3, column id", err)
	}
	if n := countRows(t, db, tbl); n != 0 {
		t.Fatalf("%d rows after a failed COPY", n)
	}
	stillWorks(t, conn)
}

func TestCopyToWriterAndStream(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	var buf bytes.Buffer
	n, err := pgpipe.CopyTo(context.Background(), conn, "COPY (SELECT g, 'r' || g FROM generate_series(1, 3) g) TO STDOUT", &buf)
	if err != nil || n != 3 || buf.String() != "1\tr1\n2\tr2\n3\tr3\n" {
		t.Fatalf("%d, %q, %v", n, buf.String(), err)
	}
	var all []byte
	err = pgpipe.CopyToStream(context.Background(), conn, "COPY (SELECT g FROM generate_series(1, 100000) g) TO STDOUT (FORMAT csv)", func(r io.Reader) error {
		var err error
		all, err = io.ReadAll(r)
		return err
	})
	if err != nil || bytes.Count(all, []byte("\n")) != 100000 {
		t.Fatalf("stream: %d lines, %v", bytes.Count(all, []byte("\n")), err)
	}
	stillWorks(t, conn)
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("pipe closed")
	}
	return len(p), nil
}

// The seeds/001 scenario: a COPY TO stream abandoned part way, outside and
// inside a transaction; the connection (and the transaction) stay usable.
func TestCopyToClosedEarly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	big := "COPY (SELECT g, repeat('x', 50) FROM generate_series(1, 2000000) g) TO STDOUT"
	conn := openConn(t)
	read := func() error {
		return pgpipe.CopyToStream(ctx, conn, big, func(r io.Reader) error {
			_, err := io.ReadFull(r, make([]byte, 100000))
			return err
		})
	}
	if err := read(); err != nil {
		t.Fatalf("outside a transaction: %v", err)
	}
	stillWorks(t, conn)

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("CREATE TEMP TABLE early_close_" + fmt.Sprint(time.Now().UnixNano()) + " (x int)"); err != nil {
		t.Fatal(err)
	}
	if err := read(); err != nil {
		t.Fatalf("inside a transaction: %v", err)
	}
	var one int
	if err := tx.QueryRow("SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the transaction after an early close: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit after an early close: %v", err)
	}
	_, err = pgpipe.CopyTo(ctx, conn, big, &failingWriter{after: 100000})
	if err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Fatalf("a failing writer: %v", err)
	}
	stillWorks(t, conn)
}

func TestCopyCancelledContextInsideATransactionSaysItAborted(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	tx.Exec("SELECT 1")
	ctx, cancel := context.WithCancel(context.Background())
	err = pgpipe.CopyToStream(ctx, conn, "COPY (SELECT g, pg_sleep(0.001) FROM generate_series(1, 100000) g) TO STDOUT", func(r io.Reader) error {
		r.Read(make([]byte, 100))
		cancel()
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("err = %v; want context.Canceled and a note that the transaction is aborted", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	stillWorks(t, conn)
}

func TestLibpqStyleCopyInAndOutOfATransaction(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "a int, b text")
	run := func(prep func(string) (*sql.Stmt, error)) {
		stmt, err := prep(`COPY "` + tbl + `" ("a", "b") FROM STDIN`)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			if _, err := stmt.Exec(i, fmt.Sprintf("row\t%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		res, err := stmt.Exec()
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1000 {
			t.Fatalf("final Exec reported %d rows", n)
		}
		if err := stmt.Close(); err != nil {
			t.Fatal(err)
		}
	}
	outside := openConn(t)
	run(func(q string) (*sql.Stmt, error) { return outside.PrepareContext(context.Background(), q) })
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	run(tx.Prepare)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, tbl); n != 2000 {
		t.Fatalf("%d rows, want 2000", n)
	}
	var b string
	db.QueryRow("SELECT b FROM " + tbl + " WHERE a = 7 LIMIT 1").Scan(&b)
	if b != "row\t7" {
		t.Fatalf("value %q: tabs must survive the text format", b)
	}
	// Closing before the final Exec aborts the COPY; the connection works.
	conn := openConn(t)
	stmt, _ := conn.PrepareContext(context.Background(), "COPY "+tbl+" (a) FROM STDIN")
	stmt.Exec(1)
	stmt.Close()
	if n := countRows(t, db, tbl); n != 2000 {
		t.Fatalf("%d rows after an abandoned COPY, want 2000", n)
	}
	stillWorks(t, conn)
}

// lib/pq's COPY idiom in a transaction goes in the binary format; a value
// its column's binary encoder does not take (text only the server parses)
// goes on in text, in the same transaction, and the final Exec counts
// every row.
func TestLibpqStyleCopyInATransactionSwitchesToTextForServerParsedValues(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int8, name text, score float8, at timestamptz, n numeric")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`COPY "` + tbl + `" ("id", name, "score", at, n) FROM STDIN`)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	for i := 0; i < 3000; i++ {
		var when any = at
		switch {
		case i == 1500:
			when = "epoch" // text the server parses, the binary encoder does not
		case i%7 == 0:
			when = nil
		}
		if _, err := stmt.Exec(int64(i), fmt.Sprintf("row\t%d", i), float64(i)/4, when, "12.5"); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	res, err := stmt.Exec()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 3000 {
		t.Fatalf("final Exec reported %d rows, want 3000", n)
	}
	if err := stmt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n, nulls, epoch int
	var sum float64
	err = db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE at IS NULL), count(*) FILTER (WHERE at = 'epoch'), sum(score) FROM "`+tbl+
		`" WHERE name = 'row' || chr(9) || id AND n = 12.5 AND (at IS NULL OR at = 'epoch' OR at = $1)`, at).Scan(&n, &nulls, &epoch, &sum)
	if err != nil || n != 3000 || nulls != 429 || epoch != 1 || sum != 2999*3000/8.0 {
		t.Fatalf("table holds %d matching rows, %d NULL times, %d epoch, score sum %v (%v)", n, nulls, epoch, sum, err)
	}
}

// lib/pq's COPY idiom on a *sql.DB: database/sql puts the connection back
// in the pool after each Exec. The COPY must not stay open there: other
// queries get the connection and work, the COPY is aborted with nothing
// committed, and the statement says why at its next Exec.
func TestLibpqStyleCopyOnADBNeverLeavesACopyInThePool(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1) // every query gets the connection the COPY was on
	tbl := newTable(t, db, "a int, b text")
	stmt, err := db.Prepare(`COPY "` + tbl + `" ("a", "b") FROM STDIN`)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for i := 0; i < 3; i++ {
		_, err := stmt.Exec(i, "x")
		var ace *pgpipe.AbandonedCopyError
		if i == 0 && err != nil || i > 0 && !errors.As(err, &ace) {
			t.Fatalf("Exec %d of the COPY idiom on a *sql.DB: %v", i+1, err)
		}
	}
	if _, err := stmt.Exec(0, "unfinished"); err == nil {
		t.Fatal("the abandoned COPY accepted another row")
	}
	for i := 0; i < 20; i++ {
		var n int
		if err := db.QueryRow("SELECT 1").Scan(&n); err != nil || n != 1 {
			t.Fatalf("SELECT 1 number %d after the COPY idiom: %d, %v", i+1, n, err)
		}
	}
	if n := countRows(t, db, tbl); n != 0 {
		t.Fatalf("%d rows committed by a COPY that was never finished", n)
	}
}

// An unfinished COPY idiom on a *sql.DB: the next users of the pool get a
// connection with no COPY in progress, and nothing is committed.
func TestUnfinishedLibpqStyleCopyOnADBLeavesThePoolUsable(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1)
	tbl := newTable(t, db, "a int, b text")
	stmt, err := db.Prepare(`COPY "` + tbl + `" ("a", "b") FROM STDIN`)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	if _, err := stmt.Exec(1, "one"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		rows, err := db.Query("SELECT 1")
		if err != nil {
			t.Fatalf("SELECT 1 number %d after an unfinished COPY idiom: %v", i+1, err)
		}
		rows.Close()
	}
	if n := countRows(t, db, tbl); n != 0 {
		t.Fatalf("%d rows committed by a COPY that was never finished", n)
	}
}

func TestPlainExecOfCopyFromStdinFailsClearly(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "a int")
	conn := openConn(t)
	_, err := conn.ExecContext(context.Background(), "COPY "+tbl+" FROM STDIN")
	if err == nil || !strings.Contains(err.Error(), "CopyFrom") {
		t.Fatalf("err = %v", err)
	}
	stillWorks(t, conn)
}

func TestCopyMemoryStaysFlat(t *testing.T) {
	db := openDB(t)
	tbl := newTable(t, db, "id int8, name text, score float8, at timestamptz")
	conn := openConn(t)
	const total = 2_000_000
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := uint64(0)
	sample := func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	src := &genSource{n: total, sample: sample}
	n, err := pgpipe.CopyFromRows(context.Background(), conn, tbl, nil, src)
	if err != nil || n != total {
		t.Fatalf("COPY FROM: %d, %v", n, err)
	}
	w := &countingWriter{sample: sample}
	n, err = pgpipe.CopyTo(context.Background(), conn, "COPY "+tbl+" TO STDOUT", w)
	if err != nil || n != total {
		t.Fatalf("COPY TO: %d, %v", n, err)
	}
	if growth := int64(peak) - int64(base); growth > 16<<20 {
		t.Fatalf("heap grew by %d MiB copying %d rows each way", growth>>20, total)
	}
}

// genSource generates rows without holding them.
type genSource struct {
	i, n   int
	row    []any
	sample func()
}

func (g *genSource) Next() bool {
	g.i++
	if g.i%500_000 == 0 {
		g.sample()
	}
	return g.i <= g.n
}

func (g *genSource) Values() ([]any, error) {
	g.row = append(g.row[:0], int64(g.i), "name", float64(g.i)/3, time.Unix(int64(g.i), 0))
	return g.row, nil
}

func (g *genSource) Err() error { return nil }

type countingWriter struct {
	n      int64
	sample func()
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.n/(64<<20) != (w.n+int64(len(p)))/(64<<20) {
		w.sample()
	}
	w.n += int64(len(p))
	return len(p), nil
}

// copyIdiomTx begins a transaction on a connection of its own and
// prepares lib/pq's COPY idiom into columns a and b of tbl in it: the
// binary format, as the columns are named.
func copyIdiomTx(t *testing.T, db *sql.DB, tbl string) (*sql.Conn, *sql.Tx, *sql.Stmt) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare(`COPY ` + tbl + ` (a, b) FROM STDIN`)
	if err != nil {
		t.Fatal(err)
	}
	return conn, tx, stmt
}

// Every way a row of lib/pq's COPY idiom fails in a transaction (the
// binary format) is reported by the Exec of that row, or by a later one
// for an error the server finds, and never lost: no later Exec succeeds,
// the final Exec reports the failure too, nothing of the COPY is
// committed, and the connection runs the next statement.
func TestLibpqStyleCopyInATransactionReportsAFailedRow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bad  []any
		want func(error) bool
	}{
		{"a row with too few values", []any{int64(1)}, func(err error) bool {
			return strings.Contains(err.Error(), "the row has 1 values for 2 columns")
		}},
		{"a row with too many values", []any{int64(1), "x", "y"}, func(err error) bool {
			return strings.Contains(err.Error(), "the row has 3 values for 2 columns")
		}},
		{"a value of a type pgpipe cannot send", []any{make(chan int), "x"}, func(err error) bool {
			var ae *pgpipe.ArgError
			return errors.As(err, &ae) && ae.Position == 1
		}},
		{"a value the server rejects", []any{int64(-1), "x"}, func(err error) bool {
			var pe *pgpipe.Error
			return errors.As(err, &pe) && pe.SQLState() == "23514"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			tbl := newTable(t, db, "a int8 CHECK (a >= 0), b text")
			conn, tx, stmt := copyIdiomTx(t, db, tbl)
			defer tx.Rollback()
			const rows = 20000 // several chunks after the bad row: the server's error comes back mid-COPY
			var failed error
			for i := range rows {
				args := []any{int64(i), "row"}
				if i == 100 {
					args = tc.bad
				}
				if _, err := stmt.Exec(args...); err != nil {
					if failed == nil && !tc.want(err) {
						t.Fatalf("row %d: %v", i, err)
					}
					if failed == nil {
						failed = err
					}
				} else if failed != nil {
					t.Fatalf("row %d went in after the COPY failed (%v)", i, failed)
				}
			}
			_, err := stmt.Exec()
			if err == nil || failed == nil && !tc.want(err) {
				t.Fatalf("final Exec: %v, after the rows' %v", err, failed)
			}
			stmt.Close()
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			stillWorks(t, conn)
			if n := countRows(t, db, tbl); n != 0 {
				t.Fatalf("%d rows of a failed COPY", n)
			}
		})
	}
}

// A context that ended is reported by the Exec given it; the row is not
// sent, and the COPY goes on with the next Exec: every other row is
// committed.
func TestLibpqStyleCopyRowWithAnEndedContextIsNotSent(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "a int8, b text")
	conn, tx, stmt := copyIdiomTx(t, db, tbl)
	defer tx.Rollback()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 1000 {
		ctx := context.Background()
		if i == 500 {
			ctx = ended
		}
		_, err := stmt.ExecContext(ctx, int64(i), "row")
		if i == 500 && !errors.Is(err, context.Canceled) || i != 500 && err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	res, err := stmt.Exec()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 999 {
		t.Fatalf("final Exec reported %d rows, want 999", n)
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n, sum int
	if err := conn.QueryRowContext(context.Background(), "SELECT count(*), sum(a) FROM "+tbl).Scan(&n, &sum); err != nil || n != 999 || sum != 999*1000/2-500 {
		t.Fatalf("%d rows, sum %d (%v); want every row but the one given the ended context", n, sum, err)
	}
}

// A transaction that ends with lib/pq's COPY idiom still open (no final
// Exec): database/sql commits or rolls back before it closes the
// statements prepared in the transaction. Nothing of the COPY is
// committed, Commit says why, and the connection is ready.
func TestATransactionEndedBeforeTheFinalExecOfTheCopyIdiomCommitsNothingOfIt(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"Commit", "Rollback"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			tbl := newTable(t, db, "a int8, b text")
			conn, tx, stmt := copyIdiomTx(t, db, tbl)
			for i := range 10 {
				if _, err := stmt.Exec(int64(i), "row"); err != nil {
					t.Fatal(err)
				}
			}
			if end == "Commit" {
				err := tx.Commit()
				if !errors.Is(err, pgpipe.ErrTxRolledBack) || !strings.Contains(err.Error(), "final Exec") {
					t.Fatalf("Commit with the COPY open: %v; want ErrTxRolledBack saying the COPY had no final Exec", err)
				}
			} else if err := tx.Rollback(); err != nil {
				t.Fatalf("Rollback with the COPY open: %v", err)
			}
			if _, err := stmt.Exec(int64(11), "late"); err == nil {
				t.Fatal("the COPY took a row after the transaction ended")
			}
			stillWorks(t, conn)
			if n := countRows(t, db, tbl); n != 0 {
				t.Fatalf("%d rows committed of a COPY without its final Exec", n)
			}
		})
	}
}

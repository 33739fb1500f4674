package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// TestFirstExecutionsReadTheSameValuesInTextAndBinary runs one query five
// times on a connection, as a report does: the first execution reads
// text (the columns are not known yet), the later ones ask for int8,
// float8 and timestamptz in binary, and every execution scans the same
// values, the text parsers' edge cases included.
func TestFirstExecutionsReadTheSameValuesInTextAndBinary(t *testing.T) {
	t.Parallel()
	db, trace := tracedConn(t)
	readFormats(t, db, trace, func(int) string { return formatsQuery })
}

// TestTextsThatDifferOnlyInCommentsShareTheirShape: a trace comment new on
// every execution (sqlcommenter) does not keep a query in text: the
// second execution asks for binary results, as the second of one text
// does, and the server gets each text as written.
func TestTextsThatDifferOnlyInCommentsShareTheirShape(t *testing.T) {
	t.Parallel()
	db, trace := tracedConn(t)
	readFormats(t, db, trace, func(run int) string {
		return fmt.Sprintf("%s /*traceparent='00-%032x-%016x-01'*/", formatsQuery, run, run)
	})
	for run := 1; run <= 5; run++ {
		if c := fmt.Sprintf("-%016x-01'*/", run); trace.count(c) != 1 {
			t.Fatalf("the comment of execution %d (%s) was sent %d times, want once", run, c, trace.count(c))
		}
	}
}

// formatsQuery reads values at the text parsers' edge cases.
const formatsQuery = `SELECT i::int8 * 2305843009213693 - 1152921504606846976, md5(i::text),
	(CASE i % 4 WHEN 0 THEN i::float8 / 97 WHEN 1 THEN -(i::float8 * 1e-7 / 3) WHEN 2 THEN i * 1e300::float8 ELSE 'NaN' END),
	timestamptz '1999-12-31 23:59:59.999999+00' + (i - 500) * interval '13 days 1.000001 seconds'
	FROM generate_series(1, 1000) i`

// tracedConn opens a pool of one connection whose protocol trace the
// test reads.
func tracedConn(t *testing.T) (*sql.DB, *logBuffer) {
	trace := new(logBuffer)
	cfg := withSettings(t, serverConfig(t), "trace_regress=1")
	cfg.TraceWriter = trace
	db := openConfigDB(t, cfg)
	db.SetMaxOpenConns(1)
	return db, trace
}

// readFormats runs query(1) to query(5) on db and checks that they read
// the same values, the first in text and the others with int8, float8
// and timestamptz in binary.
func readFormats(t *testing.T, db *sql.DB, trace *logBuffer, query func(run int) string) {
	t.Helper()
	var first []string
	for run := 1; run <= 5; run++ {
		got := readAll(t, db, query(run))
		if run == 1 {
			first = got
			continue
		}
		for i := range got {
			if got[i] != first[i] {
				t.Fatalf("execution %d, row %d: %s; the text execution read %s", run, i+1, got[i], first[i])
			}
		}
	}
	binds := trace.lines("F\tBind")
	if len(binds) != 5 || !strings.HasSuffix(binds[0], ` 0 0 0`) {
		t.Fatalf("Binds %q: want five, the first asking for text results", binds)
	}
	for _, b := range binds[1:] {
		if !strings.HasSuffix(b, ` 0 0 4 1 0 1 1`) {
			t.Fatalf("Bind %q: want int8, float8 and timestamptz asked for in binary", b)
		}
	}
}

// readAll reads every row of query as text the test compares exactly
// (float bits but NaN's, instants to the nanosecond, zones).
func readAll(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			n  int64
			s  string
			f  float64
			at time.Time
		)
		if err := rows.Scan(&n, &s, &f, &at); err != nil {
			t.Fatal(err)
		}
		fs := fmt.Sprintf("%#x", math.Float64bits(f))
		if math.IsNaN(f) {
			fs = "NaN" // a NaN's payload differs between the formats
		}
		out = append(out, fmt.Sprintf("%d %s %s %d %s", n, s, fs, at.UnixNano(), at.Location()))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

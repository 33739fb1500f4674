package integration_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgpipe/pgpipe"
)

// traced runs f on a dedicated connection whose protocol is traced in
// regress mode and returns the trace.
func traced(t *testing.T, f func(conn *sql.Conn)) string {
	t.Helper()
	conn := openConn(t, "sslmode=disable")
	var buf bytes.Buffer
	trace := func(w *bytes.Buffer) {
		conn.Raw(func(dc any) error {
			if w == nil {
				dc.(pgpipe.Conn).Trace(nil, false)
			} else {
				dc.(pgpipe.Conn).Trace(w, true)
			}
			return nil
		})
	}
	trace(&buf)
	f(conn)
	trace(nil)
	return buf.String()
}

func TestTraceShowsThePipelineSavingRoundTrips(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "x numeric, p boolean")
	insert := "INSERT INTO " + tbl + " (x, p) VALUES ($1, $2)"
	plain := traced(t, func(conn *sql.Conn) {
		for i := 1; i <= 3; i++ {
			conn.ExecContext(context.Background(), insert, i, false)
		}
	})
	piped := traced(t, func(conn *sql.Conn) {
		pgpipe.RunPipeline(context.Background(), conn, func(p *pgpipe.Pipeline) error {
			for i := 1; i <= 3; i++ {
				p.Exec(insert, i, true)
			}
			return nil
		})
	})
	t.Logf("without a pipeline:\n%s\nwith a pipeline:\n%s", plain, piped)
	// Without a pipeline, each insert waits for its ReadyForQuery; with
	// one, the three are written before the first reply.
	if n := strings.Count(plain, "ReadyForQuery"); n != 3 {
		t.Fatalf("plain: %d ReadyForQuery, want 3:\n%s", n, plain)
	}
	if n := strings.Count(piped, "ReadyForQuery"); n != 1 {
		t.Fatalf("pipeline: %d ReadyForQuery, want 1:\n%s", n, piped)
	}
	first := strings.Index(piped, "B\t")
	if strings.Count(piped[:first], "Execute") != 3 {
		t.Fatalf("pipeline: the three Executes did not all go out before the first reply:\n%s", piped)
	}
	if hasTimestamp(piped) {
		t.Fatalf("regress mode printed timestamps:\n%s", piped)
	}
}

// hasTimestamp reports a line starting with a date, as the trace prints
// outside regress mode.
func hasTimestamp(trace string) bool {
	for _, line := range strings.Split(trace, "\n") {
		if len(line) > 4 && line[0] == '2' && line[4] == '-' {
			return true
		}
	}
	return false
}

func TestTraceFromTheDSN(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "trace.log")
	db := openDB(t, "trace="+path, "trace_regress=1")
	var n int
	if err := db.QueryRow("SELECT $1::int", 7).Scan(&n); err != nil {
		t.Fatal(err)
	}
	db.Close()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"F\tParse", "F\tBind", "B\tDataRow", "B\tReadyForQuery"} {
		if !strings.Contains(string(got), want) {
			t.Fatalf("trace file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "Password") || hasTimestamp(string(got)) {
		t.Fatalf("trace file shows the startup or timestamps:\n%s", got)
	}
}

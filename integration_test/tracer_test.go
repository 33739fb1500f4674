package integration_test

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

type spanKey struct{}

// recordingTracer keeps every event.
type recordingTracer struct {
	mu     sync.Mutex
	events []string
}

func (r *recordingTracer) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recordingTracer) TraceQueryStart(ctx context.Context, q pgpipe.TraceQuery) context.Context {
	r.add("start " + q.SQL)
	return context.WithValue(ctx, spanKey{}, q.SQL)
}

func (r *recordingTracer) TraceQueryEnd(ctx context.Context, q pgpipe.TraceQuery, e pgpipe.TraceQueryEnd) {
	if ctx.Value(spanKey{}) != q.SQL {
		r.add("end without its start context: " + q.SQL)
	}
	flags := ""
	if e.Prepared {
		flags += " prepared"
	}
	if q.Pipelined {
		flags += " pipelined"
	}
	if q.Copy {
		flags += " copy"
	}
	if e.Err != nil {
		flags += " error"
	}
	r.add("end " + q.SQL + flags + " rows=" + itoaRows(e.Rows))
}

func (r *recordingTracer) TraceConnectStart(ctx context.Context) context.Context { return ctx }
func (r *recordingTracer) TraceConnectEnd(ctx context.Context, host string, d time.Duration, err error) {
	r.add("connect")
}
func (r *recordingTracer) TracePrepareStart(ctx context.Context, sql string) context.Context {
	return ctx
}
func (r *recordingTracer) TracePrepareEnd(ctx context.Context, sql string, d time.Duration, err error) {
	r.add("prepare " + sql)
}

func itoaRows(n int64) string { return strconv.FormatInt(n, 10) }

func TestTracerSeesEveryKindOfStatement(t *testing.T) {
	t.Parallel()
	rec := &recordingTracer{}
	cfg := withSettings(t, serverConfig(t), "prepare_threshold=1")
	cfg.Tracer = rec
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	var n int
	for i := range 2 {
		if err := db.QueryRow("SELECT $1::int", i).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("SELECT 1/0"); err == nil {
		t.Fatal("SELECT 1/0 succeeded")
	}
	stmt, err := db.Prepare("SELECT $1::text")
	if err != nil {
		t.Fatal(err)
	}
	stmt.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		p.Exec("SELECT $1::int", 3)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgpipe.CopyTo(ctx, conn, "COPY (SELECT 1) TO STDOUT", &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	got := strings.Join(rec.events, "\n")
	for _, want := range []string{
		"connect",
		"end SELECT $1::int rows=1",
		"end SELECT $1::int prepared rows=1",
		"end SELECT 1/0 error rows=0",
		"prepare SELECT $1::text",
		"end SELECT $1::int prepared pipelined rows=1",
		"end COPY (SELECT 1) TO STDOUT copy rows=1",
	} {
		if !strings.Contains(got, want+"\n") && !strings.HasSuffix(got, want) {
			t.Errorf("missing %q in the trace:\n%s", want, got)
		}
	}
	if strings.Contains(got, "without its start context") {
		t.Errorf("TraceQueryEnd got another context than TraceQueryStart returned:\n%s", got)
	}
}

package otel

import (
	"context"
	"database/sql"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

func TestSpansForQueriesAndConnects(t *testing.T) {
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{})
	if err != nil {
		t.Fatalf("a throwaway PostgreSQL is needed (apt-get install postgresql): %v", err)
	}
	defer c.Stop()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	cfg, err := pgpipe.ParseDSN(c.DSN("postgres", "", "dbname=pgpipe"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tracer = NewTracer(tp)
	cn, _ := pgpipe.NewConnectorConfig(cfg)
	db := sql.OpenDB(cn)
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT $1::int", 5).Scan(&n); err != nil {
		t.Fatal(err)
	}
	db.Exec("SELECT 1/0")
	names := map[string]int{}
	failed := 0
	for _, s := range exp.GetSpans() {
		names[s.Name]++
		if s.Status.Code.String() == "Error" {
			failed++
		}
	}
	if names["db.connect"] < 1 || names["db.query"] != 2 || failed != 1 {
		t.Fatalf("spans %v, %d failed; want a connect, two queries, one failed", names, failed)
	}
}

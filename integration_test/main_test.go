// Package integration_test runs pgpipe against a real PostgreSQL server.
//
// TestMain finds a server, in this order:
//
//  1. PGPIPE_TEST_DSN, a DSN of a server you run (a superuser, so the
//     tests can create roles and tables);
//  2. a throwaway cluster started from local PostgreSQL binaries (initdb,
//     pg_ctl; as the postgres user when run as root), with TLS and roles
//     for every authentication method, removed when the tests end;
//  3. a container from testcontainers-go, where a Docker engine answers.
//
// With none of these it fails and says what to install: a missing server
// never turns into skipped tests.
package integration_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// server is what TestMain found.
var server struct {
	dsn     string             // superuser DSN over TCP
	cluster *pgcluster.Cluster // nil unless the throwaway cluster runs
	source  string             // how the server was found, for messages
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cleanup, err := findServer(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests: no PostgreSQL server:", err)
		fmt.Fprintln(os.Stderr, "Install PostgreSQL (Debian: apt-get install postgresql), set PGPIPE_TEST_DSN to a server of yours, or run a Docker engine.")
		return 1
	}
	defer cleanup()
	fmt.Fprintln(os.Stderr, "integration tests: using", server.source)
	return m.Run()
}

// findServer sets server, trying the three sources in order.
func findServer(ctx context.Context) (cleanup func(), err error) {
	if dsn := os.Getenv("PGPIPE_TEST_DSN"); dsn != "" {
		server.dsn, server.source = dsn, "PGPIPE_TEST_DSN"
		return func() {}, nil
	}
	c, localErr := pgcluster.Start(ctx, pgcluster.Options{TLS: true})
	if localErr == nil {
		server.cluster, server.dsn = c, c.DSN("postgres", "", "dbname=pgpipe")
		server.source = "a throwaway cluster from " + c.BinDir
		return func() { _ = c.Stop() }, nil
	}
	dsn, stop, dockerErr := startContainer(ctx)
	if dockerErr == nil {
		server.dsn, server.source = dsn, "a testcontainers-go container"
		return stop, nil
	}
	return nil, fmt.Errorf("local binaries: %v; docker: %v", localErr, dockerErr)
}

// needCluster returns the throwaway cluster, or skips the test when the
// server came from elsewhere (PGPIPE_TEST_DSN or a container): the test
// needs what only the throwaway cluster has, which why names (its roles
// and passwords, pg_hba.conf, certificates, the database named pgpipe,
// a PgBouncer in front of it).
func needCluster(t testing.TB, why string) *pgcluster.Cluster {
	t.Helper()
	if server.cluster == nil {
		t.Skipf("needs the throwaway cluster's own setup: %s; %s is not that cluster (unset PGPIPE_TEST_DSN to run this test)", why, server.source)
	}
	return server.cluster
}

// serverConfig returns the test server's superuser Config, parsed afresh
// from its DSN (URL or keyword/value form).
func serverConfig(t testing.TB) *pgpipe.Config {
	t.Helper()
	cfg, err := pgpipe.ParseDSN(server.dsn)
	if err != nil {
		t.Fatalf("parsing the test server's DSN (%s): %v", server.source, err)
	}
	return cfg
}

// withSettings returns cfg with settings (keyword=value pairs, as in a
// DSN) added; a keyword cfg already has is replaced. The settings are added
// to cfg.FormatDSN, which is keyword/value form whatever form the DSN came
// in (a setting after a URL would land in its database name), and parsed
// back; the fields a DSN cannot carry (Logger, Tracer, ...) are kept.
func withSettings(t testing.TB, cfg *pgpipe.Config, settings ...string) *pgpipe.Config {
	t.Helper()
	if len(settings) == 0 {
		return cfg
	}
	for _, s := range settings {
		if _, err := pgpipe.ParseDSN(s); err != nil || !strings.Contains(s, "=") || strings.Contains(s, "://") {
			t.Fatalf("test setting %q is not one keyword=value pair: %v", s, err)
		}
	}
	out, err := pgpipe.ParseDSN(strings.Join(append([]string{cfg.FormatDSN()}, settings...), " "))
	if err != nil {
		t.Fatalf("adding %q to the test server's DSN: %v", settings, err)
	}
	out.TraceWriter, out.TLSConfig, out.DialFunc = cfg.TraceWriter, cfg.TLSConfig, cfg.DialFunc
	out.NoticeHandler, out.Logger, out.Tracer = cfg.NoticeHandler, cfg.Logger, cfg.Tracer
	return out
}

// dsn returns the superuser DSN, in keyword/value form, with settings
// (keyword=value pairs) added.
func dsn(t testing.TB, settings ...string) string {
	t.Helper()
	return withSettings(t, serverConfig(t), settings...).FormatDSN()
}

// openDB opens a *sql.DB on the test server with settings (keyword=value
// pairs) added, closed when the test ends.
func openDB(t testing.TB, settings ...string) *sql.DB {
	t.Helper()
	return openConfigDB(t, withSettings(t, serverConfig(t), withMultiplex(settings)...))
}

// openConfigDB opens a *sql.DB with cfg, closed when the test ends.
func openConfigDB(t testing.TB, cfg *pgpipe.Config) *sql.DB {
	t.Helper()
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		t.Fatalf("pgpipe.NewConnectorConfig: %v", err)
	}
	db := sql.OpenDB(cn)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// withMultiplex adds multiplex=N to settings when PGPIPE_TEST_MULTIPLEX
// is N (make integration runs the suite with it too), unless they name
// multiplex themselves.
func withMultiplex(settings []string) []string {
	n := os.Getenv("PGPIPE_TEST_MULTIPLEX")
	if n == "" {
		return settings
	}
	for _, s := range settings {
		if strings.HasPrefix(s, "multiplex=") {
			return settings
		}
	}
	return append([]string{"multiplex=" + n}, settings...)
}

// openConn returns one dedicated connection, closed when the test ends.
func openConn(t testing.TB, settings ...string) *sql.Conn {
	t.Helper()
	db := openDB(t, settings...)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("db.Conn: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

var tableSeq atomic.Int64

// newTable creates a table unique to the test with the given column list
// and returns its name. It is dropped when the test ends.
func newTable(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, columns string) string {
	t.Helper()
	name := fmt.Sprintf("t_%s_%d", strings.ToLower(sanitize(t.Name())), tableSeq.Add(1))
	if len(name) > 60 {
		name = fmt.Sprintf("t_%d_%d", time.Now().UnixNano()%1e9, tableSeq.Add(1))
	}
	if _, err := db.ExecContext(context.Background(), "CREATE TABLE "+name+" ("+columns+")"); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
	t.Cleanup(func() {
		cdb, err := sql.Open("pgpipe", server.dsn)
		if err == nil {
			_, _ = cdb.Exec("DROP TABLE IF EXISTS " + name)
			_ = cdb.Close()
		}
	})
	return name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

package integration_test

// The orm_*_test.go files prove the drop-in claim: code written for pgx's
// stdlib driver or lib/pq, through the clients Go teams use (GORM, sqlx,
// bun, sqlc-style generated code, goose), runs on pgpipe by changing the
// driver name, directly and behind PgBouncer in transaction mode with
// default pgpipe settings. Each scenario is one function run against both
// targets as subtests; every step checks the values that come back.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// ormTarget is one way to reach the test server.
type ormTarget struct {
	name   string // subtest name
	dsn    string // superuser DSN, default pgpipe settings
	pooled bool   // behind PgBouncer in transaction mode
}

// ormTargets runs f once directly and once behind a PgBouncer in
// transaction mode (pool size 2, started for this test), as subtests. With
// parallel the two subtests run in parallel, so f must keep its tables
// apart (see ormPrefix); otherwise they run one after the other.
func ormTargets(t *testing.T, parallel bool, f func(t *testing.T, tg ormTarget)) {
	t.Helper()
	t.Run("direct", func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		f(t, ormTarget{name: "direct", dsn: dsn(t, "sslmode=disable")})
	})
	t.Run("pgbouncer-transaction", func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		b := ormStartBouncer(t)
		f(t, ormTarget{
			name:   "pgbouncer-transaction",
			dsn:    b.DSN(pgcluster.SuperUser, "", "dbname=pgpipe", "sslmode=disable"),
			pooled: true,
		})
	})
}

// ormStartBouncer starts a PgBouncer in transaction mode in front of the
// throwaway cluster, stopped when the test ends.
func ormStartBouncer(t *testing.T) *pgcluster.Bouncer {
	t.Helper()
	c := needCluster(t, "a PgBouncer it starts in front of it, with its superuser and database named pgpipe")
	b, err := c.StartPgBouncer(context.Background(), pgcluster.BouncerOptions{PoolMode: "transaction", DefaultPoolSize: 2, MaxClientConn: 100})
	if err != nil {
		t.Fatalf("starting PgBouncer (install it with apt-get install pgbouncer): %v", err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	return b
}

// ormPrefix returns a table-name prefix unique to this run of the test
// (lower case, ends in "_"), and drops every table and function whose
// name starts with it when the test ends.
func ormPrefix(t *testing.T, tool string) string {
	t.Helper()
	// Unique across runs too: a run that failed half-way on a server of
	// the user's must not make the next one collide with what it left.
	p := fmt.Sprintf("orm_%s%d_%d_", tool, time.Now().UnixNano()%1e6, tableSeq.Add(1))
	t.Cleanup(func() { ormDropTables(t, p) })
	return p
}

// ormDropTables drops the tables and functions named prefix* in the
// current schema, over a direct connection.
func ormDropTables(t testing.TB, prefix string) {
	t.Helper()
	db, err := sql.Open("pgpipe", server.dsn)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer db.Close()
	pattern := strings.ReplaceAll(prefix, "_", `\_`) + "%"
	rows, err := db.Query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1", pattern)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		names = append(names, pgpipe.QuoteIdentifier(n))
	}
	if err := rows.Close(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if len(names) > 0 {
		if _, err := db.Exec("DROP TABLE IF EXISTS " + strings.Join(names, ", ") + " CASCADE"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	// And the functions of the migrations.
	var funcs string
	err = db.QueryRow("SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), '') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() AND p.proname LIKE $1", pattern).Scan(&funcs)
	if err == nil && funcs != "" {
		_, err = db.Exec("DROP FUNCTION IF EXISTS " + funcs + " CASCADE")
	}
	if err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// ormTables returns the names of the tables named prefix* in the current
// schema, sorted.
func ormTables(t *testing.T, db *sql.DB, prefix string) []string {
	t.Helper()
	pattern := strings.ReplaceAll(prefix, "_", `\_`) + "%"
	rows, err := db.Query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1 ORDER BY 1", pattern)
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// ormWantPgError fails the test unless err is, or wraps, a *pgpipe.Error
// with SQLSTATE code, and returns it.
func ormWantPgError(t *testing.T, err error, code string) *pgpipe.Error {
	t.Helper()
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) {
		t.Fatalf("error %v (%T): want a *pgpipe.Error with SQLSTATE %s", err, err, code)
	}
	if pgErr.Code != code {
		t.Fatalf("SQLSTATE %s (%v), want %s", pgErr.Code, pgErr, code)
	}
	return pgErr
}

// ormStillWorks fails the test unless db still answers a query correctly:
// an error path must leave the pool usable.
func ormStillWorks(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
		t.Fatalf("after the error, SELECT 41 + 1 gave %d, %v", n, err)
	}
}

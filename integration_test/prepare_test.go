package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pgpipe/pgpipe"
)

// preparedCount is how many statements the connection's own session has
// prepared (pg_prepared_statements shows only the current session's).
func preparedCount(t *testing.T, conn *sql.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(pgpipe.WithPrepare(context.Background(), pgpipe.PrepareNever),
		"SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'pgpipe%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stats returns the connection's statement counters.
func stats(t *testing.T, conn *sql.Conn) pgpipe.StatementStats {
	t.Helper()
	s, err := pgpipe.Stats(conn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatementIsPreparedOnTheSixthExecution(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	for i := 1; i <= 7; i++ {
		var n int
		if err := conn.QueryRowContext(context.Background(), "SELECT $1::int * 2", i).Scan(&n); err != nil || n != 2*i {
			t.Fatalf("execution %d: %d, %v", i, n, err)
		}
		want := 0
		if i >= 6 {
			want = 1
		}
		if got := preparedCount(t, conn); got != want {
			t.Fatalf("after %d executions: %d statements prepared, want %d", i, got, want)
		}
	}
	if s := stats(t, conn); s.Prepares != 1 || s.Hits != 1 || s.Prepared != 1 {
		t.Fatalf("stats %+v, want 1 prepare, 1 hit", s)
	}
	var stmt string
	conn.QueryRowContext(context.Background(), "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'pgpipe%'").Scan(&stmt)
	if stmt != "SELECT $1::int * 2" {
		t.Fatalf("prepared statement text %q", stmt)
	}
}

func TestPrepareThresholdEdges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		threshold string
		execs     int
		want      int
	}{{"0", 1, 1}, {"1", 1, 0}, {"1", 2, 1}, {"none", 20, 0}} {
		conn := openConn(t, "prepare_threshold="+tc.threshold)
		for i := 0; i < tc.execs; i++ {
			if _, err := conn.ExecContext(context.Background(), "SELECT $1::text", "x"); err != nil {
				t.Fatal(err)
			}
		}
		if got := preparedCount(t, conn); got != tc.want {
			t.Errorf("prepare_threshold=%s after %d executions: %d prepared, want %d", tc.threshold, tc.execs, got, tc.want)
		}
	}
}

func TestPreparedMaxBoundsTheServerStatements(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "prepared_max=10")
	for q := 0; q < 1000; q++ {
		sql := fmt.Sprintf("SELECT %d + $1::int", q)
		for i := 0; i < 7; i++ {
			var n int
			if err := conn.QueryRowContext(context.Background(), sql, i).Scan(&n); err != nil || n != q+i {
				t.Fatalf("%s with %d: %d, %v", sql, i, n, err)
			}
		}
	}
	if got := preparedCount(t, conn); got > 10 {
		t.Fatalf("%d statements prepared with prepared_max=10", got)
	}
	if s := stats(t, conn); s.Evictions < 990 || s.Prepared > 10 {
		t.Fatalf("stats %+v: want >= 990 evictions and at most 10 prepared", s)
	}
}

func TestPerExecutionPrepareControl(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	always := pgpipe.WithPrepare(context.Background(), pgpipe.PrepareAlways)
	if _, err := conn.ExecContext(always, "SELECT $1::int", 1); err != nil {
		t.Fatal(err)
	}
	if got := preparedCount(t, conn); got != 1 {
		t.Fatalf("PrepareAlways on the first execution: %d prepared", got)
	}
	never := pgpipe.WithPrepare(context.Background(), pgpipe.PrepareNever)
	for i := 0; i < 10; i++ {
		conn.ExecContext(never, "SELECT $1::bigint", 1)
	}
	if got := preparedCount(t, conn); got != 1 {
		t.Fatalf("PrepareNever executions were prepared: %d", got)
	}
}

func TestSchemaChangeBetweenExecutionsIsRecoveredOutsideATransaction(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "prepare_threshold=0")
	tbl := newTable(t, conn, "a int")
	conn.ExecContext(context.Background(), "INSERT INTO "+tbl+" VALUES (1)")
	q := "SELECT * FROM " + tbl + " WHERE $1"
	for i := 0; i < 3; i++ {
		if _, err := conn.ExecContext(context.Background(), q, true); err != nil {
			t.Fatal(err)
		}
	}
	// Another session changes the schema: this connection's cache cannot
	// know (its own ALTER would have invalidated the cache when queued).
	if _, err := openDB(t).Exec("ALTER TABLE " + tbl + " ADD COLUMN b text DEFAULT 'new'"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(context.Background(), q, true)
	if err != nil {
		t.Fatalf("query after ALTER TABLE: %v (0A000 must be recovered outside a transaction)", err)
	}
	cols, _ := rows.Columns()
	for rows.Next() {
	}
	rows.Close()
	if len(cols) != 2 {
		t.Fatalf("columns %v after ALTER TABLE, want a and b", cols)
	}
	if s := stats(t, conn); s.Recoveries != 1 {
		t.Fatalf("stats %+v: want 1 recovery", s)
	}
}

func TestSchemaChangeInsideATransactionIsExplained(t *testing.T) {
	t.Parallel()
	db := openDB(t, "prepare_threshold=0")
	db.SetMaxOpenConns(1)
	tbl := newTable(t, db, "a int")
	q := "SELECT * FROM " + tbl + " WHERE $1"
	db.Exec(q, true)
	// Another session changes the schema, unknown to this connection.
	if _, err := openDB(t).Exec("ALTER TABLE " + tbl + " ADD COLUMN b int"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Not the transaction's first statement: that one travels with the
	// deferred BEGIN and could be retried with it.
	if _, err := tx.Exec("SELECT 1"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(q, true)
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "0A000" {
		t.Fatalf("err = %v; inside a transaction the server's 0A000 must be returned", err)
	}
}

func TestUserDiscardAllKeepsTheCacheTrue(t *testing.T) {
	t.Parallel()
	for _, drop := range []string{"DISCARD ALL", "DEALLOCATE ALL"} {
		conn := openConn(t, "prepare_threshold=0")
		for i := 0; i < 3; i++ {
			if _, err := conn.ExecContext(context.Background(), "SELECT $1::int", i); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := conn.ExecContext(context.Background(), drop); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if _, err := conn.ExecContext(context.Background(), "SELECT $1::int", i); err != nil {
				t.Fatalf("after %s: %v", drop, err)
			}
		}
		if s := stats(t, conn); s.Recoveries != 0 || s.Prepared != 1 {
			t.Fatalf("after %s: stats %+v; the cache should have known", drop, s)
		}
	}
}

func TestStatementDroppedBehindTheDriversBackInATransactionIsExplained(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "prepare_threshold=0")
	q := "SELECT $1::int + 1"
	conn.ExecContext(context.Background(), q, 1)
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// DEALLOCATE inside a DO block: no tag tells the driver.
	if _, err := tx.Exec("DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(q, 1)
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "26000" {
		t.Fatalf("err = %v; want 26000", err)
	}
	if !strings.Contains(err.Error(), "prepare_threshold=none") || !strings.Contains(err.Error(), "pooler") {
		t.Fatalf("the error does not say what happened and what to set: %v", err)
	}
	tx.Rollback()
	var n int
	if err := conn.QueryRowContext(context.Background(), q, 1).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after the failed transaction: %d, %v", n, err)
	}
}

func TestStatementDroppedBehindTheDriversBackOutsideATransactionIsRetried(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "prepare_threshold=0")
	tbl := newTable(t, conn, "n int")
	q := "INSERT INTO " + tbl + " VALUES ($1)"
	conn.ExecContext(context.Background(), q, 1)
	conn.ExecContext(context.Background(), "DO $$ BEGIN EXECUTE 'DEALLOCATE ALL'; END $$")
	if _, err := conn.ExecContext(context.Background(), q, 2); err != nil {
		t.Fatalf("outside a transaction a lost statement must be retried: %v", err)
	}
	var n int
	conn.QueryRowContext(context.Background(), "SELECT count(*) FROM "+tbl).Scan(&n)
	if n != 2 {
		t.Fatalf("%d rows: the insert ran %d times", n, n-1)
	}
}

func TestExplicitPrepareUsesANamedStatementUntilClose(t *testing.T) {
	t.Parallel()
	// With multiplex on, Prepare prepares nothing on the server (the
	// statement may run on any server connection).
	conn := openConn(t, "multiplex=0")
	stmt, err := conn.PrepareContext(context.Background(), "SELECT $1::int + $2::int")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := stmt.QueryRow(1, 2).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d, %v", n, err)
	}
	if _, err := stmt.Exec(1); err == nil || !strings.Contains(err.Error(), "expected 2 arguments") {
		t.Fatalf("wrong argument count: %v", err)
	}
	if got := preparedCount(t, conn); got != 1 {
		t.Fatalf("%d statements prepared after Prepare", got)
	}
	stmt.Close()
	conn.ExecContext(context.Background(), "SELECT 1") // carries the Close
	if got := preparedCount(t, conn); got != 0 {
		t.Fatalf("%d statements prepared after Stmt.Close", got)
	}
	if _, err := conn.PrepareContext(context.Background(), "SELEC 1"); err == nil {
		t.Fatal("Prepare of bad SQL succeeded")
	}
}

func TestExplicitPrepareWithThresholdNoneRunsUnnamed(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "prepare_threshold=none")
	stmt, err := conn.PrepareContext(context.Background(), "SELECT $1::int")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for i := 0; i < 3; i++ {
		var n int
		if err := stmt.QueryRow(i).Scan(&n); err != nil || n != i {
			t.Fatalf("%d, %v", n, err)
		}
	}
	if got := preparedCount(t, conn); got != 0 {
		t.Fatalf("%d statements prepared with prepare_threshold=none", got)
	}
}

func TestStatementNamesAreUniqueAcrossConnections(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for i := 0; i < 4; i++ {
		conn := openConn(t, "prepare_threshold=0")
		conn.ExecContext(context.Background(), "SELECT $1::int", 1)
		rows, err := conn.QueryContext(context.Background(), "SELECT name FROM pg_prepared_statements")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			rows.Scan(&name)
			if names[name] {
				t.Fatalf("statement name %s used on two connections", name)
			}
			names[name] = true
		}
		rows.Close()
	}
}

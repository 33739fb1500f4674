package integration_test

// Behaviour that code written for lib/pq or pgx's stdlib relies on, found
// by running those projects' own test suites against pgpipe.

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

func TestEmptyBytesArgumentIsNotNull(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1) // a fresh connection, whose argument buffer is still empty
	tbl := newTable(t, db, "t text, b bytea")
	if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1, $2)", []byte{}, []byte{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1, $2)", "", []byte(nil)); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT t, b FROM " + tbl + " ORDER BY b NULLS LAST")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s sql.NullString
		var b []byte
		if err := rows.Scan(&s, &b); err != nil {
			t.Fatal(err)
		}
		got = append(got, describeNullable(s.Valid, s.String), describeNullable(b != nil, string(b)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{`""`, `""`, `""`, "NULL"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v: an empty []byte or string is not NULL", got, want)
	}
}

func describeNullable(valid bool, s string) string {
	if !valid {
		return "NULL"
	}
	return `"` + s + `"`
}

func TestErrorAfterAResultSetComesFromNextResultSet(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for _, query := range []string{
		"SELECT 1; SELECT nonexistent",
		"SELECT 1; SELECT 2; SELECT 3; SELECT nonexistent; SELECT 4",
	} {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: Query: %v", query, err)
		}
		sets := 0
		for rows.Next() {
		}
		for rows.NextResultSet() {
			if sets++; sets > 10 {
				t.Fatalf("%s: NextResultSet keeps returning true", query)
			}
		}
		var pgErr *pgpipe.Error
		if err := rows.Err(); !errors.As(err, &pgErr) || pgErr.Code != "42703" {
			t.Fatalf("%s: rows.Err() = %v, want the undefined column", query, err)
		}
		rows.Close()
	}
	var n int
	if err := db.QueryRow("SELECT 7").Scan(&n); err != nil || n != 7 {
		t.Fatalf("after the failed queries: %d, %v", n, err)
	}
}

func TestNextResultSetSkipsUnreadRows(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	rows, err := db.Query("SELECT 1 AS a FROM generate_series(1, 3); SELECT 2 AS b; SELECT 3 AS c")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for {
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c...)
		if !rows.NextResultSet() {
			break
		}
		if len(cols) > 5 {
			t.Fatalf("NextResultSet without Next does not move on: %v", cols)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(cols, want) {
		t.Fatalf("result sets %v, want %v", cols, want)
	}
}

func TestQueryReturnsAnErrorBeforeTheFirstRow(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1)
	tbl := newTable(t, db, "n int PRIMARY KEY")
	for _, c := range []struct {
		query string
		code  string
	}{
		{"INSERT INTO " + tbl + " VALUES (1), (1)", "23505"},
		{"SELECT 1 / (n - n) FROM (VALUES (1)) v(n)", "22012"},
	} {
		rows, err := db.Query(c.query)
		var pgErr *pgpipe.Error
		if !errors.As(err, &pgErr) || pgErr.Code != c.code {
			if err == nil {
				rows.Close()
			}
			t.Fatalf("%s: Query returned %v, want SQLSTATE %s", c.query, err, c.code)
		}
	}

	stmt, err := db.Prepare("SELECT pg_sleep(600)")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rows, err := stmt.QueryContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			rows.Close()
		}
		t.Fatalf("a prepared statement's QueryContext past its deadline returned %v", err)
	}

	// A statement that returns no rows frees the connection at once, and
	// rows that are read stream as before.
	rows, err = db.Query("INSERT INTO " + tbl + " VALUES (2)")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Fatal("an INSERT without RETURNING returned a row")
	}
	rows.Close()
	rows, err = db.Query("SELECT n FROM " + tbl + " ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if err := rows.Err(); err != nil || !reflect.DeepEqual(got, []int{2}) {
		t.Fatalf("rows %v, %v; want [2]", got, err)
	}
	rows, err = db.Query("SELECT FROM generate_series(1, 2)")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 2 {
		t.Fatalf("%d rows without columns, %v; want 2", n, err)
	}
}

func TestQueryRowReportsAnErrorAtTheImplicitCommit(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int UNIQUE DEFERRABLE INITIALLY DEFERRED")
	if _, err := db.Exec("INSERT INTO " + tbl + " VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	// The duplicate is found when the statement's implicit transaction
	// commits, after its row was sent: Scan must not report success.
	var n int
	err := db.QueryRow("INSERT INTO " + tbl + " VALUES (1) RETURNING n").Scan(&n)
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("QueryRow.Scan = %v, want the unique violation found at commit", err)
	}
	rows, err := db.Query("INSERT INTO " + tbl + " VALUES (1) RETURNING n")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if err := rows.Close(); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("rows.Close() = %v, want the unique violation found at commit", err)
	}
	if err := db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows, %v; want 1", n, err)
	}
}

func TestConnectionLeftInATransactionBlockIsNotReused(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		// Run twice on one connection, this fails: the table exists.
		if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE left_in_tx (n int)"); err != nil {
			t.Fatalf("round %d: %v: the pool handed out a connection inside an earlier transaction block", i+1, err)
		}
		conn.Close()
	}
	var inTx bool
	if err := db.QueryRow("SELECT txid_current_if_assigned() IS NOT NULL").Scan(&inTx); err != nil || inTx {
		t.Fatalf("in a transaction that wrote: %v, %v", inTx, err)
	}
}

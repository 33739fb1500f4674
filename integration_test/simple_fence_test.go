package integration_test

import (
	"errors"
	"testing"

	"github.com/pgpipe/pgpipe"
)

// TestMultiStatementExecAsFirstStatementOfATransaction: a transaction's
// BEGIN goes out in front of its first statement, fenced by a Sync when
// that statement runs with the simple protocol (several statements in
// one string). Exec must wait for the statement's own end, not the
// fence's: its error and its count are the statement's.
func TestMultiStatementExecAsFirstStatementOfATransaction(t *testing.T) {
	db := openDB(t)
	table := newTable(t, db, "id int")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = tx.Exec("INSERT INTO " + table + " VALUES (1); SELECT 1/0")
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("Exec returned %v, want the division by zero (22012)", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.Exec("INSERT INTO " + table + " VALUES (1); INSERT INTO " + table + " VALUES (2), (3)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Errorf("RowsAffected %d, want 2 (the last statement's)", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d rows, %v; want 3", n, err)
	}
}

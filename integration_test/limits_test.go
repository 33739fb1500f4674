package integration_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// 65,536 arguments cannot be carried by a Bind message. The statement is
// refused before anything is written, with the count and the limit, and
// the connection and its open transaction go on: the rows inserted around
// the refused statement are committed.
func TestTooManyArgumentsAreRefusedAndTheTransactionGoesOn(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int")
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var pid int
	if err := tx.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{65536, 100000} {
		args := make([]any, n)
		for i := range args {
			args[i] = i
		}
		_, err = tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", args...)
		if err == nil || !strings.HasPrefix(err.Error(), "pgpipe: ") || !strings.Contains(err.Error(), strconv.Itoa(n)) || !strings.Contains(err.Error(), "65535") {
			t.Fatalf("%d arguments: %v; want a pgpipe error with the count and the limit 65535", n, err)
		}
	}
	if _, err := tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 2); err != nil {
		t.Fatalf("the transaction after the refused statement: %v", err)
	}
	var samePID int
	if err := tx.QueryRow("SELECT pg_backend_pid()").Scan(&samePID); err != nil || samePID != pid {
		t.Fatalf("backend %d, %v; want the transaction's backend %d", samePID, err, pid)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	var sum int
	if err := db.QueryRow("SELECT sum(n) FROM " + tbl).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("committed rows sum to %d, %v; want 3", sum, err)
	}
}

// A statement whose parameter count the driver knows (the cache
// described it) refuses a wrong number of arguments before sending, as pgx
// and lib/pq do, instead of the server's protocol violation that would
// abort the transaction.
func TestWrongArgumentCountOfADescribedStatementIsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	db := openDB(t, "prepare_threshold=0")
	tbl := newTable(t, db, "a int, b int")
	insert := "INSERT INTO " + tbl + " VALUES ($1, $2)"
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(insert, 1, 2); err != nil { // prepares and describes it
		t.Fatal(err)
	}
	for _, args := range [][]any{{3}, {3, 4, 5}, {}} {
		_, err := tx.Exec(insert, args...)
		want := "has 2 parameters, but " + strconv.Itoa(len(args)) + " arguments were given"
		if err == nil || !strings.HasPrefix(err.Error(), "pgpipe: ") || !strings.Contains(err.Error(), want) {
			t.Fatalf("%d arguments: %v; want a pgpipe error saying %q", len(args), err, want)
		}
	}
	if _, err := tx.Exec(insert, 3, 4); err != nil {
		t.Fatalf("the transaction after the refused statements: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows, %v; want 2", n, err)
	}
}

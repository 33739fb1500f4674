package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/pgpipe/pgpipe"
)

func TestIsolationLevelsAndReadOnly(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for _, tc := range []struct {
		level sql.IsolationLevel
		want  string
	}{
		{sql.LevelDefault, "read committed"},
		{sql.LevelReadUncommitted, "read uncommitted"}, // behaves as read committed in PostgreSQL
		{sql.LevelReadCommitted, "read committed"},
		{sql.LevelRepeatableRead, "repeatable read"},
		{sql.LevelSerializable, "serializable"},
	} {
		tx, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: tc.level})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := tx.QueryRow("SHOW transaction_isolation").Scan(&got); err != nil || got != tc.want {
			t.Fatalf("%v: transaction_isolation %q, %v; want %q", tc.level, got, err, tc.want)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for _, level := range []sql.IsolationLevel{sql.LevelWriteCommitted, sql.LevelLinearizable, sql.LevelSnapshot} {
		if _, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: level}); err == nil {
			t.Errorf("BeginTx with %v succeeded; PostgreSQL has no such level", level)
		}
	}
	tbl := newTable(t, db, "n int")
	tx, err := db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var ro string
	if err := tx.QueryRow("SHOW transaction_read_only").Scan(&ro); err != nil || ro != "on" {
		t.Fatalf("transaction_read_only %q, %v", ro, err)
	}
	_, err = tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1)
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write in a read-only transaction: %v, want 25006", err)
	}
	tx.Rollback()
}

func TestCommitAndRollbackTakeEffect(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int")
	tx, _ := db.Begin()
	tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, _ = db.Begin()
	tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 2)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := db.QueryRow("SELECT coalesce(sum(n), 0) FROM " + tbl).Scan(&sum); err != nil || sum != 2 {
		t.Fatalf("sum %d, %v: want only the committed row", sum, err)
	}
}

func TestCommitAfterAFailedStatementReportsTheRollback(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int PRIMARY KEY")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1); err == nil {
		t.Fatal("duplicate insert succeeded")
	}
	err = tx.Commit()
	var pgErr *pgpipe.Error
	if !errors.Is(err, pgpipe.ErrTxRolledBack) || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("Commit = %v; want ErrTxRolledBack wrapping 23505", err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows after the rolled-back transaction, %v", n, err)
	}
}

func TestEmptyTransactionAndBeginFailureModes(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("committing an empty transaction: %v", err)
	}
	tx, _ = conn.BeginTx(context.Background(), nil)
	var now1, now2 string
	tx.QueryRow("SELECT now()::text").Scan(&now1)
	tx.QueryRow("SELECT now()::text").Scan(&now2)
	if now1 == "" || now1 != now2 {
		t.Fatalf("now() differs inside one transaction (%q, %q): statements did not share the transaction", now1, now2)
	}
	tx.Rollback()
	var status string
	if err := conn.QueryRowContext(context.Background(), "SELECT 'idle'").Scan(&status); err != nil {
		t.Fatal(err)
	}
}

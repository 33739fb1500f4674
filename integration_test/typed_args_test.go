package integration_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// Arguments whose meaning depends on the parameter's type: a []byte is raw
// bytes to bytea and JSON text to json and jsonb, a time.Duration an
// interval to interval and a number of nanoseconds to bigint. The driver
// learns the types before the first execution of such a query on a
// connection, in the same unit of work, so this holds inside transactions
// and behind PgBouncer in transaction mode too.

const typedCols = "id int, b bytea, t text, v varchar(40), j json, jb jsonb, iv interval, n bigint, i4 int4"

// typedInsert inserts row id with doc in every []byte column and d in the
// interval and bigint ones.
func typedInsert(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, tbl string, id int, doc []byte, d time.Duration) error {
	_, err := db.ExecContext(ctx, "INSERT INTO "+tbl+" (id, b, t, v, j, jb, iv, n, i4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		id, doc, doc, doc, doc, doc, d, d, []byte("42"))
	return err
}

// typedCheck reads row id back and compares it with what was inserted.
func typedCheck(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, tbl string, id int, doc []byte, d time.Duration) error {
	var b, jb []byte
	var s, v, j string
	var us, n, i4 int64
	err := db.QueryRowContext(ctx, "SELECT b, t, v, j::text, jb, (extract(epoch FROM iv) * 1000000)::bigint, n, i4 FROM "+tbl+" WHERE id = $1", id).
		Scan(&b, &s, &v, &j, &jb, &us, &n, &i4)
	if err != nil {
		return err
	}
	var got, want any
	if err := json.Unmarshal(jb, &got); err != nil {
		return fmt.Errorf("jsonb came back as %q: %w", jb, err)
	}
	_ = json.Unmarshal(doc, &want)
	switch {
	case string(b) != string(doc) || s != string(doc) || v != string(doc) || j != string(doc):
		return fmt.Errorf("row %d: bytea %q, text %q, varchar %q, json %q; want %q in each", id, b, s, v, j, doc)
	case fmt.Sprint(got) != fmt.Sprint(want):
		return fmt.Errorf("row %d: jsonb %s, want %s", id, jb, doc)
	case us != d.Microseconds() || n != int64(d) || i4 != 42:
		return fmt.Errorf("row %d: interval %dµs, bigint %d, int4 %d; want %dµs, %d, 42", id, us, n, i4, d.Microseconds(), int64(d))
	}
	return nil
}

func TestTypeDependentArgumentsMeanWhatTheTypeWants(t *testing.T) {
	t.Parallel()
	for _, threshold := range []string{"none", "0", "5"} {
		t.Run("prepare_threshold="+threshold, func(t *testing.T) {
			db := openDB(t, "prepare_threshold="+threshold)
			tbl := newTable(t, db, typedCols)
			typedRun(t, db, tbl, 1, 8)
		})
	}
}

// typedRun inserts and checks rows out of and inside transactions from
// goroutines at once, with a rollback in between; ids start at base.
func typedRun(t *testing.T, db *sql.DB, tbl string, goroutines, ops int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*ops)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				id := g*1000 + i
				doc := []byte(fmt.Sprintf(`{"g": %d, "i": %d, "s": "x\"y"}`, g, i))
				d := time.Duration(id)*time.Hour + 1500*time.Millisecond + 499*time.Nanosecond
				if err := typedOp(ctx, db, tbl, id, doc, d); err != nil {
					errs <- fmt.Errorf("goroutine %d op %d: %w", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func typedOp(ctx context.Context, db *sql.DB, tbl string, id int, doc []byte, d time.Duration) error {
	if id%2 == 0 {
		if err := typedInsert(ctx, db, tbl, id, doc, d); err != nil {
			return err
		}
		return typedCheck(ctx, db, tbl, id, doc, d)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := typedInsert(ctx, tx, tbl, id, doc, d); err != nil {
		return err
	}
	if err := typedCheck(ctx, tx, tbl, id, doc, d); err != nil {
		return err
	}
	return tx.Commit()
}

func TestTypeDependentArgumentsBehindPgBouncerTransactionMode(t *testing.T) {
	b := startBouncer(t, "transaction")
	for _, threshold := range []string{"5", "none"} {
		t.Run("prepare_threshold="+threshold, func(t *testing.T) {
			db := bouncerDB(t, b, threshold, 8)
			tbl := newTable(t, db, typedCols)
			typedRun(t, db, tbl, 8, 20)
		})
	}
}

// A []byte where it can only be the value's text must be text: a clear
// error before anything runs, in a transaction that stays usable.
func TestBytesThatAreNotTextForANonByteaParameter(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	err = tx.QueryRowContext(ctx, "SELECT $1::int4 + 1", []byte{'4', 0}).Scan(&n)
	var argErr *pgpipe.ArgError
	if !errors.As(err, &argErr) || argErr.Position != 1 || !strings.Contains(err.Error(), "NUL byte") {
		t.Fatalf("got %v, want an ArgError for $1 naming the NUL byte", err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT $1::int4 + 1", []byte("41")).Scan(&n); err != nil || n != 42 {
		t.Fatalf("got %d, %v; want 42: a []byte is the text of an int4", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// openMux opens a *sql.DB whose connections share n server connections.
func openMux(t testing.TB, n, maxOpen int, settings ...string) *sql.DB {
	t.Helper()
	db := openDB(t, append([]string{fmt.Sprintf("multiplex=%d", n)}, settings...)...)
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	return db
}

// TestMultiplexSharesFewServerConnections: 32 goroutines through 32
// database/sql connections run point queries on 2 server connections;
// every caller gets its own result.
func TestMultiplexSharesFewServerConnections(t *testing.T) {
	db := openMux(t, 2, 32)
	var (
		mu   sync.Mutex
		pids = map[int]bool{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				want := g*1000 + i
				var got, pid int
				var text string
				err := db.QueryRow("SELECT $1::int, pg_backend_pid(), $2::text", want, fmt.Sprint("v", want)).Scan(&got, &pid, &text)
				if err != nil {
					errs <- err
					return
				}
				if got != want || text != fmt.Sprint("v", want) {
					errs <- fmt.Errorf("caller %d got %d %q, want %d", g, got, text, want)
					return
				}
				mu.Lock()
				pids[pid] = true
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(pids) > 2 {
		t.Errorf("%d server connections served the statements, want at most 2", len(pids))
	}
}

// TestMultiplexErrorsStayWithTheirStatement: statements that fail and
// statements that succeed interleave on one server connection; each
// caller sees its own outcome.
func TestMultiplexErrorsStayWithTheirStatement(t *testing.T) {
	db := openMux(t, 1, 16)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				var n int
				err := db.QueryRow("SELECT 10 / $1::int", (g+i)%2).Scan(&n)
				var pgErr *pgpipe.Error
				switch {
				case (g+i)%2 == 0 && !(errors.As(err, &pgErr) && pgErr.Code == "22012"):
					errs <- fmt.Errorf("division by zero: got %v", err)
					return
				case (g+i)%2 == 1 && (err != nil || n != 10):
					errs <- fmt.Errorf("10/1: got %d, %v", n, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestMultiplexSessionState: a statement that changes the session pins a
// server connection for its database/sql connection, which keeps the
// setting; others never see it, and it is gone once the connection went
// back to the pool.
func TestMultiplexSessionState(t *testing.T) {
	db := openMux(t, 1, 4)
	ctx := context.Background()
	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.ExecContext(ctx, "SET application_name = 'pinned_session'"); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := sc.QueryRowContext(ctx, "SELECT current_setting('application_name')").Scan(&name); err != nil || name != "pinned_session" {
		t.Fatalf("the session's own setting: %q, %v", name, err)
	}
	// With multiplex=1 the only server connection is pinned: another
	// caller waits for it, and must then not see the setting.
	got := make(chan string, 1)
	go func() {
		var other string
		err := db.QueryRow("SELECT current_setting('application_name')").Scan(&other)
		if err != nil {
			other = err.Error()
		}
		got <- other
	}()
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if other := <-got; other == "pinned_session" {
		t.Errorf("another caller saw the pinned session's setting")
	}
}

// TestMultiplexTransactions: transactions pin a server connection until
// they end; shared statements meanwhile do not see their writes, and
// rolled-back work is gone.
func TestMultiplexTransactions(t *testing.T) {
	db := openMux(t, 2, 8)
	table := newTable(t, db, "id int")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO " + table + " VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 0 {
		t.Fatalf("outside the transaction: %d rows, %v", n, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO " + table + " VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := db.QueryRow("SELECT count(*), coalesce(sum(id), 0) FROM "+table).Scan(&n, &sum); err != nil || n != 1 || sum != 2 {
		t.Fatalf("after rollback and commit: %d rows summing to %d, %v", n, sum, err)
	}
}

// TestMultiplexRowsOpenWhileExec: the common loop that runs statements
// while a query's rows are open does not wait on its own result, even
// with one server connection.
func TestMultiplexRowsOpenWhileExec(t *testing.T) {
	db := openMux(t, 1, 4)
	table := newTable(t, db, "id int")
	rows, err := db.Query("SELECT g FROM generate_series(1, 500) g")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("INSERT INTO "+table+" VALUES ($1)", id); err != nil {
			t.Fatal(err)
		}
		count++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 500 || count != 500 {
		t.Fatalf("read %d rows, inserted %d, %v", count, n, err)
	}
}

// TestMultiplexPreparedStatements: db.Prepare works with multiplex on:
// the statement runs on whichever server connection, prepared there
// automatically.
func TestMultiplexPreparedStatements(t *testing.T) {
	db := openMux(t, 2, 8, "prepare_threshold=0")
	st, err := db.Prepare("SELECT $1::int + 1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var n int
				if err := st.QueryRow(g*100 + i).Scan(&n); err != nil || n != g*100+i+1 {
					errs <- fmt.Errorf("got %d, %v", n, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// backendPID returns the backend of the only server connection of a
// multiplex=1 pool.
func backendPID(t *testing.T, db *sql.DB) int {
	t.Helper()
	var pid int
	if err := db.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestMultiplexCancelLongStatement: a long statement whose context ends
// is cancelled on the server, so it does not hold its shared connection
// for its whole run; a statement of another caller written behind it
// gets its own result, even if the CancelRequest met it instead.
func TestMultiplexCancelLongStatement(t *testing.T) {
	db := openMux(t, 1, 4)
	admin := openDB(t)
	pid := backendPID(t, db)
	stop := make(chan struct{})
	defer close(stop)
	sleeping := backendSleeps(admin, pid, stop)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errA := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, "SELECT pg_sleep(3600)")
		errA <- err
	}()
	<-sleeping
	resB := make(chan error, 1)
	go func() {
		var n int
		err := db.QueryRow("SELECT 2").Scan(&n)
		if err == nil && n != 2 {
			err = fmt.Errorf("got %d", n)
		}
		resB <- err
	}()
	cancel()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled statement returned %v, want an error wrapping context.Canceled", err)
	}
	select {
	case err := <-resB:
		if err != nil {
			t.Errorf("the statement behind the cancelled one: %v", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("the statement behind the cancelled one still waits: the cancelled statement kept running")
	}
	var n int
	if err := db.QueryRow("SELECT 3").Scan(&n); err != nil || n != 3 {
		t.Errorf("afterwards: %d, %v", n, err)
	}
}

// TestMultiplexCancelQueuedStatement: a statement whose context ends
// while it waits behind another caller's long statement returns at once;
// the long statement is not disturbed.
func TestMultiplexCancelQueuedStatement(t *testing.T) {
	db := openMux(t, 1, 4)
	admin := openDB(t)
	pid := backendPID(t, db)
	stop := make(chan struct{})
	defer close(stop)
	sleeping := backendSleeps(admin, pid, stop)
	resA := make(chan error, 1)
	go func() {
		var s string
		resA <- db.QueryRow("SELECT pg_sleep(0.2)::text || 'done'").Scan(&s)
	}()
	<-sleeping
	ctx, cancel := context.WithCancel(context.Background())
	errB := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, "SELECT 1")
		errB <- err
	}()
	cancel()
	if err := <-errB; !errors.Is(err, context.Canceled) {
		t.Errorf("the queued statement returned %v, want an error wrapping context.Canceled", err)
	}
	if err := <-resA; err != nil {
		t.Errorf("the long statement of the other caller: %v", err)
	}
}

// TestMultiplexRowsWithoutColumns: rows that have no columns (SELECT
// FROM t) are counted on a shared connection too, where rows are
// buffered.
func TestMultiplexRowsWithoutColumns(t *testing.T) {
	db := openMux(t, 1, 4)
	rows, err := db.Query("SELECT FROM generate_series(1, 3)")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 3 {
		t.Fatalf("%d rows, %v; want 3", n, err)
	}
}

// TestMultiplexSessionsLeaveOneConnectionShared: sessions take at most
// N-1 server connections, so a statement run outside an open transaction
// (db.QueryRow inside the transaction's code) never waits for the
// transactions, which wait for it.
func TestMultiplexSessionsLeaveOneConnectionShared(t *testing.T) {
	db := openMux(t, 2, 8)
	tx1, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx1.Exec("SELECT 1"); err != nil {
		t.Fatal(err)
	}
	tx2done := make(chan error, 1)
	go func() {
		tx2, err := db.Begin()
		if err == nil {
			_, err = tx2.Exec("SELECT 2")
			if cerr := tx2.Commit(); err == nil {
				err = cerr
			}
		}
		tx2done <- err
	}()
	got := make(chan error, 1)
	go func() {
		var n int
		err := db.QueryRow("SELECT 3").Scan(&n)
		if err == nil && n != 3 {
			err = fmt.Errorf("got %d", n)
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hangGuard):
		t.Fatal("a shared statement waits while transactions hold every server connection")
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-tx2done; err != nil {
		t.Fatal(err)
	}
}

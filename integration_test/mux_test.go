package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
	)
	eachCaller(t, 32, 200, func(g, i int) error {
		want := g*1000 + i
		var got, pid int
		var text string
		err := db.QueryRow("SELECT $1::int, pg_backend_pid(), $2::text", want, fmt.Sprint("v", want)).Scan(&got, &pid, &text)
		if err != nil {
			return err
		}
		if got != want || text != fmt.Sprint("v", want) {
			return fmt.Errorf("caller %d got %d %q, want %d", g, got, text, want)
		}
		mu.Lock()
		pids[pid] = true
		mu.Unlock()
		return nil
	})
	if len(pids) > 2 {
		t.Errorf("%d server connections served the statements, want at most 2", len(pids))
	}
}

// TestMultiplexErrorsStayWithTheirStatement: statements that fail and
// statements that succeed interleave on one server connection; each
// caller sees its own outcome.
func TestMultiplexErrorsStayWithTheirStatement(t *testing.T) {
	db := openMux(t, 1, 16)
	eachCaller(t, 16, 100, func(g, i int) error {
		var n int
		err := db.QueryRow("SELECT 10 / $1::int", (g+i)%2).Scan(&n)
		var pgErr *pgpipe.Error
		switch {
		case (g+i)%2 == 0 && !(errors.As(err, &pgErr) && pgErr.Code == "22012"):
			return fmt.Errorf("division by zero: got %v", err)
		case (g+i)%2 == 1 && (err != nil || n != 10):
			return fmt.Errorf("10/1: got %d, %v", n, err)
		}
		return nil
	})
}

// eachCaller runs op(g, i) for i < ops in each of callers goroutines g at
// once; a goroutine stops at its first error, which fails the test.
func eachCaller(t *testing.T, callers, ops int, op func(g, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < ops; i++ {
				if err := op(g, i); err != nil {
					errs <- err
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
	eachCaller(t, 8, 50, func(g, i int) error {
		var n int
		if err := st.QueryRow(g*100 + i).Scan(&n); err != nil || n != g*100+i+1 {
			return fmt.Errorf("got %d, %v", n, err)
		}
		return nil
	})
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
// the long statement is not disturbed. The long statement waits for a row
// lock another session holds until B's outcome is known: no timing.
func TestMultiplexCancelQueuedStatement(t *testing.T) {
	db := openMux(t, 1, 4)
	admin := openDB(t)
	table := newTable(t, admin, "id int, v int")
	if _, err := admin.Exec("INSERT INTO " + table + " VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	pid := backendPID(t, db)
	lock, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec("SELECT v FROM " + table + " WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	resA := make(chan error, 1)
	go func() {
		var s string
		resA <- db.QueryRow("UPDATE " + table + " SET v = v + 1 WHERE id = 1 RETURNING 'done'").Scan(&s)
	}()
	waitUntil(t, "the long statement waits for the row lock", func() (bool, string, error) {
		var n int
		err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", pid).Scan(&n)
		return n > 0, "not waiting yet", err
	})
	ctx, cancel := context.WithCancel(context.Background())
	errB := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, "SELECT 1")
		errB <- err
	}()
	cancel()
	select {
	case err := <-errB:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the queued statement returned %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(hangGuard):
		t.Error("the cancelled statement still waits behind the long one")
	}
	if err := lock.Commit(); err != nil {
		t.Fatal(err)
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

// TestMultiplexCloseCancelsWhatTheServerStillRuns: a pool closed while a
// shared connection's statement runs on the server cancels it, so it does
// not run its course after the socket closed, holding its snapshot (a
// CREATE INDEX CONCURRENTLY elsewhere waits for it) and its locks.
func TestMultiplexCloseCancelsWhatTheServerStillRuns(t *testing.T) {
	db := openMux(t, 1, 4)
	admin := openDB(t, "multiplex=0")
	pid := backendPID(t, db)
	stop := make(chan struct{})
	defer close(stop)
	sleeping := backendSleeps(admin, pid, stop)
	errA := make(chan error, 1)
	go func() {
		_, err := db.Exec("SELECT pg_sleep(3600)")
		errA <- err
	}()
	<-sleeping
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errA; err == nil {
		t.Error("the statement of a closed pool returned no error")
	}
	waitUntil(t, "the closed pool's statement to stop on the server", func() (bool, string, error) {
		var state string
		err := admin.QueryRow("SELECT coalesce((SELECT state || ': ' || query FROM pg_stat_activity WHERE pid = $1), '')", pid).Scan(&state)
		return !strings.Contains(state, "pg_sleep"), state, err
	})
}

// TestMultiplexRowsKeepTheSharedSessionsTimeZone: a shared query's rows
// are in memory when Query returns, and are decoded as they are scanned.
// A session that pins the same server connection meanwhile and changes
// its TimeZone must not change how they decode: the rows belong to the
// shared session they were read in.
func TestMultiplexRowsKeepTheSharedSessionsTimeZone(t *testing.T) {
	db := openMux(t, 1, 4)
	ctx := context.Background()
	var zone string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('TimeZone')").Scan(&zone); err != nil {
		t.Fatal(err)
	}
	other := "Asia/Tokyo"
	if zone == other {
		other = "America/New_York"
	}
	rows, err := db.QueryContext(ctx, "SELECT '2020-01-01 00:00:00+00'::timestamptz")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sc, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	// multiplex=1: the session pins the connection the rows were read on.
	if _, err := sc.ExecContext(ctx, "SET TimeZone = '"+other+"'"); err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	var ts time.Time
	if err := rows.Scan(&ts); err != nil {
		t.Fatal(err)
	}
	if got := ts.Location().String(); got == other {
		t.Errorf("the shared query's timestamptz came back in %s, the TimeZone another caller's session set after it ran (the shared session's is %s)", got, zone)
	}
}

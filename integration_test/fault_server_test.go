package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/faultproxy"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// The server misbehaves: it kills a session, restarts, times a statement
// out, ends an idle transaction. Each time the caller gets a clear error
// in time, nothing runs twice, and the pool goes on with new connections.

// faultWaitFor polls cond (each poll a round trip to the server) until it
// holds, failing t after hangGuard.
func faultWaitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	waitUntil(t, what, func() (bool, string, error) { ok, err := cond(); return ok, "", err })
}

// faultSession returns the state and wait event of backend pid, or ok
// false when it is gone.
func faultSession(db *sql.DB, pid int) (state, wait string, ok bool, err error) {
	err = db.QueryRow("SELECT coalesce(state, ''), coalesce(wait_event, '') FROM pg_stat_activity WHERE pid = $1", pid).Scan(&state, &wait)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	return state, wait, err == nil, err
}

// faultTagCount returns how many rows of log carry tag.
func faultTagCount(t *testing.T, db *sql.DB, log, tag string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM "+log+" WHERE tag = $1", tag).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// faultWantSQLState checks that err carries a server error with code.
func faultWantSQLState(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("err = %v; want the server's SQLSTATE %s", err, code)
	}
	if errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("err = %v is driver.ErrBadConn, though the statement reached the server", err)
	}
}

// faultNewPID checks that db now hands out another backend than old.
func faultNewPID(t *testing.T, db *sql.DB, old int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	pid, err := faultBackendPID(ctx, db)
	if err != nil {
		t.Fatalf("the pool did not recover: %v", err)
	}
	if pid == old {
		t.Fatalf("database/sql handed out the dead connection (backend %d) again", old)
	}
}

func TestFaultTerminateBackendWhileBusy(t *testing.T) {
	faultCheckLeaks(t)
	admin := openDB(t)
	log := faultExecLog(t, admin)
	db := openDB(t)
	db.SetMaxOpenConns(1)
	pid, err := faultBackendPID(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	tag := faultName("terminate")
	done := make(chan error, 1)
	// Owned by the test, which waits for its result below.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		_, err := db.ExecContext(ctx, "INSERT INTO "+log+"(tag) SELECT $1 FROM pg_sleep(600)", tag)
		done <- err
	}()
	faultWaitFor(t, "the backend sleeps", func() (bool, error) {
		_, wait, _, err := faultSession(admin, pid)
		return wait == "PgSleep", err
	})
	if _, err := admin.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(hangGuard + time.Minute):
		t.Fatal("the statement of a terminated backend did not return")
	}
	faultWantSQLState(t, err, "57P01")
	faultNewPID(t, db, pid)
	if n := faultTagCount(t, admin, log, tag); n != 0 {
		t.Fatalf("the terminated insert left %d rows", n)
	}
}

// TestFaultTerminateIdleBackend kills a pooled connection while it is
// idle: the next statement either runs on a new connection (the driver
// noticed) or fails with the server's reason, and never runs twice.
func TestFaultTerminateIdleBackend(t *testing.T) {
	faultCheckLeaks(t)
	admin := openDB(t)
	log := faultExecLog(t, admin)
	db := openDB(t)
	db.SetMaxOpenConns(1)
	pid, err := faultBackendPID(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	faultWaitFor(t, "the backend is gone", func() (bool, error) {
		_, _, alive, err := faultSession(admin, pid)
		return !alive, err
	})
	// The driver looks at the socket of a connection idle for a
	// millisecond or more before the pool reuses it.
	time.Sleep(5 * time.Millisecond)
	tag := faultName("idle")
	_, err = db.Exec("INSERT INTO "+log+"(tag) VALUES ($1)", tag)
	n := faultTagCount(t, admin, log, tag)
	// The backend's FATAL message is waiting on the socket when the pool
	// hands the connection out again: ResetSession sees it and the pool
	// replaces the connection before the statement is sent.
	if err != nil || n != 1 {
		t.Fatalf("the insert after the idle backend was killed: %v, %d rows; want success on a new connection, once", err, n)
	}
	faultNewPID(t, db, pid)
}

// TestFaultIdleConnectionCutIsReplacedTransparently cuts a pooled
// connection while it is idle. The driver checks it before reuse:
// database/sql gets driver.ErrBadConn
// from that check, before anything is sent, and runs the statement on a
// new connection: the caller sees no error, and the statement runs once.
func TestFaultIdleConnectionCutIsReplacedTransparently(t *testing.T) {
	faultCheckLeaks(t)
	admin := openDB(t)
	log := faultExecLog(t, admin)
	p, err := faultproxy.Start(faultServerAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	db := faultProxyDB(t, p)
	db.SetMaxOpenConns(1)
	pid, err := faultBackendPID(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	p.Cut(1)
	<-p.Closed(1)
	before := faultStatementMsgs(p, 1)
	// Not a synchronisation: the driver checks a connection before reuse
	// only once it has been idle for a second (conn.go, idleCheckAfter).
	time.Sleep(1100 * time.Millisecond)
	tag := faultName("idlecut")
	if _, err := db.Exec("INSERT INTO "+log+"(tag) VALUES ($1)", tag); err != nil {
		t.Fatalf("the statement after an idle connection was cut failed: %v", err)
	}
	if n := faultTagCount(t, admin, log, tag); n != 1 {
		t.Fatalf("the statement ran %d times", n)
	}
	if sent := faultStatementMsgs(p, 1) - before; sent != 0 {
		t.Fatalf("%d messages of the statement reached the cut connection", sent)
	}
	faultNewPID(t, db, pid)
}

func TestFaultStatementTimeoutKeepsTheConnection(t *testing.T) {
	faultCheckLeaks(t)
	admin := openDB(t)
	log := faultExecLog(t, admin)
	conn := openConn(t)
	ctx := context.Background()
	var pid1, pid2 int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid1); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "SET statement_timeout = '100ms'"); err != nil {
		t.Fatal(err)
	}
	tag := faultName("timeout")
	_, err := conn.ExecContext(ctx, "INSERT INTO "+log+"(tag) SELECT $1 FROM pg_sleep(5)", tag)
	faultWantSQLState(t, err, "57014")
	var ce *pgpipe.CancelError
	if errors.As(err, &ce) {
		t.Fatalf("err = %v is a *CancelError, but no context was cancelled: the server timed the statement out", err)
	}
	if _, err := conn.ExecContext(ctx, "RESET statement_timeout"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid2); err != nil || pid2 != pid1 {
		t.Fatalf("after the timeout: backend %d (was %d), %v; want the same connection", pid2, pid1, err)
	}
	if n := faultTagCount(t, admin, log, tag); n != 0 {
		t.Fatalf("the timed-out insert left %d rows", n)
	}
}

func TestFaultIdleInTransactionTimeoutEndsTheSession(t *testing.T) {
	faultCheckLeaks(t)
	admin := openDB(t)
	log := faultExecLog(t, admin)
	db := openDB(t)
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := tx.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SET LOCAL idle_in_transaction_session_timeout = '100ms'"); err != nil {
		t.Fatal(err)
	}
	faultWaitFor(t, "the server ends the idle transaction's session", func() (bool, error) {
		_, _, alive, err := faultSession(admin, pid)
		return !alive, err
	})
	tag := faultName("idletx")
	_, err = tx.Exec("INSERT INTO "+log+"(tag) VALUES ($1)", tag)
	faultWantSQLState(t, err, "25P03")
	t.Logf("Rollback after the session ended: %v", tx.Rollback())
	faultNewPID(t, db, pid)
	if n := faultTagCount(t, admin, log, tag); n != 0 {
		t.Fatalf("the insert after the session ended left %d rows", n)
	}
}

// TestFaultServerRestartsUnderLoad restarts a dedicated server (fast, then
// immediate: a crash and recovery) while eight goroutines run inserts,
// queries and transactions through one pool. Every call returns a clear
// error or succeeds, in time; after the restart every goroutine succeeds
// again; no insert runs twice.
func TestFaultServerRestartsUnderLoad(t *testing.T) {
	needCluster(t, "its binaries, to start and restart a server of its own")
	faultCheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	db, err := sql.Open("pgpipe", c.DSN(pgcluster.SuperUser, "", "cancel_grace=500ms"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(8)
	if _, err := db.Exec("CREATE TABLE exec_log (id serial, tag text)"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) {
			faultRestartUnderLoad(t, c, db, mode)
		})
	}
	faultNeverTwice(t, db, "exec_log")
}

// faultRestartUnderLoad runs the load, restarts c once every worker has
// succeeded a few times, and waits until every worker has succeeded a few
// times after the restart.
func faultRestartUnderLoad(t *testing.T, c *pgcluster.Cluster, db *sql.DB, mode string) {
	const workers, wantOK = 8, 3
	var before, after sync.WaitGroup
	before.Add(workers)
	after.Add(workers)
	var restarted atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	failures := &faultErrorKinds{kinds: map[string]int{}}
	for w := range workers {
		wg.Add(1)
		// Owned by faultRestartUnderLoad, which stops and waits for it.
		go func() {
			defer wg.Done()
			l := faultLoadWorker{t: t, db: db, id: fmt.Sprintf("%s%d", mode, w), restarted: &restarted, failures: failures}
			l.run(stop, &before, &after, wantOK)
		}()
	}
	faultWaitGroup(t, &before, "every worker succeeds before the restart")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Restart(ctx, mode); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	restarted.Store(true)
	faultWaitGroup(t, &after, "every worker succeeds after the restart")
	close(stop)
	wg.Wait()
	t.Logf("restart -m %s: failed calls by kind: %v", mode, failures.snapshot())
}

// faultErrorKinds counts errors by kind, for the log.
type faultErrorKinds struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (k *faultErrorKinds) add(err error) {
	var pgErr *pgpipe.Error
	var connErr *pgpipe.ConnError
	var connectErr *pgpipe.ConnectError
	kind := fmt.Sprintf("%T", err)
	switch {
	case errors.As(err, &pgErr):
		kind = "server " + pgErr.Code
	case errors.As(err, &connectErr):
		kind = "ConnectError"
	case errors.As(err, &connErr):
		kind = "ConnError"
	}
	k.mu.Lock()
	k.kinds[kind]++
	k.mu.Unlock()
}

func (k *faultErrorKinds) snapshot() map[string]int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.kinds)
}

// faultWaitGroup waits for wg, failing t after a minute.
func faultWaitGroup(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	// Ends when wg does; in the failure case the test ends first and the
	// workers are stopped by the pool's Close.
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("timed out waiting until %s", what)
	}
}

// faultLoadWorker runs one goroutine of the load.
type faultLoadWorker struct {
	t         *testing.T
	db        *sql.DB
	id        string
	restarted *atomic.Bool
	failures  *faultErrorKinds
}

// run loops until stop, counting down before (wantOK successes before the
// restart) and after (wantOK successes after it).
func (l *faultLoadWorker) run(stop chan struct{}, before, after *sync.WaitGroup, wantOK int) {
	okBefore, okAfter := 0, 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			if okBefore < wantOK {
				before.Done()
			}
			if okAfter < wantOK {
				after.Done()
			}
			return
		default:
		}
		wasRestarted := l.restarted.Load()
		err := l.call(i)
		if err != nil {
			l.failures.add(err)
			continue
		}
		if !wasRestarted {
			if okBefore++; okBefore == wantOK {
				before.Done()
			}
		} else if okAfter++; okAfter == wantOK {
			after.Done()
		}
	}
}

// call runs one operation with a deadline and checks its error.
func (l *faultLoadWorker) call(i int) error {
	const deadline = 5 * time.Second
	tag := fmt.Sprintf("%s_%d_%s", l.id, i, faultName(""))
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	err, late, hung := faultBounded(ctx, func(ctx context.Context) error {
		switch i % 3 {
		case 0:
			_, err := l.db.ExecContext(ctx, "INSERT INTO exec_log(tag) VALUES ($1)", tag)
			return err
		case 1:
			var n int
			return l.db.QueryRowContext(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n)
		}
		tx, err := l.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO exec_log(tag) VALUES ($1)", tag); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	switch {
	case hung:
		l.t.Errorf("%s: call %d hung for %v", l.id, i, hangGuard)
		return errors.New("hung")
	case late > 500*time.Millisecond+faultSlack: // the pool's cancel_grace plus the slack
		l.t.Errorf("%s: call %d returned %v after its deadline: %v", l.id, i, late, err)
	}
	if cerr := faultClearError(err); cerr != nil && !errors.Is(err, sql.ErrTxDone) {
		l.t.Errorf("%s: call %d: unclear error: %v", l.id, i, cerr)
	}
	return err
}

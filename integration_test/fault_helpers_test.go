package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/faultproxy"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// The fault tests put internal/faultproxy between the driver and the
// server and break connections at chosen points. They check that every
// call returns within its deadline (a hang is the bug), that database/sql
// never hands out the broken connection again, that no statement runs
// twice, and that no goroutine is left behind.
//
// They are not parallel at the top level, so that goleak sees only their
// goroutines; inside, the cases of a matrix run concurrently on goroutines
// of their own (t.Parallel would run them two at a time on a two-core
// machine, and most cases wait for a deadline).

const (
	// faultAfterEvent is how long after the event a case is about (its
	// fault fired; for a cancel, the server runs the statement) the
	// operation's context ends. A fault that breaks the connection ends the
	// operation by itself; a stall only through the context. Any value
	// gives the same verdict: this one lets a fault act on its own first.
	faultAfterEvent = 500 * time.Millisecond
	// faultGrace is the cancel grace period of the connections: a
	// connection whose cancel goes unanswered (its stream is stalled or
	// cut) is closed after it, whatever the machine's speed.
	faultGrace = 300 * time.Millisecond
	// faultCancelGrace is the grace period where the test waits for the
	// server to answer a cancel: only a hang exceeds it.
	faultCancelGrace = 30 * time.Second
	// faultSlack is how long after its context ended plus the cancel grace
	// an operation may take to return before the test calls it a hang.
	faultSlack = 30 * time.Second
)

// faultCheckLeaks makes t fail if goroutines started after this call are still
// running once every later cleanup has run. Call it first, in a test that
// is not parallel: goroutines already alive (other tests', paused at
// t.Parallel) are ignored.
func faultCheckLeaks(t *testing.T) {
	t.Helper()
	current := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, current) })
}

// faultServerAddr is the test server's TCP address, for the proxy to dial.
func faultServerAddr(t testing.TB) string {
	t.Helper()
	cfg := serverConfig(t)
	if len(cfg.Hosts) == 0 {
		t.Fatalf("the test server DSN names no host")
	}
	h := cfg.Hosts[0]
	host := h.Addr
	if host == "" {
		host = h.Name
	}
	if strings.HasPrefix(host, "/") || strings.HasPrefix(host, "@") {
		t.Fatalf("the fault tests need the test server over TCP, not the socket %s", host)
	}
	port := int(h.Port)
	if port == 0 {
		port = 5432
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// faultProxyConfig is the test server's Config pointed at p: no TLS (so
// the proxy sees messages), a short cancel grace, and a server that
// notices a vanished client while it sleeps. The user, password and
// database stay the test server's. settings (keyword=value) override any
// of these.
func faultProxyConfig(t testing.TB, p *faultproxy.Proxy, settings ...string) *pgpipe.Config {
	t.Helper()
	cfg := serverConfig(t)
	cfg.Hosts = []pgpipe.Host{{Name: "127.0.0.1", Addr: "127.0.0.1", Port: uint16(p.Port())}}
	cfg.SSLMode = pgpipe.SSLDisable
	cfg.CancelGrace = faultGrace
	cfg.RuntimeParams["client_connection_check_interval"] = "100ms"
	if server.cluster != nil && cfg.Password == "" {
		// The cluster trusts the superuser; the password is there so that
		// faultNoSecrets can look for it.
		cfg.Password = pgcluster.SuperPassword
	}
	return withSettings(t, cfg, settings...)
}

// faultProxyDB opens a pool on faultProxyConfig, closed when the test ends.
func faultProxyDB(t testing.TB, p *faultproxy.Proxy, settings ...string) *sql.DB {
	t.Helper()
	cn, err := pgpipe.NewConnectorConfig(faultProxyConfig(t, p, settings...))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	t.Cleanup(func() { db.Close() })
	return db
}

var faultSeq atomic.Int64

// faultName returns prefix followed by a number unique to this test
// binary, for tags and application names.
func faultName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e9, faultSeq.Add(1))
}

// faultExecLog creates the exec_log table of "never twice": every statement a
// test runs through a fault inserts one row tagged uniquely for its
// attempt. Every role may write it.
func faultExecLog(t *testing.T, db *sql.DB) string {
	t.Helper()
	log := newTable(t, db, "id serial, tag text")
	if _, err := db.Exec("GRANT ALL ON " + log + " TO PUBLIC; GRANT ALL ON SEQUENCE " + log + "_id_seq TO PUBLIC"); err != nil {
		t.Fatal(err)
	}
	return log
}

// faultNeverTwice fails t for every tag that appears more than once in
// the log table.
func faultNeverTwice(t *testing.T, db *sql.DB, log string) {
	t.Helper()
	rows, err := db.Query("SELECT tag, count(*) FROM " + log + " GROUP BY tag HAVING count(*) > 1 ORDER BY tag")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var tag string
		var n int
		if err := rows.Scan(&tag, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("statement tagged %q ran %d times", tag, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// faultSessionsGone waits until the server has no session left with
// application name app: the driver closed every connection it gave up,
// and statements that outlived their client have ended, so their rows (if
// committed) are in the log before it is counted.
func faultSessionsGone(t *testing.T, db *sql.DB, app string) {
	t.Helper()
	waitUntil(t, "no server session of "+app+" is left", func() (bool, string, error) {
		var n int
		var pids string
		err := db.QueryRow("SELECT count(*), coalesce(string_agg(pid::text || ' ' || state || ' ' || query, '; '), '') FROM pg_stat_activity WHERE application_name LIKE $1", app+"%").Scan(&n, &pids)
		return n == 0, pids, err
	})
}

// faultBounded runs op with ctx on a goroutine of its own, and returns its
// error and how long after ctx ended it returned (zero when before). hung
// reports that op did not return within hangGuard; the goroutine is then
// abandoned (the test fails).
func faultBounded(ctx context.Context, op func(ctx context.Context) error) (err error, late time.Duration, hung bool) {
	var mu sync.Mutex
	var ended time.Time
	stop := context.AfterFunc(ctx, func() { mu.Lock(); ended = time.Now(); mu.Unlock() })
	defer stop()
	done := make(chan error, 1)
	// Owned by faultBounded, which waits for it unless it hangs.
	go func() { done <- op(ctx) }()
	limit := time.NewTimer(hangGuard)
	defer limit.Stop()
	select {
	case err = <-done:
	case <-limit.C:
		return nil, 0, true
	}
	mu.Lock()
	defer mu.Unlock()
	if !ended.IsZero() {
		late = time.Since(ended)
	}
	return err, late, false
}

// faultStatementMsgs counts the messages of statements (not of the startup)
// that reached the server on connection conn.
func faultStatementMsgs(p *faultproxy.Proxy, conn int) int {
	n := 0
	for _, name := range []string{"Parse", "Bind", "Describe", "Execute", "Sync", "Query", "Flush", "Close", "CopyData", "CopyDone", "CopyFail"} {
		n += p.Forwarded(conn, faultproxy.ClientToServer, name)
	}
	return n
}

// faultReporter collects a case's failures for a test whose cases run on
// goroutines: only the test goroutine's helpers may call t.Fatal, so a
// case reports with Errorf and returns.
type faultReporter struct {
	t    *testing.T
	name string
}

func (r *faultReporter) errorf(format string, args ...any) {
	r.t.Helper()
	r.t.Errorf("%s: %s", r.name, fmt.Sprintf(format, args...))
}

// faultClearError checks that err is one a user can act on: a driver error
// (its text starts with "pgpipe: ") or the server's own *pgpipe.Error,
// never driver.ErrBadConn's bare "driver: bad connection".
func faultClearError(err error) error {
	var pgErr *pgpipe.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, driver.ErrBadConn) && err.Error() == driver.ErrBadConn.Error():
		return fmt.Errorf("bare driver.ErrBadConn: %v", err)
	case strings.HasPrefix(err.Error(), "pgpipe: "), errors.As(err, &pgErr):
		return nil
	case err == context.DeadlineExceeded || err == context.Canceled:
		// database/sql's own word: it closes a query's Rows when the
		// context ends, and Rows.Err then says so, whatever the driver's
		// Next would have returned a moment later (on a busy machine the
		// context can end before the driver has read the fault).
		return nil
	}
	return fmt.Errorf("not a pgpipe error: %T %v", err, err)
}

// faultSecrets are the passwords of the cluster's roles, and the test
// server's when PGPIPE_TEST_DSN gives one.
func faultSecrets() []string {
	secrets := []string{pgcluster.SuperPassword, pgcluster.MD5Password, pgcluster.ScramPassword, pgcluster.CleartextPassword}
	if cfg, err := pgpipe.ParseDSN(server.dsn); err == nil && cfg.Password != "" {
		secrets = append(secrets, cfg.Password)
	}
	return secrets
}

// faultNoSecrets checks that no password appears in the error of a case
// (its text and its %+v form), in the configuration printed with %v and
// %+v, or in the lines the driver logged.
func faultNoSecrets(r *faultReporter, err error, cfg *pgpipe.Config, logs *logBuffer) {
	texts := map[string]string{
		"the configuration (%v)":  fmt.Sprintf("%v", cfg),
		"the configuration (%+v)": fmt.Sprintf("%+v", *cfg),
		"the log":                 logs.String(),
	}
	if err != nil {
		texts["the error"] = err.Error()
		texts["the error (%+v)"] = fmt.Sprintf("%+v", err)
	}
	for where, text := range texts {
		for _, secret := range faultSecrets() {
			if strings.Contains(text, secret) {
				r.errorf("%s contains a password: %s", where, text)
			}
		}
	}
}

// faultBackendPID returns the server process ID of the connection db hands out
// next.
func faultBackendPID(ctx context.Context, db *sql.DB) (int, error) {
	var pid int
	err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	return pid, err
}

package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// faultDeadline is the context deadline of every operation hit by a
	// fault; faultGrace is the cancel grace period of the connections.
	faultDeadline = 2 * time.Second
	faultGrace    = 300 * time.Millisecond
	// faultSlack is how late after its deadline plus the grace period an
	// operation may return before the test calls it a hang.
	faultSlack = 2 * time.Second
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
	cfg, err := pgpipe.ParseDSN(server.dsn)
	if err != nil {
		t.Fatal(err)
	}
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
	return fmt.Sprintf("%s:%d", host, port)
}

// faultProxyDSN is the superuser DSN pointed at p: no TLS (so the proxy sees
// messages), a short cancel grace, and a server that notices a vanished
// client while it sleeps. extra overrides any of these.
func faultProxyDSN(p *faultproxy.Proxy, extra ...string) string {
	base := []string{
		"host=127.0.0.1", "hostaddr=127.0.0.1", "port=" + strconv.Itoa(p.Port()),
		// The server trusts the superuser; the password is there so that
		// faultNoSecrets can look for it.
		"password=" + pgcluster.SuperPassword,
		"sslmode=disable", "cancel_grace=" + faultGrace.String(),
		"client_connection_check_interval=100ms",
	}
	return dsn(append(base, extra...)...)
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
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		var pids string
		err := db.QueryRow("SELECT count(*), coalesce(string_agg(pid::text || ' ' || state || ' ' || query, '; '), '') FROM pg_stat_activity WHERE application_name LIKE $1", app+"%").Scan(&n, &pids)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server sessions of %s are still there: %s", n, app, pids)
		}
		time.Sleep(20 * time.Millisecond) // a polling interval, not a synchronisation
	}
}

// faultBounded runs op with a context ending after d, on a goroutine of its
// own, and returns its error and how long it took. hung reports that op
// did not return within d plus the cancel grace plus a generous margin;
// the goroutine is then abandoned (the test fails).
func faultBounded(d time.Duration, op func(ctx context.Context) error) (err error, took time.Duration, hung bool) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	// Owned by faultBounded, which waits for it unless it hangs.
	go func() { done <- op(ctx) }()
	limit := time.NewTimer(d + faultGrace + faultSlack + 10*time.Second)
	defer limit.Stop()
	select {
	case err = <-done:
		return err, time.Since(start), false
	case <-limit.C:
		return nil, time.Since(start), true
	}
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
	}
	return fmt.Errorf("not a pgpipe error: %T %v", err, err)
}

// faultSecrets are the passwords of the cluster's roles.
var faultSecrets = []string{pgcluster.SuperPassword, pgcluster.MD5Password, pgcluster.ScramPassword, pgcluster.CleartextPassword}

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
		for _, secret := range faultSecrets {
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

package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests start real servers. Without PostgreSQL binaries they fail
// (Start's error says what to install); they never skip.

const helperEnv = "PGCLUSTER_TEST_OWNER_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(ownerHelper())
	}
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the shared cluster: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// shared is the TLS cluster of the tests that neither restart nor stop it;
// TestMain stops it.
var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// sharedCluster returns the shared cluster, starting it on first use.
func sharedCluster(t *testing.T) *Cluster {
	t.Helper()
	shared.once.Do(func() {
		began := time.Now()
		shared.c, shared.err = Start(context.Background(), Options{TLS: true})
		t.Logf("started the shared cluster in %v", time.Since(began))
	})
	if shared.err != nil {
		t.Fatalf("Start: %v", shared.err)
	}
	return shared.c
}

// startCluster starts a cluster that the test stops when it ends.
func startCluster(t *testing.T, opt Options) *Cluster {
	t.Helper()
	opt.Logf = t.Logf
	c, err := Start(context.Background(), opt)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// startBouncer starts a PgBouncer in front of c.
func startBouncer(t *testing.T, c *Cluster, opt BouncerOptions) *Bouncer {
	t.Helper()
	b, err := c.StartPgBouncer(context.Background(), opt)
	if err != nil {
		t.Fatalf("StartPgBouncer: %v", err)
	}
	return b
}

// query runs sql with psql on conninfo and returns its tuples-only output.
func query(t *testing.T, c *Cluster, conninfo, sql string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.psql(ctx, conninfo, sql)
}

func mustQuery(t *testing.T, c *Cluster, conninfo, sql string) string {
	t.Helper()
	out, err := query(t, c, conninfo, sql)
	if err != nil {
		t.Fatalf("psql %q: %v\nserver log:\n%s", conninfo, err, c.Log())
	}
	return out
}

func TestStartServesEveryRoleAsDocumented(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	verifyFull := func(host string) []string {
		return []string{"sslmode=verify-full", "sslrootcert=" + c.CAFile, "host=" + host, "hostaddr=127.0.0.1"}
	}
	clientCert := []string{"sslcert=" + c.ClientCertFile, "sslkey=" + c.ClientKeyFile}
	tests := []struct {
		name    string
		dsn     string
		user    string // expected current_user when wantErr is ""
		wantErr string
	}{
		{"superuser over TCP without password", c.DSN(SuperUser, ""), SuperUser, ""},
		{"superuser over the socket", c.SocketDSN(SuperUser), SuperUser, ""},
		{"md5 user with its password", c.DSN(MD5User, MD5Password, "sslmode=disable"), MD5User, ""},
		{"md5 user with a wrong password", c.DSN(MD5User, "nope", "sslmode=disable"), "", "password authentication failed"},
		{"scram user with its password", c.DSN(ScramUser, ScramPassword), ScramUser, ""},
		{"scram user with a wrong password", c.DSN(ScramUser, "nope"), "", "password authentication failed"},
		{"scram user over the socket without password", c.SocketDSN(ScramUser), ScramUser, ""},
		{"cleartext user with its password", c.DSN(CleartextUser, CleartextPassword), CleartextUser, ""},
		{"cleartext user with a wrong password", c.DSN(CleartextUser, "nope"), "", "password authentication failed"},
		{"ssl user over TLS", c.DSN(SSLUser, SSLPassword, "sslmode=require"), SSLUser, ""},
		{"ssl user without TLS", c.DSN(SSLUser, SSLPassword, "sslmode=disable"), "", "rejects connection"},
		{"cert user with its certificate", c.DSN(CertUser, "", append(verifyFull("localhost"), clientCert...)...), CertUser, ""},
		{"cert user without TLS", c.DSN(CertUser, "", "sslmode=disable"), "", "rejects connection"},
		{"cert user without a certificate", c.DSN(CertUser, "", "sslmode=require"), "", "certificate"},
		{"verify-full for 127.0.0.1", c.DSN(SuperUser, "", "sslmode=verify-full", "sslrootcert="+c.CAFile), SuperUser, ""},
		{"verify-full for a name not in the certificate", c.DSN(SuperUser, "", verifyFull("wrong.example")...), "", "does not match host name"},
		{"verify-ca against the wrong CA", c.DSN(SuperUser, "", "sslmode=verify-ca", "sslrootcert="+c.WrongCAFile), "", "certificate verify failed"},
	}
	if c.IPv6 {
		tests = append(tests, struct {
			name, dsn, user, wantErr string
		}{"md5 user over ::1", c.DSN(MD5User, MD5Password, "host=::1"), MD5User, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := query(t, c, tt.dsn, "SELECT current_user")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("connect with %q: got error %v, want one containing %q", tt.dsn, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("connect with %q: %v", tt.dsn, err)
			}
			if out != tt.user {
				t.Fatalf("current_user = %q, want %q", out, tt.user)
			}
		})
	}
}

func TestStartStoresPasswordsWithTheDocumentedHashes(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	got := mustQuery(t, c, c.SocketDSN(SuperUser), `SELECT rolname || ' ' || CASE
			WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5'
			ELSE split_part(rolpassword, '$', 1) END
		FROM pg_authid WHERE rolpassword IS NOT NULL ORDER BY rolname`)
	want := strings.Join([]string{
		MD5User + " md5",
		SuperUser + " SCRAM-SHA-256",
		CleartextUser + " SCRAM-SHA-256",
		ScramUser + " SCRAM-SHA-256",
		SSLUser + " SCRAM-SHA-256",
	}, "\n")
	if got != want {
		t.Fatalf("stored passwords:\n%s\nwant:\n%s", got, want)
	}
}

func TestEveryRoleCanCreateTablesInDatabase(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	for _, user := range []string{SuperUser, MD5User, ScramUser, CleartextUser, CertUser, SSLUser} {
		sql := fmt.Sprintf("CREATE TABLE public.t_%[1]s (i int); INSERT INTO t_%[1]s VALUES (1); SELECT count(*) FROM t_%[1]s", user)
		if got := mustQuery(t, c, c.SocketDSN(user), sql); got != "1" {
			t.Errorf("%s: count = %q, want 1", user, got)
		}
	}
}

func TestExecRunsScriptsInDatabase(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	ctx := context.Background()
	if err := c.Exec(ctx, "CREATE TABLE e (i int);\nINSERT INTO e VALUES (1), (2);"); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	got := mustQuery(t, c, c.DSN(SuperUser, ""), "SELECT current_database(), sum(i) FROM e")
	if want := Database + "|3"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	err := c.Exec(ctx, "SELECT 1/0; CREATE TABLE never (i int);")
	if err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("Exec of a failing script: got %v, want division by zero", err)
	}
	if got := mustQuery(t, c, c.SocketDSN(SuperUser), "SELECT to_regclass('never') IS NULL"); got != "t" {
		t.Fatalf("statement after the error ran")
	}
}

func TestRestartKeepsPortDataAndSettings(t *testing.T) {
	t.Parallel()
	c := startCluster(t, Options{TLS: true, Settings: map[string]string{"work_mem": "8MB"}})
	ctx := context.Background()
	// CHECKPOINT: with synchronous_commit=off an immediate shutdown may lose
	// the last commits.
	if err := c.Exec(ctx, "CREATE TABLE r (i int); INSERT INTO r VALUES (7); CHECKPOINT;"); err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for _, mode := range []string{"immediate", "fast", "smart", ""} {
		if err := c.Restart(ctx, mode); err != nil {
			t.Fatalf("Restart(%q): %v", mode, err)
		}
		got := mustQuery(t, c, c.DSN(SuperUser, "", "sslmode=require"), "SELECT i, current_setting('work_mem') FROM r")
		if got != "7|8MB" {
			t.Fatalf("after Restart(%q): got %q, want 7|8MB", mode, got)
		}
	}
	if err := c.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if err := c.Restart(ctx, "sudden"); err == nil {
		t.Fatalf("Restart with an unknown mode succeeded")
	}
}

func TestPgBouncerRunsQueriesForPasswordRoles(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	began := time.Now()
	b := startBouncer(t, c, BouncerOptions{})
	t.Logf("StartPgBouncer took %v", time.Since(began))
	for _, user := range []string{SuperUser, MD5User, ScramUser, CleartextUser} {
		got := mustQuery(t, c, b.DSN(user, "any password", "sslmode=disable", "options=-cwork_mem=5MB"),
			"SELECT current_user, inet_server_port()")
		if want := fmt.Sprintf("%s|%d", user, c.Port); got != want {
			t.Errorf("through PgBouncer: got %q, want %q", got, want)
		}
	}
	if _, err := query(t, c, b.DSN(SSLUser, SSLPassword), "SELECT 1"); err == nil {
		t.Errorf("%s got through PgBouncer, which talks to the server without TLS", SSLUser)
	} else {
		t.Logf("%s through PgBouncer: %v", SSLUser, err)
	}
	pools := mustQuery(t, c, b.DSN(SuperUser, "", "dbname=pgbouncer"), "SHOW CONFIG")
	for _, want := range []string{"pool_mode|transaction|", "default_pool_size|20|", "max_client_conn|500|"} {
		if !strings.Contains(pools, want) {
			t.Errorf("SHOW CONFIG lacks %q:\n%s", want, pools)
		}
	}
	pid := b.cmd.Process.Pid
	if err := b.Stop(); err != nil {
		t.Fatalf("Bouncer.Stop: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("second Bouncer.Stop: %v", err)
	}
	if !processGone(pid) {
		t.Errorf("pgbouncer %d still runs after Stop", pid)
	}
	if _, err := os.Stat(b.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bouncer directory still there after Stop: %v", err)
	}
}

func TestPgBouncerTakesPoolModeAndSettings(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	b := startBouncer(t, c, BouncerOptions{PoolMode: "session", DefaultPoolSize: 3, MaxClientConn: 50,
		Settings: map[string]string{"server_login_retry": "2", "application_name_add_host": "1"}})
	got := mustQuery(t, c, b.DSN(SuperUser, "", "dbname=pgbouncer"), "SHOW CONFIG")
	for _, want := range []string{"pool_mode|session|", "default_pool_size|3|", "max_client_conn|50|",
		"server_login_retry|2|", "application_name_add_host|1|"} {
		if !strings.Contains(got, want) {
			t.Errorf("SHOW CONFIG lacks %q", want)
		}
	}
	if _, err := c.StartPgBouncer(context.Background(), BouncerOptions{PoolMode: "sometimes"}); err == nil {
		t.Errorf("StartPgBouncer with an unknown pool mode succeeded")
	}
}

func TestStopRemovesDirectoryAndProcesses(t *testing.T) {
	t.Parallel()
	c, err := Start(context.Background(), Options{TLS: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	b := startBouncer(t, c, BouncerOptions{})
	postmaster, err := readPIDFile(filepath.Join(c.Dir, "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := map[string]int{"postmaster": postmaster, "pgbouncer": b.cmd.Process.Pid, "watchdog": c.wd.cmd.Process.Pid}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for name, pid := range pids {
		if !processGone(pid) {
			t.Errorf("%s (pid %d) still runs after Stop", name, pid)
		}
	}
	if _, err := os.Stat(c.BaseDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Stop: %v", c.BaseDir, err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Errorf("Bouncer.Stop after Cluster.Stop: %v", err)
	}
	if err := c.Restart(context.Background(), "fast"); !errors.Is(err, errStopped) {
		t.Errorf("Restart after Stop: got %v, want %v", err, errStopped)
	}
	if _, err := c.StartPgBouncer(context.Background(), BouncerOptions{}); !errors.Is(err, errStopped) {
		t.Errorf("StartPgBouncer after Stop: got %v, want %v", err, errStopped)
	}
}

// TestStartAndStartPgBouncerSkipTakenPorts hands Start a port taken on both
// loopback addresses (pg_ctl start fails) and one taken on 127.0.0.1 only
// (the server starts on ::1 alone, with a warning), and StartPgBouncer a
// taken port. It changes pickPort, so it does not run in parallel.
func TestStartAndStartPgBouncerSkipTakenPorts(t *testing.T) {
	takenBoth := listenPort(t, "tcp4", "127.0.0.1", 0)
	taken := []int{takenBoth}
	if hasIPv6Loopback() {
		listenPort(t, "tcp6", "::1", takenBoth)
		taken = append(taken, listenPort(t, "tcp4", "127.0.0.1", 0))
	}
	picks := handOutPorts(t, taken)
	c := startCluster(t, Options{})
	if *picks != len(taken)+1 {
		t.Errorf("Start picked %d ports, want %d", *picks, len(taken)+1)
	}
	dsns := []string{c.DSN(SuperUser, "")}
	if c.IPv6 {
		dsns = append(dsns, c.DSN(SuperUser, "", "host=::1"))
	}
	for _, dsn := range dsns {
		if got, want := mustQuery(t, c, dsn, "SELECT inet_server_port()"), strconv.Itoa(c.Port); got != want {
			t.Errorf("%s reached port %s, want %s", dsn, got, want)
		}
	}

	picks = handOutPorts(t, []int{takenBoth})
	b := startBouncer(t, c, BouncerOptions{})
	if *picks != 2 || b.Port == takenBoth {
		t.Errorf("StartPgBouncer picked %d ports and uses %d (taken: %d)", *picks, b.Port, takenBoth)
	}
	if got := mustQuery(t, c, b.DSN(SuperUser, ""), "SELECT inet_server_port()"); got != strconv.Itoa(c.Port) {
		t.Errorf("through PgBouncer reached port %s, want %d", got, c.Port)
	}
}

// listenPort listens on host:port (port 0: any) until the test ends and
// returns the port.
func listenPort(t *testing.T, network, host string, port int) int {
	t.Helper()
	l, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// handOutPorts makes pickPort return the given ports first, then free ones,
// until the test ends; the returned counter counts its calls.
func handOutPorts(t *testing.T, ports []int) *int {
	saved := pickPort
	calls := 0
	pickPort = func(v6 bool) (int, error) {
		calls++
		if len(ports) > 0 {
			p := ports[0]
			ports = ports[1:]
			return p, nil
		}
		return saved(v6)
	}
	t.Cleanup(func() { pickPort = saved })
	return &calls
}

// TestWatchdogCleansUpAfterOwnerIsKilled starts a cluster and a PgBouncer in
// a child process, kills that process with SIGKILL, and waits for the
// watchdog to stop both servers and remove the files.
func TestWatchdogCleansUpAfterOwnerIsKilled(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper did not report its cluster: %v", err)
	}
	var base string
	var postmaster, bouncer int
	if _, err := fmt.Sscan(line, &base, &postmaster, &bouncer); err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	deadline := time.Now().Add(30 * time.Second)
	for !(processGone(postmaster) && processGone(bouncer) && !exists(base)) {
		if time.Now().After(deadline) {
			t.Fatalf("30s after the owner died: postmaster gone %v, pgbouncer gone %v, %s exists %v",
				processGone(postmaster), processGone(bouncer), base, exists(base))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ownerHelper is the child process of TestWatchdogCleansUpAfterOwnerIsKilled:
// it starts a cluster and a PgBouncer, prints where they are and waits to be
// killed.
func ownerHelper() int {
	ctx := context.Background()
	c, err := Start(ctx, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := c.StartPgBouncer(ctx, BouncerOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		c.Stop()
		return 1
	}
	pid, err := readPIDFile(filepath.Join(c.Dir, "postmaster.pid"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		c.Stop()
		return 1
	}
	fmt.Println(c.BaseDir, pid, strconv.Itoa(b.cmd.Process.Pid))
	syscall.Pause()
	return 0
}

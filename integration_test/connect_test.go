package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// queryString runs a one-value query on a fresh pool opened with dsn.
func queryString(t *testing.T, dsn, query string) (string, error) {
	t.Helper()
	db, err := sql.Open("pgpipe", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var s string
	err = db.QueryRow(query).Scan(&s)
	return s, err
}

func TestOpenAndOpenDBBothWork(t *testing.T) {
	t.Parallel()
	if v, err := queryString(t, server.dsn, "SELECT 'open'"); err != nil || v != "open" {
		t.Fatalf("sql.Open: %q, %v", v, err)
	}
	cn, err := pgpipe.NewConnector(server.dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT 'connector'").Scan(&v); err != nil || v != "connector" {
		t.Fatalf("sql.OpenDB(NewConnector): %q, %v", v, err)
	}
	cfg, err := pgpipe.ParseDSN(server.dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ApplicationName = "from-config"
	cn2, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db2 := sql.OpenDB(cn2)
	defer db2.Close()
	if err := db2.QueryRow("SHOW application_name").Scan(&v); err != nil || v != "from-config" {
		t.Fatalf("sql.OpenDB(NewConnectorConfig): application_name %q, %v", v, err)
	}
}

func TestURLAndKeywordDSNsConnect(t *testing.T) {
	c := needCluster(t, "its superuser without a password and its database named pgpipe")
	t.Parallel()
	for _, d := range []string{
		fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pgpipe?sslmode=disable&application_name=url1", c.Port),
		fmt.Sprintf("postgresql://postgres@127.0.0.1:%d/pgpipe?sslmode=disable&application_name=url1", c.Port),
		fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=pgpipe sslmode=disable application_name='url1'", c.Port),
	} {
		if v, err := queryString(t, d, "SHOW application_name"); err != nil || v != "url1" {
			t.Errorf("%s: application_name %q, %v", d, v, err)
		}
	}
}

func TestEnvironmentVariablesFillTheDSN(t *testing.T) {
	c := needCluster(t, "its superuser without a password and its database named pgpipe")
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", strconv.Itoa(c.Port))
	t.Setenv("PGUSER", pgcluster.ScramUser)
	t.Setenv("PGPASSWORD", pgcluster.ScramPassword)
	t.Setenv("PGDATABASE", "pgpipe")
	t.Setenv("PGSSLMODE", "require")
	t.Setenv("PGAPPNAME", "from-env")
	t.Setenv("PGOPTIONS", "-c search_path=env_schema")
	t.Setenv("PGCONNECT_TIMEOUT", "5")
	v, err := queryString(t, "", "SELECT current_user || ' ' || current_setting('application_name') || ' ' || current_setting('search_path') || ' ' || (SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid())")
	if err != nil {
		t.Fatal(err)
	}
	if want := "scramuser from-env env_schema true"; v != want {
		t.Fatalf("got %q, want %q", v, want)
	}
}

func TestUnixSocketHost(t *testing.T) {
	c := needCluster(t, "its Unix socket directory")
	t.Parallel()
	d := fmt.Sprintf("host=%s port=%d user=postgres dbname=pgpipe", c.SocketDir, c.Port)
	v, err := queryString(t, d, "SELECT coalesce(inet_client_addr()::text, 'socket')")
	if err != nil || v != "socket" {
		t.Fatalf("over %s: %q, %v", c.SocketDir, v, err)
	}
	u := fmt.Sprintf("postgres://postgres@%s:%d/pgpipe", strings.ReplaceAll(c.SocketDir, "/", "%2F"), c.Port)
	if v, err := queryString(t, u, "SELECT 'url socket'"); err != nil || v != "url socket" {
		t.Fatalf("URL socket form %s: %q, %v", u, v, err)
	}
}

// deadPort returns a loopback port nothing listens on.
func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestMultiHostSkipsADeadFirstHost(t *testing.T) {
	c := needCluster(t, "its superuser without a password and its database named pgpipe")
	t.Parallel()
	dead := deadPort(t)
	d := fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=pgpipe sslmode=disable connect_timeout=5", dead, c.Port)
	if v, err := queryString(t, d, "SELECT 'second'"); err != nil || v != "second" {
		t.Fatalf("%q, %v", v, err)
	}
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/pgpipe?sslmode=disable", dead, c.Port)
	if v, err := queryString(t, u, "SELECT 'url'"); err != nil || v != "url" {
		t.Fatalf("URL form: %q, %v", v, err)
	}
	for i := 0; i < 5; i++ {
		lb := d + " load_balance_hosts=random"
		if v, err := queryString(t, lb, "SELECT 'lb'"); err != nil || v != "lb" {
			t.Fatalf("load_balance_hosts=random: %q, %v", v, err)
		}
	}
}

func TestTargetSessionAttrs(t *testing.T) {
	c := needCluster(t, "its superuser without a password and its database named pgpipe")
	t.Parallel()
	base := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=pgpipe sslmode=disable", c.Port)
	for _, tc := range []struct {
		attrs string
		ok    bool
	}{
		{"any", true}, {"read-write", true}, {"primary", true}, {"prefer-standby", true},
		{"read-only", false}, {"standby", false},
	} {
		_, err := queryString(t, base+" target_session_attrs="+tc.attrs, "SELECT 'x'")
		if (err == nil) != tc.ok {
			t.Errorf("target_session_attrs=%s on a primary: err %v, want ok=%v", tc.attrs, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "target_session_attrs") {
			t.Errorf("target_session_attrs=%s: error %q does not name the setting", tc.attrs, err)
		}
	}
	// A read-only default makes the primary unacceptable for read-write.
	ro := base + " default_transaction_read_only=on"
	if _, err := queryString(t, ro+" target_session_attrs=read-write", "SELECT 1"); err == nil {
		t.Error("read-write accepted a session with default_transaction_read_only=on")
	}
	if _, err := queryString(t, ro+" target_session_attrs=read-only", "SELECT 1"); err != nil {
		t.Errorf("read-only refused a read-only session: %v", err)
	}
}

func TestConnectTimeoutAndContext(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never answers: the startup hangs.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	d := fmt.Sprintf("host=127.0.0.1 port=%d user=x sslmode=disable connect_timeout=1", port)
	start := time.Now()
	_, err = queryString(t, d, "SELECT 1")
	if err == nil || time.Since(start) > hangGuard {
		t.Fatalf("connect_timeout=1 against a silent server: %v after %v", err, time.Since(start))
	}
	cn, _ := pgpipe.NewConnector(fmt.Sprintf("host=127.0.0.1 port=%d user=x sslmode=disable", port))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = cn.Connect(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect with a 200ms context: %v, want context.DeadlineExceeded", err)
	}
}

func TestPasswordNeverAppearsInConnectErrors(t *testing.T) {
	c := needCluster(t, "its roles with known passwords")
	t.Parallel()
	secret := "sup3r-s3cret-pw"
	for _, d := range []string{
		c.DSN(pgcluster.MD5User, secret, "sslmode=disable"),
		c.DSN(pgcluster.ScramUser, secret, "sslmode=disable"),
		fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/pgpipe?sslmode=disable", pgcluster.ScramUser, secret, c.Port),
		fmt.Sprintf("host=127.0.0.1 port=%d user=x password=%s sslmode=bogus", c.Port, secret),
	} {
		_, err := queryString(t, d, "SELECT 1")
		if err == nil {
			t.Fatalf("%s: connected with a wrong password", pgcluster.MD5User)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), secret) {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

func TestPassfileSuppliesThePassword(t *testing.T) {
	c := needCluster(t, "its scram role and its database named pgpipe")
	t.Parallel()
	pass := filepath.Join(t.TempDir(), "pgpass")
	line := fmt.Sprintf("127.0.0.1:%d:pgpipe:%s:%s\n", c.Port, pgcluster.ScramUser, pgcluster.ScramPassword)
	if err := os.WriteFile(pass, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	d := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=pgpipe sslmode=disable passfile=%s", c.Port, pgcluster.ScramUser, pass)
	if v, err := queryString(t, d, "SELECT current_user"); err != nil || v != pgcluster.ScramUser {
		t.Fatalf("%q, %v", v, err)
	}
}

// A misspelt keyword (sslmod=disable) is still sent as a server setting, as
// libpq does; when the server refuses it, the error says which DSN keyword
// it came from and suggests the keyword it resembles, and keeps the
// server's error for errors.As.
func TestRefusedDSNSettingNamesTheKeywordAndSuggestsOne(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ extra, want string }{
		{"sslmod=disable", `DSN keyword "sslmod" (did you mean "sslmode"?) is not a connection keyword, so it was sent to the server as a setting, which refused it: FATAL: unrecognized configuration parameter "sslmod"`},
		{"prepare_treshold=0", `DSN keyword "prepare_treshold" (did you mean "prepare_threshold"?) is not a connection keyword`},
		{"no_such_thing=1", `DSN keyword "no_such_thing" is not a connection keyword, so it was sent to the server as a setting, which refused it: FATAL`},
	} {
		db, err := sql.Open("pgpipe", dsn(t, tc.extra))
		if err != nil {
			t.Fatal(err)
		}
		err = db.Ping()
		db.Close()
		var pgErr *pgpipe.Error
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &pgErr) || pgErr.Code != "42704" {
			t.Errorf("%s: %v; want an error saying %q around SQLSTATE 42704", tc.extra, err, tc.want)
		}
	}
	if err := openDB(t, "search_path=public").Ping(); err != nil {
		t.Fatalf("a server setting in the DSN: %v", err)
	}
	// PgBouncer refuses it in its own words (08P01).
	b := ormStartBouncer(t)
	db, err := sql.Open("pgpipe", b.DSN(pgcluster.SuperUser, "", "dbname=pgpipe", "sslmode=disable", "sslmod=disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	if want := `DSN keyword "sslmod" (did you mean "sslmode"?)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("through PgBouncer: %v; want an error saying %q", err, want)
	}
}

package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// These tests take the server's word for whether a session is encrypted:
// pg_stat_ssl for the session's own backend (sslTruthQuery in
// auth_test.go). Helpers shared with auth_test.go: authWant, authFail,
// authQuery, startClientBytesProxy, startTLSInterceptor.

func TestSSLModeDecidesWhetherTheSessionIsEncrypted(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	for _, tc := range []struct {
		extra []string
		ssl   bool
	}{
		{[]string{"sslmode=disable"}, false},
		{[]string{"sslmode=allow"}, false}, // plaintext first, and the server takes it
		{[]string{"sslmode=prefer"}, true},
		{nil, true}, // the default is prefer
		{[]string{"sslmode=require"}, true},
		{[]string{"sslmode=verify-ca", "sslrootcert=" + c.CAFile}, true},
		{[]string{"sslmode=verify-ca", "sslrootcert=" + c.CAFile, "host=wrong.example", "hostaddr=127.0.0.1"}, true}, // verify-ca checks no name
		{[]string{"sslmode=verify-full", "sslrootcert=" + c.CAFile, "host=localhost"}, true},
		{[]string{"sslmode=verify-full", "sslrootcert=" + c.CAFile, "host=127.0.0.1"}, true}, // an IP address SAN
		{[]string{"sslmode=verify-full", "sslrootcert=" + c.CAFile, "host=localhost", "hostaddr=127.0.0.1"}, true},
		{[]string{"sslmode=require", "sslrootcert=" + c.CAFile}, true}, // verifies like verify-ca
	} {
		authWant(t, c.DSN(pgcluster.SuperUser, "", tc.extra...), "postgres "+strconv.FormatBool(tc.ssl))
	}
}

func TestSSLModeTriesPlaintextAndTLSInLibpqsOrder(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	for _, tc := range []struct {
		mode  string
		first []uint32 // the first packet of each connection, in order
	}{
		{"disable", []uint32{authStartupCode}},
		{"allow", []uint32{authStartupCode}},
		{"prefer", []uint32{authSSLRequestCode}},
		{"require", []uint32{authSSLRequestCode}},
	} {
		p := startClientBytesProxy(t, c.Port)
		authWant(t, c.DSN(pgcluster.SuperUser, "", "port="+strconv.Itoa(p.port), "sslmode="+tc.mode),
			"postgres "+strconv.FormatBool(tc.first[0] == authSSLRequestCode))
		if got := tlsFirstPackets(p.finish(t)); !slices.Equal(got, tc.first) {
			t.Errorf("sslmode=%s: connections began with %v, want %v", tc.mode, got, tc.first)
		}
	}
}

// tlsFirstPackets returns the code of each connection's first packet.
func tlsFirstPackets(sent [][]byte) []uint32 {
	codes := make([]uint32, len(sent))
	for i, b := range sent {
		codes[i], _ = authFrontendMessages(b)
	}
	return codes
}

func TestVerifyFullRejectsACertificateForAnotherHost(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=verify-full", "sslrootcert="+c.CAFile, "host=wrong.example", "hostaddr=127.0.0.1"),
		"verify-full", "wrong.example", "localhost")
	// An interceptor's certificate names localhost too, but no trusted CA
	// signed it.
	mitm := startTLSInterceptor(t, c.Port)
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=verify-full", "sslrootcert="+c.CAFile, "host=localhost", "port="+strconv.Itoa(mitm.port)),
		"not trusted")
	// The same interceptor passes sslmode=require, which checks nothing.
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require", "port="+strconv.Itoa(mitm.port)), "postgres true")
}

func TestVerifyCARejectsAServerSignedByAnotherCA(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	for _, mode := range []string{"verify-ca", "verify-full", "require"} {
		authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode="+mode, "sslrootcert="+c.WrongCAFile, "host=localhost"),
			"not trusted", "unknown authority")
	}
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=verify-ca", "sslrootcert="+filepath.Join(t.TempDir(), "missing.crt")),
		"sslrootcert", "missing.crt")
}

// Not parallel: it points HOME at a directory of its own, first without
// and then with ~/.postgresql/root.crt.
func TestVerifyNeedsARootCertificate(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, mode := range []string{"verify-ca", "verify-full"} {
		authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode="+mode, "host=localhost"),
			"sslmode="+mode, "sslrootcert")
	}
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require"), "postgres true")

	// libpq's default root file, ~/.postgresql/root.crt, is used when present.
	rootFile := filepath.Join(home, ".postgresql", "root.crt")
	authCopy(t, c.CAFile, rootFile)
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=verify-full", "host=localhost"), "postgres true")
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=verify-full", "host=wrong.example", "hostaddr=127.0.0.1"), "wrong.example")

	// With a root file, require verifies like verify-ca (as libpq does).
	authCopy(t, c.WrongCAFile, rootFile)
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require"), "not trusted")
}

func TestSSLRootCertSystem(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require", "sslrootcert=system"), "sslrootcert=system", "verify-full")
	// Our CA is not among the system's roots.
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslmode=verify-full", "sslrootcert=system", "host=localhost"), "not trusted")
	// Without sslmode, sslrootcert=system means verify-full.
	authFail(t, c.DSN(pgcluster.SuperUser, "", "sslrootcert=system", "host=localhost"), "not trusted")
}

func TestHostSSLOnlyRole(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	ssl := func(mode string, extra ...string) string {
		return c.DSN(pgcluster.SSLUser, pgcluster.SSLPassword, append([]string{"sslmode=" + mode}, extra...)...)
	}
	authWant(t, ssl("prefer"), "ssluser true")
	authWant(t, ssl("require"), "ssluser true")
	authWant(t, ssl("verify-full", "host=localhost", "sslrootcert="+c.CAFile), "ssluser true")
	err := authFail(t, ssl("disable"), "pg_hba.conf rejects connection", "no encryption")
	if code := authSQLState(err); code != "28000" {
		t.Errorf("sslmode=disable: SQLSTATE %q, want 28000", code)
	}

	// allow: plaintext first; pg_hba.conf rejects it; then TLS.
	p := startClientBytesProxy(t, c.Port)
	authWant(t, ssl("allow", "port="+strconv.Itoa(p.port)), "ssluser true")
	if got, want := tlsFirstPackets(p.finish(t)), []uint32{authStartupCode, authSSLRequestCode}; !slices.Equal(got, want) {
		t.Errorf("sslmode=allow: connections began with %v, want %v", got, want)
	}
	// A wrong password is not a reason to try again in plaintext.
	p = startClientBytesProxy(t, c.Port)
	authFail(t, c.DSN(pgcluster.SSLUser, authWrongPassword, "sslmode=prefer", "port="+strconv.Itoa(p.port)), "password authentication failed")
	if got, want := tlsFirstPackets(p.finish(t)), []uint32{authSSLRequestCode}; !slices.Equal(got, want) {
		t.Errorf("sslmode=prefer, wrong password: connections began with %v, want %v", got, want)
	}
}

// startTLSTestCluster starts a cluster of the test's own, stopped when the
// test ends.
func startTLSTestCluster(t *testing.T, opt pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, opt)
	if err != nil {
		t.Fatalf("starting a second cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the second cluster: %v", err)
		}
	})
	return c
}

func TestServerWithoutTLS(t *testing.T) {
	main := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	c := startTLSTestCluster(t, pgcluster.Options{})
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=disable"), "postgres false")
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=allow"), "postgres false")
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=prefer"), "postgres false")
	authWant(t, c.DSN(pgcluster.SuperUser, ""), "postgres false")
	authWant(t, c.DSN(pgcluster.ScramUser, pgcluster.ScramPassword), "scramuser false")
	for _, extra := range [][]string{
		{"sslmode=require"},
		{"sslmode=verify-ca", "sslrootcert=" + main.CAFile},
		{"sslmode=verify-full", "sslrootcert=" + main.CAFile, "host=localhost"},
	} {
		authFail(t, c.DSN(pgcluster.SuperUser, "", extra...), "does not support TLS")
	}
}

func TestSSLSNISendsTheHostNameOnlyWhenAsked(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require", "host=localhost", "sslsni=0"), "postgres true")
	authWant(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require", "host=localhost", "sslsni=1"), "postgres true")

	// What the server cannot show, an interceptor can.
	mitm := startTLSInterceptor(t, c.Port)
	port := "port=" + strconv.Itoa(mitm.port)
	for _, extra := range [][]string{
		{"host=localhost", "sslsni=1"},
		{"host=localhost"}, // the default is 1
		{"host=localhost", "sslsni=0"},
		{"host=127.0.0.1", "sslsni=1"}, // never an IP address
		{"host=localhost", "hostaddr=127.0.0.1"},
	} {
		authWant(t, c.DSN(pgcluster.SuperUser, "", append(extra, "sslmode=require", port)...), "postgres true")
	}
	if got, want := mitm.serverNames(), []string{"localhost", "localhost", "", "", "localhost"}; !slices.Equal(got, want) {
		t.Errorf("SNI sent: %q, want %q", got, want)
	}
}

func TestSSLMinProtocolVersion(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	const versionQuery = "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
	v, err := authQuery(t, c.DSN(pgcluster.SuperUser, "", "sslmode=require", "ssl_min_protocol_version=TLSv1.3"), versionQuery)
	if err != nil || v != "TLSv1.3" {
		t.Errorf("ssl_min_protocol_version=TLSv1.3: version %q, %v; want TLSv1.3", v, err)
	}
	// A server that stops at TLS 1.2 shows the setting is enforced.
	old := startTLSTestCluster(t, pgcluster.Options{TLS: true, Settings: map[string]string{"ssl_max_protocol_version": "TLSv1.2"}})
	v, err = authQuery(t, old.DSN(pgcluster.SuperUser, "", "sslmode=require"), versionQuery)
	if err != nil || v != "TLSv1.2" {
		t.Errorf("a TLS 1.2 server: version %q, %v; want TLSv1.2", v, err)
	}
	authFail(t, old.DSN(pgcluster.SuperUser, "", "sslmode=require", "ssl_min_protocol_version=TLSv1.3"), "protocol version")
	// prefer goes on in plaintext when the handshake fails, as libpq does.
	authWant(t, old.DSN(pgcluster.SuperUser, "", "sslmode=prefer", "ssl_min_protocol_version=TLSv1.3"), "postgres false")
}

func TestCancelOverTLSKeepsTheSession(t *testing.T) {
	c := needCluster(t, "its server certificates and CA, TLS settings and pg_hba.conf lines")
	t.Parallel()
	p := startClientBytesProxy(t, c.Port)
	// A long grace period: the server's answer to the cancel comes within
	// it on any machine.
	db, err := sql.Open("pgpipe", c.DSN(pgcluster.SuperUser, "", "sslmode=require", "port="+strconv.Itoa(p.port), "cancel_grace=120s"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	var ssl bool
	if err := conn.QueryRowContext(context.Background(), "SELECT pid, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&pid, &ssl); err != nil || !ssl {
		t.Fatalf("session: ssl %v, %v", ssl, err)
	}

	// The deadline passes once the server runs the statement.
	ctx := cancelWhenSleeping(t, openDB(t), pid)
	_, err = conn.ExecContext(ctx, "SELECT pg_sleep(600)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pg_sleep(600) past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if authSQLState(err) != "57014" {
		t.Errorf("the server did not confirm the cancel (SQLSTATE %q): %v", authSQLState(err), err)
	}

	var pid2 int
	if err := conn.QueryRowContext(context.Background(), "SELECT pid FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl").Scan(&pid2); err != nil || pid2 != pid {
		t.Fatalf("after the cancel: backend %d, %v; want the same TLS session (backend %d)", pid2, err, pid)
	}
	conn.Close()
	db.Close()
	// The session and the CancelRequest both began with an SSLRequest: no
	// CancelRequest went over the network in plaintext.
	if got, want := tlsFirstPackets(p.finish(t)), []uint32{authSSLRequestCode, authSSLRequestCode}; !slices.Equal(got, want) {
		t.Errorf("connections began with %v, want %v (the session, then the cancel over TLS); %d is a plaintext CancelRequest",
			got, want, authCancelCode)
	}
}

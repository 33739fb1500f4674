package integration_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// These tests log in as each role of the throwaway cluster, whose
// pg_hba.conf picks the authentication method by role (see
// internal/pgcluster's package documentation), and check both what the
// user sees and, through a relaying proxy, what the driver sent.

// authWrongPassword is the wrong password the tests try.
const authWrongPassword = "not-the-Password-42"

// authSecrets must never appear in an error.
var authSecrets = []string{
	pgcluster.MD5Password, pgcluster.ScramPassword, pgcluster.CleartextPassword,
	pgcluster.SSLPassword, pgcluster.SuperPassword, authWrongPassword,
}

// sslTruthQuery tells who the session is and whether the server sees TLS.
const sslTruthQuery = "SELECT current_user || ' ' || ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

// authQuery opens a pool on dsn as a user would, runs query and returns its
// one value as text. A failed attempt must not hang, must leave no
// connection in the pool, and its error must never show a password.
func authQuery(t *testing.T, dsn, query string) (string, error) {
	t.Helper()
	db, err := sql.Open("pgpipe", dsn)
	if err != nil {
		authCheckNoSecret(t, err)
		return "", err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v string
	err = db.QueryRowContext(ctx, query).Scan(&v)
	if err != nil {
		if ctx.Err() != nil {
			t.Errorf("connecting did not finish within 30s: %v", err)
		}
		authCheckNoSecret(t, err)
		if n := db.Stats().OpenConnections; n != 0 {
			t.Errorf("after the failed attempt the pool holds %d connections, want 0", n)
		}
	}
	return v, err
}

// authWant runs sslTruthQuery on dsn and fails unless it answers want
// ("scramuser true").
func authWant(t *testing.T, dsn, want string) {
	t.Helper()
	got, err := authQuery(t, dsn, sslTruthQuery)
	if err != nil {
		t.Errorf("%s: %v", authShowDSN(dsn), err)
		return
	}
	if got != want {
		t.Errorf("%s: session is %q, want %q", authShowDSN(dsn), got, want)
	}
}

// authFail runs a query on dsn, which must fail, and returns the error
// after checking that its text holds every one of want.
func authFail(t *testing.T, dsn string, want ...string) error {
	t.Helper()
	got, err := authQuery(t, dsn, sslTruthQuery)
	if err == nil {
		t.Errorf("%s: connected (%q), want an error", authShowDSN(dsn), got)
		return nil
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", authShowDSN(dsn), err, w)
		}
	}
	return err
}

// authShowDSN hides the password of a keyword/value DSN in test output.
func authShowDSN(dsn string) string {
	for _, s := range authSecrets {
		dsn = strings.ReplaceAll(dsn, s, "***")
	}
	return dsn
}

func authCheckNoSecret(t *testing.T, err error) {
	t.Helper()
	text := err.Error() + fmt.Sprintf(" %+v %#v", err, err)
	var ce *pgpipe.ConnectError
	if errors.As(err, &ce) {
		for _, a := range ce.Attempts {
			text += fmt.Sprintf(" %#v", a.Err)
		}
	}
	for _, s := range authSecrets {
		if strings.Contains(text, s) {
			t.Errorf("the error shows a password: %v", err)
		}
	}
}

// authSQLState returns the SQLSTATE of the server error inside err, or "".
func authSQLState(err error) string {
	var e *pgpipe.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestPasswordMethodsAcceptTheRightPasswordAndRejectAWrongOne(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Parallel()
	for _, u := range []struct{ user, password string }{
		{pgcluster.MD5User, pgcluster.MD5Password},
		{pgcluster.ScramUser, pgcluster.ScramPassword},
		{pgcluster.CleartextUser, pgcluster.CleartextPassword},
	} {
		for _, mode := range []string{"disable", "require"} {
			ssl := strconv.FormatBool(mode == "require")
			authWant(t, c.DSN(u.user, u.password, "sslmode="+mode, "passfile=/nonexistent"), u.user+" "+ssl)

			err := authFail(t, c.DSN(u.user, authWrongPassword, "sslmode="+mode, "passfile=/nonexistent"),
				`password authentication failed for user "`+u.user+`"`)
			if code := authSQLState(err); code != "28P01" {
				t.Errorf("%s, sslmode=%s, wrong password: SQLSTATE %q, want 28P01 (invalid_password); error %v", u.user, mode, code, err)
			}
			var ce *pgpipe.ConnectError
			if err != nil && !errors.As(err, &ce) {
				t.Errorf("%s, sslmode=%s: error %T is not a *pgpipe.ConnectError", u.user, mode, err)
			}
		}
	}
}

// Not parallel: it clears PGPASSWORD.
func TestMissingPasswordSaysHowToSetOne(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Setenv("PGPASSWORD", "")
	p := startClientBytesProxy(t, c.Port)
	for _, user := range []string{pgcluster.MD5User, pgcluster.ScramUser, pgcluster.CleartextUser} {
		err := authFail(t, c.DSN(user, "", "port="+strconv.Itoa(p.port), "sslmode=disable", "passfile=/nonexistent"),
			"no password was given", "PGPASSWORD", "passfile")
		if code := authSQLState(err); code != "" {
			t.Errorf("%s: the server was asked (SQLSTATE %s); the driver should stop by itself", user, code)
		}
	}
	for i, sent := range p.finish(t) {
		if code, types := authFrontendMessages(sent); code != authStartupCode || strings.Contains(types, "p") {
			t.Errorf("connection %d sent request %d and messages %q; want a StartupMessage and no password message", i, code, types)
		}
	}
}

// authPassfile writes lines to a new password file with mode perm.
func authPassfile(t *testing.T, perm os.FileMode, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is subject to the umask
		t.Fatal(err)
	}
	return path
}

func TestPassfileEntriesMatchHostPortDatabaseAndUser(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Parallel()
	port := strconv.Itoa(c.Port)
	pass := authPassfile(t, 0o600,
		"# host:port:database:username:password",
		"127.0.0.1:"+strconv.Itoa(deadPort(t))+":*:*:wrong-port",
		"localhost:*:*:"+pgcluster.MD5User+":wrong-host",
		"*:*:otherdb:*:wrong-database",
		"*:*:*:nobody:wrong-user",
		"127.0.0.1:"+port+":pgpipe:"+pgcluster.MD5User+":"+pgcluster.MD5Password,
		"*:"+port+":pgpipe:"+pgcluster.ScramUser+":"+pgcluster.ScramPassword,
		"127.0.0.1:*:*:"+pgcluster.CleartextUser+":"+pgcluster.CleartextPassword,
		"localhost:"+port+":pgpipe:"+pgcluster.SSLUser+":"+pgcluster.SSLPassword,
		"*:*:*:*:"+authWrongPassword,
	)
	for _, tc := range []struct {
		user, host, db string
		want           string // the session, or "" when the password found is wrong
	}{
		{pgcluster.MD5User, "127.0.0.1", "pgpipe", "md5user false"},      // every field exact
		{pgcluster.ScramUser, "127.0.0.1", "pgpipe", "scramuser false"},  // host wildcard
		{pgcluster.CleartextUser, "127.0.0.1", "pgpipe", "pwuser false"}, // port and database wildcards
		{pgcluster.SSLUser, "localhost", "pgpipe", "ssluser true"},       // the host name, not its address
		{pgcluster.ScramUser, "localhost", "pgpipe", "scramuser false"},  // host wildcard again
		{pgcluster.MD5User, "localhost", "pgpipe", ""},                   // the localhost line comes first
		{pgcluster.SSLUser, "127.0.0.1", "pgpipe", ""},                   // only the catch-all matches
		{pgcluster.MD5User, "127.0.0.1", "postgres", ""},                 // the database field counts
	} {
		mode := "disable"
		if tc.user == pgcluster.SSLUser {
			mode = "require"
		}
		d := c.DSN(tc.user, "", "host="+tc.host, "dbname="+tc.db, "sslmode="+mode, "passfile="+pass)
		if tc.want != "" {
			authWant(t, d, tc.want)
			continue
		}
		err := authFail(t, d, "password authentication failed")
		if code := authSQLState(err); err != nil && code != "28P01" {
			t.Errorf("%s: SQLSTATE %q, want 28P01", d, code)
		}
	}
}

func TestGroupReadablePassfileIsIgnored(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Parallel()
	line := "*:*:*:" + pgcluster.ScramUser + ":" + pgcluster.ScramPassword
	open := authPassfile(t, 0o640, line)
	d := c.DSN(pgcluster.ScramUser, "", "sslmode=disable", "passfile="+open)
	authFail(t, d, "no password was given")

	// The driver says why, through Config.Logger.
	cfg, err := pgpipe.ParseDSN(d)
	if err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Fatal("connected with a group-readable passfile")
	}
	if got := log.String(); !strings.Contains(got, "passfile") || !strings.Contains(got, "group or world access") {
		t.Errorf("log does not say the passfile was ignored for its permissions:\n%s", got)
	}
	if n := db.Stats().OpenConnections; n != 0 {
		t.Errorf("after the failed attempt the pool holds %d connections, want 0", n)
	}

	// The same entry in a private file works.
	private := authPassfile(t, 0o600, line)
	authWant(t, c.DSN(pgcluster.ScramUser, "", "sslmode=disable", "passfile="+private), "scramuser false")
}

// Not parallel: it sets PGPASSWORD.
func TestPGPASSWORDSuppliesThePassword(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Setenv("PGPASSWORD", pgcluster.ScramPassword)
	authWant(t, c.DSN(pgcluster.ScramUser, "", "sslmode=disable", "passfile=/nonexistent"), "scramuser false")

	// PGPASSWORD comes before the passfile, as in libpq.
	wrongFile := authPassfile(t, 0o600, "*:*:*:*:"+authWrongPassword)
	authWant(t, c.DSN(pgcluster.ScramUser, "", "sslmode=disable", "passfile="+wrongFile), "scramuser false")

	// The DSN's password comes before PGPASSWORD.
	t.Setenv("PGPASSWORD", authWrongPassword)
	authWant(t, c.DSN(pgcluster.ScramUser, pgcluster.ScramPassword, "sslmode=disable"), "scramuser false")
	err := authFail(t, c.DSN(pgcluster.ScramUser, "", "sslmode=disable", "passfile=/nonexistent"), "password authentication failed")
	if code := authSQLState(err); code != "28P01" {
		t.Errorf("wrong PGPASSWORD: SQLSTATE %q, want 28P01", code)
	}
}

func TestRequireAuthRefusesMethodsBeforeSendingAPassword(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Parallel()
	users := map[string]string{
		pgcluster.MD5User: pgcluster.MD5Password, pgcluster.ScramUser: pgcluster.ScramPassword,
		pgcluster.CleartextUser: pgcluster.CleartextPassword, pgcluster.SuperUser: "",
	}
	for _, tc := range []struct {
		requireAuth, user string
		ok                bool
	}{
		{"scram-sha-256", pgcluster.ScramUser, true},
		{"scram-sha-256", pgcluster.MD5User, false},
		{"scram-sha-256", pgcluster.CleartextUser, false},
		{"scram-sha-256", pgcluster.SuperUser, false}, // trust: no authentication at all
		{"!password", pgcluster.CleartextUser, false},
		{"!password", pgcluster.MD5User, true},
		{"!password", pgcluster.ScramUser, true},
		{"!password", pgcluster.SuperUser, true},
		{"none", pgcluster.SuperUser, true},
		{"none", pgcluster.MD5User, false},
		{"none", pgcluster.ScramUser, false},
		{"none", pgcluster.CleartextUser, false},
		{"md5", pgcluster.ScramUser, false},
		{"md5", pgcluster.MD5User, true},
		{"md5", pgcluster.SuperUser, false},
		{"md5,scram-sha-256", pgcluster.ScramUser, true},
		{"md5,scram-sha-256", pgcluster.MD5User, true},
		{"!none", pgcluster.SuperUser, false},
	} {
		t.Run(tc.requireAuth+"/"+tc.user, func(t *testing.T) {
			t.Parallel()
			p := startClientBytesProxy(t, c.Port)
			d := c.DSN(tc.user, users[tc.user], "port="+strconv.Itoa(p.port), "sslmode=disable", "require_auth="+tc.requireAuth)
			if tc.ok {
				authWant(t, d, tc.user+" false")
			} else if err := authFail(t, d, "require_auth"); err != nil && authSQLState(err) != "" {
				t.Errorf("the refusal is a server error: %v", err)
			}
			sent := p.finish(t)
			if len(sent) != 1 {
				t.Fatalf("the driver opened %d connections, want 1", len(sent))
			}
			code, types := authFrontendMessages(sent[0])
			if code != authStartupCode {
				t.Fatalf("first request %d, want a StartupMessage (%d)", code, authStartupCode)
			}
			// A password method answers with a 'p' message; a refusal
			// must come before it.
			wantP := tc.ok && users[tc.user] != ""
			if strings.Contains(types, "p") != wantP {
				t.Errorf("the driver sent messages %q; want a password message: %v", types, wantP)
			}
		})
	}
}

func TestChannelBindingRequire(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Parallel()
	scram := func(extra ...string) string {
		return c.DSN(pgcluster.ScramUser, pgcluster.ScramPassword, append([]string{"passfile=/nonexistent"}, extra...)...)
	}
	authWant(t, scram("sslmode=require", "channel_binding=require"), "scramuser true")
	authWant(t, scram("sslmode=verify-full", "host=localhost", "sslrootcert="+c.CAFile, "channel_binding=require"), "scramuser true")
	authWant(t, scram("sslmode=require", "channel_binding=disable"), "scramuser true")
	authWant(t, scram("sslmode=disable", "channel_binding=prefer"), "scramuser false")

	authFail(t, scram("sslmode=disable", "channel_binding=require"), "channel_binding=require", "TLS")
	for _, d := range []string{
		c.DSN(pgcluster.MD5User, pgcluster.MD5Password, "sslmode=require", "channel_binding=require"),
		c.DSN(pgcluster.CleartextUser, pgcluster.CleartextPassword, "sslmode=require", "channel_binding=require"),
		c.DSN(pgcluster.SuperUser, "", "sslmode=require", "channel_binding=require"),
	} {
		if err := authFail(t, d, "channel_binding=require"); authSQLState(err) != "" {
			t.Errorf("%s: the refusal is a server error: %v", authShowDSN(d), err)
		}
	}
}

// The server checks the binding only when the client used
// SCRAM-SHA-256-PLUS: through an interceptor holding another certificate,
// a bound login fails on the server's side and an unbound one succeeds.
func TestChannelBindingDetectsAnInterceptedTLSSession(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	t.Parallel()
	mitm := startTLSInterceptor(t, c.Port)
	d := func(binding string) string {
		return c.DSN(pgcluster.ScramUser, pgcluster.ScramPassword, "port="+strconv.Itoa(mitm.port), "sslmode=require", binding)
	}
	authWant(t, d("channel_binding=disable"), "scramuser true")
	for _, binding := range []string{"channel_binding=require", "channel_binding=prefer", ""} {
		err := authFail(t, d(binding), "channel binding")
		var e *pgpipe.Error
		if err != nil && !errors.As(err, &e) {
			t.Errorf("%s through an interceptor: %v; want the server's refusal", binding, err)
		}
	}
	if got := mitm.handshakes(); got != 4 {
		t.Errorf("the interceptor saw %d TLS handshakes, want 4 (one per attempt, no plaintext retry)", got)
	}
}

// Not parallel: it points HOME at an empty directory, so no
// ~/.postgresql/postgresql.crt is sent by default, and then at one that
// holds the client certificate.
func TestCertAuthenticationNeedsTheClientCertificate(t *testing.T) {
	c := needCluster(t, "its roles with known passwords for each authentication method, and its pg_hba.conf")
	home := t.TempDir()
	t.Setenv("HOME", home)
	withCert := []string{"sslcert=" + c.ClientCertFile, "sslkey=" + c.ClientKeyFile}
	cert := func(extra ...string) string { return c.DSN(pgcluster.CertUser, "", append(extra, withCert...)...) }
	authWant(t, cert("sslmode=verify-full", "host=localhost", "sslrootcert="+c.CAFile), "certuser true")
	authWant(t, cert("sslmode=require"), "certuser true")
	authWant(t, cert(), "certuser true") // the default sslmode, prefer

	for _, mode := range [][]string{
		{"sslmode=require"},
		{"sslmode=verify-full", "host=localhost", "sslrootcert=" + c.CAFile},
		{"sslmode=prefer"},
	} {
		err := authFail(t, c.DSN(pgcluster.CertUser, "", mode...), "client certificate")
		if code := authSQLState(err); code != "28000" {
			t.Errorf("%v without a client certificate: SQLSTATE %q, want 28000; error %v", mode, code, err)
		}
	}
	// With a certificate but no TLS, pg_hba.conf rejects certuser.
	err := authFail(t, cert("sslmode=disable"), "no encryption")
	if code := authSQLState(err); code != "28000" {
		t.Errorf("sslmode=disable: SQLSTATE %q, want 28000", code)
	}

	// libpq's default files: ~/.postgresql/postgresql.crt and .key.
	dir := filepath.Join(home, ".postgresql")
	authCopy(t, c.ClientCertFile, filepath.Join(dir, "postgresql.crt"))
	authCopy(t, c.ClientKeyFile, filepath.Join(dir, "postgresql.key"))
	authWant(t, c.DSN(pgcluster.CertUser, "", "sslmode=require"), "certuser true")
}

// authCopy copies a file, creating dst's directory, with mode 0600.
func authCopy(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The request codes of the first packet a client sends (PostgreSQL
// protocol, "Message Formats").
const (
	authStartupCode    = 196608   // StartupMessage, protocol 3.0
	authSSLRequestCode = 80877103 // SSLRequest
	authCancelCode     = 80877102 // CancelRequest
)

// authFrontendMessages parses what a client sent: the code of its first packet
// and, when that is a StartupMessage, the type byte of each message after
// it. After an SSLRequest the rest is TLS and is not parsed.
func authFrontendMessages(b []byte) (code uint32, types string) {
	if len(b) < 8 {
		return 0, ""
	}
	n := binary.BigEndian.Uint32(b)
	code = binary.BigEndian.Uint32(b[4:])
	if code != authStartupCode || int(n) > len(b) {
		return code, ""
	}
	var sb strings.Builder
	for rest := b[n:]; len(rest) >= 5; {
		sb.WriteByte(rest[0])
		size := int(binary.BigEndian.Uint32(rest[1:]))
		if size < 4 || 1+size > len(rest) {
			sb.WriteString("?") // a truncated message
			break
		}
		rest = rest[1+size:]
	}
	return code, sb.String()
}

// clientBytesProxy relays TCP connections from a loopback port to the
// cluster and keeps the bytes each client sent.
type clientBytesProxy struct {
	port int
	ln   net.Listener
	wg   sync.WaitGroup // the accept loop and one per relayed connection

	mu   sync.Mutex // guards sent; held only to append or copy
	sent []*logBuffer
}

// startClientBytesProxy listens on a free loopback port, relaying to the
// cluster's port. The accept goroutine and the relays stop at finish (or
// when the test ends), once the clients have closed their connections.
func startClientBytesProxy(t *testing.T, serverPort int) *clientBytesProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &clientBytesProxy{port: ln.Addr().(*net.TCPAddr).Port, ln: ln}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(serverPort))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			rec := &logBuffer{}
			p.mu.Lock()
			p.sent = append(p.sent, rec)
			p.mu.Unlock()
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				if server, err := net.Dial("tcp", target); err == nil {
					authRelay(client, server, rec)
				}
				client.Close()
			}()
		}
	}()
	t.Cleanup(func() { p.finish(t) })
	return p
}

// finish stops accepting, waits until every relayed connection has ended
// (the clients must have closed theirs) and returns what each client sent,
// in the order they connected.
func (p *clientBytesProxy) finish(t *testing.T) [][]byte {
	t.Helper()
	p.ln.Close()
	authWait(t, &p.wg, "a connection through the proxy stayed open: the driver did not close a socket")
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.sent))
	for i, r := range p.sent {
		out[i] = []byte(r.String())
	}
	return out
}

// authWait waits for wg, failing the test if that takes more than 30
// seconds, which only a leaked connection would.
func authWait(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal(what)
	}
}

// authRelay copies between a and b until either side ends, then closes both.
// What a sends is also written to rec when rec is not nil.
func authRelay(a, b net.Conn, rec io.Writer) {
	done := make(chan struct{}, 2)
	var toB io.Writer = b
	if rec != nil {
		toB = io.MultiWriter(b, rec)
	}
	go func() { _, _ = io.Copy(toB, a); done <- struct{}{} }()
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	<-done
	a.Close()
	b.Close()
	<-done
}

// tlsInterceptor stands between the driver and the cluster as an attacker
// would: it answers the driver's SSLRequest itself, completes the
// handshake with a self-signed certificate of its own, opens its own TLS
// session to the server and relays the plaintext between the two. It
// records the server name (SNI) of each handshake it accepts.
type tlsInterceptor struct {
	port int
	ln   net.Listener
	wg   sync.WaitGroup // the accept loop and one per relayed connection

	mu    sync.Mutex // guards names
	names []string
}

// startTLSInterceptor listens on a free loopback port, relaying to the
// cluster's port; it stops when the test ends.
func startTLSInterceptor(t *testing.T, serverPort int) *tlsInterceptor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &tlsInterceptor{port: ln.Addr().(*net.TCPAddr).Port, ln: ln}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{authSelfSignedCert(t)},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			m.mu.Lock()
			m.names = append(m.names, hello.ServerName)
			m.mu.Unlock()
			return nil, nil
		},
	}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(serverPort))
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				defer client.Close()
				m.intercept(client, cfg, target)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		authWait(t, &m.wg, "a connection through the interceptor stayed open: the driver did not close a socket")
	})
	return m
}

// intercept serves one client connection; errors just end it.
func (m *tlsInterceptor) intercept(client net.Conn, cfg *tls.Config, target string) {
	var req [8]byte
	if _, err := io.ReadFull(client, req[:]); err != nil || binary.BigEndian.Uint32(req[4:]) != authSSLRequestCode {
		return
	}
	if _, err := client.Write([]byte{'S'}); err != nil {
		return
	}
	front := tls.Server(client, cfg)
	if err := front.Handshake(); err != nil {
		return
	}
	raw, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer raw.Close()
	var answer [1]byte
	if _, err := raw.Write(req[:]); err != nil {
		return
	}
	if _, err := io.ReadFull(raw, answer[:]); err != nil || answer[0] != 'S' {
		return
	}
	back := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	if err := back.Handshake(); err != nil {
		return
	}
	authRelay(front, back, nil)
}

// handshakes returns how many TLS handshakes clients began.
func (m *tlsInterceptor) handshakes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.names)
}

// serverNames returns the SNI each client sent ("" for none), in order.
func (m *tlsInterceptor) serverNames() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.names...)
}

// authSelfSignedCert makes a certificate for localhost and 127.0.0.1 that no
// CA signed.
func authSelfSignedCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

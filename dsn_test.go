package pgpipe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeEnv is a parseEnv with the given environment variables, OS user
// alice, home /home/alice and no local server socket.
func fakeEnv(vars map[string]string) parseEnv {
	return parseEnv{
		getenv:   func(key string) string { return vars[key] },
		osUser:   func() (string, error) { return "alice", nil },
		passfile: func() string { return "/home/alice/.pgpass" },
		exists:   func(string) bool { return false },
	}
}

// defaultConfig is what fakeEnv and an empty DSN give.
func defaultConfig() *Config {
	return &Config{
		Hosts:                 []Host{{Name: "localhost", Port: 5432}},
		Database:              "alice",
		User:                  "alice",
		Passfile:              "/home/alice/.pgpass",
		SSLMode:               SSLPrefer,
		SSLSNI:                true,
		SSLMinProtocolVersion: "TLSv1.2",
		ChannelBinding:        "prefer",
		TargetSessionAttrs:    TargetAny,
		LoadBalanceHosts:      "disable",
		KeepAlives:            true,
		RuntimeParams:         map[string]string{},
		PrepareThreshold:      5,
		PreparedMax:           100,
		CancelGrace:           5 * time.Second,
	}
}

// configDiff returns the fields in which a and b differ ("" when equal),
// treating nil and empty RuntimeParams alike.
func configDiff(a, b *Config) string {
	if a == nil || b == nil {
		if a == b {
			return ""
		}
		return fmt.Sprintf("one is nil: %v / %v", a, b)
	}
	va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	var diffs []string
	for i := 0; i < va.NumField(); i++ {
		name := va.Type().Field(i).Name
		if !va.Type().Field(i).IsExported() {
			continue // runtime state, not configuration
		}
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if name == "RuntimeParams" && len(a.RuntimeParams) == 0 && len(b.RuntimeParams) == 0 {
			continue
		}
		if va.Field(i).Kind() == reflect.Func {
			if va.Field(i).IsNil() != vb.Field(i).IsNil() {
				diffs = append(diffs, name)
			}
			continue
		}
		if !reflect.DeepEqual(fa, fb) {
			diffs = append(diffs, fmt.Sprintf("%s: %#v != %#v", name, fa, fb))
		}
	}
	return strings.Join(diffs, "; ")
}

func mustParse(t *testing.T, dsn string, env parseEnv) *Config {
	t.Helper()
	c, err := parseDSN(dsn, env)
	if err != nil {
		t.Fatalf("parseDSN(%q): %v", dsn, err)
	}
	return c
}

type parseCase struct {
	dsn  string
	want func(c *Config) // changes to defaultConfig()
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.dsn, func(t *testing.T) {
			want := defaultConfig()
			tc.want(want)
			got := mustParse(t, tc.dsn, fakeEnv(nil))
			if d := configDiff(got, want); d != "" {
				t.Errorf("parseDSN(%q) differs from the expected Config: %s", tc.dsn, d)
			}
		})
	}
}

func TestParseDSNReadsKeywordValueForm(t *testing.T) {
	runParseCases(t, []parseCase{
		{"", func(c *Config) {}},
		{"   \t\n ", func(c *Config) {}},
		{"host=db.example port=5433 dbname=app user=bob password=pw", func(c *Config) {
			c.Hosts = []Host{{Name: "db.example", Port: 5433}}
			c.Database, c.User, c.Password = "app", "bob", "pw"
		}},
		{"user = bob  dbname\t=\tapp", func(c *Config) { c.User, c.Database = "bob", "app" }},
		{`password='it\'s a \\ secret' application_name='my app'`, func(c *Config) {
			c.Password, c.ApplicationName = `it's a \ secret`, "my app"
		}},
		{`password=a\ b\'c`, func(c *Config) { c.Password = `a b'c` }},
		{`options=x'y application_name=''`, func(c *Config) { c.Options = "x'y" }},
		{"password=a=b", func(c *Config) { c.Password = "a=b" }},
		{"host=a dbname=x host=b", func(c *Config) { c.Hosts[0].Name = "b"; c.Database = "x" }},
		{"dbname='' user=bob", func(c *Config) { c.User, c.Database = "bob", "bob" }},
		{"user='bob'dbname=x", func(c *Config) { c.User, c.Database = "bob", "x" }},
		{"host=/var/run/postgresql port=5433", func(c *Config) {
			c.Hosts = []Host{{Name: "/var/run/postgresql", Port: 5433}}
		}},
		{"host=a,b,c port=5433", func(c *Config) {
			c.Hosts = []Host{{Name: "a", Port: 5433}, {Name: "b", Port: 5433}, {Name: "c", Port: 5433}}
		}},
		{"host=a,b port=1,", func(c *Config) { c.Hosts = []Host{{Name: "a", Port: 1}, {Name: "b", Port: 5432}} }},
		{"hostaddr=10.0.0.1,::1", func(c *Config) {
			c.Hosts = []Host{{Addr: "10.0.0.1", Port: 5432}, {Addr: "::1", Port: 5432}}
		}},
		{"host=a,b hostaddr=10.0.0.1, port=1,2", func(c *Config) {
			c.Hosts = []Host{{Name: "a", Addr: "10.0.0.1", Port: 1}, {Name: "b", Port: 2}}
		}},
		{"host=a,,b", func(c *Config) {
			c.Hosts = []Host{{Name: "a", Port: 5432}, {Name: "localhost", Port: 5432}, {Name: "b", Port: 5432}}
		}},
		{"search_path=app TimeZone=UTC timezone=Europe/Paris statement_timeout='5 s'", func(c *Config) {
			c.RuntimeParams = map[string]string{"search_path": "app", "timezone": "Europe/Paris", "statement_timeout": "5 s"}
		}},
		{"sslmode=verify-full sslrootcert=/ca.pem sslcert=/c.pem sslkey=/k.pem sslpassword=kp sslsni=0 ssl_min_protocol_version=tlsv1.3", func(c *Config) {
			c.SSLMode, c.SSLRootCert, c.SSLCert, c.SSLKey, c.SSLPassword = SSLVerifyFull, "/ca.pem", "/c.pem", "/k.pem", "kp"
			c.SSLSNI, c.SSLMinProtocolVersion = false, "TLSv1.3"
		}},
		{"sslrootcert=system", func(c *Config) { c.SSLRootCert, c.SSLMode = "system", SSLVerifyFull }},
		{"channel_binding=require require_auth=scram-sha-256,md5 target_session_attrs=prefer-standby load_balance_hosts=random", func(c *Config) {
			c.ChannelBinding, c.RequireAuth, c.TargetSessionAttrs, c.LoadBalanceHosts = "require", "scram-sha-256,md5", TargetPreferStandby, "random"
		}},
		{"require_auth=!password,!md5", func(c *Config) { c.RequireAuth = "!password,!md5" }},
		{"connect_timeout=10 keepalives=off keepalives_idle=30 keepalives_interval=1500ms keepalives_count=3", func(c *Config) {
			c.ConnectTimeout, c.KeepAlives, c.KeepAlivesIdle = 10*time.Second, false, 30*time.Second
			c.KeepAlivesInterval, c.KeepAlivesCount = 1500*time.Millisecond, 3
		}},
		{"connect_timeout=-1", func(c *Config) {}},
		{"prepare_threshold=none prepared_max=1 cancel_grace=250ms", func(c *Config) {
			c.PrepareThreshold, c.PreparedMax, c.CancelGrace = PrepareNone, 1, 250*time.Millisecond
		}},
		{"prepare_threshold=0 cancel_grace=2", func(c *Config) { c.PrepareThreshold, c.CancelGrace = 0, 2*time.Second }},
		{"fallback_application_name=psql options='-c geqo=off'", func(c *Config) {
			c.FallbackApplicationName, c.Options = "psql", "-c geqo=off"
		}},
		{"client_encoding=utf8 replication=off gssencmode=prefer krbsrvname=x gsslib=gssapi sslcompression=1 tcp_user_timeout=100 sslnegotiation=postgres sslcertmode=allow ssl_max_protocol_version=TLSv1.3 max_protocol_version=latest min_protocol_version=3.0 gssdelegation=0",
			func(c *Config) {}},
	})
}

func TestParseDSNReadsURLForm(t *testing.T) {
	runParseCases(t, []parseCase{
		{"postgres://", func(c *Config) {}},
		{"postgresql://", func(c *Config) {}},
		{"postgres://bob:pw@db.example:5433/app", func(c *Config) {
			c.User, c.Password, c.Database = "bob", "pw", "app"
			c.Hosts = []Host{{Name: "db.example", Port: 5433}}
		}},
		{"postgres://bob@db.example/app", func(c *Config) {
			c.User, c.Database, c.Hosts[0].Name = "bob", "app", "db.example"
		}},
		{"postgres://b%40b:p%3Aw%2F%40@h", func(c *Config) { c.User, c.Password, c.Hosts[0].Name, c.Database = "b@b", "p:w/@", "h", "b@b" }},
		{"postgres://bob:p:w?x@h", func(c *Config) { c.User, c.Password, c.Hosts[0].Name, c.Database = "bob", "p:w?x", "h", "bob" }},
		{"postgres://:pw@h", func(c *Config) { c.Password, c.Hosts[0].Name = "pw", "h" }},
		{"postgres://h1:5433,h2:5434,h3/db", func(c *Config) {
			c.Hosts = []Host{{Name: "h1", Port: 5433}, {Name: "h2", Port: 5434}, {Name: "h3", Port: 5432}}
			c.Database = "db"
		}},
		{"postgres://h1,h2:5434", func(c *Config) { c.Hosts = []Host{{Name: "h1", Port: 5432}, {Name: "h2", Port: 5434}} }},
		{"postgres://[::1]:5433,[fe80::1%25eth0]/db", func(c *Config) {
			c.Hosts = []Host{{Name: "::1", Port: 5433}, {Name: "fe80::1%eth0", Port: 5432}}
			c.Database = "db"
		}},
		{"postgres://[2001:db8::1]", func(c *Config) { c.Hosts[0].Name = "2001:db8::1" }},
		{"postgresql://%2Fvar%2Frun%2Fpostgresql/db", func(c *Config) {
			c.Hosts[0].Name, c.Database = "/var/run/postgresql", "db"
		}},
		{"postgresql:///db?host=/tmp&port=5433", func(c *Config) {
			c.Hosts, c.Database = []Host{{Name: "/tmp", Port: 5433}}, "db"
		}},
		{"postgres://h/db?host=other", func(c *Config) { c.Hosts[0].Name, c.Database = "other", "db" }},
		{"postgres://h/my%20db%2Fx/y", func(c *Config) { c.Hosts[0].Name, c.Database = "h", "my db/x/y" }},
		{"postgres://h/?sslmode=require&application_name=a+b&search_path=%22x%22", func(c *Config) {
			c.Hosts[0].Name, c.SSLMode, c.ApplicationName = "h", SSLRequire, "a+b"
			c.RuntimeParams = map[string]string{"search_path": `"x"`}
		}},
		{"postgres://h?ssl=true", func(c *Config) { c.Hosts[0].Name, c.SSLMode = "h", SSLRequire }},
		{"postgres://h?application_name=&", func(c *Config) { c.Hosts[0].Name = "h" }},
		{"postgres://h?", func(c *Config) { c.Hosts[0].Name = "h" }},
		{"postgres://:5433", func(c *Config) { c.Hosts[0].Port = 5433 }},
		{"postgres://h/db?user=u&password=p%26q&prepare_threshold=none", func(c *Config) {
			c.Hosts[0].Name, c.Database, c.User, c.Password, c.PrepareThreshold = "h", "db", "u", "p&q", PrepareNone
		}},
	})
}

func TestParseDSNUsesEnvironmentOnlyForMissingKeywords(t *testing.T) {
	env := map[string]string{
		"PGHOST": "envhost", "PGPORT": "6000", "PGDATABASE": "envdb", "PGUSER": "envuser",
		"PGPASSWORD": "envpw", "PGPASSFILE": "/env/pgpass", "PGAPPNAME": "envapp",
		"PGCONNECT_TIMEOUT": "7", "PGOPTIONS": "-c x=1", "PGSSLMODE": "require",
		"PGSSLROOTCERT": "/env/ca", "PGSSLCERT": "/env/cert", "PGSSLKEY": "/env/key", "PGSSLSNI": "0",
		"PGSSLMINPROTOCOLVERSION": "TLSv1.3", "PGCHANNELBINDING": "disable", "PGREQUIREAUTH": "md5",
		"PGTARGETSESSIONATTRS": "read-only", "PGLOADBALANCEHOSTS": "random",
		"PGTZ": "UTC", "PGDATESTYLE": "ISO, DMY", "PGGEQO": "default", "PGCLIENTENCODING": "UTF8",
		"PGSERVICE": "ignored",
	}
	for key, val := range env {
		t.Setenv(key, val)
	}
	fromEnv, err := ParseDSN("")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Hosts: []Host{{Name: "envhost", Port: 6000}}, Database: "envdb", User: "envuser", Password: "envpw",
		Passfile: "/env/pgpass", ApplicationName: "envapp", ConnectTimeout: 7 * time.Second, Options: "-c x=1",
		SSLMode: SSLRequire, SSLRootCert: "/env/ca", SSLCert: "/env/cert", SSLKey: "/env/key",
		SSLMinProtocolVersion: "TLSv1.3", ChannelBinding: "disable", RequireAuth: "md5",
		TargetSessionAttrs: TargetReadOnly, LoadBalanceHosts: "random", KeepAlives: true,
		RuntimeParams:    map[string]string{"timezone": "UTC", "datestyle": "ISO, DMY"},
		PrepareThreshold: 5, PreparedMax: 100, CancelGrace: 5 * time.Second,
	}
	if d := configDiff(fromEnv, want); d != "" {
		t.Errorf("ParseDSN(\"\") does not take the environment: %s", d)
	}

	dsn := "host=h port=1 dbname=d user=u password=p passfile=/p application_name='' connect_timeout=0 " +
		"options='' sslmode=disable sslrootcert='' sslcert='' sslkey='' sslsni=1 ssl_min_protocol_version=TLSv1.2 " +
		"channel_binding=prefer require_auth='' target_session_attrs=any load_balance_hosts=disable TimeZone=Asia/Tokyo"
	fromDSN, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	want = &Config{
		Hosts: []Host{{Name: "h", Port: 1}}, Database: "d", User: "u", Password: "p", Passfile: "/p",
		SSLMode: SSLDisable, SSLSNI: true, SSLMinProtocolVersion: "TLSv1.2", ChannelBinding: "prefer",
		TargetSessionAttrs: TargetAny, LoadBalanceHosts: "disable", KeepAlives: true,
		RuntimeParams:    map[string]string{"TimeZone": "Asia/Tokyo", "datestyle": "ISO, DMY"},
		PrepareThreshold: 5, PreparedMax: 100, CancelGrace: 5 * time.Second,
	}
	if d := configDiff(fromDSN, want); d != "" {
		t.Errorf("ParseDSN(%q) lets the environment override the DSN: %s", dsn, d)
	}
}

func TestParseDSNTakesHostaddrFromEnvironmentBesideDSNHost(t *testing.T) {
	c := mustParse(t, "host=db.example", fakeEnv(map[string]string{"PGHOSTADDR": "10.1.2.3"}))
	if want := []Host{{Name: "db.example", Addr: "10.1.2.3", Port: 5432}}; !reflect.DeepEqual(c.Hosts, want) {
		t.Errorf("Hosts = %+v, want %+v", c.Hosts, want)
	}
}

func TestNewConfigEqualsEmptyDSN(t *testing.T) {
	t.Setenv("PGHOST", "somewhere")
	a, errA := NewConfig()
	b, errB := ParseDSN("")
	if errA != nil || errB != nil {
		t.Fatalf("NewConfig: %v; ParseDSN: %v", errA, errB)
	}
	if d := configDiff(a, b); d != "" {
		t.Errorf("NewConfig() != ParseDSN(\"\"): %s", d)
	}
}

func TestParseDSNDefaultsHostToSocketDirectoryWithServerSocket(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	if err := os.WriteFile(filepath.Join(dirs[1], ".s.PGSQL.5433"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirs[2], ".s.PGSQL.5432"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := osParseEnv()
	env.getenv = func(string) string { return "" }
	env.socketDirs = dirs
	for _, tc := range []struct{ dsn, want string }{
		{"", dirs[2]},
		{"port=5433", dirs[1]},
		{"port=5434", "localhost"},
		{"host=a,,b port=1,5433,2", dirs[1]},
		{"hostaddr=127.0.0.1", ""},
	} {
		c := mustParse(t, tc.dsn, env)
		name := c.Hosts[0].Name
		if len(c.Hosts) == 3 {
			name = c.Hosts[1].Name
		}
		if name != tc.want {
			t.Errorf("parseDSN(%q) chose host %q, want %q", tc.dsn, name, tc.want)
		}
	}
}

func TestParseDSNDefaultsUserAndDatabase(t *testing.T) {
	env := fakeEnv(map[string]string{"PGUSER": "envuser"})
	if c := mustParse(t, "", env); c.User != "envuser" || c.Database != "envuser" {
		t.Errorf("User, Database = %q, %q; want envuser twice", c.User, c.Database)
	}
	env = fakeEnv(nil)
	env.osUser = func() (string, error) { return "", errors.New("no such user") }
	_, err := parseDSN("", env)
	var de *DSNError
	if !errors.As(err, &de) || de.Keyword != "user" {
		t.Errorf("with no OS user, parseDSN(\"\") = %v, want a DSNError for user", err)
	}
	if c := mustParse(t, "user=bob", env); c.User != "bob" || c.Database != "bob" {
		t.Errorf("User, Database = %q, %q; want bob twice", c.User, c.Database)
	}
}

func TestParseDSNDefaultsPassfileToHome(t *testing.T) {
	if c := mustParse(t, "", osParseEnv()); c.Passfile == "" && os.Getenv("HOME") != "" && os.Getenv("PGPASSFILE") == "" {
		t.Errorf("Passfile is empty although HOME is %q", os.Getenv("HOME"))
	}
	t.Setenv("PGPASSFILE", "")
	t.Setenv("HOME", "/home/zed")
	if c, err := ParseDSN(""); err != nil || c.Passfile != filepath.Join("/home/zed", ".pgpass") {
		t.Errorf("ParseDSN(\"\") with HOME=/home/zed: Passfile = %q, err %v", c.Passfile, err)
	}
}

const secret = "Sup3rSecret"

type badCase struct {
	dsn     string
	env     map[string]string
	keyword string // "" for a syntax error
	want    string // part of the message
}

var badCases = []badCase{
	{dsn: "port=abc", keyword: "port", want: `port "abc": not a number between 1 and 65535`},
	{dsn: "port=0", keyword: "port", want: "between 1 and 65535"},
	{dsn: "port=65536", keyword: "port", want: "between 1 and 65535"},
	{dsn: "host=a,b port=1,x", keyword: "port", want: "entry 2 of 2"},
	{dsn: "host=a,b port=1,2,3", keyword: "port", want: "could not match 3 port numbers to 2 hosts"},
	{dsn: "port=1,2", keyword: "port", want: "could not match 2 port numbers to 1 hosts"},
	{dsn: "host=a,b hostaddr=1.1.1.1", keyword: "hostaddr", want: "could not match 2 host names to 1 hostaddr values"},
	{dsn: "hostaddr=db.example", keyword: "hostaddr", want: "not a numeric IP address"},
	{dsn: "sslmode=verify", keyword: "sslmode", want: "not one of disable, allow, prefer, require, verify-ca, verify-full"},
	{dsn: "sslmode=require sslrootcert=system", keyword: "sslmode", want: "use verify-full"},
	{dsn: "target_session_attrs=master", keyword: "target_session_attrs", want: "not one of any, read-write"},
	{dsn: "load_balance_hosts=yes", keyword: "load_balance_hosts", want: "not one of disable, random"},
	{dsn: "channel_binding=maybe", keyword: "channel_binding", want: "not one of disable, prefer, require"},
	{dsn: "ssl_min_protocol_version=SSLv3", keyword: "ssl_min_protocol_version", want: "TLSv1.3"},
	{dsn: "ssl_max_protocol_version=TLSv2", keyword: "ssl_max_protocol_version", want: "TLSv1.3"},
	{dsn: "require_auth=kerberos", keyword: "require_auth", want: "not one of password, md5"},
	{dsn: "require_auth=!md5,password", keyword: "require_auth", want: "cannot be mixed"},
	{dsn: "require_auth=md5,md5", keyword: "require_auth", want: "more than once"},
	{dsn: "require_auth=md5,", keyword: "require_auth", want: "not one of"},
	{dsn: "sslsni=maybe", keyword: "sslsni", want: "not a boolean"},
	{dsn: "keepalives=2", keyword: "keepalives", want: "not a boolean"},
	{dsn: "sslcompression=x", keyword: "sslcompression", want: "not a boolean"},
	{dsn: "keepalives_count=-1", keyword: "keepalives_count", want: "0 or more"},
	{dsn: "keepalives_idle=-5s", keyword: "keepalives_idle", want: "negative"},
	{dsn: "keepalives_interval=soon", keyword: "keepalives_interval", want: "Go duration"},
	{dsn: "connect_timeout=10x", keyword: "connect_timeout", want: "Go duration"},
	{dsn: "connect_timeout=99999999999", keyword: "connect_timeout", want: "too many seconds"},
	{dsn: "tcp_user_timeout=-1", keyword: "tcp_user_timeout", want: "0 or more"},
	{dsn: "prepare_threshold=never", keyword: "prepare_threshold", want: `not "none" or a whole number of 0 or more`},
	{dsn: "prepare_threshold=-1", keyword: "prepare_threshold", want: "0 or more"},
	{dsn: "prepared_max=0", keyword: "prepared_max", want: "1 or more"},
	{dsn: "cancel_grace=-1s", keyword: "cancel_grace", want: "negative"},
	{dsn: "cancel_grace=later", keyword: "cancel_grace", want: "Go duration"},
	{dsn: "client_encoding=LATIN1", keyword: "client_encoding", want: "only UTF8"},
	{dsn: "replication=database", keyword: "replication", want: "not supported"},
	{dsn: "replication=true", keyword: "replication", want: "not supported"},
	{dsn: "gssencmode=require", keyword: "gssencmode", want: "GSS encryption is not supported"},
	{dsn: "gssencmode=always", keyword: "gssencmode", want: "not one of disable, prefer, require"},
	{dsn: "gsslib=kerberos", keyword: "gsslib", want: "gssapi, sspi"},
	{dsn: "gssdelegation=x", keyword: "gssdelegation", want: "not a boolean"},
	{dsn: "sslnegotiation=direct", keyword: "sslnegotiation", want: "only postgres"},
	{dsn: "sslcertmode=require", keyword: "sslcertmode", want: "only allow"},
	{dsn: "min_protocol_version=3.2", keyword: "min_protocol_version", want: "only 3.0"},
	{dsn: "max_protocol_version=4", keyword: "max_protocol_version", want: "3.0, 3.2, latest"},
	{dsn: "service=mydb", keyword: "service", want: "pg_service.conf"},
	{dsn: "requirepeer=postgres", keyword: "requirepeer", want: "not supported"},
	{dsn: "sslcrl=/crl.pem", keyword: "sslcrl", want: "revocation"},
	{dsn: "sslcrldir=/crl", keyword: "sslcrldir", want: "revocation"},
	{dsn: "sslkeylogfile=/keys", keyword: "sslkeylogfile", want: "KeyLogWriter"},
	{dsn: "oauth_issuer=https://x", keyword: "oauth_issuer", want: "OAuth"},
	{dsn: "oauth_client_secret=" + secret, keyword: "oauth_client_secret", want: "OAuth"},
	{dsn: "scram_client_key=" + secret, keyword: "scram_client_key", want: "SCRAM"},
	{dsn: "Host=x", want: `unknown keyword "Host": did you mean host?`},
	{dsn: "PASSWORD=" + secret, want: "did you mean password?"},
	{dsn: "search-path=x", want: "invalid keyword at byte"},
	{dsn: "=x", want: "invalid keyword at byte"},
	{dsn: "application_name='a\x00b'", keyword: "application_name", want: "NUL"},
	{dsn: "search_path='a\x00b'", keyword: "search_path", want: "NUL"},
	{dsn: "password='" + secret + "\x00'", keyword: "password", want: "NUL"},
	{dsn: "sslpassword='" + secret + "\x00'", keyword: "sslpassword", want: "NUL"},
	{dsn: "host=x junk", want: `missing "=" after the keyword at byte`},
	{dsn: "password=" + secret + " more words", want: `missing "=" after the keyword`},
	{dsn: "password='" + secret, keyword: "password", want: "unterminated quoted string"},
	{dsn: "password=x unknown='" + secret, want: "unterminated quoted string in the value at byte"},
	{dsn: "port=x", env: map[string]string{"PGPORT": "1"}, keyword: "port", want: `port "x": not`},
	{env: map[string]string{"PGPORT": "abc"}, keyword: "port", want: `port "abc" (from PGPORT): not a number`},
	{env: map[string]string{"PGSSLMODE": "on"}, keyword: "sslmode", want: "(from PGSSLMODE)"},
	{env: map[string]string{"PGCLIENTENCODING": "SQL_ASCII"}, keyword: "client_encoding", want: "(from PGCLIENTENCODING)"},
	{env: map[string]string{"PGGSSENCMODE": "require"}, keyword: "gssencmode", want: "(from PGGSSENCMODE)"},
	{dsn: "postgres://h:abc/db", keyword: "port", want: `port "abc": not a number`},
	{dsn: "postgres://u:" + secret + "@h:abc/db", keyword: "port", want: `port "abc"`},
	{dsn: "postgres://u:" + secret + "@h:5432,h2:x", keyword: "port", want: "entry 2 of 2"},
	{dsn: "postgres://u:Sup3r/Secret@h/db", keyword: "port", want: "port: not a number"},
	{dsn: "postgres://u:Sup3r?Secret=1/x@h", keyword: "port", want: "port: not a number"},
	{dsn: "postgres://u:" + secret + "@h/db?sslmode=bad", keyword: "sslmode", want: `sslmode "bad"`},
	{dsn: "postgres://u:Sup3r%zzSecret@h/db", keyword: "password", want: "invalid percent-encoding"},
	{dsn: "postgres://u:Sup3r%00Secret@h/db", keyword: "password", want: "%00 is not allowed"},
	{dsn: "postgres://u:" + secret + "@h/db?password=Sup3r%zSecret", keyword: "password", want: "invalid percent-encoding"},
	{dsn: "postgres://u:" + secret + "@h/d%4", keyword: "dbname", want: `dbname "d%4": invalid percent-encoding`},
	{dsn: "postgres://u:" + secret + "@[::1", want: `missing "]" after the IPv6 address at byte 25`},
	{dsn: "postgres://u:" + secret + "@[]:5432", want: "empty IPv6 address"},
	{dsn: "postgres://u:" + secret + "@[::1]x", want: "unexpected character at byte 30"},
	{dsn: "postgres://u:" + secret + "@h/db?sslmode", want: `missing "=" in the URL query parameter`},
	{dsn: "postgres://u:" + secret + "@h/db?a=1&&b=2", want: `missing "=" in the URL query parameter`},
	{dsn: "postgres://u:" + secret + "@h/db?options=a=b", want: `extra "="`},
	{dsn: "postgres://u:" + secret + "@h/db?%zz=1", want: "invalid percent-encoding"},
	{dsn: "postgres://u:" + secret + "@h/db?a%20b=1", want: "invalid keyword"},
	{dsn: "postgres://u:" + secret + "@h/db?password=" + secret + "&port=0", keyword: "port", want: `port "0"`},
}

func TestParseDSNRejectsBadValuesWithoutShowingPasswords(t *testing.T) {
	for _, tc := range badCases {
		for _, dsn := range withPasswords(tc.dsn) {
			_, err := parseDSN(dsn, fakeEnv(tc.env))
			var de *DSNError
			if !errors.As(err, &de) {
				t.Errorf("parseDSN(%q) = %v, want a *DSNError", dsn, err)
				continue
			}
			msg := err.Error()
			if de.Keyword != tc.keyword || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "pgpipe: invalid dsn: ") {
				t.Errorf("parseDSN(%q):\n got keyword %q, %s\nwant keyword %q, a message containing %s", dsn, de.Keyword, msg, tc.keyword, tc.want)
			}
			for _, s := range []string{secret, "Sup3r", "Secret"} {
				if strings.Contains(msg, s) {
					t.Errorf("parseDSN(%q) error shows the password: %s", dsn, msg)
				}
			}
		}
	}
}

// withPasswords returns dsn and, for keyword/value DSNs, dsn with a
// password and an sslpassword before and after it.
func withPasswords(dsn string) []string {
	if dsn == "" || strings.HasPrefix(dsn, "postgres") {
		return []string{dsn}
	}
	pw := "password=" + secret + " sslpassword='" + secret + "' "
	if strings.Contains(dsn, "password") || strings.Contains(dsn, "junk") || strings.Contains(dsn, "'"+secret) {
		return []string{dsn, pw + dsn} // a later password would win, or the DSN's end is broken
	}
	return []string{dsn, pw + dsn, dsn + " " + pw}
}

func TestParseDSNSyntaxErrorsGiveByteOffsets(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"host=x junk", `missing "=" after the keyword at byte 7`},
		{"a=1 b=2 c-d=3", "invalid keyword at byte 8"},
		{"password=x unknown='abc", "unterminated quoted string in the value at byte 11"},
		{"postgres://h/db?a=1&b", `missing "=" in the URL query parameter at byte 20`},
	} {
		if _, err := parseDSN(tc.dsn, fakeEnv(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseDSN(%q) = %v, want an error containing %s", tc.dsn, err, tc.want)
		}
	}
}

func TestDSNErrorUnwraps(t *testing.T) {
	_, err := parseDSN("port=x", fakeEnv(nil))
	var de *DSNError
	if !errors.As(err, &de) || errors.Unwrap(err) != de.Err || de.Err == nil {
		t.Fatalf("error %v does not unwrap to its Err", err)
	}
	if strings.Count(err.Error(), "pgpipe: ") != 1 {
		t.Errorf("error %q does not start with pgpipe: exactly once", err)
	}
}

func TestFormatDSNRoundTrips(t *testing.T) {
	dsns := []string{
		"",
		"host=a,b,c hostaddr=1.2.3.4,,::1 port=1,2,3 dbname='my db' user=u password='p w\\'\\\\'",
		"postgres://u:p%20w@[::1]:5433,h2/db?sslmode=verify-ca&sslrootcert=/ca&search_path=a,b&x.y=%27q%27",
		"sslrootcert=system sslpassword=k prepare_threshold=none prepared_max=7 cancel_grace=1500ms connect_timeout=90s",
		"keepalives=0 keepalives_idle=1h keepalives_interval=1ns keepalives_count=9 options='-c a=b' application_name=\\'",
		"hostaddr=10.0.0.1,10.0.0.2 port=5,6 timezone='' fallback_application_name=f require_auth=!md5",
	}
	for _, dsn := range dsns {
		c := mustParse(t, dsn, fakeEnv(nil))
		formatted := c.FormatDSN()
		again := mustParse(t, formatted, fakeEnv(nil))
		if d := configDiff(c, again); d != "" {
			t.Errorf("%q formatted as %q parses to a different Config: %s", dsn, formatted, d)
		}
		if twice := again.FormatDSN(); twice != formatted {
			t.Errorf("FormatDSN is not stable:\n%s\n%s", formatted, twice)
		}
	}
}

func TestFormatDSNRoundTripsConfigsBuiltInCode(t *testing.T) {
	c := defaultConfig()
	c.Hosts = []Host{{Name: "/run/pg sock", Port: 1}, {Name: "", Addr: "fe80::1%eth0", Port: 2}}
	c.Password = `'\ "`
	c.SSLPassword = "x y"
	c.ConnectTimeout = 2500 * time.Millisecond
	c.CancelGrace = 0
	c.KeepAlivesIdle = time.Duration(1<<63 - 1)
	c.PrepareThreshold = PrepareNone
	c.RuntimeParams = map[string]string{"search_path": "", "a.b": "'", "c": `\`, "d": "multi\nline"}
	again := mustParse(t, c.FormatDSN(), fakeEnv(nil))
	if d := configDiff(c, again); d != "" {
		t.Errorf("FormatDSN output %q parses to a different Config: %s", c.FormatDSN(), d)
	}
}

func TestFormatDSNMeansTheSameInAnotherEnvironment(t *testing.T) {
	c := mustParse(t, "host=h", fakeEnv(nil))
	other := fakeEnv(map[string]string{
		"PGHOSTADDR": "9.9.9.9", "PGPASSWORD": "envpw", "PGAPPNAME": "app", "PGSSLMODE": "disable",
		"PGOPTIONS": "-c x=y", "PGREQUIREAUTH": "md5", "PGSSLCERT": "/c", "PGCONNECT_TIMEOUT": "3",
	})
	if d := configDiff(c, mustParse(t, c.FormatDSN(), other)); d != "" {
		t.Errorf("FormatDSN output %q depends on the environment: %s", c.FormatDSN(), d)
	}
}

func TestFormatDSNLeavesOutRuntimeParamsADSNCannotSay(t *testing.T) {
	c := defaultConfig()
	c.RuntimeParams = map[string]string{"Host": "x", "a b": "y", "ok": "z"}
	got := c.FormatDSN()
	if strings.Contains(got, "Host=") || strings.Contains(got, "a b") || !strings.HasSuffix(got, " ok=z") {
		t.Errorf("FormatDSN() = %q", got)
	}
}

func TestConfigPrintingHidesSecrets(t *testing.T) {
	c := mustParse(t, "password="+secret+" sslpassword="+secret+"2 host=h", fakeEnv(nil))
	type holder struct {
		C Config
		P *Config
	}
	values := []any{*c, c, holder{*c, c}, []*Config{c}, map[string]Config{"k": *c}}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10v", "%-5s"}
	for _, v := range values {
		for _, verb := range verbs {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secret) {
				t.Errorf("Sprintf(%q, %T) shows a secret: %s", verb, v, out)
			}
		}
	}
	if s := c.String(); !strings.Contains(s, "password=********") || !strings.Contains(s, "sslpassword=********") {
		t.Errorf("String() = %q, want the secrets as ********", s)
	}
	if s := c.GoString(); !strings.Contains(s, `Password:"********"`) || !strings.Contains(s, `Hosts:[]pgpipe.Host{`) {
		t.Errorf("GoString() = %q", s)
	}
	var nilConfig *Config
	if s := fmt.Sprintf("%v", nilConfig); s != "<nil>" {
		t.Errorf("Sprintf(%%v, nil *Config) = %q", s)
	}
}

func TestConfigStringLeavesOutDefaults(t *testing.T) {
	env := fakeEnv(nil)
	env.passfile = defaultPassfile // what ParseDSN fills in on this machine
	c := mustParse(t, "host=h sslmode=require", env)
	want := "host=h dbname=alice user=alice sslmode=require"
	if got := c.String(); got != want {
		t.Errorf("String() = %q, want %q (passfile is the default %q)", got, want, c.Passfile)
	}
	if got := c.FormatDSN(); !strings.Contains(got, "passfile=") {
		t.Errorf("FormatDSN() = %q, want passfile kept (it has an environment variable)", got)
	}
	c.Passfile = "/etc/app/pgpass"
	want = "host=h dbname=alice user=alice passfile=/etc/app/pgpass sslmode=require"
	if got := c.String(); got != want {
		t.Errorf("String() with a passfile of its own = %q, want %q", got, want)
	}
}

func TestKeywordTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range keywords {
		if seen[k.name] || k.doc == "" {
			t.Errorf("keyword %q is listed twice or has no doc", k.name)
		}
		seen[k.name] = true
		if k.server != (k.set == nil) || k.get != nil && k.set == nil {
			t.Errorf("keyword %q: server keywords have no set; others have one", k.name)
		}
		if k.get != nil {
			defaultText(&k) // panics on a default its own set rejects
		}
		if k.secret && k.get != nil && !strings.Contains(strings.ToLower(k.name), "password") {
			t.Errorf("secret keyword %q kept in Config without being hidden by name", k.name)
		}
	}
	for _, name := range []string{"host", "hostaddr", "port", "dbname", "user", "password", "passfile",
		"sslmode", "prepare_threshold", "prepared_max", "cancel_grace"} {
		if !seen[name] {
			t.Errorf("keyword %q is missing", name)
		}
	}
}

func TestKeywordTableMarkdownListsEveryKeywordOnce(t *testing.T) {
	md := keywordTableMarkdown()
	if md != keywordTableMarkdown() {
		t.Fatal("keywordTableMarkdown is not deterministic")
	}
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	if len(lines) != len(keywords)+3 || lines[0] != "| keyword | env var | default | meaning |" {
		t.Fatalf("unexpected table:\n%s", md)
	}
	for i, k := range keywords {
		line := lines[i+2]
		if !strings.HasPrefix(line, "| `"+k.name+"`") || strings.Count(line, " | ") != 3 ||
			k.env != "" && !strings.Contains(line, "`"+k.env+"`") || k.pgpipe != strings.Contains(line, "(pgpipe)") {
			t.Errorf("row for %s is %q", k.name, line)
		}
	}
}

func TestParseDSNAcceptsPgxAndLibpqKeywords(t *testing.T) {
	for _, tc := range []struct {
		dsn       string
		threshold int
		max       int
	}{
		{"host=h default_query_exec_mode=exec", PrepareNone, 100},
		{"host=h default_query_exec_mode=cache_statement statement_cache_capacity=20", 5, 20},
		{"host=h statement_cache_capacity=0", PrepareNone, 100},
		{"postgres://u@h/db?binary_parameters=yes&disable_prepared_binary_result=yes&description_cache_capacity=5", 5, 100},
	} {
		cfg, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tc.dsn, err)
		}
		if cfg.PrepareThreshold != tc.threshold || cfg.PreparedMax != tc.max || len(cfg.RuntimeParams) != 0 {
			t.Errorf("%s: threshold %d max %d params %v", tc.dsn, cfg.PrepareThreshold, cfg.PreparedMax, cfg.RuntimeParams)
		}
	}
	if _, err := ParseDSN("host=h default_query_exec_mode=fast"); err == nil || !strings.Contains(err.Error(), "default_query_exec_mode") {
		t.Errorf("a bad pgx mode: %v", err)
	}
}

func TestSuggestKeywordFindsTheKeywordATypoResembles(t *testing.T) {
	cases := map[string]string{
		"sslmod": "sslmode", "SSLMODE": "sslmode", "sslmdoe": "sslmode", "dbnme": "dbname", "usr": "user",
		"pasword": "password", "prepare_treshold": "prepare_threshold", "aplication_name": "application_name",
		"connect_timout": "connect_timeout", "search_path": "", "work_mem": "", "foo": "", "ab": "",
		"timezon": "", // a server setting (timezone) is not suggested: it would have been sent as is
	}
	for name, want := range cases {
		if got := suggestKeyword(name); got != want {
			t.Errorf("suggestKeyword(%q) = %q, want %q", name, got, want)
		}
	}
}

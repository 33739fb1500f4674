package pgpipe

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file turns DSNs into Configs and back. One table, keywords, lists
// every keyword: parsing, FormatDSN, String and the README's keyword table
// (keywordTableMarkdown) all read it. libpq's rules come from the PostgreSQL
// documentation, "Connection Strings", "Parameter Key Words" and "Environment
// Variables".

// DSNError reports a DSN, or a libpq environment variable standing in for
// one of its keywords, that [ParseDSN] cannot accept. Its message names the
// keyword, shows the offending value and says what the keyword accepts; it
// never shows a password, an sslpassword or any other secret. Where the
// fault belongs to no known keyword (a quote left open, a missing "="), the
// message gives a byte offset into the DSN rather than quoting its text.
type DSNError struct {
	// Keyword is the DSN keyword at fault, such as "port"; empty for a
	// syntax error that belongs to no known keyword.
	Keyword string
	// EnvVar is the environment variable the value came from, such as
	// "PGPORT"; empty when it came from the DSN.
	EnvVar string
	// Err says what is wrong. It does not contain the value.
	Err error

	value string // shown in the message; never set for secrets
}

// Error returns "pgpipe: invalid dsn: ", the keyword, its value unless it
// is secret, the environment variable it came from, and what is wrong.
func (e *DSNError) Error() string {
	var b strings.Builder
	b.WriteString("pgpipe: invalid dsn: ")
	if e.Keyword != "" {
		b.WriteString(e.Keyword)
		if e.value != "" {
			b.WriteString(" " + strconv.Quote(e.value))
		}
		if e.EnvVar != "" {
			b.WriteString(" (from " + e.EnvVar + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns e.Err.
func (e *DSNError) Unwrap() error { return e.Err }

// A keyword is one row of the DSN keyword table.
type keyword struct {
	name   string // as libpq spells it
	env    string // libpq's environment variable standing in for it
	def    string // the default as DSN text ("" when empty or computed)
	defDoc string // the default as documented, when computed at parse time
	doc    string // one line for the README
	secret bool   // never shown in errors, String or GoString
	pgpipe bool   // pgpipe's own keyword, not libpq's
	server bool   // a server setting: lands in RuntimeParams; only its env var makes it special
	field         // get is nil for keywords not kept in Config
}

// A field reads a keyword's DSN text into a Config (validating it) and back.
type field struct {
	set func(c *Config, v string) error
	get func(c *Config) string
}

var keywords = []keyword{
	{name: "host", env: "PGHOST", defDoc: "a local socket directory, else `localhost`", doc: "comma-separated host names, IP addresses or Unix socket directories (starting with /); the default is the first of /var/run/postgresql, /run/postgresql, /tmp holding the socket file .s.PGSQL.<port> when the DSN is parsed, else localhost", field: field{setHost, getHost}},
	{name: "hostaddr", env: "PGHOSTADDR", doc: "comma-separated numeric IP addresses dialled instead of looking host up; host, if given, must list as many", field: field{setHostaddr, getHostaddr}},
	{name: "port", env: "PGPORT", def: "5432", doc: "TCP port or socket file suffix; one port for all hosts or one per host", field: field{setPort, getPort}},
	{name: "dbname", env: "PGDATABASE", defDoc: "the user name", doc: "database name", field: stringField(func(c *Config) *string { return &c.Database })},
	{name: "user", env: "PGUSER", defDoc: "the operating-system user", doc: "user name", field: stringField(func(c *Config) *string { return &c.User })},
	{name: "password", env: "PGPASSWORD", secret: true, doc: "password; when empty, the password file is searched when connecting", field: stringField(func(c *Config) *string { return &c.Password })},
	{name: "passfile", env: "PGPASSFILE", defDoc: "`~/.pgpass`", doc: "password file (on Windows the default is %APPDATA%\\postgresql\\pgpass.conf)", field: stringField(func(c *Config) *string { return &c.Passfile })},
	{name: "require_auth", env: "PGREQUIREAUTH", doc: "authentication methods accepted: comma-separated password, md5, gss, sspi, scram-sha-256, oauth, none, or all of them negated with !", field: field{setRequireAuth, func(c *Config) string { return c.RequireAuth }}},
	{name: "channel_binding", env: "PGCHANNELBINDING", def: "prefer", doc: "SCRAM channel binding: disable, prefer or require", field: enumField(func(c *Config) *string { return &c.ChannelBinding }, "disable", "prefer", "require")},
	{name: "connect_timeout", env: "PGCONNECT_TIMEOUT", def: "0", doc: "limit for each host attempt, in seconds (or a Go duration such as 1500ms); 0 or negative: none", field: durationField(func(c *Config) *time.Duration { return &c.ConnectTimeout }, true)},
	{name: "client_encoding", env: "PGCLIENTENCODING", def: "UTF8", doc: "only UTF8 (or auto) is accepted: pgpipe always sends UTF8", field: field{set: checkClientEncoding}},
	{name: "options", env: "PGOPTIONS", doc: "command-line options for the server, such as -c search_path=app", field: stringField(func(c *Config) *string { return &c.Options })},
	{name: "application_name", env: "PGAPPNAME", doc: "application name reported to the server", field: stringField(func(c *Config) *string { return &c.ApplicationName })},
	{name: "fallback_application_name", doc: "application name used when application_name is not given", field: stringField(func(c *Config) *string { return &c.FallbackApplicationName })},
	{name: "keepalives", def: "1", doc: "TCP keepalives on (1) or off (0)", field: boolField(func(c *Config) *bool { return &c.KeepAlives })},
	{name: "keepalives_idle", def: "0", doc: "seconds of silence before a keepalive probe (or a Go duration); 0: the system's value", field: durationField(func(c *Config) *time.Duration { return &c.KeepAlivesIdle }, false)},
	{name: "keepalives_interval", def: "0", doc: "seconds between keepalive probes (or a Go duration); 0: the system's value", field: durationField(func(c *Config) *time.Duration { return &c.KeepAlivesInterval }, false)},
	{name: "keepalives_count", def: "0", doc: "keepalive probes lost before the connection is dead; 0: the system's value", field: intField(func(c *Config) *int { return &c.KeepAlivesCount }, 0)},
	{name: "tcp_user_timeout", doc: "checked (milliseconds, 0 or more) and ignored", field: field{set: checkCount}},
	{name: "replication", doc: "replication connections are not supported: only a false value (0, off, false, no) is accepted", field: field{set: checkNoReplication}},
	{name: "gssencmode", env: "PGGSSENCMODE", doc: "disable and prefer are accepted and ignored (pgpipe never uses GSS encryption); require is an error", field: field{set: checkGSSEncMode}},
	{name: "sslmode", env: "PGSSLMODE", def: "prefer", doc: "disable, allow, prefer, require, verify-ca or verify-full; the default is verify-full when sslrootcert=system", field: enumField(func(c *Config) *SSLMode { return &c.SSLMode }, SSLDisable, SSLAllow, SSLPrefer, SSLRequire, SSLVerifyCA, SSLVerifyFull)},
	{name: "sslnegotiation", env: "PGSSLNEGOTIATION", def: "postgres", doc: "only postgres is supported (direct TLS is not)", field: field{set: checkOneOf("postgres")}},
	{name: "sslcompression", env: "PGSSLCOMPRESSION", doc: "checked (a boolean) and ignored: TLS compression is never used", field: field{set: checkBool}},
	{name: "sslcert", env: "PGSSLCERT", doc: "client certificate file", field: stringField(func(c *Config) *string { return &c.SSLCert })},
	{name: "sslkey", env: "PGSSLKEY", doc: "client private key file", field: stringField(func(c *Config) *string { return &c.SSLKey })},
	{name: "sslpassword", secret: true, doc: "password decrypting sslkey", field: stringField(func(c *Config) *string { return &c.SSLPassword })},
	{name: "sslcertmode", env: "PGSSLCERTMODE", def: "allow", doc: "only allow is supported: a client certificate is sent when sslcert gives one", field: field{set: checkOneOf("allow")}},
	{name: "sslrootcert", env: "PGSSLROOTCERT", doc: "file of trusted CA certificates, or system for the system's pool", field: stringField(func(c *Config) *string { return &c.SSLRootCert })},
	{name: "sslcrl", env: "PGSSLCRL", doc: "not supported (an error): check revocation in Config.TLSConfig instead", field: field{set: unsupported("check revocation in Config.TLSConfig.VerifyConnection instead")}},
	{name: "sslcrldir", env: "PGSSLCRLDIR", doc: "not supported (an error): check revocation in Config.TLSConfig instead", field: field{set: unsupported("check revocation in Config.TLSConfig.VerifyConnection instead")}},
	{name: "sslkeylogfile", doc: "not supported (an error): set Config.TLSConfig.KeyLogWriter instead", field: field{set: unsupported("set Config.TLSConfig.KeyLogWriter instead")}},
	{name: "sslsni", env: "PGSSLSNI", def: "1", doc: "send the host name in the TLS handshake (1) or not (0)", field: boolField(func(c *Config) *bool { return &c.SSLSNI })},
	{name: "requirepeer", env: "PGREQUIREPEER", doc: "not supported (an error): the socket peer's user is not checked", field: field{set: unsupported("the peer of a Unix socket is not checked")}},
	{name: "ssl_min_protocol_version", env: "PGSSLMINPROTOCOLVERSION", def: "TLSv1.2", doc: "oldest TLS version accepted: TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3", field: field{setTLSVersion, func(c *Config) string { return c.SSLMinProtocolVersion }}},
	{name: "ssl_max_protocol_version", env: "PGSSLMAXPROTOCOLVERSION", doc: "checked (TLSv1 to TLSv1.3) and ignored: the newest version both sides know is used", field: field{set: checkTLSVersion}},
	{name: "min_protocol_version", env: "PGMINPROTOCOLVERSION", def: "3.0", doc: "only 3.0 is accepted: pgpipe speaks protocol 3.0", field: field{set: checkOneOf("3.0")}},
	{name: "max_protocol_version", env: "PGMAXPROTOCOLVERSION", doc: "checked (3.0, 3.2 or latest) and ignored: pgpipe speaks protocol 3.0", field: field{set: checkOneOf("3.0", "3.2", "latest")}},
	{name: "krbsrvname", env: "PGKRBSRVNAME", doc: "ignored: GSSAPI and SSPI authentication are not supported", field: field{set: accept}},
	{name: "gsslib", env: "PGGSSLIB", doc: "checked (gssapi or sspi) and ignored: GSSAPI and SSPI authentication are not supported", field: field{set: checkOneOf("gssapi", "sspi")}},
	{name: "gssdelegation", env: "PGGSSDELEGATION", doc: "checked (a boolean) and ignored: GSSAPI authentication is not supported", field: field{set: checkBool}},
	{name: "service", doc: "not supported (an error): pg_service.conf is not read; PGSERVICE is ignored", field: field{set: unsupported("pg_service.conf is not read; give host, port, dbname and the rest instead")}},
	{name: "target_session_attrs", env: "PGTARGETSESSIONATTRS", def: "any", doc: "server accepted: any, read-write, read-only, primary, standby or prefer-standby", field: enumField(func(c *Config) *TargetSessionAttrs { return &c.TargetSessionAttrs }, TargetAny, TargetReadWrite, TargetReadOnly, TargetPrimary, TargetStandby, TargetPreferStandby)},
	{name: "load_balance_hosts", env: "PGLOADBALANCEHOSTS", def: "disable", doc: "try hosts in order (disable) or shuffled (random)", field: enumField(func(c *Config) *string { return &c.LoadBalanceHosts }, "disable", "random")},
	{name: "oauth_issuer", doc: "not supported (an error): OAuth authentication", field: field{set: unsupported("OAuth authentication is not implemented")}},
	{name: "oauth_client_id", doc: "not supported (an error): OAuth authentication", field: field{set: unsupported("OAuth authentication is not implemented")}},
	{name: "oauth_client_secret", secret: true, doc: "not supported (an error): OAuth authentication", field: field{set: unsupported("OAuth authentication is not implemented")}},
	{name: "oauth_scope", doc: "not supported (an error): OAuth authentication", field: field{set: unsupported("OAuth authentication is not implemented")}},
	{name: "scram_client_key", secret: true, doc: "not supported (an error): SCRAM pass-through", field: field{set: unsupported("SCRAM pass-through is not implemented")}},
	{name: "scram_server_key", secret: true, doc: "not supported (an error): SCRAM pass-through", field: field{set: unsupported("SCRAM pass-through is not implemented")}},
	{name: "prepare_threshold", pgpipe: true, def: "5", doc: "executions of a query on a connection before it is prepared on the server; 0: at first use; none: never automatically", field: field{setPrepareThreshold, getPrepareThreshold}},
	{name: "prepared_max", pgpipe: true, def: "100", doc: "statements kept prepared per connection (1 or more); the least recently used is closed beyond it", field: intField(func(c *Config) *int { return &c.PreparedMax }, 1)},
	{name: "cancel_grace", pgpipe: true, def: "5s", doc: "after a cancelled query, how long to wait for the server to finish it before closing the connection (a Go duration or seconds)", field: durationField(func(c *Config) *time.Duration { return &c.CancelGrace }, false)},
	{name: "timezone", env: "PGTZ", server: true, doc: "server setting TimeZone (PGTZ=default sends nothing)"},
	{name: "datestyle", env: "PGDATESTYLE", server: true, doc: "server setting DateStyle (PGDATESTYLE=default sends nothing)"},
	{name: "geqo", env: "PGGEQO", server: true, doc: "server setting geqo (PGGEQO=default sends nothing)"},
}

var keywordByName = func() map[string]*keyword {
	m := make(map[string]*keyword, len(keywords))
	for i := range keywords {
		m[keywords[i].name] = &keywords[i]
	}
	return m
}()

// socketDirs are the directories searched for a server's Unix socket when a
// DSN names no host: Debian's, then other distributions', then PostgreSQL's
// own default. A password file's "localhost" also matches them.
var socketDirs = []string{"/var/run/postgresql", "/run/postgresql", "/tmp"}

// ParseDSN parses a libpq connection string, in URL form
// (postgres://user:password@host1:5432,host2/dbname?sslmode=require) or
// keyword/value form (host=localhost dbname=app), into a Config. An empty
// string is a valid DSN. libpq's environment variables (PGHOST, PGPORT,
// PGUSER, ...) supply keywords the DSN does not give; PGTZ, PGDATESTYLE and
// PGGEQO supply server settings. An empty value means the keyword's default.
// Defaults are resolved now: the user is the operating-system user, the
// database is the user name, and with neither host nor hostaddr the host is
// the first of /var/run/postgresql, /run/postgresql and /tmp holding the
// server's socket file (.s.PGSQL.5432), else localhost.
//
// Keywords that are neither libpq's nor pgpipe's are server settings, sent
// to the server at startup (Config.RuntimeParams). libpq keywords pgpipe
// has no use for are checked and dropped, or rejected where ignoring them
// would be unsafe; the README's keyword table says which. Errors are
// *[DSNError] and never contain a password. The password file is not read
// here but when connecting.
func ParseDSN(dsn string) (*Config, error) {
	return parseDSN(dsn, osParseEnv())
}

// NewConfig returns the Config that ParseDSN("") gives: libpq's
// environment variables and the defaults.
func NewConfig() (*Config, error) {
	return ParseDSN("")
}

// parseEnv is what parsing reads besides the DSN, replaceable in tests.
type parseEnv struct {
	getenv     func(key string) string
	osUser     func() (string, error)
	passfile   func() string
	socketDirs []string
	exists     func(path string) bool
}

func osParseEnv() parseEnv {
	e := parseEnv{getenv: os.Getenv, osUser: osUserName, passfile: defaultPassfile, socketDirs: socketDirs,
		exists: func(path string) bool { _, err := os.Stat(path); return err == nil }}
	if runtime.GOOS == "windows" {
		e.socketDirs = nil
	}
	return e
}

func osUserName() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	name := u.Username
	if i := strings.LastIndexByte(name, '\\'); i >= 0 { // DOMAIN\name on Windows
		name = name[i+1:]
	}
	return name, nil
}

func defaultPassfile() string {
	if runtime.GOOS == "windows" {
		if dir := os.Getenv("APPDATA"); dir != "" {
			return filepath.Join(dir, "postgresql", "pgpass.conf")
		}
		return ""
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".pgpass")
}

func (e parseEnv) defaultHost(port uint16) string {
	for _, dir := range e.socketDirs {
		if e.exists(filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(int(port)))) {
			return dir
		}
	}
	return "localhost"
}

// A param is one keyword=value pair from a DSN, its value unquoted or
// percent-decoded.
type param struct {
	key, val string
	pos      int  // byte offset of the pair in the DSN
	noEcho   bool // errors must not show val: it may hold part of a password
}

func parseDSN(dsn string, env parseEnv) (*Config, error) {
	params, err := splitDSN(dsn)
	if err != nil {
		return nil, err
	}
	c := &Config{RuntimeParams: map[string]string{}}
	given := make(map[string]param)
	for _, p := range params {
		if k, ok := keywordByName[p.key]; ok && !k.server {
			given[p.key] = p
		} else if err := addRuntimeParam(c, p); err != nil {
			return nil, err
		}
	}
	explicit := make(map[string]bool)
	for i := range keywords {
		if err := applyKeyword(c, &keywords[i], given, env, explicit); err != nil {
			return nil, err
		}
	}
	if err := finishConfig(c, env, explicit); err != nil {
		return nil, err
	}
	return c, nil
}

// addRuntimeParam records a server setting, replacing one of the same name
// in any case (the server's setting names are case-insensitive).
func addRuntimeParam(c *Config, p param) error {
	if !validParamName(p.key) {
		return &DSNError{Err: fmt.Errorf(`invalid keyword at byte %d: a keyword is made of letters, digits, "_" and "."`, p.pos)}
	}
	if k := keywordFold(p.key); k != nil {
		return &DSNError{Err: fmt.Errorf("unknown keyword %q: did you mean %s? keywords are case-sensitive", p.key, k.name)}
	}
	if strings.IndexByte(p.val, 0) >= 0 {
		return &DSNError{Keyword: p.key, Err: errNUL}
	}
	for key := range c.RuntimeParams {
		if strings.EqualFold(key, p.key) {
			delete(c.RuntimeParams, key)
		}
	}
	c.RuntimeParams[p.key] = p.val
	return nil
}

func validParamName(name string) bool {
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '.') {
			return false
		}
	}
	return name != ""
}

// keywordFold returns the libpq or pgpipe keyword that name spells in another
// case, or nil.
func keywordFold(name string) *keyword {
	for i := range keywords {
		if !keywords[i].server && strings.EqualFold(keywords[i].name, name) {
			return &keywords[i]
		}
	}
	return nil
}

var errNUL = errors.New("contains a NUL byte")

// applyKeyword sets k from the DSN, else from its environment variable, else
// from its default; explicit records whether a non-empty value was given.
func applyKeyword(c *Config, k *keyword, given map[string]param, env parseEnv, explicit map[string]bool) error {
	var v, from string
	var ok, noEcho bool
	if p, found := given[k.name]; found {
		v, noEcho, ok = p.val, p.noEcho, true
	} else if k.env != "" {
		v = env.getenv(k.env)
		from, ok = k.env, v != ""
	}
	if k.server {
		if ok && !strings.EqualFold(v, "default") && !hasKeyFold(c.RuntimeParams, k.name) {
			c.RuntimeParams[k.name] = v
		}
		return nil
	}
	explicit[k.name] = ok && v != ""
	if !explicit[k.name] {
		if k.get == nil {
			return nil
		}
		v, from = k.def, ""
	}
	err := errNUL
	if strings.IndexByte(v, 0) < 0 {
		err = k.set(c, v)
	}
	if err != nil {
		e := &DSNError{Keyword: k.name, EnvVar: from, Err: err}
		if !k.secret && !noEcho {
			e.value = v
		}
		return e
	}
	return nil
}

func hasKeyFold(m map[string]string, name string) bool {
	for key := range m {
		if strings.EqualFold(key, name) {
			return true
		}
	}
	return false
}

// finishConfig fills the defaults that depend on other keywords or on the
// machine, and checks what involves several keywords.
func finishConfig(c *Config, env parseEnv, explicit map[string]bool) error {
	if c.User == "" {
		name, err := env.osUser()
		if err != nil {
			return &DSNError{Keyword: "user", Err: fmt.Errorf("not given, and the operating-system user is unknown: %w", err)}
		}
		c.User = name
	}
	if c.Database == "" {
		c.Database = c.User
	}
	if c.Passfile == "" {
		c.Passfile = env.passfile()
	}
	for i := range c.Hosts {
		if h := &c.Hosts[i]; h.Name == "" && h.Addr == "" {
			h.Name = env.defaultHost(h.Port)
		}
	}
	if c.SSLRootCert == "system" && c.SSLMode != SSLVerifyFull {
		if explicit["sslmode"] {
			return &DSNError{Keyword: "sslmode", value: string(c.SSLMode), Err: errors.New("weak sslmode may not be used with sslrootcert=system (use verify-full)")}
		}
		c.SSLMode = SSLVerifyFull
	}
	return nil
}

// Field helpers. Errors they return say what is accepted and never repeat
// the value: DSNError adds it where it may be shown.

func stringField(p func(*Config) *string) field {
	return field{
		set: func(c *Config, v string) error { *p(c) = v; return nil },
		get: func(c *Config) string { return *p(c) },
	}
}

func enumField[T ~string](p func(*Config) *T, values ...T) field {
	return field{
		set: func(c *Config, v string) error {
			if !slices.Contains(values, T(v)) {
				return notOneOf(values)
			}
			*p(c) = T(v)
			return nil
		},
		get: func(c *Config) string { return string(*p(c)) },
	}
}

func notOneOf[T ~string](values []T) error {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return fmt.Errorf("not one of %s", strings.Join(s, ", "))
}

func boolField(p func(*Config) *bool) field {
	return field{
		set: func(c *Config, v string) (err error) { *p(c), err = parseBool(v); return err },
		get: func(c *Config) string {
			if *p(c) {
				return "1"
			}
			return "0"
		},
	}
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "on", "yes", "t", "y":
		return true, nil
	case "0", "false", "off", "no", "f", "n":
		return false, nil
	}
	return false, errors.New("not a boolean (1, 0, true, false, on, off, yes, no)")
}

func intField(p func(*Config) *int, min int) field {
	return field{
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < min {
				return fmt.Errorf("not a whole number of %d or more", min)
			}
			*p(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*p(c)) },
	}
}

// durationField reads whole seconds, as libpq does, or a Go duration such as
// "1500ms"; it writes whole seconds when it can. negativeIsZero is libpq's
// rule for connect_timeout; elsewhere a negative value is an error.
func durationField(p func(*Config) *time.Duration, negativeIsZero bool) field {
	return field{
		set: func(c *Config, v string) error {
			d, err := parseSeconds(strings.TrimSpace(v))
			if err != nil {
				return err
			}
			if d < 0 {
				if !negativeIsZero {
					return errors.New("negative; give whole seconds or a Go duration such as 5s, 0 or more")
				}
				d = 0
			}
			*p(c) = d
			return nil
		},
		get: func(c *Config) string {
			if d := *p(c); d%time.Second != 0 {
				return d.String()
			}
			return strconv.FormatInt(int64(*p(c)/time.Second), 10)
		},
	}
}

func parseSeconds(v string) (time.Duration, error) {
	const maxSeconds = int64(1<<63-1) / int64(time.Second)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > maxSeconds || n < -maxSeconds {
			return 0, errors.New("too many seconds")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("not whole seconds or a Go duration such as 5s")
	}
	return d, nil
}

func setPrepareThreshold(c *Config, v string) error {
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		c.PrepareThreshold = PrepareNone
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return errors.New(`not "none" or a whole number of 0 or more`)
	}
	c.PrepareThreshold = n
	return nil
}

func getPrepareThreshold(c *Config) string {
	if c.PrepareThreshold == PrepareNone {
		return "none"
	}
	return strconv.Itoa(c.PrepareThreshold)
}

var tlsVersions = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

func setTLSVersion(c *Config, v string) error {
	for _, version := range tlsVersions {
		if strings.EqualFold(v, version) {
			c.SSLMinProtocolVersion = version
			return nil
		}
	}
	return notOneOf(tlsVersions)
}

func checkTLSVersion(_ *Config, v string) error { return setTLSVersion(&Config{}, v) }

var authMethods = []string{"password", "md5", "gss", "sspi", "scram-sha-256", "oauth", "none"}

// setRequireAuth checks require_auth as libpq does: known methods, each at
// most once, all negated with "!" or none.
func setRequireAuth(c *Config, v string) error {
	c.RequireAuth = v
	if v == "" {
		return nil
	}
	negated := strings.HasPrefix(v, "!")
	var seen []string
	for _, m := range strings.Split(v, ",") {
		name, neg := strings.CutPrefix(m, "!")
		switch {
		case neg != negated:
			return errors.New(`negated methods ("!md5") cannot be mixed with others`)
		case !slices.Contains(authMethods, name):
			return fmt.Errorf("a method is not one of %s", strings.Join(authMethods, ", "))
		case slices.Contains(seen, name):
			return errors.New("a method is given more than once")
		}
		seen = append(seen, name)
	}
	return nil
}

// Checks for keywords that are accepted but not kept in Config.

func accept(*Config, string) error { return nil }

func checkOneOf(values ...string) func(*Config, string) error {
	return func(_ *Config, v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("not supported by pgpipe, which accepts only %s", strings.Join(values, ", "))
		}
		return nil
	}
}

func checkBool(_ *Config, v string) error { _, err := parseBool(v); return err }

func checkCount(_ *Config, v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 {
		return errors.New("not a whole number of 0 or more")
	}
	return nil
}

func unsupported(reason string) func(*Config, string) error {
	return func(*Config, string) error { return errors.New("not supported by pgpipe: " + reason) }
}

func checkClientEncoding(_ *Config, v string) error {
	switch strings.ToUpper(v) {
	case "UTF8", "UTF-8", "UNICODE", "AUTO":
		return nil
	}
	return errors.New("pgpipe speaks only UTF8; remove client_encoding or set it to UTF8")
}

func checkNoReplication(_ *Config, v string) error {
	if on, err := parseBool(v); err != nil || on {
		return errors.New("replication connections are not supported by pgpipe")
	}
	return nil
}

func checkGSSEncMode(_ *Config, v string) error {
	switch v {
	case "disable", "prefer":
		return nil
	case "require":
		return errors.New("GSS encryption is not supported by pgpipe; use disable or prefer")
	}
	return errors.New("not one of disable, prefer, require")
}

// The host list: host, hostaddr and port are applied in that order, each
// a comma-separated list, and must agree in length as libpq requires.

func setHost(c *Config, v string) error {
	c.Hosts = nil
	if v == "" {
		return nil
	}
	for _, name := range strings.Split(v, ",") {
		c.Hosts = append(c.Hosts, Host{Name: name})
	}
	return nil
}

func getHost(c *Config) string {
	names := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		names[i] = h.Name
	}
	return strings.Join(names, ",")
}

func setHostaddr(c *Config, v string) error {
	if v == "" {
		return nil
	}
	addrs := strings.Split(v, ",")
	for i, a := range addrs {
		if _, err := netip.ParseAddr(a); a != "" && err != nil {
			if len(addrs) == 1 {
				return errors.New("not a numeric IP address")
			}
			return fmt.Errorf("entry %d of %d is not a numeric IP address", i+1, len(addrs))
		}
	}
	if c.Hosts == nil {
		c.Hosts = make([]Host, len(addrs))
	} else if len(c.Hosts) != len(addrs) {
		return fmt.Errorf("could not match %d host names to %d hostaddr values", len(c.Hosts), len(addrs))
	}
	for i, a := range addrs {
		c.Hosts[i].Addr = a
	}
	return nil
}

func getHostaddr(c *Config) string {
	addrs := make([]string, len(c.Hosts))
	for i, h := range c.Hosts {
		addrs[i] = h.Addr
	}
	if !slices.ContainsFunc(addrs, func(a string) bool { return a != "" }) {
		return ""
	}
	return strings.Join(addrs, ",")
}

func setPort(c *Config, v string) error {
	if c.Hosts == nil {
		c.Hosts = []Host{{}}
	}
	ports := strings.Split(v, ",")
	if len(ports) != 1 && len(ports) != len(c.Hosts) {
		return fmt.Errorf("could not match %d port numbers to %d hosts", len(ports), len(c.Hosts))
	}
	for i := range c.Hosts {
		text := ports[min(i, len(ports)-1)]
		port := 5432
		if text = strings.TrimSpace(text); text != "" {
			var err error
			if port, err = strconv.Atoi(text); err != nil || port < 1 || port > 65535 {
				if len(ports) > 1 {
					return fmt.Errorf("entry %d of %d is not a number between 1 and 65535", i+1, len(ports))
				}
				return errors.New("not a number between 1 and 65535")
			}
		}
		c.Hosts[i].Port = uint16(port)
	}
	return nil
}

func getPort(c *Config) string {
	ports := make([]string, len(c.Hosts))
	same := true
	for i, h := range c.Hosts {
		ports[i] = strconv.Itoa(int(h.Port))
		same = same && h.Port == c.Hosts[0].Port
	}
	if same && len(ports) > 1 {
		return ports[0]
	}
	return strings.Join(ports, ",")
}

// Lexing. Both forms follow libpq's parser: keyword/value pairs separated by
// whitespace, values optionally single-quoted, a backslash escaping the next
// character; or a postgres:// or postgresql:// URL. Syntax errors give byte
// offsets, not text, since a value broken by a stray space or quote may be
// half a password.

func splitDSN(dsn string) ([]param, error) {
	for _, prefix := range []string{"postgresql://", "postgres://"} {
		if strings.HasPrefix(dsn, prefix) {
			l := urlLexer{s: dsn}
			return l.params, l.lex(len(prefix))
		}
	}
	return splitKeywordValue(dsn)
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func splitKeywordValue(s string) ([]param, error) {
	var params []param
	for i := skipSpace(s, 0); i < len(s); i = skipSpace(s, i) {
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		if i = skipSpace(s, i); i == len(s) || s[i] != '=' {
			return nil, &DSNError{Err: fmt.Errorf(`missing "=" after the keyword at byte %d`, start)}
		}
		val, next, ok := readValue(s, skipSpace(s, i+1))
		if !ok {
			if k, known := keywordByName[key]; known {
				return nil, &DSNError{Keyword: k.name, Err: errors.New("unterminated quoted string")}
			}
			return nil, &DSNError{Err: fmt.Errorf("unterminated quoted string in the value at byte %d", start)}
		}
		params = append(params, param{key: key, val: val, pos: start})
		i = next
	}
	return params, nil
}

// readValue reads the value starting at s[i], quoted or not, and returns it
// with the offset after it; ok is false for an unterminated quote.
func readValue(s string, i int) (val string, next int, ok bool) {
	quoted := i < len(s) && s[i] == '\''
	if quoted {
		i++
	}
	var b strings.Builder
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case quoted && c == '\'':
			return b.String(), i + 1, true
		case !quoted && isSpace(c):
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), i, !quoted
}

// urlLexer splits a postgres:// URL as libpq does: user[:password]@ before
// the first "/", then host[:port] pairs separated by commas (IPv6 in
// brackets), then /dbname, then ?keyword=value&... Parts are percent-decoded;
// "+" is not a space.
type urlLexer struct {
	s      string
	params []param
	noEcho bool // an "@" that ends no user info: the authority may hold part of a password
}

func (l *urlLexer) lex(i int) error {
	s := l.s
	if at := strings.IndexAny(s[i:], "@/"); at >= 0 && s[i+at] == '@' {
		userText, pass, _ := strings.Cut(s[i:i+at], ":")
		if err := l.part("user", userText, i); err != nil {
			return err
		}
		if err := l.part("password", pass, i); err != nil {
			return err
		}
		i += at + 1
	}
	l.noEcho = strings.IndexByte(s[i:], '@') >= 0
	i, err := l.hosts(i)
	if err != nil {
		return err
	}
	if i < len(s) && s[i] == '/' {
		end := strings.IndexByte(s[i:], '?')
		if end < 0 {
			end = len(s) - i
		}
		if err := l.part("dbname", s[i+1:i+end], i+1); err != nil {
			return err
		}
		i += end
	}
	l.noEcho = false
	if i < len(s) { // s[i] == '?'
		return l.query(i + 1)
	}
	return nil
}

// hosts reads the host[:port] list at s[i] and returns the offset after it.
func (l *urlLexer) hosts(i int) (int, error) {
	s, start := l.s, i
	var hosts, ports strings.Builder
	for {
		if i < len(s) && s[i] == '[' {
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return 0, &DSNError{Err: fmt.Errorf(`missing "]" after the IPv6 address at byte %d`, i)}
			} else if end == 1 {
				return 0, &DSNError{Err: fmt.Errorf("empty IPv6 address at byte %d", i)}
			}
			hosts.WriteString(s[i+1 : i+end])
			if i += end + 1; i < len(s) && !strings.ContainsRune(":/?,", rune(s[i])) {
				return 0, &DSNError{Err: fmt.Errorf(`unexpected character at byte %d after an IPv6 address (expected ":", "/", "?" or ",")`, i)}
			}
		} else {
			end := endOfAny(s, i, ":/?,")
			hosts.WriteString(s[i:end])
			i = end
		}
		if i < len(s) && s[i] == ':' {
			end := endOfAny(s, i+1, "/?,")
			ports.WriteString(s[i+1 : end])
			i = end
		}
		if i == len(s) || s[i] != ',' {
			break
		}
		hosts.WriteByte(',')
		ports.WriteByte(',')
		i++
	}
	if err := l.part("host", hosts.String(), start); err != nil {
		return 0, err
	}
	return i, l.part("port", ports.String(), start)
}

func endOfAny(s string, i int, chars string) int {
	if end := strings.IndexAny(s[i:], chars); end >= 0 {
		return i + end
	}
	return len(s)
}

// query reads keyword=value pairs separated by "&" from s[i].
func (l *urlLexer) query(i int) error {
	s := l.s
	for i < len(s) {
		end := endOfAny(s, i, "&")
		rawKey, rawVal, ok := strings.Cut(s[i:end], "=")
		if !ok {
			return &DSNError{Err: fmt.Errorf(`missing "=" in the URL query parameter at byte %d`, i)}
		} else if strings.Contains(rawVal, "=") {
			return &DSNError{Err: fmt.Errorf(`extra "=" in the URL query parameter at byte %d (write it as %%3D)`, i)}
		}
		key, err := percentDecode(rawKey)
		if err != nil {
			return &DSNError{Err: fmt.Errorf("URL query parameter at byte %d: keyword: %w", i, err)}
		}
		if key == "ssl" && rawVal == "true" { // JDBC's spelling, as libpq accepts it
			key, rawVal = "sslmode", "require"
		}
		if err := l.add(key, rawVal, i); err != nil {
			return err
		}
		i = end + 1
	}
	return nil
}

// part records a part of the URL before the query. An empty part is not
// given (so the environment can supply it), as in libpq.
func (l *urlLexer) part(key, raw string, pos int) error {
	if raw == "" {
		return nil
	}
	return l.add(key, raw, pos)
}

// add percent-decodes raw and records it under key.
func (l *urlLexer) add(key, raw string, pos int) error {
	val, err := percentDecode(raw)
	if err != nil {
		e := &DSNError{Keyword: key, Err: err}
		if !validParamName(key) {
			e.Keyword, e.Err = "", fmt.Errorf("URL query parameter at byte %d: %w", pos, err)
		} else if k := keywordFold(key); (k == nil || !k.secret) && !l.noEcho {
			e.value = raw
		}
		return e
	}
	l.params = append(l.params, param{key: key, val: val, pos: pos, noEcho: l.noEcho})
	return nil
}

func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", errors.New(`invalid percent-encoding (expected "%" and two hexadecimal digits)`)
		}
		c := byte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		if c == 0 {
			return "", errors.New("%00 is not allowed")
		}
		b = append(b, c)
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// FormatDSN returns c in keyword/value form, which [ParseDSN] turns back
// into a Config equal to c in every field a DSN can set. It includes the
// password. Keywords that have an environment variable are always written,
// so the result means the same whatever the environment it is parsed in;
// others only when they differ from their default. RuntimeParams follow in
// name order, except names that are not valid keywords or spell a
// libpq or pgpipe keyword in another case, which a DSN cannot express.
// Fields set only in code (TLSConfig, DialFunc, ...) are not written.
func (c *Config) FormatDSN() string { return c.formatDSN(false) }

func (c *Config) formatDSN(redact bool) string {
	var b strings.Builder
	for i := range keywords {
		k := &keywords[i]
		if k.get == nil {
			continue
		}
		v := k.get(c)
		if v == defaultText(k) && (redact || k.env == "" && k.defDoc == "") {
			continue
		}
		if redact && k.secret && v != "" {
			v = "********"
		}
		writePair(&b, k.name, v)
	}
	keys := make([]string, 0, len(c.RuntimeParams))
	for key := range c.RuntimeParams {
		if validParamName(key) && keywordFold(key) == nil {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		writePair(&b, key, c.RuntimeParams[key])
	}
	return b.String()
}

// defaultText is k's default as its get writes it.
func defaultText(k *keyword) string {
	var c Config
	if k.set(&c, k.def) != nil {
		panic("pgpipe bug: bad default for DSN keyword " + k.name)
	}
	return k.get(&c)
}

func writePair(b *strings.Builder, key, val string) {
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(key)
	b.WriteByte('=')
	if val != "" && !strings.ContainsAny(val, " \t\n\v\f\r'\\") {
		b.WriteString(val)
		return
	}
	b.WriteByte('\'')
	for i := 0; i < len(val); i++ {
		if val[i] == '\'' || val[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(val[i])
	}
	b.WriteByte('\'')
}

// String returns c in keyword/value form for people to read: like
// [Config.FormatDSN], but without keywords at their default, and with the
// password and sslpassword replaced by ********.
func (c Config) String() string { return c.formatDSN(true) }

// secretFields are the Config fields that String, GoString and Format hide.
var secretFields = []string{"Password", "SSLPassword"}

// GoString returns c as a Go composite literal, with the password and
// sslpassword replaced by ******** and pointers and functions shown as
// addresses (a TLSConfig may hold private keys).
func (c Config) GoString() string {
	v := reflect.ValueOf(c)
	var b strings.Builder
	b.WriteString("pgpipe.Config{")
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		if b.Len() > len("pgpipe.Config{") {
			b.WriteString(", ")
		}
		b.WriteString(f.Name + ":")
		switch fv.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Interface, reflect.Chan, reflect.UnsafePointer:
			fmt.Fprintf(&b, "(%s)(%#x)", fv.Type(), fv.Pointer())
		default:
			if slices.Contains(secretFields, f.Name) && !fv.IsZero() {
				b.WriteString(`"********"`)
			} else {
				fmt.Fprintf(&b, "%#v", fv.Interface())
			}
		}
	}
	b.WriteString("}")
	return b.String()
}

// Format implements [fmt.Formatter] so that no verb shows a secret: %v, %s
// and %+v print [Config.String], %#v prints [Config.GoString], %q quotes
// String, and any other verb prints String marked as a bad verb.
func (c Config) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'v' || verb == 's':
		fmt.Fprint(f, c.String())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(c.String()))
	default:
		fmt.Fprintf(f, "%%!%c(pgpipe.Config=%s)", verb, c.String())
	}
}

// keywordTableMarkdown renders the keyword table for README.md, one row per
// keyword in table order.
func keywordTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| keyword | env var | default | meaning |\n|---|---|---|---|\n")
	for _, k := range keywords {
		name, env, def := "`"+k.name+"`", "", k.defDoc
		if k.pgpipe {
			name += " (pgpipe)"
		}
		if k.env != "" {
			env = "`" + k.env + "`"
		}
		if def == "" && k.def != "" {
			def = "`" + k.def + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, env, mdEscape(def), mdEscape(k.doc))
	}
	b.WriteString("| any other | | | a server setting sent at startup, such as `search_path=app` |\n")
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`).Replace(s)
}

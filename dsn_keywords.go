package pgpipe

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The DSN keyword table: every keyword pgpipe accepts, with its libpq
// environment variable, default and meaning. Parsing, formatting and the
// README table (keywordTableMarkdown) all read from it.

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
	{name: "default_query_exec_mode", doc: "pgx's keyword, accepted so that pgx DSNs work: exec, simple_protocol and describe_exec set prepare_threshold=none; cache_statement and cache_describe keep automatic preparation", field: field{set: setPgxExecMode}},
	{name: "statement_cache_capacity", doc: "pgx's keyword, accepted so that pgx DSNs work: sets prepared_max; 0 sets prepare_threshold=none", field: field{set: setPgxCacheCapacity}},
	{name: "description_cache_capacity", doc: "pgx's keyword: checked (a count) and ignored", field: field{set: checkCount}},
	{name: "binary_parameters", doc: "lib/pq's keyword: checked (a boolean) and ignored; pgpipe chooses text or binary per value and parameter type (see Values)", field: field{set: checkBool}},
	{name: "disable_prepared_binary_result", doc: "lib/pq's keyword: checked (a boolean) and ignored", field: field{set: checkBool}},
	{name: "trace", pgpipe: true, doc: "protocol trace in libpq's PQtrace format: stderr, stdout or a file path (appended to); empty: off", field: stringField(func(c *Config) *string { return &c.Trace })},
	{name: "trace_regress", pgpipe: true, def: "0", doc: "1: the trace leaves out timestamps and values that change between runs (libpq's regress mode)", field: boolField(func(c *Config) *bool { return &c.TraceRegress })},
	{name: "multiplex", pgpipe: true, def: "0", doc: "share at most this many server connections among all the connections database/sql opens, pipelining statements of different callers onto them; 0: off (see Multiplexing)", field: intField(func(c *Config) *int { return &c.Multiplex }, 0)},
	{name: "cancel_grace", pgpipe: true, def: "5s", doc: "after a cancelled query, how long to wait for the server to finish it before closing the connection (a Go duration or seconds)", field: durationField(func(c *Config) *time.Duration { return &c.CancelGrace }, false)},
	{name: "timezone", env: "PGTZ", server: true, doc: "server setting TimeZone (PGTZ=default sends nothing)"},
	{name: "datestyle", env: "PGDATESTYLE", server: true, doc: "server setting DateStyle: only its field order (DMY, MDY, YMD) is kept, as pgpipe reads dates in the ISO style (PGDATESTYLE=default sends nothing)"},
	{name: "geqo", env: "PGGEQO", server: true, doc: "server setting geqo (PGGEQO=default sends nothing)"},
}

var keywordByName = func() map[string]*keyword {
	m := make(map[string]*keyword, len(keywords))
	for i := range keywords {
		m[keywords[i].name] = &keywords[i]
	}
	return m
}()

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

// setPgxExecMode maps pgx's default_query_exec_mode onto automatic
// preparation: the modes that never prepare become prepare_threshold=none.
func setPgxExecMode(c *Config, v string) error {
	switch v {
	case "cache_statement", "cache_describe":
	case "exec", "simple_protocol", "describe_exec":
		c.PrepareThreshold = PrepareNone
	default:
		return errors.New("not one of cache_statement, cache_describe, describe_exec, exec, simple_protocol")
	}
	return nil
}

// setPgxCacheCapacity maps pgx's statement_cache_capacity onto
// prepared_max (0, pgx's "no cache", turns preparation off).
func setPgxCacheCapacity(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return errors.New("not a count (0 or more)")
	}
	if n == 0 {
		c.PrepareThreshold = PrepareNone
	} else {
		c.PreparedMax = n
	}
	return nil
}

// suggestKeyword returns the connection keyword (not a server setting)
// that name most likely misspells: the nearest by edit distance, ignoring
// letter case, when at most two edits away and nearer than name is long;
// "" when none is.
func suggestKeyword(name string) string {
	name = strings.ToLower(name)
	best, bestDist := "", 3
	for i := range keywords {
		k := &keywords[i]
		if k.server {
			continue
		}
		if d := editDistance(name, k.name); d < bestDist && d < len(name) {
			best, bestDist = k.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

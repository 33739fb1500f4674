package pgpipe

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
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
		if redact && k.name == "passfile" && v == defaultPassfile() {
			continue // the default, resolved when the DSN was parsed
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
// [Config.FormatDSN], but without keywords at their default (a passfile
// that is this machine's default, ~/.pgpass, included), and with the
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
		case reflect.Interface:
			// An interface may hold secrets (a writer over a file); show
			// only the dynamic type.
			if fv.IsNil() {
				fmt.Fprintf(&b, "(%s)(nil)", fv.Type())
			} else {
				fmt.Fprintf(&b, "(%s)(%s)", fv.Type(), fv.Elem().Type())
			}
		case reflect.Pointer, reflect.Func, reflect.Chan, reflect.UnsafePointer:
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

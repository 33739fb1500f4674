package pgpipe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// ConnectError reports that no host accepted a connection. It lists every
// attempt; a password never appears in it.
type ConnectError struct {
	Attempts []HostError
}

// HostError is one failed connection attempt.
type HostError struct {
	Host string // host:port, or the socket path
	Err  error
}

func (e *ConnectError) Error() string {
	if len(e.Attempts) == 1 {
		a := e.Attempts[0]
		return "pgpipe: cannot connect to " + a.Host + ": " + trimPrefix(a.Err)
	}
	var b strings.Builder
	b.WriteString("pgpipe: cannot connect to any host:")
	for _, a := range e.Attempts {
		b.WriteString(" " + a.Host + ": " + trimPrefix(a.Err) + ";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns each attempt's error, so errors.As finds a server *Error
// (such as 28P01, invalid password) and errors.Is a context error.
func (e *ConnectError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a.Err
	}
	return errs
}

func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "pgpipe: ") }

// connect opens one connection as cfg says: hosts in order (or shuffled),
// each with its own connect_timeout, until one is accepted whose session
// matches target_session_attrs.
func connect(ctx context.Context, cfg *Config) (*core, error) {
	hosts := append([]Host(nil), cfg.Hosts...)
	if len(hosts) == 0 {
		hosts = []Host{{Name: "localhost", Port: 5432}}
	}
	if cfg.LoadBalanceHosts == "random" {
		rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	}
	var cerr ConnectError
	passes := []TargetSessionAttrs{cfg.TargetSessionAttrs}
	if cfg.TargetSessionAttrs == TargetPreferStandby {
		passes = []TargetSessionAttrs{TargetStandby, TargetAny}
	}
	for _, want := range passes {
		for _, h := range hosts {
			c, err := connectHost(ctx, cfg, h, want)
			if err == nil {
				return c, nil
			}
			cerr.Attempts = append(cerr.Attempts, HostError{Host: hostLabel(h), Err: err})
			if ctx.Err() != nil {
				return nil, &cerr
			}
		}
	}
	return nil, &cerr
}

// hostLabel names a host in errors.
func hostLabel(h Host) string {
	network, addr := hostAddr(h)
	if network == "unix" {
		return addr
	}
	if h.Addr != "" && h.Name != "" && h.Name != h.Addr {
		return h.Name + " (" + addr + ")"
	}
	return addr
}

// hostAddr is where to dial h: a Unix socket file when the name is a
// directory, else TCP to hostaddr or the name.
func hostAddr(h Host) (network, addr string) {
	port := h.Port
	if port == 0 {
		port = 5432
	}
	if h.Addr == "" && (strings.HasPrefix(h.Name, "/") || strings.HasPrefix(h.Name, "@")) {
		return "unix", filepath.Join(h.Name, ".s.PGSQL."+strconv.Itoa(int(port)))
	}
	ip := h.Addr
	if ip == "" {
		ip = h.Name
	}
	return "tcp", net.JoinHostPort(ip, strconv.Itoa(int(port)))
}

// connectHost tries one host, with TLS as sslmode says.
func connectHost(ctx context.Context, cfg *Config, h Host, want TargetSessionAttrs) (*core, error) {
	if cfg.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.ConnectTimeout)
		defer cancel()
	}
	network, _ := hostAddr(h)
	mode := cfg.SSLMode
	if network == "unix" {
		mode = SSLDisable // as libpq: no TLS over Unix sockets
	}
	var c *core
	var err error
	switch mode {
	case SSLDisable:
		c, err = attempt(ctx, cfg, h, nil)
	case SSLAllow:
		// As libpq: plaintext first; TLS when pg_hba.conf rejects that.
		c, err = attempt(ctx, cfg, h, nil)
		if err != nil && ctx.Err() == nil && isHBAReject(err) {
			plainErr := err
			if c, err = attemptTLS(ctx, cfg, h, true); err != nil {
				err = fmt.Errorf("%w; then with TLS: %w", plainErr, err)
			}
		}
	case SSLPrefer, "":
		// As libpq: TLS first; plaintext when the TLS handshake fails or
		// pg_hba.conf rejects the TLS session. A wrong password is not
		// retried, nor a TLS setting the user got wrong, nor a dial that
		// failed (refused, unknown host): no server was reached to refuse
		// TLS. A server that declines TLS is not a failure (attemptOnce
		// goes on in plaintext on the same connection).
		c, err = attemptTLS(ctx, cfg, h, false)
		if err != nil && ctx.Err() == nil && !isConfigError(err) && !isDialError(err) && (!isServerError(err) || isHBAReject(err)) {
			tlsErr := err
			if c, err = attempt(ctx, cfg, h, nil); err != nil {
				err = fmt.Errorf("%w; then without TLS: %w", tlsErr, err)
			}
		}
	default:
		c, err = attemptTLS(ctx, cfg, h, true)
	}
	if err != nil {
		return nil, err
	}
	if err := (handshake{c}).checkSessionBounded(ctx, want); err != nil {
		_ = c.close()
		return nil, err
	}
	return c, nil
}

// checkSessionBounded runs checkSession with the end of ctx bounding its
// round trips, as it bounds the startup's: Connect must not outlive its
// context (attemptOnce clears the startup's deadline before this runs).
func (hs handshake) checkSessionBounded(ctx context.Context, want TargetSessionAttrs) error {
	c := hs.c
	if d, ok := ctx.Deadline(); ok {
		_ = c.rawConn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.rawConn.SetDeadline(time.Now()) })
	err := hs.checkSession(ctx, want)
	if !stop() && err == nil {
		return ctx.Err() // the deadline is in the past now: unusable
	}
	_ = c.rawConn.SetDeadline(time.Time{})
	if cerr := ctxCause(ctx, err); cerr != nil && err != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// attemptTLS connects with TLS; when the server declines TLS and required
// is false, it goes on in plaintext on the same connection.
func attemptTLS(ctx context.Context, cfg *Config, h Host, required bool) (*core, error) {
	tc, err := tlsConfig(cfg, h)
	if err != nil {
		return nil, err
	}
	if required {
		return attempt(ctx, cfg, h, tc)
	}
	return attempt(ctx, cfg, h, &tlsOptional{tc})
}

// tlsOptional marks a TLS config that the server may decline.
type tlsOptional struct{ *tls.Config }

// attempt dials h, negotiates TLS when tlsCfg is a *tls.Config (required)
// or *tlsOptional, and runs the startup and authentication. It asks for
// extra_float_digits=3, so that floats in text format are exact whatever
// the role's default; a pooler that refuses the parameter (PgBouncer does
// unless ignore_startup_parameters lists it) is tried again without it,
// and the Connector remembers not to ask again.
func attempt(ctx context.Context, cfg *Config, h Host, tlsCfg any) (*core, error) {
	digits := cfg.pool == nil || !cfg.pool.noFloatDigits.Load()
	c, err := attemptOnce(ctx, cfg, h, tlsCfg, digits)
	if err != nil && digits && ctx.Err() == nil && refusedFloatDigits(err) {
		if cfg.pool != nil {
			cfg.pool.noFloatDigits.Store(true)
		}
		c, err = attemptOnce(ctx, cfg, h, tlsCfg, false)
	}
	return c, err
}

// refusedFloatDigits reports a pooler's refusal of the startup parameter.
func refusedFloatDigits(err error) bool {
	var pgErr *Error
	return errors.As(err, &pgErr) && pgErr.Code == "08P01" &&
		strings.Contains(pgErr.Message, "extra_float_digits")
}

func attemptOnce(ctx context.Context, cfg *Config, h Host, tlsCfg any, floatDigits bool) (*core, error) {
	network, addr := hostAddr(h)
	dial := cfg.DialFunc
	if dial == nil {
		dial = dialer(cfg).DialContext
	}
	raw, err := dial(ctx, network, addr)
	if err != nil {
		// The socket's deadline, set from the context's, can fire a moment
		// before the context reports being done: the net package then
		// returns its own "i/o timeout", which errors.Is does not match
		// with context.DeadlineExceeded.
		if cerr := ctxCause(ctx, err); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, &dialError{err}
	}
	// Until the startup ends, the context's end closes the socket's
	// deadline, so every read and write below returns.
	if d, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()

	netConn, sessionTLS, err := sessionOver(ctx, raw, tlsCfg)
	if err != nil {
		_ = raw.Close()
		if cerr := ctxCause(ctx, err); cerr != nil {
			return nil, fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, err
	}
	c := newCore(cfg, netConn, raw)
	c.key = cancelKey{network: network, addr: addr, tls: sessionTLS, dial: dial}
	if err := (handshake{c}).startup(h, floatDigits); err != nil {
		_ = netConn.Close()
		if cerr := ctxCause(ctx, err); cerr != nil {
			return nil, fmt.Errorf("%w (%v)", cerr, err)
		}
		return nil, err
	}
	if !stop() {
		_ = netConn.Close()
		return nil, ctx.Err()
	}
	_ = raw.SetDeadline(time.Time{})
	c.lastUsed = time.Now()
	w, err := cfg.traceWriter()
	if err != nil {
		_ = c.close()
		return nil, err
	}
	if w != nil {
		c.trace(w, cfg.TraceRegress) // after the startup: no password exchange in it
	}
	return c, nil
}

// sessionOver starts TLS on raw as tlsCfg says (*tls.Config: required;
// *tlsOptional: plaintext when the server declines; nil: plaintext), and
// returns the connection the protocol runs over and the TLS configuration
// in use (nil for plaintext).
func sessionOver(ctx context.Context, raw net.Conn, tlsCfg any) (net.Conn, *tls.Config, error) {
	switch t := tlsCfg.(type) {
	case *tls.Config:
		conn, err := startTLS(ctx, raw, t)
		return conn, t, err
	case *tlsOptional:
		conn, err := startTLS(ctx, raw, t.Config)
		if errors.Is(err, errNoTLS) {
			return raw, nil, nil
		}
		return conn, t.Config, err
	}
	return raw, nil, nil
}

// ctxCause returns the context's error when err is the socket deadline the
// context set (it can fire a moment before the context itself reports
// being done), or when the context ended; nil otherwise.
func ctxCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// dialer builds the net.Dialer for cfg's keepalive settings.
func dialer(cfg *Config) *net.Dialer {
	d := &net.Dialer{}
	if !cfg.KeepAlives {
		d.KeepAlive = -1
		return d
	}
	d.KeepAliveConfig = net.KeepAliveConfig{
		Enable: true, Idle: cfg.KeepAlivesIdle, Interval: cfg.KeepAlivesInterval, Count: cfg.KeepAlivesCount,
	}
	if d.KeepAliveConfig.Count == 0 {
		d.KeepAliveConfig.Count = -1
	}
	if d.KeepAliveConfig.Idle == 0 {
		d.KeepAliveConfig.Idle = -1
	}
	if d.KeepAliveConfig.Interval == 0 {
		d.KeepAliveConfig.Interval = -1
	}
	return d
}

// handshake is the connect-time conversation on a new core: the
// StartupMessage, authentication (auth.go), the first ReadyForQuery, and
// the session probes (target_session_attrs, a pooler in between). It runs
// before the core is handed out, and holds nothing of its own.
type handshake struct{ c *core }

// startup sends the StartupMessage, authenticates, and reads until the
// first ReadyForQuery. The driver reads dates in the ISO style, so a
// datestyle setting only chooses the field order (DMY, MDY, YMD) for
// input.
func (hs handshake) startup(h Host, floatDigits bool) error {
	c := hs.c
	cfg := c.cfg
	params := map[string]string{
		"user":            cfg.User,
		"database":        cfg.Database,
		"client_encoding": "UTF8",
		"datestyle":       "ISO, MDY",
	}
	if cfg.Database == "" {
		params["database"] = cfg.User
	}
	if app := cfg.ApplicationName; app != "" {
		params["application_name"] = app
	} else if cfg.FallbackApplicationName != "" {
		params["application_name"] = cfg.FallbackApplicationName
	}
	if cfg.Options != "" {
		params["options"] = cfg.Options
	}
	for k, v := range cfg.RuntimeParams {
		if strings.EqualFold(k, "datestyle") {
			delete(params, "datestyle")
			k, v = "datestyle", isoDateStyle(v)
		}
		params[k] = v
	}
	if floatDigits && !hasParamFold(params, "extra_float_digits") {
		params["extra_float_digits"] = "3"
	}
	c.fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: params})
	if err := c.fe.Flush(); err != nil {
		return err
	}
	if err := hs.authenticate(h); err != nil {
		return explainSetting(cfg, err)
	}
	return explainSetting(cfg, hs.awaitStartupReady())
}

// explainSetting adds to the server's refusal of a startup setting that
// came from the DSN (any keyword that is not a connection keyword is sent
// as one, as libpq does) which DSN keyword it was, and the connection
// keyword it resembles: "sslmod=disable" fails with PostgreSQL's
// "unrecognized configuration parameter" (42704), or PgBouncer's
// "unsupported startup parameter" (08P01), and says "did you mean sslmode".
func explainSetting(cfg *Config, err error) error {
	var pgErr *Error
	if err == nil || !errors.As(err, &pgErr) {
		return err
	}
	var name string
	switch {
	case pgErr.Code == "42704":
		_, rest, _ := strings.Cut(pgErr.Message, "\"")
		name, _, _ = strings.Cut(rest, "\"")
	case pgErr.Code == "08P01" && strings.HasPrefix(pgErr.Message, "unsupported startup parameter: "):
		name = strings.TrimPrefix(pgErr.Message, "unsupported startup parameter: ")
	}
	if name == "" {
		return err
	}
	for key := range cfg.RuntimeParams {
		if !strings.EqualFold(key, name) {
			continue
		}
		hint := ""
		if s := suggestKeyword(key); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("pgpipe: DSN keyword %q%s is not a connection keyword, so it was sent to the server as a setting, which refused it: %w", key, hint, err)
	}
	return err
}

// awaitStartupReady reads the messages after authentication: the cancel
// key, the server's parameters, and ReadyForQuery.
func (hs handshake) awaitStartupReady() error {
	c := hs.c
	for {
		msg, err := c.receive()
		if err != nil {
			return errors.Unwrap(err) // the ConnError text is about queries
		}
		switch m := msg.(type) {
		case *pgproto3.BackendKeyData:
			c.key.pid = m.ProcessID
			c.key.secret = append([]byte(nil), m.SecretKey...)
		case *pgproto3.ReadyForQuery:
			if !validTxStatus(m.TxStatus) {
				return errProtocol("ReadyForQuery with transaction status " + strconv.QuoteRune(rune(m.TxStatus)) + " during startup")
			}
			c.txn.status = m.TxStatus
			return nil
		case *pgproto3.ErrorResponse:
			if what := incomplete(m); what != "" {
				return errProtocol("ErrorResponse without " + what + " during startup")
			}
			return newError(m, "")
		case *pgproto3.NegotiateProtocolVersion:
			// The server lacks a minor version or option we asked for;
			// the driver asks for neither, so going on is safe.
		default:
			return errProtocol("unexpected " + msgName(msg) + " during startup")
		}
	}
}

// checkSession verifies target_session_attrs, and learns whether a pooler
// sits between the driver and the server.
func (hs handshake) checkSession(ctx context.Context, want TargetSessionAttrs) error {
	c := hs.c
	if err := hs.checkTarget(want); err != nil {
		return err
	}
	if c.cfg.PrepareThreshold == PrepareNone {
		return nil
	}
	pid, err := hs.queryValue("SELECT pg_catalog.pg_backend_pid()")
	if err != nil {
		return err
	}
	c.prep.pooled = pid != strconv.FormatUint(uint64(c.key.pid), 10)
	if c.prep.pooled && c.cfg.pool != nil && c.cfg.pool.poolerLoses.Load() {
		// Another connection of this pool already saw the pooler lose
		// statements: it runs in transaction mode.
		c.prep.stmts.Disable()
	}
	return nil
}

// checkTarget checks the session against target_session_attrs, using the
// parameters PostgreSQL 14+ reports (in_hot_standby,
// default_transaction_read_only) and queries on older servers.
func (hs handshake) checkTarget(want TargetSessionAttrs) error {
	if want == "" || want == TargetAny {
		return nil
	}
	standby, err := hs.sessionFlag("in_hot_standby", "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'on' ELSE 'off' END")
	if err != nil {
		return err
	}
	readOnly := standby
	if want == TargetReadWrite || want == TargetReadOnly {
		ro, err := hs.sessionFlag("default_transaction_read_only", "SHOW transaction_read_only")
		if err != nil {
			return err
		}
		readOnly = readOnly || ro
	}
	ok := map[TargetSessionAttrs]bool{
		TargetReadWrite: !readOnly, TargetReadOnly: readOnly,
		TargetPrimary: !standby, TargetStandby: standby,
	}[want]
	if !ok {
		return fmt.Errorf("pgpipe: the session is not %s (target_session_attrs)", want)
	}
	return nil
}

// sessionFlag reads an on/off session fact from a reported parameter, or
// runs query when the server does not report it.
func (hs handshake) sessionFlag(param, query string) (bool, error) {
	c := hs.c
	v, ok := c.params[param]
	if !ok {
		var err error
		if v, err = hs.queryValue(query); err != nil {
			return false, err
		}
	}
	return v == "on", nil
}

// queryValue runs a simple query of the driver's own and returns the first
// column of its first row as text.
func (hs handshake) queryValue(sql string) (string, error) {
	c := hs.c
	res := &c.internalRes
	res.reset(sql)
	c.queueSimple(res)
	if err := c.flush(); err != nil {
		return "", err
	}
	var v string
	for res.state != resDone {
		ev, err := c.advance(res)
		if err != nil {
			return "", err
		}
		if ev == evRow && v == "" && len(c.rowValues) > 0 {
			v = string(c.rowValues[0])
		}
	}
	return v, res.err
}

// isServerError reports whether err came from the server (an
// ErrorResponse), as opposed to the network or TLS.
func isServerError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// isHBAReject reports whether the server refused the connection in
// pg_hba.conf (28000), which another TLS choice may pass.
func isHBAReject(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "28000"
}

// dialError is a failure to open the network connection: nothing reached
// a server. Its text is the cause's.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// isDialError reports whether err is a failed dial, which another TLS
// choice cannot cure.
func isDialError(err error) bool {
	var e *dialError
	return errors.As(err, &e)
}

// isConfigError reports whether err is a mistake in the TLS settings,
// which a retry without TLS must not hide.
func isConfigError(err error) bool {
	var e *tlsSetupError
	return errors.As(err, &e)
}

// isoDateStyle returns the DateStyle sent for a user's datestyle setting:
// the ISO output style the decoders read, with the user's field order
// (German implies DMY, as in PostgreSQL), which decides how ambiguous date
// input such as 01/02/2024 is read.
func isoDateStyle(user string) string {
	order, implied := "", "MDY"
	for _, f := range strings.FieldsFunc(strings.ToUpper(user), func(r rune) bool { return r == ',' || r == ' ' }) {
		switch f {
		case "GERMAN":
			implied = "DMY"
		case "DMY", "EURO", "EUROPEAN":
			order = "DMY"
		case "MDY", "US", "NONEURO", "NONEUROPEAN":
			order = "MDY"
		case "YMD":
			order = "YMD"
		}
	}
	if order == "" {
		order = implied
	}
	return "ISO, " + order
}

// hasParamFold reports whether params sets name, in any letter case.
func hasParamFold(params map[string]string, name string) bool {
	for k := range params {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

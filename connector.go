package pgpipe

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// SSLMode is libpq's sslmode: how hard the driver insists on TLS and how much
// of the server's certificate it checks.
type SSLMode string

// The sslmode values, as libpq defines them.
const (
	SSLDisable    SSLMode = "disable"     // never TLS
	SSLAllow      SSLMode = "allow"       // plaintext first, TLS if the server insists
	SSLPrefer     SSLMode = "prefer"      // TLS if the server offers it, else plaintext (the default)
	SSLRequire    SSLMode = "require"     // TLS or fail; the certificate is not checked (but see sslrootcert)
	SSLVerifyCA   SSLMode = "verify-ca"   // TLS, certificate signed by a trusted CA
	SSLVerifyFull SSLMode = "verify-full" // verify-ca, and the certificate names the host
)

// TargetSessionAttrs is libpq's target_session_attrs: which kind of server
// a connection attempt accepts when several hosts are listed.
type TargetSessionAttrs string

// The target_session_attrs values, as libpq defines them.
const (
	TargetAny           TargetSessionAttrs = "any"
	TargetReadWrite     TargetSessionAttrs = "read-write"
	TargetReadOnly      TargetSessionAttrs = "read-only"
	TargetPrimary       TargetSessionAttrs = "primary"
	TargetStandby       TargetSessionAttrs = "standby"
	TargetPreferStandby TargetSessionAttrs = "prefer-standby"
)

// PrepareNone is the PrepareThreshold that disables automatic preparation
// (prepare_threshold=none in a DSN).
const PrepareNone = -1

// Host is one server address from a DSN's host, hostaddr and port lists.
type Host struct {
	// Name is libpq's host: a host name, an IP address, or, when it starts
	// with '/', the directory holding the server's Unix socket. It is also
	// the name checked against the certificate under sslmode=verify-full.
	Name string
	// Addr is libpq's hostaddr: a numeric IP address dialled instead of
	// looking Name up. Empty means resolve Name.
	Addr string
	// Port is the TCP port, or the suffix of the socket file name
	// (.s.PGSQL.<port>) for a Unix socket.
	Port uint16
}

// Config holds everything needed to open connections. The DSN keyword that
// sets each field is given in its comment; [ParseDSN] fills a Config from a
// DSN and libpq's environment variables, and [Config.FormatDSN] turns it back
// into one. A Config must not be modified after it is passed to
// [NewConnectorConfig]. Printing a Config with any fmt verb hides the password.
type Config struct {
	// Hosts are tried in order (or shuffled, with LoadBalanceHosts) until one
	// accepts a connection that matches TargetSessionAttrs.
	// DSN: host, hostaddr, port (comma-separated lists). Env: PGHOST, PGHOSTADDR, PGPORT.
	Hosts []Host

	Database string // dbname; env PGDATABASE; default: User
	User     string // user; env PGUSER; default: the operating-system user
	Password string // password; env PGPASSWORD; never printed, logged or put in an error
	Passfile string // passfile; env PGPASSFILE; default ~/.pgpass

	ApplicationName         string // application_name; env PGAPPNAME
	FallbackApplicationName string // fallback_application_name: used when ApplicationName is empty
	Options                 string // options: command-line options for the server, e.g. "-c search_path=app"; env PGOPTIONS

	// ConnectTimeout bounds each host attempt (libpq: connect_timeout in
	// whole seconds; env PGCONNECT_TIMEOUT). Zero means no bound other than
	// the context passed to Connect.
	ConnectTimeout time.Duration

	SSLMode               SSLMode // sslmode; env PGSSLMODE; default prefer
	SSLRootCert           string  // sslrootcert: CA bundle file, or "system" for the system pool; env PGSSLROOTCERT
	SSLCert               string  // sslcert: client certificate file; env PGSSLCERT
	SSLKey                string  // sslkey: client key file; env PGSSLKEY
	SSLPassword           string  // sslpassword: decrypts an encrypted SSLKey; never printed
	SSLSNI                bool    // sslsni: send the host name in the TLS handshake; default true
	SSLMinProtocolVersion string  // ssl_min_protocol_version: TLSv1, TLSv1.1, TLSv1.2 (default), TLSv1.3

	// ChannelBinding is channel_binding: disable, prefer (default) or
	// require SCRAM-SHA-256-PLUS channel binding over TLS.
	ChannelBinding string
	// RequireAuth is require_auth: a comma-separated list of authentication
	// methods the client accepts (password, md5, scram-sha-256, none), or the
	// same list negated with '!'. Empty accepts any.
	RequireAuth string

	TargetSessionAttrs TargetSessionAttrs // target_session_attrs; env PGTARGETSESSIONATTRS; default any
	LoadBalanceHosts   string             // load_balance_hosts: disable (default) or random; env PGLOADBALANCEHOSTS

	// KeepAlives enables TCP keepalives (keepalives, default on);
	// KeepAlivesIdle, KeepAlivesInterval and KeepAlivesCount tune them
	// (keepalives_idle, keepalives_interval in seconds, keepalives_count);
	// zero leaves the operating system's value.
	KeepAlives         bool
	KeepAlivesIdle     time.Duration
	KeepAlivesInterval time.Duration
	KeepAlivesCount    int

	// RuntimeParams are sent in the StartupMessage, so they set server
	// parameters for the session. Any DSN keyword that is neither libpq's
	// nor pgpipe's lands here (e.g. search_path=app, timezone=UTC).
	RuntimeParams map[string]string

	// PrepareThreshold is prepare_threshold: a query is prepared on the
	// server after it has run this many times on a connection. 0 prepares
	// at first use; PrepareNone ("none") never prepares automatically.
	// Default 5.
	PrepareThreshold int
	// PreparedMax is prepared_max: at most this many statements stay
	// prepared per connection; the least recently used is closed beyond it.
	// Default 100.
	PreparedMax int
	// CancelGrace is cancel_grace: after a context is cancelled during a
	// query, how long the driver waits for the server to acknowledge the
	// CancelRequest and finish the query before it closes the connection
	// instead. Default 5s.
	CancelGrace time.Duration
	// Multiplex is multiplex: when above 0, the connections database/sql
	// opens share at most this many server connections, and statements
	// from different callers are pipelined onto them (see the package
	// documentation, "Multiplexing"). 0, the default, gives every
	// database/sql connection a server connection of its own.
	Multiplex int

	// Trace is trace: where to write a protocol trace in libpq's PQtrace
	// format ("stderr", "stdout", or a file path, appended to); empty
	// traces nothing. TraceRegress (trace_regress) leaves out timestamps
	// and values that change between runs. TraceWriter, set in code, takes
	// precedence over Trace.
	Trace        string
	TraceRegress bool

	// The fields below have no DSN keyword; set them in code.

	// TraceWriter receives the protocol trace of every connection (see
	// Trace). Lines of concurrent connections interleave; each line is one
	// Write.
	TraceWriter io.Writer

	// TLSConfig, when set, is used for TLS instead of the configuration
	// derived from the ssl* fields (SSLMode still decides whether TLS is
	// attempted). It is cloned per connection; ServerName is filled in when empty.
	TLSConfig *tls.Config
	// DialFunc, when set, opens the network connection instead of a
	// net.Dialer (network is "tcp" or "unix").
	DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)
	// NoticeHandler receives the server's notices (NoticeResponse), such as
	// RAISE NOTICE output. It runs on the goroutine using the connection
	// and must not use that connection. Nil drops notices.
	NoticeHandler func(*Notice)
	// Logger receives the driver's own log lines (recoveries, fallbacks).
	// Nil means slog.Default().
	Logger *slog.Logger
	// Tracer, when set, observes every statement (see [QueryTracer]),
	// and connection attempts and Prepare calls when it also implements
	// [ConnectTracer] or [PrepareTracer]. [LogTracer] logs them.
	Tracer QueryTracer

	// pool is shared by the connections of one Connector.
	pool *poolState
}

// poolState is what the connections of one Connector learn together.
type poolState struct {
	// poolerLoses is set once a connection saw a pooler lose a prepared
	// statement: a pooler in transaction mode. Connections opened later
	// that find a pooler start with preparation off, and the warning is
	// logged once per Connector.
	poolerLoses atomic.Bool
	// noFloatDigits is set once a pooler refused extra_float_digits in
	// the StartupMessage: later connections do not ask for it.
	noFloatDigits atomic.Bool

	// traceMu guards traceFile, the trace file opened once per Connector
	// (kept open for the process's life). No I/O other than the open
	// happens while it is held.
	traceMu   sync.Mutex
	traceFile io.Writer
}

// traceWriter returns where the connections of cfg write their protocol
// trace, or nil.
func (cfg *Config) traceWriter() (io.Writer, error) {
	if cfg.TraceWriter != nil {
		return cfg.TraceWriter, nil
	}
	switch cfg.Trace {
	case "":
		return nil, nil
	case "stderr":
		return os.Stderr, nil
	case "stdout":
		return os.Stdout, nil
	}
	if cfg.pool == nil {
		return nil, errors.New("pgpipe: trace to a file needs a Connector")
	}
	cfg.pool.traceMu.Lock()
	defer cfg.pool.traceMu.Unlock()
	if cfg.pool.traceFile == nil {
		f, err := os.OpenFile(cfg.Trace, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, &DSNError{Keyword: "trace", Err: err}
		}
		cfg.pool.traceFile = f
	}
	return cfg.pool.traceFile, nil
}

// Connector opens connections with one Config. database/sql keeps one per
// pool: sql.OpenDB(connector).
type Connector struct {
	cfg *Config
	mux *muxPool // multiplex > 0
}

// NewConnector parses dsn (see [ParseDSN]) into a Connector.
func NewConnector(dsn string) (*Connector, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return NewConnectorConfig(cfg)
}

// NewConnectorConfig returns a Connector for cfg, which must not be
// modified afterwards. Start from [NewConfig] or [ParseDSN] rather than a
// zero Config: their defaults (prepare_threshold 5, sslmode prefer,
// keepalives on, ...) are not Go's zero values.
func NewConnectorConfig(cfg *Config) (*Connector, error) {
	if cfg == nil {
		return nil, errors.New("pgpipe: nil Config")
	}
	switch {
	case cfg.PrepareThreshold < PrepareNone:
		return nil, &DSNError{Keyword: "prepare_threshold", Err: errors.New("must be 0 or more, or none")}
	case cfg.PreparedMax < 1:
		return nil, &DSNError{Keyword: "prepared_max", Err: errors.New("must be at least 1")}
	case cfg.CancelGrace < 0:
		return nil, &DSNError{Keyword: "cancel_grace", Err: errors.New("must not be negative")}
	case cfg.Multiplex < 0:
		return nil, &DSNError{Keyword: "multiplex", Err: errors.New("must be 0 (off) or more")}
	}
	c := *cfg
	c.Hosts = append([]Host(nil), cfg.Hosts...)
	c.pool = &poolState{}
	cn := &Connector{cfg: &c}
	if c.Multiplex > 0 {
		cn.mux = newMuxPool(cn.cfg, c.Multiplex)
	}
	return cn, nil
}

// Connect opens one connection. It honours ctx and connect_timeout, tries
// the hosts as the Config says, and never returns driver.ErrBadConn.
func (cn *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if cn.mux != nil {
		// A connection of database/sql's pool; server connections are
		// opened when a statement needs one.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return &conn{mux: &muxSession{p: cn.mux}}, nil
	}
	ct, _ := cn.cfg.Tracer.(ConnectTracer)
	var start time.Time
	if ct != nil {
		ctx = ct.TraceConnectStart(ctx)
		start = time.Now()
	}
	c, err := connect(ctx, cn.cfg)
	if ct != nil {
		host := ""
		if c != nil {
			host = c.key.addr
		}
		ct.TraceConnectEnd(ctx, host, time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return &conn{core: c}, nil
}

// Close closes the server connections a multiplexing Connector shares;
// those pinned by a session close when it ends. database/sql's DB.Close
// calls it.
func (cn *Connector) Close() error {
	if cn.mux != nil {
		return cn.mux.close()
	}
	return nil
}

// Driver returns the pgpipe [Driver].
func (cn *Connector) Driver() driver.Driver { return &Driver{} }

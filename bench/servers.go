package bench

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgpipe/pgpipe/internal/latencyproxy"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// DSNEnv names the environment variable holding the server's DSN, in
// libpq keyword/value or URL form, that every contender connects to.
const DSNEnv = "PGPIPE_BENCH_DSN"

// LocalServerEnv names the environment variable that, set to 1, says the
// server runs on this machine, so that the benchmarks may read its
// backend's CPU time from /proc.
const LocalServerEnv = "PGPIPE_BENCH_LOCAL_SERVER"

// SetupDoneEnv names the environment variable that, set to 1, tells the
// benchmark binary that the tables are ready: the runner ran [Setup].
const SetupDoneEnv = "PGPIPE_BENCH_SETUP_DONE"

// Route is how a workload's clients reach the server.
type Route string

const (
	// Direct is TCP over loopback to the server.
	Direct Route = "direct"
	// Proxy goes through a proxy adding [ProxyDelay] in each direction,
	// so that a round trip costs about twice that more than on loopback.
	Proxy Route = "proxy"
	// PgBouncer goes through PgBouncer in transaction pooling mode.
	PgBouncer Route = "pgbouncer"
	// Proxy12 goes through a proxy adding [Proxy12Delay] in each
	// direction: the 1.2 ms round trip of the multiplexing workloads.
	Proxy12 Route = "proxy-1.2ms"
)

// ProxyDelay is the delay the [Proxy] route adds in each direction.
const ProxyDelay = 500 * time.Microsecond

// Proxy12Delay is the delay the [Proxy12] route adds in each direction.
const Proxy12Delay = 600 * time.Microsecond

// ProxyDelays are the latency proxy routes and the delay each adds in
// each direction.
var ProxyDelays = map[Route]time.Duration{Proxy: ProxyDelay, Proxy12: Proxy12Delay}

// RouteEnv names, per route, the environment variable holding its DSN.
var RouteEnv = map[Route]string{
	Direct:    DSNEnv,
	Proxy:     "PGPIPE_BENCH_PROXY_DSN",
	Proxy12:   "PGPIPE_BENCH_PROXY12_DSN",
	PgBouncer: "PGPIPE_BENCH_PGBOUNCER_DSN",
}

// StartProxy starts a latency proxy adding delay in each direction, in
// this process, in front of the server of dsn, and returns the DSN that
// goes through it. stop closes it.
func StartProxy(dsn string, delay time.Duration) (proxyDSN string, stop func(), err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("bench: reading the DSN's host and port: %w", err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return "", nil, fmt.Errorf("bench: the proxy route needs a TCP server, not the socket %s", cfg.Host)
	}
	target := cfg.Host + ":" + strconv.Itoa(int(cfg.Port))
	p, err := latencyproxy.Start(target, delay)
	if err != nil {
		return "", nil, fmt.Errorf("bench: starting the latency proxy: %w", err)
	}
	proxyDSN, err = withHostPort(dsn, "127.0.0.1", p.Port())
	if err != nil {
		p.Close()
		return "", nil, err
	}
	return proxyDSN, func() { p.Close() }, nil
}

// StartPgBouncer starts PgBouncer in transaction mode in front of c and
// returns the DSN for the superuser through it and PgBouncer's process
// ID (to pin it); c.Stop stops it too.
func StartPgBouncer(ctx context.Context, c *pgcluster.Cluster) (dsn string, pid int, err error) {
	b, err := c.StartPgBouncer(ctx, pgcluster.BouncerOptions{PoolMode: "transaction"})
	if err != nil {
		return "", 0, fmt.Errorf("bench: starting PgBouncer: %w", err)
	}
	raw, _ := os.ReadFile(filepath.Join(b.Dir, "bouncer.pid"))
	pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
	return b.DSN(pgcluster.SuperUser, "", "sslmode=disable"), pid, nil
}

// withHostPort points dsn at host:port.
func withHostPort(dsn, host string, port int) (string, error) {
	if !strings.Contains(dsn, "://") {
		return withParams(dsn, []string{"host=" + host, "port=" + strconv.Itoa(port)})
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("bench: parsing DSN URL: %w", err)
	}
	u.Host = host + ":" + strconv.Itoa(port)
	q := u.Query()
	q.Del("host")
	q.Del("port")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// PingRoundTrip returns the median time of n `SELECT 1` round trips on
// dsn with pgx's native API (simple protocol, one round trip each), to
// report what a route really costs.
func PingRoundTrip(ctx context.Context, dsn string, n int) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	times := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := conn.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	return medianDuration(times), nil
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

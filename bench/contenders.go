// Package bench compares pgpipe with other PostgreSQL drivers for Go on
// the same workloads, side by side in one run. It holds two tables:
// [Contenders] (the clients: a driver and its settings) and [Workloads]
// (what is measured, and by which [Entry]: a contender doing the
// workload one way). The benchmark BenchmarkWorkload in bench_test.go
// runs every entry of every workload as BenchmarkWorkload/<workload>/<entry>,
// and the command pgpipe-bench (cmd/pgpipe-bench) runs them interleaved,
// pinned to CPU cores, with the C references (pgbench, psql), and reports
// medians and ratios. README.md says how to run them and how to read the
// numbers.
//
// A new workload is one entry in its table; a new client one entry in
// [Contenders].
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/lib/pq"              // registers "postgres"
	_ "github.com/pgpipe/pgpipe"       // registers "pgpipe"
)

// Contender is one client of PostgreSQL from Go: a driver with its
// settings, through database/sql or through pgx's native API.
type Contender struct {
	// Name identifies the contender in [Entry.Contender].
	Name string
	// Label names the contender in reports.
	Label string
	// Driver is the database/sql driver name given to sql.Open; empty for
	// pgx's native API (pgx.Connect).
	Driver string
	// Params are key=value settings added to the DSN (replacing the same
	// key), e.g. "prepare_threshold=none".
	Params []string
}

// Contenders are the clients the workloads' entries use.
var Contenders = []Contender{
	{Name: "pgpipe", Label: "pgpipe", Driver: "pgpipe"},
	{Name: "pgpipe-none", Label: "pgpipe prepare_threshold=none", Driver: "pgpipe", Params: []string{"prepare_threshold=none"}},
	{Name: "pgpipe-mux8", Label: "pgpipe multiplex=8", Driver: "pgpipe", Params: []string{"multiplex=8"}},
	{Name: "pgx-stdlib", Label: "pgx stdlib", Driver: "pgx"},
	{Name: "pgx-exec", Label: "pgx stdlib, default_query_exec_mode=exec", Driver: "pgx", Params: []string{"default_query_exec_mode=exec"}},
	{Name: "lib-pq", Label: "lib/pq", Driver: "postgres"},
	{Name: "pgx", Label: "pgx (native API)"},
}

// AdminContender is the client the harness itself uses (setup, resets
// between operations): pgx stdlib on the direct route.
const AdminContender = "pgx-stdlib"

// ContenderNamed returns the contender called name; ok is false when
// there is none.
func ContenderNamed(name string) (c Contender, ok bool) {
	for _, c := range Contenders {
		if c.Name == name {
			return c, true
		}
	}
	return Contender{}, false
}

// Client is one open connection of a contender: a database/sql pool
// limited to one connection (or to an entry's [Entry.Conns]), or a
// native pgx connection.
type Client struct {
	// DB is set for database/sql contenders.
	DB *sql.DB
	// PGX is set for pgx's native API.
	PGX *pgx.Conn
	// Pgpipe reports that DB was opened with the pgpipe driver.
	Pgpipe bool
	// progress counts the rows an operation has written or read so far,
	// for the heap sampler; operations that stream many rows update it.
	progress atomic.Int64
}

// Close closes the client's connection.
func (cl *Client) Close() error {
	if cl.PGX != nil {
		return cl.PGX.Close(context.Background())
	}
	return cl.DB.Close()
}

// Open connects c to dsn and checks the connection. A database/sql pool
// is limited to one connection: every workload runs on one connection,
// so all contenders pay the same pool overhead.
func (c Contender) Open(ctx context.Context, dsn string) (*Client, error) {
	return c.OpenPool(ctx, dsn, 1)
}

// OpenPool is [Contender.Open] with a database/sql pool of conns
// connections (SetMaxOpenConns and SetMaxIdleConns), for the workloads
// that run operations from many goroutines. It is ignored for pgx's
// native API.
func (c Contender) OpenPool(ctx context.Context, dsn string, conns int) (*Client, error) {
	full, err := withParams(dsn, c.Params)
	if err != nil {
		return nil, err
	}
	if c.Driver == "" {
		conn, err := pgx.Connect(ctx, full)
		if err != nil {
			return nil, fmt.Errorf("bench: connecting with %s: %w", c.Name, err)
		}
		return &Client{PGX: conn}, nil
	}
	db, err := sql.Open(c.Driver, full)
	if err != nil {
		return nil, fmt.Errorf("bench: opening %s: %w", c.Name, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("bench: connecting with %s: %w", c.Name, err)
	}
	return &Client{DB: db, Pgpipe: c.Driver == "pgpipe"}, nil
}

// OpenAdmin opens the harness's own client on dsn.
func OpenAdmin(ctx context.Context, dsn string) (*sql.DB, error) {
	c, _ := ContenderNamed(AdminContender)
	cl, err := c.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return cl.DB, nil
}

// withParams adds key=value settings to dsn, which is a URL
// (postgres://...) or keyword/value pairs. A later setting wins in
// keyword/value form, as libpq, pgx and lib/pq all read it.
func withParams(dsn string, params []string) (string, error) {
	if len(params) == 0 {
		return dsn, nil
	}
	if !strings.Contains(dsn, "://") {
		return dsn + " " + strings.Join(params, " "), nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("bench: parsing DSN URL: %w", err)
	}
	q := u.Query()
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return "", fmt.Errorf("bench: contender setting %q is not key=value", p)
		}
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

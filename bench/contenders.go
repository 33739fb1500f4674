// Package bench compares pgpipe with other PostgreSQL drivers for Go on
// the same workloads, side by side in one run. It holds two tables:
// [Workloads] (what is measured) and [Contenders] (who is measured). The
// benchmark BenchmarkWorkload in bench_test.go runs every workload for
// every contender as BenchmarkWorkload/<workload>/<contender>, and the
// command pgpipe-bench (cmd/pgpipe-bench) runs them interleaved, pinned
// to CPU cores, and reports medians and ratios. README.md says how to run
// them and how to read the numbers.
//
// A new workload or contender is one entry in its table.
package bench

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/lib/pq"              // registers "postgres"
	_ "github.com/pgpipe/pgpipe"       // registers "pgpipe"
)

// DSNEnv names the environment variable holding the server's DSN, in
// libpq keyword/value or URL form, that every contender connects to.
const DSNEnv = "PGPIPE_BENCH_DSN"

// LocalServerEnv names the environment variable that, set to 1, says the
// server runs on this machine, so that the benchmarks may read its
// backend's CPU time from /proc.
const LocalServerEnv = "PGPIPE_BENCH_LOCAL_SERVER"

// Contender is one way of talking to PostgreSQL from Go, measured on
// every workload.
type Contender struct {
	// Name is the sub-benchmark name: letters, digits, '-' and '_'.
	Name string
	// Label names the contender in reports.
	Label string
	// Driver is the database/sql driver name given to sql.Open.
	Driver string
	// Params are key=value settings added to the DSN (replacing the same
	// key), e.g. "prepare_threshold=none".
	Params []string
	// Baseline marks the contender every other is compared with; exactly
	// one has it.
	Baseline bool
	// Subject marks a contender whose results get a verdict against each
	// workload's [Target].
	Subject bool
}

// Contenders are the drivers measured, in the order they run. All go
// through database/sql with their default settings.
//
// A contender that does not go through database/sql (pgx's native API)
// will need an open function returning its own client type and a second
// op function in [Workload]; workloads without one skip it.
var Contenders = []Contender{
	{Name: "pgpipe", Label: "pgpipe", Driver: "pgpipe", Subject: true},
	{Name: "pgx-stdlib", Label: "pgx stdlib", Driver: "pgx", Baseline: true},
	{Name: "lib-pq", Label: "lib/pq", Driver: "postgres"},
}

// Baseline returns the contender marked Baseline.
func Baseline() Contender {
	for _, c := range Contenders {
		if c.Baseline {
			return c
		}
	}
	panic("bench: no baseline contender")
}

// Open opens a pool for c on dsn, limited to one connection (every
// workload runs on one connection, so all contenders pay the same pool
// overhead), and checks that it connects.
func (c Contender) Open(dsn string) (*sql.DB, error) {
	full, err := withParams(dsn, c.Params)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(c.Driver, full)
	if err != nil {
		return nil, fmt.Errorf("bench: opening %s: %w", c.Name, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("bench: connecting with %s: %w", c.Name, err)
	}
	return db, nil
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

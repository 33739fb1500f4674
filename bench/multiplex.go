package bench

import "fmt"

// The multiplexing workloads: many goroutines running point queries
// through one *sql.DB whose server connections are few, the case pgpipe's
// multiplex=N is for (issue 15). Without it, a database/sql driver has
// one statement in flight per server connection, so throughput is at
// most connections ÷ round trip; with it, the statements of every caller
// are pipelined onto the shared server connections.

const (
	// muxGoroutines run the point queries at the same time.
	muxGoroutines = 64
	// muxServerConns is how many server connections every entry has.
	muxServerConns = 8
)

// multiplexWorkloads run the same point queries from 64 goroutines
// through a route with a 1.2 ms round trip and on loopback.
func multiplexWorkloads() []Workload {
	point := sqlOp(pointQuery)
	entries := []Entry{
		// database/sql may open 64 connections; pgpipe shares 8 server
		// connections among them.
		{Name: "pgpipe-mux8", Contender: "pgpipe-mux8", Label: fmt.Sprintf("pgpipe multiplex=%d, SetMaxOpenConns(%d)",
			muxServerConns, muxGoroutines), Op: point, Conns: muxGoroutines, Subject: true},
		{Name: "pgpipe", Contender: "pgpipe", Label: fmt.Sprintf("pgpipe, SetMaxOpenConns(%d)", muxServerConns), Op: point, Conns: muxServerConns},
		{Name: "pgx-stdlib", Contender: "pgx-stdlib", Label: fmt.Sprintf("pgx stdlib, SetMaxOpenConns(%d)", muxServerConns), Op: point,
			Conns: muxServerConns, Baseline: true},
		{Name: "lib-pq", Contender: "lib-pq", Label: fmt.Sprintf("lib/pq, SetMaxOpenConns(%d)", muxServerConns), Op: point, Conns: muxServerConns},
	}
	about := func(where string) string {
		return fmt.Sprintf("SELECT $1::int through QueryRowContext+Scan from %d goroutines sharing one *sql.DB, %d server connections "+
			"for every entry, %s; time per query overall (1/throughput)", muxGoroutines, muxServerConns, where)
	}
	return []Workload{
		{
			Name:       "Multiplex64Proxy",
			About:      about(fmt.Sprintf("through a proxy adding %v each way", Proxy12Delay)),
			Route:      Proxy12,
			Goroutines: muxGoroutines,
			Warmups:    DefaultWarmups,
			Entries:    entries,
			Target:     Target{Bounds: []Bound{{Of: "pgx-stdlib", Max: 1.0 / 5}}},
			Extra:      []string{"syscalls/op"},
		},
		{
			Name:       "Multiplex64",
			About:      about("on loopback"),
			Goroutines: muxGoroutines,
			Warmups:    DefaultWarmups,
			Entries:    entries,
			Target:     Target{Bounds: []Bound{{Of: "pgpipe", Max: 1}}},
			Extra:      []string{"syscalls/op"},
		},
	}
}

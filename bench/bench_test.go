package bench

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// dsn is the server every contender connects to, set by TestMain.
var dsn string

// localServer is set when the server runs on this machine: the benchmarks
// then report its backend's CPU time too.
var localServer = os.Getenv(LocalServerEnv) == "1"

// pools holds one pool per contender, opened on first use and kept for
// the whole process, so the benchmark's repeated calls (b.N = 1, 100, ...)
// reuse one warm connection.
var pools = map[string]*sql.DB{}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

// run finds a server when benchmarks were asked for: $PGPIPE_BENCH_DSN,
// else a throwaway cluster from the local PostgreSQL binaries.
func run(m *testing.M) int {
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dsn = os.Getenv(DSNEnv)
	if dsn == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s is unset and no throwaway cluster: %v\n", DSNEnv, err)
			return 1
		}
		defer c.Stop()
		dsn = c.DSN(pgcluster.SuperUser, "", "sslmode=disable")
		localServer = true
	}
	if err := Setup(ctx, dsn); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		for _, db := range pools {
			db.Close()
		}
	}()
	return m.Run()
}

// BenchmarkWorkload runs every workload for every contender, as
// BenchmarkWorkload/<workload>/<contender>.
func BenchmarkWorkload(b *testing.B) {
	for _, w := range Workloads {
		b.Run(w.Name, func(b *testing.B) {
			for _, c := range Contenders {
				b.Run(c.Name, func(b *testing.B) { runWorkload(b, w, c) })
			}
		})
	}
}

// warm records the pairs already warmed in this process.
var warm = map[string]bool{}

// runWorkload times b.N operations of w on c's connection, after an
// untimed warm-up. Besides ns/op it reports cpu-ns/op, the CPU time the
// whole client process used per operation (all threads, GC included),
// which other load on the machine disturbs less than wall time, and, when
// the server is local, server-cpu-ns/op, the CPU time of the connection's
// server backend (pid from pg_backend_pid(), checked unchanged after the
// loop; time from /proc/<pid>/schedstat). With
// w.Rows it reports per-row metrics, counting allocations as the testing
// package does for allocs/op.
func runWorkload(b *testing.B, w Workload, c Contender) {
	db := pool(b, c)
	ctx := context.Background()
	n := 1
	if !warm[w.Name+"/"+c.Name] {
		n, warm[w.Name+"/"+c.Name] = Warmups, true
	}
	for i := range n {
		if err := w.Op(ctx, db, i); err != nil {
			b.Fatalf("%s/%s: warm-up: %v", w.Name, c.Name, err)
		}
	}
	backend := backendPID(b, db)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu, serverCPU := CPUTime(), ProcessCPUTime(backend)
	b.ResetTimer()
	for i := range b.N {
		if err := w.Op(ctx, db, i+1); err != nil {
			b.Fatalf("%s/%s: %v", w.Name, c.Name, err)
		}
	}
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(CPUTime()-cpu)/float64(b.N), "cpu-ns/op")
	}
	if serverCPU > 0 && backendPID(b, db) == backend {
		b.ReportMetric(float64(ProcessCPUTime(backend)-serverCPU)/float64(b.N), "server-cpu-ns/op")
	}
	runtime.ReadMemStats(&after)
	if w.Rows > 0 {
		rows := float64(b.N) * float64(w.Rows)
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/rows, "allocs/row")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/rows, "B/row")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/row")
	}
}

// backendPID returns the pid of the server process serving db's only
// connection, or 0 when the server is not local.
func backendPID(b *testing.B, db *sql.DB) int {
	if !localServer {
		return 0
	}
	var pid int
	if err := db.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatalf("pg_backend_pid(): %v", err)
	}
	return pid
}

// pool returns c's pool, opening it on first use.
func pool(b *testing.B, c Contender) *sql.DB {
	b.Helper()
	if db, ok := pools[c.Name]; ok {
		return db
	}
	db, err := c.Open(dsn)
	if err != nil {
		b.Fatal(err)
	}
	pools[c.Name] = db
	return db
}

var benchName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// The runner selects one benchmark with -bench '^BenchmarkWorkload$/^W$/^C$',
// so names must be unique and free of regexp and path characters.
func TestNamesAreUniqueAndSafeInBenchPatterns(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range Workloads {
		if !benchName.MatchString(w.Name) || seen["w"+w.Name] {
			t.Errorf("workload name %q is not unique or has characters other than letters, digits, - and _", w.Name)
		}
		seen["w"+w.Name] = true
		if w.Op == nil {
			t.Errorf("workload %s has no Op", w.Name)
		}
	}
	baselines := 0
	for _, c := range Contenders {
		if !benchName.MatchString(c.Name) || seen["c"+c.Name] {
			t.Errorf("contender name %q is not unique or has characters other than letters, digits, - and _", c.Name)
		}
		seen["c"+c.Name] = true
		if c.Baseline {
			baselines++
		}
	}
	if baselines != 1 {
		t.Errorf("%d contenders are marked Baseline, want 1", baselines)
	}
}

func TestWithParamsAddsSettingsToBothDSNForms(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"host=h dbname=d", "host=h dbname=d prepare_threshold=none"},
		{"postgres://u@h/d?sslmode=disable", "postgres://u@h/d?prepare_threshold=none&sslmode=disable"},
	} {
		got, err := withParams(tc.dsn, []string{"prepare_threshold=none"})
		if err != nil || got != tc.want {
			t.Errorf("withParams(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

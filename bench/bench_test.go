package bench

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// env is what the benchmarks connect to, set up by TestMain and on first
// use of a route.
var env struct {
	dsn     map[Route]string   // by route, from the environment or started here
	cluster *pgcluster.Cluster // the throwaway cluster, when started here
	stops   []func()
	admin   *sql.DB            // the harness's own connection (direct)
	clients map[string]*Client // by contender and route, kept for the process
	setUp   map[string]bool    // workloads whose Setup ran
	warm    map[string]bool    // entries already warmed up
	next    map[string]int     // next operation number, by entry
}

// localServer is set when the server runs on this machine: the benchmarks
// then report its backend's CPU time too.
var localServer = os.Getenv(LocalServerEnv) == "1"

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
	env.dsn = map[Route]string{}
	env.clients, env.setUp, env.warm, env.next = map[string]*Client{}, map[string]bool{}, map[string]bool{}, map[string]int{}
	for r, name := range RouteEnv {
		if v := os.Getenv(name); v != "" {
			env.dsn[r] = v
		}
	}
	if env.dsn[Direct] == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s is unset and no throwaway cluster: %v\n", DSNEnv, err)
			return 1
		}
		env.cluster, env.dsn[Direct] = c, c.DSN(pgcluster.SuperUser, "", "sslmode=disable")
		env.stops = append(env.stops, func() { c.Stop() })
		localServer = true
	}
	defer func() {
		for _, cl := range env.clients {
			cl.Close()
		}
		if env.admin != nil {
			env.admin.Close()
		}
		for i := len(env.stops) - 1; i >= 0; i-- {
			env.stops[i]()
		}
		RemoveTempCSV()
	}()
	return m.Run()
}

// routeDSN returns the DSN of route r, starting the proxy or PgBouncer
// when the runner did not give one.
func routeDSN(b *testing.B, r Route) string {
	b.Helper()
	if dsn := env.dsn[r]; dsn != "" {
		return dsn
	}
	var err error
	switch r {
	case Proxy, Proxy12:
		var stop func()
		if env.dsn[r], stop, err = StartProxy(env.dsn[Direct], ProxyDelays[r]); err == nil {
			env.stops = append(env.stops, stop)
		}
	case PgBouncer:
		if env.cluster == nil {
			b.Fatalf("no PgBouncer: set $%s (the runner starts one for its throwaway cluster)", RouteEnv[PgBouncer])
		}
		env.dsn[r], _, err = StartPgBouncer(context.Background(), env.cluster)
	default:
		err = fmt.Errorf("unknown route %q", r)
	}
	if err != nil {
		b.Fatal(err)
	}
	return env.dsn[r]
}

// BenchmarkWorkload runs every Go entry of every workload, as
// BenchmarkWorkload/<workload>/<entry>.
func BenchmarkWorkload(b *testing.B) {
	for _, w := range Workloads {
		b.Run(w.Name, func(b *testing.B) {
			for _, e := range w.Entries {
				if e.Op != nil {
					b.Run(e.Name, func(b *testing.B) { runWorkload(b, w, e) })
				}
			}
		})
	}
}

// runWorkload times b.N operations of w by e, after the workload's
// warm-up the first time. Besides ns/op it reports cpu-ns/op, the CPU
// time the whole client process used per operation (all threads, GC
// included), which other load on the machine disturbs less than wall
// time, and, when the server is local, server-cpu-ns/op, the CPU time of
// the connection's server backend (pid from pg_backend_pid(), checked
// unchanged after the loop; time from /proc/<pid>/schedstat). With rows
// it reports per-row metrics, counting allocations as the testing
// package does for allocs/op; with Throughput, rows/s and the peak heap;
// for pgpipe, its statement counters per operation. A workload's Reset
// runs before each operation with every clock stopped. A workload with
// Goroutines runs on a pool of connections: its server CPU time is that
// of every client backend but the harness's (the pool's, and the idle
// ones of other clients this process keeps), and it has no statement
// counters, which are those of one connection.
func runWorkload(b *testing.B, w Workload, e Entry) {
	ctx := context.Background()
	cl := client(b, w, e)
	key := w.Name + "/" + e.Name
	reset := func() {
		if err := w.Reset(ctx, admin(b), w.RowsPerOp()); err != nil {
			b.Fatalf("%s: reset: %v", key, err)
		}
	}
	do := func(n int) {
		if err := runOps(ctx, w, e, cl, env.next[key], n); err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		env.next[key] += n
	}
	n := 1
	if !env.warm[key] {
		n, env.warm[key] = w.Warmups*max(1, w.Goroutines), true
	}
	if w.Reset == nil {
		do(n)
	} else {
		for range n {
			reset()
			do(1)
		}
	}
	m := meter{backends: backends(b, w, cl)}
	var stats0, stats *pgpipe.StatementStats
	if w.Goroutines <= 1 {
		stats0 = statementStats(b, cl)
	}
	var heap *heapSampler
	if w.Throughput {
		cl.progress.Store(0)
		heap = startHeapSampler(cl, w.RowsPerOp())
	}
	timeOps(b, w, &m, do, reset)
	if w.Goroutines <= 1 {
		stats = statementStats(b, cl) // before backendPID's query counts
	}
	backendsAfter := backends(b, w, cl)
	if heap != nil {
		heap.report(b)
	}
	m.report(b, w.RowsPerOp(), backendsAfter)
	reportStatementStats(b, stats0, stats)
	if w.Throughput {
		b.ReportMetric(float64(b.N)*float64(w.RowsPerOp())/b.Elapsed().Seconds(), "rows/s")
	}
}

// timeOps times b.N operations, done by do; with a workload's Reset,
// reset runs before each with every clock stopped.
func timeOps(b *testing.B, w Workload, m *meter, do func(n int), reset func()) {
	b.ReportAllocs()
	m.resume()
	b.ResetTimer()
	if w.Reset == nil {
		do(b.N)
	} else {
		for range b.N {
			b.StopTimer()
			m.pause()
			reset()
			m.resume()
			b.StartTimer()
			do(1)
		}
	}
	b.StopTimer()
	m.pause()
}

// runOps runs n operations of e on cl, numbered from first: one after
// the other, or, when w has Goroutines, from that many goroutines each
// taking the next number as it finishes an operation. It returns the
// first error; after one, the goroutines start no more operations.
func runOps(ctx context.Context, w Workload, e Entry, cl *Client, first, n int) error {
	if w.Goroutines <= 1 {
		for i := first; i < first+n; i++ {
			cl.progress.Store(0)
			if err := e.Op(ctx, cl, i); err != nil {
				return fmt.Errorf("operation %d: %w", i, err)
			}
		}
		return nil
	}
	var (
		next     atomic.Int64
		failed   atomic.Bool
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for range w.Goroutines {
		wg.Go(func() {
			for !failed.Load() {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				if err := e.Op(ctx, cl, first+k); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("operation %d: %w", first+k, err) })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// client returns e's client on w's route, opening it on first use and
// running w's Setup first when the runner has not.
func client(b *testing.B, w Workload, e Entry) *Client {
	b.Helper()
	if !env.setUp[w.Name] && w.Setup != nil && os.Getenv(SetupDoneEnv) != "1" {
		if err := w.Setup(context.Background(), admin(b)); err != nil {
			b.Fatalf("setting up %s: %v", w.Name, err)
		}
	}
	env.setUp[w.Name] = true
	conns := max(1, e.Conns)
	key := fmt.Sprintf("%s@%s/%d", e.Contender, w.RouteOrDirect(), conns)
	if cl, ok := env.clients[key]; ok {
		return cl
	}
	c, ok := ContenderNamed(e.Contender)
	if !ok {
		b.Fatalf("entry %s/%s: no contender %q", w.Name, e.Name, e.Contender)
	}
	cl, err := c.OpenPool(context.Background(), routeDSN(b, w.RouteOrDirect()), conns)
	if err != nil {
		b.Fatal(err)
	}
	env.clients[key] = cl
	return cl
}

// admin returns the harness's own connection, on the direct route.
func admin(b *testing.B) *sql.DB {
	b.Helper()
	if env.admin == nil {
		db, err := OpenAdmin(context.Background(), env.dsn[Direct])
		if err != nil {
			b.Fatal(err)
		}
		env.admin = db
	}
	return env.admin
}

// backendPID returns the pid of the server process serving cl's
// connection, or none when the server is not local.
func backendPID(b *testing.B, cl *Client) []int {
	if !localServer {
		return nil
	}
	var pid int
	var err error
	if cl.PGX != nil {
		err = cl.PGX.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid)
	} else {
		err = cl.DB.QueryRow("SELECT pg_backend_pid()").Scan(&pid)
	}
	if err != nil {
		b.Fatalf("pg_backend_pid(): %v", err)
	}
	return []int{pid}
}

// backends returns the server processes whose CPU time counts for w's
// operations: cl's connection's, or with Goroutines, every client
// backend but the harness's.
func backends(b *testing.B, w Workload, cl *Client) []int {
	if w.Goroutines <= 1 {
		return backendPID(b, cl)
	}
	return clientBackends(b)
}

// clientBackends returns the pids of the server's client backends but
// the harness's own, in order, or none when the server is not local.
func clientBackends(b *testing.B) []int {
	if !localServer {
		return nil
	}
	rows, err := admin(b).Query(`SELECT pid FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY pid`)
	if err != nil {
		b.Fatalf("client backends: %v", err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatalf("client backends: %v", err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		b.Fatalf("client backends: %v", err)
	}
	return pids
}

// statementStats returns the prepared-statement counters of a pgpipe
// client, nil for others.
func statementStats(b *testing.B, cl *Client) *pgpipe.StatementStats {
	if !cl.Pgpipe {
		return nil
	}
	ctx := context.Background()
	sc, err := cl.DB.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	s, err := pgpipe.Stats(sc)
	if err != nil {
		b.Fatal(err)
	}
	return &s
}

// reportStatementStats reports pgpipe's statement counters per
// operation between before and after (nil for other clients).
func reportStatementStats(b *testing.B, before, after *pgpipe.StatementStats) {
	if before == nil || after == nil {
		return
	}
	ops := float64(b.N)
	b.ReportMetric(float64(after.Hits-before.Hits)/ops, "prep-hits/op")
	b.ReportMetric(float64(after.Prepares-before.Prepares)/ops, "prepares/op")
	b.ReportMetric(float64(after.Evictions-before.Evictions)/ops, "evictions/op")
}

// meter adds up the client's CPU time and allocations and the server
// backends' CPU time while running: resume and pause bracket what counts.
type meter struct {
	backends               []int
	cpu, serverCPU, sys    int64
	mallocs, bytes         uint64
	cpu0, serverCPU0, sys0 int64
	ms                     runtime.MemStats
}

func (m *meter) resume() {
	runtime.ReadMemStats(&m.ms)
	m.cpu0, m.serverCPU0, m.sys0 = CPUTime(), m.backendsCPU(), IOSyscalls()
}

func (m *meter) pause() {
	cpu, server, sys := CPUTime(), m.backendsCPU(), IOSyscalls()
	mallocs, bytes := m.ms.Mallocs, m.ms.TotalAlloc
	runtime.ReadMemStats(&m.ms)
	m.cpu += cpu - m.cpu0
	m.serverCPU += server - m.serverCPU0
	m.sys += sys - m.sys0
	m.mallocs += m.ms.Mallocs - mallocs
	m.bytes += m.ms.TotalAlloc - bytes
}

// backendsCPU is the CPU time the server backends have used so far.
func (m *meter) backendsCPU() int64 {
	var ns int64
	for _, pid := range m.backends {
		ns += ProcessCPUTime(pid)
	}
	return ns
}

// report reports cpu-ns/op, server-cpu-ns/op (when the backends are known
// and did not change), syscalls/op (the process's read and write system
// calls, sockets and files alike) and the per-row metrics.
func (m *meter) report(b *testing.B, rows int, backendsAfter []int) {
	ops := float64(b.N)
	if m.cpu > 0 {
		b.ReportMetric(float64(m.cpu)/ops, "cpu-ns/op")
	}
	if m.sys > 0 {
		b.ReportMetric(float64(m.sys)/ops, "syscalls/op")
	}
	if len(m.backends) > 0 && m.serverCPU > 0 && slices.Equal(backendsAfter, m.backends) {
		b.ReportMetric(float64(m.serverCPU)/ops, "server-cpu-ns/op")
	}
	if rows > 0 {
		n := ops * float64(rows)
		b.ReportMetric(float64(m.mallocs)/n, "allocs/row")
		b.ReportMetric(float64(m.bytes)/n, "B/row")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	}
}

// heapSampler samples HeapInuse (the bytes in heap spans in use:
// objects and the free space between them) every heapSampleEvery while the
// operations run, keeping the peak over everything and over the first
// tenth of each operation's rows.
type heapSampler struct {
	cl         *Client
	rows       int64
	stop, done chan struct{}
	mu         sync.Mutex // guards the peaks
	peak       uint64
	peakTenth  uint64
}

const heapSampleEvery = 5 * time.Millisecond

func startHeapSampler(cl *Client, rows int) *heapSampler {
	s := &heapSampler{cl: cl, rows: int64(rows), stop: make(chan struct{}), done: make(chan struct{})}
	// This goroutine belongs to the benchmark; report stops it.
	go func() {
		defer close(s.done)
		t := time.NewTicker(heapSampleEvery)
		defer t.Stop()
		// HeapInuse of runtime.MemStats, read through runtime/metrics:
		// ReadMemStats would stop the world 200 times a second.
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		for {
			metrics.Read(samples)
			s.note(samples[0].Value.Uint64()+samples[1].Value.Uint64(), s.cl.progress.Load())
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) note(inuse uint64, progress int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak = max(s.peak, inuse)
	if progress*10 <= s.rows {
		s.peakTenth = max(s.peakTenth, inuse)
	}
}

// report stops the sampler and reports peak-heap-B and
// peak-heap-tenth-B.
func (s *heapSampler) report(b *testing.B) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	b.ReportMetric(float64(s.peak), "peak-heap-B")
	b.ReportMetric(float64(s.peakTenth), "peak-heap-tenth-B")
}

var benchName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// The runner selects one benchmark with -bench '^BenchmarkWorkload$/^W$/^E$',
// so names must be unique and free of regexp and path characters; every
// workload has one baseline and every entry a client or a program.
func TestWorkloadsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range Workloads {
		if !benchName.MatchString(w.Name) || seen[w.Name] {
			t.Errorf("workload name %q is not unique or has characters other than letters, digits, - and _", w.Name)
		}
		seen[w.Name] = true
		entries, baselines := map[string]bool{}, 0
		for _, e := range w.Entries {
			if !benchName.MatchString(e.Name) || entries[e.Name] {
				t.Errorf("%s: entry name %q is not unique or has characters other than letters, digits, - and _", w.Name, e.Name)
			}
			entries[e.Name] = true
			_, known := ContenderNamed(e.Contender)
			if (e.Program == nil) != (known && e.Op != nil) {
				t.Errorf("%s/%s: want either a known contender and an Op, or a Program", w.Name, e.Name)
			}
			if e.Baseline {
				baselines++
			}
		}
		if baselines != 1 {
			t.Errorf("%s: %d entries are marked Baseline, want 1", w.Name, baselines)
		}
		if w.Goroutines > 1 && w.Reset != nil {
			t.Errorf("%s: runs from %d goroutines and has a Reset, which runs between operations", w.Name, w.Goroutines)
		}
		for _, e := range w.Entries {
			if e.Conns > 1 && w.Goroutines <= 1 {
				t.Errorf("%s/%s: a pool of %d connections for one goroutine", w.Name, e.Name, e.Conns)
			}
		}
		for _, bd := range w.Target.Bounds {
			if !entries[bd.Of] || bd.Max <= 0 {
				t.Errorf("%s: bound %+v names no entry or has no maximum", w.Name, bd)
			}
		}
	}
}

func TestRunOpsRunsEveryOperationOnceFromEveryGoroutine(t *testing.T) {
	const first, n, goroutines = 100, 1000, 64
	var mu sync.Mutex
	seen := map[int]int{}
	var running, most atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	op := func(_ context.Context, _ *Client, i int) error {
		if running.Add(1) == goroutines {
			once.Do(func() { close(release) }) // every goroutine is inside an operation
		}
		<-release
		mu.Lock()
		seen[i]++
		most.Store(max(most.Load(), running.Load()))
		mu.Unlock()
		running.Add(-1)
		return nil
	}
	w := Workload{Goroutines: goroutines}
	if err := runOps(context.Background(), w, Entry{Op: op}, &Client{}, first, n); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n || most.Load() != goroutines {
		t.Fatalf("ran %d distinct operations, at most %d at once; want %d and %d", len(seen), most.Load(), n, goroutines)
	}
	for i := first; i < first+n; i++ {
		if seen[i] != 1 {
			t.Errorf("operation %d ran %d times", i, seen[i])
		}
	}
}

func TestRunOpsStopsAtTheFirstError(t *testing.T) {
	var ran atomic.Int64
	op := func(_ context.Context, _ *Client, i int) error {
		ran.Add(1)
		if i == 3 {
			return fmt.Errorf("wrong row")
		}
		return nil
	}
	for _, g := range []int{0, 4} {
		ran.Store(0)
		err := runOps(context.Background(), Workload{Goroutines: g}, Entry{Op: op}, &Client{}, 0, 1_000_000)
		if err == nil || !strings.Contains(err.Error(), "operation 3: wrong row") || ran.Load() >= 1_000_000 {
			t.Errorf("goroutines %d: err %v after %d operations; want operation 3's error, and the others stopped", g, err, ran.Load())
		}
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

func TestWithHostPortPointsBothDSNFormsElsewhere(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"host=h port=1 dbname=d", "host=h port=1 dbname=d host=127.0.0.1 port=5"},
		{"postgres://u@h:1/d?sslmode=disable", "postgres://u@127.0.0.1:5/d?sslmode=disable"},
		{"postgres://u@/d?host=h&port=1", "postgres://u@127.0.0.1:5/d"},
	} {
		got, err := withHostPort(tc.dsn, "127.0.0.1", 5)
		if err != nil || got != tc.want {
			t.Errorf("withHostPort(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
}

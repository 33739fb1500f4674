package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pgpipe/pgpipe/bench"
)

// result is one run: one entry of a workload in one repetition.
type result struct {
	Workload   string `json:"workload"`
	Contender  string `json:"contender"` // the entry's name
	Rep        int    `json:"rep"`
	Iterations int64  `json:"iterations"`
	// Metrics are keyed by unit as go test prints them: ns/op,
	// cpu-ns/op (the client process's CPU time), server-cpu-ns/op (its
	// server backend's, when the server is local), B/op, allocs/op,
	// per-row ones (allocs/row, B/row, ns/row), rows/s, peak-heap-B,
	// peak-heap-tenth-B and pgpipe's statement counters (prep-hits/op,
	// prepares/op, evictions/op). pgbench runs have ns/op (the mean
	// latency without the first transaction), cpu-ns/op (pgbench's own,
	// connecting included), tps and latency_ms; psql runs ns/op (the
	// \copy, without psql's start and connection: startup-ns), cpu-ns/op
	// and rows/s.
	Metrics map[string]float64 `json:"metrics"`
	Error   string             `json:"error,omitempty"`
}

// buildBenchBinary compiles the bench package's tests into path, so that
// each run starts a fresh process without paying for go test.
func buildBenchBinary(ctx context.Context, modDir, path string) error {
	logf("building the benchmark binary")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", path, ".")
	cmd.Dir = modDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c: %v\n%s", err, out)
	}
	return nil
}

// runner runs benchmarks one process at a time.
type runner struct {
	cfg       config
	bin       string // the compiled benchmark binary
	tmp       string // a directory for pgbench scripts and logs
	srv       *server
	client    clientPin
	workloads []bench.Workload
}

// all runs every selected entry of every workload cfg.count times,
// interleaved: repetition 1 of every entry, then repetition 2, and so on.
// Failed runs are kept, with their error, and counted.
func (r runner) all(ctx context.Context) (results []result, failed int) {
	programs := map[string]string{}
	for _, name := range []string{"pgbench", "psql"} {
		if path, err := exec.LookPath(name); err == nil {
			programs[name] = path
		} else {
			logf("no %s in PATH: skipping its reference runs", name)
		}
	}
	for rep := 1; rep <= r.cfg.count && ctx.Err() == nil; rep++ {
		for _, w := range r.workloads {
			for _, e := range selectedEntries(r.cfg, w) {
				var res result
				start := time.Now()
				switch {
				case e.Program == nil:
					res = r.goBench(ctx, w, e, rep)
				case programs[e.Program.Name] == "":
					continue
				case e.Program.Name == "pgbench":
					res = r.pgbench(ctx, programs["pgbench"], w, e, rep)
				default:
					res = r.psql(ctx, programs["psql"], w, e, rep)
				}
				progress(res, rep, r.cfg.count, time.Since(start))
				results = append(results, res)
			}
		}
	}
	for i := range results {
		if results[i].Error != "" {
			failed++
		}
	}
	return results, failed
}

// command returns cmd prefixed with the pinning prefix and with the
// routes' DSNs and the workloads' settings in its environment.
func (r runner) command(ctx context.Context, args ...string) *exec.Cmd {
	args = append(append([]string{}, r.client.prefix...), args...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), bench.SetupDoneEnv+"=1", bench.CopyRowsEnv+"="+strconv.Itoa(bench.CopyRows()))
	for route, dsn := range r.srv.routes {
		if dsn != "" {
			cmd.Env = append(cmd.Env, bench.RouteEnv[route]+"="+dsn)
		}
	}
	if r.srv.csv != "" {
		cmd.Env = append(cmd.Env, bench.CSVEnv+"="+r.srv.csv)
	}
	if r.srv.local {
		cmd.Env = append(cmd.Env, bench.LocalServerEnv+"=1")
	}
	if r.cfg.gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(r.cfg.gomaxprocs))
	}
	return cmd
}

// goBench runs BenchmarkWorkload/<w>/<e> once in a fresh process.
func (r runner) goBench(ctx context.Context, w bench.Workload, e bench.Entry, rep int) result {
	res := result{Workload: w.Name, Contender: e.Name, Rep: rep}
	name := "BenchmarkWorkload/" + w.Name + "/" + e.Name
	cmd := r.command(ctx, r.bin,
		"-test.run=^$",
		"-test.bench=^BenchmarkWorkload$/^"+w.Name+"$/^"+e.Name+"$",
		"-test.benchmem", "-test.benchtime="+r.cfg.benchtime,
		"-test.count=1", "-test.timeout=10m")
	out, err := cmd.CombinedOutput()
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if n, m, ok := parseBenchLine(line, name); ok {
			res.Iterations, res.Metrics, found = n, m, true
		}
	}
	switch {
	case err != nil:
		res.Error = fmt.Sprintf("%v: %s", err, lastLines(out, 15))
	case !found:
		res.Error = "no result line for " + name + " in: " + lastLines(out, 15)
	}
	return res
}

// reset runs w's Reset on the harness's connection around a program's
// run: before it with the previous Go run's row count checked, after it
// with the program's (rows; -1 checks nothing).
func (r runner) reset(ctx context.Context, w bench.Workload, rows int) error {
	if w.Reset == nil {
		return nil
	}
	db, err := bench.OpenAdmin(ctx, r.srv.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return w.Reset(ctx, db, rows)
}

// pgbench runs e's script with -M prepared on one connection for the
// repetition's share of -pgbench-time, and takes the mean latency of its
// transactions but the first (which prepares the statements: over a
// high-latency route, one round trip each) from its transaction log.
func (r runner) pgbench(ctx context.Context, pgbench string, w bench.Workload, e bench.Entry, rep int) result {
	res := result{Workload: w.Name, Contender: e.Name, Rep: rep}
	dir := filepath.Join(r.tmp, fmt.Sprintf("pgbench-%s-%d", w.Name, rep))
	script := filepath.Join(dir, "script.pgbench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Error = err.Error()
		return res
	}
	if err := os.WriteFile(script, []byte(e.Program.Script), 0o644); err != nil {
		res.Error = err.Error()
		return res
	}
	if err := r.reset(ctx, w, w.RowsPerOp()); err != nil {
		res.Error = "reset before pgbench: " + err.Error()
		return res
	}
	secs := max(1, e.Program.MinSeconds, int(r.cfg.pgbenchTime/time.Second)/r.cfg.count)
	args := append([]string{pgbench, "-n", "-M", "prepared", "-c", "1", "-j", "1", "-T", strconv.Itoa(secs),
		"-l", "--log-prefix", filepath.Join(dir, "log")}, e.Program.Args...)
	cmd := r.command(ctx, append(args, "-f", script, r.srv.routes[w.RouteOrDirect()])...)
	out, err := cmd.CombinedOutput()
	n, m, perr := parsePgbench(string(out))
	if perr == nil {
		perr = latencyFromLog(dir, m)
	}
	switch {
	case err != nil:
		res.Error = fmt.Sprintf("%v: %s", err, lastLines(out, 15))
	case perr != nil:
		res.Error = fmt.Sprintf("%v in: %s", perr, lastLines(out, 15))
	default:
		res.Iterations, res.Metrics = n, m
		if ps := cmd.ProcessState; ps != nil && n > 0 {
			m["cpu-ns/op"] = float64((ps.UserTime() + ps.SystemTime()).Nanoseconds()) / float64(n)
		}
	}
	if err := r.reset(ctx, w, -1); err != nil && res.Error == "" {
		res.Error = "reset after pgbench: " + err.Error()
	}
	return res
}

// latencyFromLog sets m["ns/op"] to the mean latency of the transactions
// in pgbench's log (-l) but the first.
func latencyFromLog(dir string, m map[string]float64) error {
	logs, _ := filepath.Glob(filepath.Join(dir, "log.*"))
	if len(logs) != 1 {
		return fmt.Errorf("want one pgbench log in %s, found %d", dir, len(logs))
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		return err
	}
	mean, n, err := meanLatencyButFirst(string(b))
	if err != nil {
		return err
	}
	m["ns/op"], m["logged-transactions"] = mean, float64(n)
	return nil
}

// meanLatencyButFirst reads pgbench's per-transaction log (client_id
// transaction_no time_us script_no time_epoch time_us per line) and
// returns the mean latency in ns over the transactions after the first.
func meanLatencyButFirst(log string) (mean float64, n int, err error) {
	var sum float64
	for i, line := range strings.Split(strings.TrimSpace(log), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			return 0, 0, fmt.Errorf("pgbench log line %q has too few fields", line)
		}
		us, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("pgbench log line %q: %w", line, err)
		}
		if i > 0 {
			sum += us * 1e3
			n++
		}
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("pgbench logged no transaction after the first: give it more -pgbench-time")
	}
	return sum / float64(n), n, nil
}

// psql runs e's psql command once with the CSV file on its standard
// input, and subtracts the time of an empty psql session (start and
// connection) run just before. The table's row count is checked after.
func (r runner) psql(ctx context.Context, psql string, w bench.Workload, e bench.Entry, rep int) result {
	res := result{Workload: w.Name, Contender: e.Name, Rep: rep}
	if err := r.reset(ctx, w, w.RowsPerOp()); err != nil {
		res.Error = "reset before psql: " + err.Error()
		return res
	}
	dsn := r.srv.routes[w.RouteOrDirect()]
	timed := func(stdin string, command string) (time.Duration, *os.ProcessState, error) {
		cmd := r.command(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", command)
		if stdin != "" {
			f, err := os.Open(stdin)
			if err != nil {
				return 0, nil, err
			}
			defer f.Close()
			cmd.Stdin = f
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, nil, fmt.Errorf("%v: %s", err, lastLines(out, 15))
		}
		return time.Since(start), cmd.ProcessState, nil
	}
	startup, _, err := timed("", "SELECT 1")
	if err != nil {
		res.Error = "psql startup: " + err.Error()
		return res
	}
	total, ps, err := timed(r.srv.csv, e.Program.Command)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	ns := float64((total - startup).Nanoseconds())
	res.Iterations = 1
	res.Metrics = map[string]float64{
		"ns/op": ns, "startup-ns": float64(startup.Nanoseconds()),
		"cpu-ns/op": float64((ps.UserTime() + ps.SystemTime()).Nanoseconds()),
		"rows/s":    float64(w.RowsPerOp()) / (ns / 1e9), "ns/row": ns / float64(w.RowsPerOp()),
	}
	if err := r.reset(ctx, w, w.RowsPerOp()); err != nil {
		res.Error = "after psql: " + err.Error()
	}
	return res
}

func progress(res result, rep, count int, took time.Duration) {
	if res.Error != "" {
		logf("rep %d/%d %s %s: FAILED: %s", rep, count, res.Workload, res.Contender, res.Error)
		return
	}
	logf("rep %d/%d %-19s %-16s %13.0f ns/op %13.0f cpu-ns/op %9.0f B/op %9.0f allocs/op  (%.1fs)", rep, count,
		res.Workload, res.Contender, res.Metrics["ns/op"], res.Metrics["cpu-ns/op"], res.Metrics["B/op"], res.Metrics["allocs/op"],
		took.Seconds())
}

// procSuffix is the -GOMAXPROCS suffix go test adds to names when
// GOMAXPROCS is above 1.
var procSuffix = regexp.MustCompile(`^-[0-9]+$`)

// parseBenchLine reads a go test benchmark result line for the benchmark
// name: name[-procs], iterations, then value-unit pairs.
func parseBenchLine(line, name string) (iterations int64, metrics map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], name) {
		return 0, nil, false
	}
	if rest := f[0][len(name):]; rest != "" && !procSuffix.MatchString(rest) {
		return 0, nil, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, nil, false
	}
	metrics = map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0, nil, false
		}
		metrics[f[i+1]] = v
	}
	if _, ok := metrics["ns/op"]; !ok {
		return 0, nil, false
	}
	return n, metrics, true
}

var (
	pgbenchLatency = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms$`)
	pgbenchTPS     = regexp.MustCompile(`(?m)^tps = ([0-9.]+) `)
	pgbenchCount   = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
)

// parsePgbench reads pgbench's summary: tps (ns/op is 1e9/tps, more
// precise than the latency average, which pgbench prints in whole
// microseconds), the latency average and the number of transactions.
func parsePgbench(out string) (iterations int64, metrics map[string]float64, err error) {
	lat := pgbenchLatency.FindStringSubmatch(out)
	tps := pgbenchTPS.FindStringSubmatch(out)
	cnt := pgbenchCount.FindStringSubmatch(out)
	if lat == nil || tps == nil || cnt == nil {
		return 0, nil, fmt.Errorf("no latency average, tps or transaction count")
	}
	ms, _ := strconv.ParseFloat(lat[1], 64)
	t, _ := strconv.ParseFloat(tps[1], 64)
	n, _ := strconv.ParseInt(cnt[1], 10, 64)
	if t <= 0 {
		return 0, nil, fmt.Errorf("tps = %s", tps[1])
	}
	return n, map[string]float64{"ns/op": 1e9 / t, "tps": t, "latency_ms": ms}, nil
}

// lastLines returns the last n lines of out, for error messages.
func lastLines(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

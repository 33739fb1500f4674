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

// pgbenchName names pgbench's runs in results.
const (
	pgbenchName  = "pgbench"
	pgbenchLabel = "libpq (pgbench)"
)

// result is one run: one workload for one contender in one repetition.
type result struct {
	Workload   string `json:"workload"`
	Contender  string `json:"contender"`
	Rep        int    `json:"rep"`
	Iterations int64  `json:"iterations"`
	// Metrics are keyed by unit as go test prints them: ns/op,
	// cpu-ns/op (the client process's CPU time), server-cpu-ns/op (its
	// server backend's, when the server is local), B/op, allocs/op, and
	// per-row ones (allocs/row, B/row, ns/row); pgbench runs have ns/op,
	// cpu-ns/op (pgbench's own, connecting included), tps and latency_ms.
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
	cfg    config
	bin    string // the compiled benchmark binary
	tmp    string // a directory for pgbench scripts
	dsn    string
	local  bool // the server runs here: report its backends' CPU time
	client clientPin
}

// all runs every selected (workload, contender) pair cfg.count times,
// interleaved: repetition 1 of every pair, then repetition 2, and so on.
// Failed runs are kept, with their error, and counted.
func (r runner) all(ctx context.Context) (results []result, failed int) {
	pgbench := ""
	if r.cfg.pgbench {
		var err error
		if pgbench, err = exec.LookPath("pgbench"); err != nil {
			logf("no pgbench in PATH: skipping the libpq reference")
		}
	}
	ws, cs := selectedWorkloads(r.cfg), selectedContenders(r.cfg)
	for rep := 1; rep <= r.cfg.count && ctx.Err() == nil; rep++ {
		for _, w := range ws {
			for _, c := range cs {
				results = append(results, r.goBench(ctx, w, c, rep))
			}
			if pgbench != "" && w.Pgbench != "" {
				results = append(results, r.pgbench(ctx, pgbench, w, rep))
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

// command returns cmd prefixed with the pinning prefix and with the DSN
// (and GOMAXPROCS) in its environment.
func (r runner) command(ctx context.Context, args ...string) *exec.Cmd {
	args = append(append([]string{}, r.client.prefix...), args...)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), bench.DSNEnv+"="+r.dsn)
	if r.local {
		cmd.Env = append(cmd.Env, bench.LocalServerEnv+"=1")
	}
	if r.cfg.gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(r.cfg.gomaxprocs))
	}
	return cmd
}

// goBench runs BenchmarkWorkload/<w>/<c> once in a fresh process.
func (r runner) goBench(ctx context.Context, w bench.Workload, c bench.Contender, rep int) result {
	res := result{Workload: w.Name, Contender: c.Name, Rep: rep}
	name := "BenchmarkWorkload/" + w.Name + "/" + c.Name
	cmd := r.command(ctx, r.bin,
		"-test.run=^$",
		"-test.bench=^BenchmarkWorkload$/^"+w.Name+"$/^"+c.Name+"$",
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
	progress(res, rep, r.cfg.count)
	return res
}

// pgbench runs w's pgbench script with -M prepared on one connection.
func (r runner) pgbench(ctx context.Context, pgbench string, w bench.Workload, rep int) result {
	res := result{Workload: w.Name, Contender: pgbenchName, Rep: rep}
	script := filepath.Join(r.tmp, w.Name+".pgbench")
	if err := os.WriteFile(script, []byte(w.Pgbench), 0o644); err != nil {
		res.Error = err.Error()
		return res
	}
	secs := max(1, int(r.cfg.pgbenchTime/time.Second)/r.cfg.count)
	cmd := r.command(ctx, pgbench, "-n", "-M", "prepared", "-c", "1", "-j", "1",
		"-T", strconv.Itoa(secs), "-f", script, r.dsn)
	out, err := cmd.CombinedOutput()
	n, m, perr := parsePgbench(string(out))
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
	progress(res, rep, r.cfg.count)
	return res
}

func progress(res result, rep, count int) {
	if res.Error != "" {
		logf("rep %d/%d %s %s: FAILED: %s", rep, count, res.Workload, res.Contender, res.Error)
		return
	}
	logf("rep %d/%d %-10s %-12s %12.0f ns/op %12.0f cpu-ns/op %8.0f B/op %9.0f allocs/op", rep, count,
		res.Workload, res.Contender, res.Metrics["ns/op"], res.Metrics["cpu-ns/op"], res.Metrics["B/op"], res.Metrics["allocs/op"])
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

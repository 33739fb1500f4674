package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pgpipe/pgpipe/bench"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// server is the PostgreSQL server the benchmarks use, and the routes to
// it.
type server struct {
	dsn     string
	pgdata  string // data directory, when known: needed to pin the server
	local   bool   // runs on this machine: its backends' CPU time is readable
	cluster *pgcluster.Cluster
	// routes holds the DSN of each route started (or given), direct
	// included.
	routes     map[bench.Route]string
	bouncerPID int    // PgBouncer's process, to pin it with the server
	csv        string // the CSV file of the CSV workloads, when needed
	stops      []func()
}

// stop stops what the server started, in reverse order.
func (s *server) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// findServer uses $PGPIPE_BENCH_DSN, else starts a throwaway cluster
// without TLS.
func findServer(ctx context.Context, cfg config) (*server, error) {
	if dsn := os.Getenv(bench.DSNEnv); dsn != "" {
		logf("using the server of $%s", bench.DSNEnv)
		return &server{dsn: dsn, pgdata: cfg.pgdata, local: cfg.pgdata != "", routes: map[bench.Route]string{bench.Direct: dsn}}, nil
	}
	logf("$%s is unset: starting a throwaway cluster", bench.DSNEnv)
	start := time.Now()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return nil, fmt.Errorf("starting a cluster (install PostgreSQL, e.g. apt-get install postgresql, or set $%s): %w", bench.DSNEnv, err)
	}
	logf("cluster up in %v on port %d", time.Since(start).Round(time.Millisecond), c.Port)
	dsn := c.DSN(pgcluster.SuperUser, "", "sslmode=disable")
	return &server{
		dsn:     dsn,
		pgdata:  c.Dir,
		local:   true,
		cluster: c,
		routes:  map[bench.Route]string{bench.Direct: dsn},
		stops:   []func(){func() { _ = c.Stop() }},
	}, nil
}

// startRoutes starts the routes the workloads need (the latency proxy in
// this process; PgBouncer in front of the throwaway cluster, unless
// $PGPIPE_BENCH_PGBOUNCER_DSN names one) and writes the CSV file when a
// workload reads it. Workloads whose route cannot start are dropped, with
// a note.
func (s *server) startRoutes(ctx context.Context, ws []bench.Workload, tmp string) ([]bench.Workload, []string, error) {
	var kept []bench.Workload
	var notes []string
	for _, w := range ws {
		r := w.RouteOrDirect()
		if _, ok := s.routes[r]; !ok {
			if err := s.startRoute(ctx, r); err != nil {
				notes = append(notes, fmt.Sprintf("%s skipped: %v", w.Name, err))
				logf("skipping %s: %v", w.Name, err)
				s.routes[r] = ""
			}
		}
		if s.routes[r] == "" {
			continue
		}
		if w.Name == "CopyFromCSV" && s.csv == "" {
			if err := s.writeCSV(tmp); err != nil {
				return nil, nil, err
			}
		}
		kept = append(kept, w)
	}
	return kept, notes, nil
}

func (s *server) startRoute(ctx context.Context, r bench.Route) error {
	if dsn := os.Getenv(bench.RouteEnv[r]); dsn != "" {
		s.routes[r] = dsn
		return nil
	}
	switch r {
	case bench.Proxy, bench.Proxy12:
		dsn, stop, err := bench.StartProxy(s.dsn, bench.ProxyDelays[r])
		if err != nil {
			return err
		}
		s.routes[r], s.stops = dsn, append(s.stops, stop)
		logf("latency proxy (%v each way) on %s", bench.ProxyDelays[r], dsn)
	case bench.PgBouncer:
		if s.cluster == nil {
			return fmt.Errorf("no PgBouncer: set $%s", bench.RouteEnv[r])
		}
		dsn, pid, err := bench.StartPgBouncer(ctx, s.cluster)
		if err != nil {
			return err
		}
		s.routes[r], s.bouncerPID = dsn, pid
		logf("PgBouncer (transaction mode) on %s", dsn)
	default:
		return fmt.Errorf("unknown route %q", r)
	}
	return nil
}

// writeCSV writes the CSV workloads' file, once per run.
func (s *server) writeCSV(tmp string) error {
	s.csv = filepath.Join(tmp, "copy.csv")
	f, err := os.Create(s.csv)
	if err != nil {
		return err
	}
	defer f.Close()
	logf("writing %d rows of CSV", bench.CopyRows())
	if err := bench.WriteCSV(f, bench.CopyRows()); err != nil {
		return err
	}
	return f.Close()
}

// routeInfo describes the routes in use, with the median round trip of
// a `SELECT 1` through each, measured now.
func (s *server) routeInfo(ctx context.Context) map[string]string {
	info := map[string]string{}
	for r, dsn := range s.routes {
		if dsn == "" {
			continue
		}
		rtt, err := bench.PingRoundTrip(ctx, dsn, 200)
		switch {
		case err != nil:
			info[string(r)] = "ping failed: " + err.Error()
		case bench.ProxyDelays[r] > 0:
			info[string(r)] = fmt.Sprintf("latency proxy adding %v each way; SELECT 1 round trip %v (median of 200)", bench.ProxyDelays[r], rtt.Round(time.Microsecond))
		default:
			info[string(r)] = fmt.Sprintf("SELECT 1 round trip %v (median of 200)", rtt.Round(time.Microsecond))
		}
		logf("route %s: %s", r, info[string(r)])
	}
	return info
}

// clientPin says how the benchmark processes are started and what was
// pinned.
type clientPin struct {
	prefix       []string // command prefix, e.g. taskset -c 0
	clientPinned bool
	serverPinned bool
	notes        []string
}

// pin pins the server (the postmaster, its threads and its children;
// backends forked later inherit the postmaster's affinity) to
// cfg.serverCPUs and returns the prefix that runs clients on
// cfg.clientCPUs. What cannot be done is noted, not fatal.
func pin(cfg config, srv *server) clientPin {
	var p clientPin
	note := func(format string, args ...any) {
		p.notes = append(p.notes, fmt.Sprintf(format, args...))
		logf(format, args...)
	}
	switch taskset, err := exec.LookPath("taskset"); {
	case !cfg.pin:
		note("not pinning (-pin=false)")
	case err != nil:
		note("not pinning: taskset not found (Debian: apt-get install util-linux)")
	case runtime.NumCPU() < 2:
		note("not pinning: only %d CPU", runtime.NumCPU())
	default:
		p.prefix = []string{taskset, "-c", cfg.clientCPUs}
		p.clientPinned = true
		if err := pinServer(taskset, cfg.serverCPUs, srv.pgdata); err != nil {
			note("server not pinned: %v", err)
		} else {
			if srv.bouncerPID > 0 {
				if out, err := exec.Command(taskset, "-a", "-p", "-c", cfg.serverCPUs, strconv.Itoa(srv.bouncerPID)).CombinedOutput(); err != nil {
					note("PgBouncer not pinned: %v: %s", err, out)
				}
			}
			p.serverPinned = true
			logf("server pinned to CPUs %s, clients to CPUs %s", cfg.serverCPUs, cfg.clientCPUs)
		}
	}
	return p
}

// pinServer runs taskset -a -p on the postmaster and its children.
func pinServer(taskset, cpus, pgdata string) error {
	if pgdata == "" {
		return fmt.Errorf("its data directory is unknown (pass -pgdata)")
	}
	pid, err := postmasterPID(pgdata)
	if err != nil {
		return err
	}
	for _, p := range append([]int{pid}, childPIDs(pid)...) {
		out, err := exec.Command(taskset, "-a", "-p", "-c", cpus, strconv.Itoa(p)).CombinedOutput()
		if err != nil && p == pid {
			return fmt.Errorf("taskset on postmaster %d: %v: %s", p, err, out)
		}
	}
	return nil
}

// postmasterPID reads the first line of postmaster.pid.
func postmasterPID(pgdata string) (int, error) {
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid: %w", err)
	}
	return pid, nil
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if parentPID(string(b)) == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// parentPID reads the ppid from a /proc/<pid>/stat line: the fourth
// field, counting the command name in parentheses (which may hold spaces)
// as one.
func parentPID(stat string) int {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return ppid
}

// machine describes where the numbers come from.
type machine struct {
	CPUModel       string            `json:"cpu_model"`
	Cores          int               `json:"cores"`
	OS             string            `json:"os"`
	Kernel         string            `json:"kernel"`
	GoVersion      string            `json:"go_version"`
	PostgreSQL     string            `json:"postgresql_version"`
	PostgreSQLLong string            `json:"postgresql_version_full"`
	PgpipeCommit   string            `json:"pgpipe_commit"`
	DriverVersions map[string]string `json:"driver_versions"`
}

func machineInfo(ctx context.Context, modDir, dsn string) machine {
	m := machine{
		CPUModel:       cpuModel(),
		Cores:          runtime.NumCPU(),
		OS:             runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:         readTrimmed("/proc/sys/kernel/osrelease"),
		GoVersion:      runtime.Version(),
		DriverVersions: map[string]string{},
	}
	if v := output(ctx, modDir, "go", "env", "GOVERSION"); v != "" {
		m.GoVersion = v
	}
	m.PgpipeCommit = output(ctx, modDir, "git", "describe", "--always", "--dirty", "--abbrev=12")
	for _, line := range strings.Split(output(ctx, modDir, "go", "list", "-m", "github.com/jackc/pgx/v5", "github.com/lib/pq"), "\n") {
		if path, version, ok := strings.Cut(line, " "); ok {
			m.DriverVersions[path] = version
		}
	}
	if db, err := bench.OpenAdmin(ctx, dsn); err == nil {
		_ = db.QueryRowContext(ctx, "SHOW server_version").Scan(&m.PostgreSQL)
		_ = db.QueryRowContext(ctx, "SELECT version()").Scan(&m.PostgreSQLLong)
		db.Close()
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAverage() string {
	f := strings.Fields(readTrimmed("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// busy reports whether the 1-minute load average is above 0.5: something
// else runs and will disturb the numbers.
func busy(load string) bool {
	first, _, _ := strings.Cut(load, " ")
	v, err := strconv.ParseFloat(first, 64)
	return err == nil && v > 0.5
}

func readTrimmed(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// output runs a command in dir and returns its trimmed stdout, or "".
func output(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// benchModuleDir is the directory of the bench module, found from the
// current directory.
func benchModuleDir() (string, error) {
	gomod := output(context.Background(), ".", "go", "env", "GOMOD")
	b, err := os.ReadFile(gomod)
	if gomod == "" || err != nil || !strings.HasPrefix(string(b), "module github.com/pgpipe/pgpipe/bench\n") {
		return "", fmt.Errorf("run me from the bench module (the bench directory of pgpipe): go env GOMOD says %q", gomod)
	}
	return filepath.Dir(gomod), nil
}

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

// server is the PostgreSQL server the benchmarks use.
type server struct {
	dsn    string
	pgdata string // data directory, when known: needed to pin the server
	local  bool   // runs on this machine: its backends' CPU time is readable
	stop   func()
}

// findServer uses $PGPIPE_BENCH_DSN, else starts a throwaway cluster
// without TLS.
func findServer(ctx context.Context, cfg config) (server, error) {
	if dsn := os.Getenv(bench.DSNEnv); dsn != "" {
		logf("using the server of $%s", bench.DSNEnv)
		return server{dsn: dsn, pgdata: cfg.pgdata, local: cfg.pgdata != "", stop: func() {}}, nil
	}
	logf("$%s is unset: starting a throwaway cluster", bench.DSNEnv)
	start := time.Now()
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return server{}, fmt.Errorf("starting a cluster (install PostgreSQL, e.g. apt-get install postgresql, or set $%s): %w", bench.DSNEnv, err)
	}
	logf("cluster up in %v on port %d", time.Since(start).Round(time.Millisecond), c.Port)
	return server{
		dsn:    c.DSN(pgcluster.SuperUser, "", "sslmode=disable"),
		pgdata: c.Dir,
		local:  true,
		stop:   func() { _ = c.Stop() },
	}, nil
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
func pin(cfg config, srv server) clientPin {
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
	if db, err := bench.Baseline().Open(dsn); err == nil {
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

// Command pgpipe-bench runs the benchmarks of package bench for every
// entry of every workload, interleaved (A B C A B C ...), with the client
// and the server pinned to different CPU cores, runs the C references
// (pgbench, psql) beside them, and reports medians and ratios to each
// workload's baseline (a pgx client) as Markdown tables on stdout and as
// JSON in results/latest.json. Run it from the bench module:
//
//	make bench                                  # or: go run ./cmd/pgpipe-bench
//	go run ./cmd/pgpipe-bench -quick            # a ~1 minute smoke run
//	PGPIPE_BENCH_DSN='host=... sslmode=disable' go run ./cmd/pgpipe-bench -pgdata /path/to/data
//
// Without $PGPIPE_BENCH_DSN it starts a throwaway cluster from the local
// PostgreSQL binaries, with PgBouncer in front for the PgBouncer
// workloads, and removes them at the end; the latency proxy runs in this
// process. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"time"

	"github.com/pgpipe/pgpipe/bench"
)

// config is what the flags say.
type config struct {
	count        int
	benchtime    string
	quick        bool
	workloads    *regexp.Regexp
	contenders   *regexp.Regexp
	out          string
	pgbench      bool
	psql         bool
	pgbenchTime  time.Duration
	copyRows     int
	pin          bool
	clientCPUs   string
	serverCPUs   string
	gomaxprocs   int
	pgdata       string
	keepBinaryAt string
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgpipe-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgpipe-bench:", err)
		os.Exit(1)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "pgpipe-bench: %d runs failed; see above\n", failed)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var workloads, contenders string
	fs := flag.NewFlagSet("pgpipe-bench", flag.ContinueOnError)
	fs.IntVar(&cfg.count, "count", 5, "repetitions of each (workload, contender) pair, interleaved")
	fs.StringVar(&cfg.benchtime, "benchtime", "500ms", "go test -benchtime for each run (an operation longer than that runs once)")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: -count 1 -benchtime 100ms -pgbench-time 2s -copy-rows 100000 (unless given), without the slow entries")
	fs.StringVar(&workloads, "workloads", ".", "regexp selecting workloads by name")
	fs.StringVar(&contenders, "contenders", ".", "regexp selecting a workload's entries by entry or client name (the baseline always runs)")
	fs.StringVar(&cfg.out, "out", "results/latest.json", "where to write the JSON results (empty: nowhere)")
	fs.BoolVar(&cfg.pgbench, "pgbench", true, "also run pgbench -M prepared for workloads that have a pgbench script")
	fs.BoolVar(&cfg.psql, "psql", true, "also run psql for workloads that have a psql command")
	fs.IntVar(&cfg.copyRows, "copy-rows", bench.DefaultCopyRows, "rows of the COPY workloads (a multiple of 1000)")
	fs.DurationVar(&cfg.pgbenchTime, "pgbench-time", 10*time.Second, "total pgbench time per workload, split across repetitions (at least 1s each)")
	fs.BoolVar(&cfg.pin, "pin", true, "pin the client and the server to different cores with taskset")
	fs.StringVar(&cfg.clientCPUs, "client-cpus", "0", "taskset CPU list for the benchmark processes")
	fs.StringVar(&cfg.serverCPUs, "server-cpus", "1", "taskset CPU list for the PostgreSQL server")
	fs.IntVar(&cfg.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS for the benchmark processes (0: Go's default, the number of CPUs they are pinned to)")
	fs.StringVar(&cfg.pgdata, "pgdata", "", "data directory of the $"+bench.DSNEnv+" server, to pin it (read from postmaster.pid)")
	fs.StringVar(&cfg.keepBinaryAt, "o", "", "keep the compiled benchmark binary at this path (for profiling)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["count"] {
			cfg.count = 1
		}
		if !set["benchtime"] {
			cfg.benchtime = "100ms"
		}
		if !set["pgbench-time"] {
			cfg.pgbenchTime = 2 * time.Second
		}
		if !set["copy-rows"] {
			cfg.copyRows = 100_000
		}
	}
	if cfg.copyRows <= 0 || cfg.copyRows%1000 != 0 {
		return cfg, fmt.Errorf("-copy-rows must be a positive multiple of 1000")
	}
	if cfg.count < 1 {
		return cfg, fmt.Errorf("-count must be at least 1")
	}
	var err error
	if cfg.workloads, err = regexp.Compile(workloads); err != nil {
		return cfg, fmt.Errorf("-workloads: %w", err)
	}
	if cfg.contenders, err = regexp.Compile(contenders); err != nil {
		return cfg, fmt.Errorf("-contenders: %w", err)
	}
	return cfg, nil
}

// run does everything; it returns how many runs failed.
func run(ctx context.Context, cfg config) (failed int, err error) {
	modDir, err := benchModuleDir()
	if err != nil {
		return 0, err
	}
	if err := bench.SetCopyRows(cfg.copyRows); err != nil {
		return 0, err
	}
	srv, err := findServer(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer srv.stop()
	tmp, err := os.MkdirTemp("", "pgpipe-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	logf("setting up tables")
	if err := bench.Setup(ctx, srv.dsn); err != nil {
		return 0, err
	}
	var notes []string
	ws := selectedWorkloads(cfg)
	if ws, notes, err = srv.startRoutes(ctx, ws, tmp); err != nil {
		return 0, err
	}
	client := pin(cfg, srv)
	bin := filepath.Join(tmp, "bench.test")
	if cfg.keepBinaryAt != "" {
		if bin, err = filepath.Abs(cfg.keepBinaryAt); err != nil {
			return 0, err
		}
	}
	if err := buildBenchBinary(ctx, modDir, bin); err != nil {
		return 0, err
	}
	rep := newReport(ctx, cfg, modDir, srv, client, notes)
	r := runner{cfg: cfg, bin: bin, tmp: tmp, srv: srv, client: client, workloads: ws}
	rep.Runs, failed = r.all(ctx)
	rep.Settings.LoadAverageEnd = loadAverage()
	if ctx.Err() != nil {
		return failed, ctx.Err()
	}
	rep.Summary = summarise(rep.Runs, ws, func(w bench.Workload) []bench.Entry { return selectedEntries(cfg, w) })
	printMarkdown(os.Stdout, rep)
	if cfg.out != "" {
		if err := writeJSON(cfg.out, rep); err != nil {
			return failed, err
		}
		logf("wrote %s", cfg.out)
	}
	return failed, nil
}

// newReport starts the report: the machine, the settings, the routes'
// round trips and the load average now.
func newReport(ctx context.Context, cfg config, modDir string, srv *server, client clientPin, notes []string) *report {
	rep := &report{
		Date:     time.Now().UTC().Format(time.RFC3339),
		Machine:  machineInfo(ctx, modDir, srv.dsn),
		Settings: settingsOf(cfg, client),
	}
	rep.Settings.Notes = append(rep.Settings.Notes, notes...)
	rep.Settings.Routes = srv.routeInfo(ctx)
	rep.Settings.LoadAverageStart = loadAverage()
	if busy(rep.Settings.LoadAverageStart) {
		rep.Settings.Notes = append(rep.Settings.Notes, "the machine was busy at the start (load average "+
			rep.Settings.LoadAverageStart+"): expect noise, compare the paired ranges")
		logf("the machine is busy (load average %s): expect noisy numbers", rep.Settings.LoadAverageStart)
	}
	return rep
}

// logf prints progress on stderr, keeping stdout for the table.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pgpipe-bench: "+format+"\n", args...)
}

// selectedWorkloads are the workloads the flags select, in table order.
func selectedWorkloads(cfg config) []bench.Workload {
	var ws []bench.Workload
	for _, w := range bench.Workloads {
		if cfg.workloads.MatchString(w.Name) {
			ws = append(ws, w)
		}
	}
	return ws
}

// selectedEntries are w's entries the flags select, and its baseline
// always, in table order. -contenders matches an entry's name or its
// client's (contender or program); -pgbench=false and -psql=false drop
// those programs; -quick drops the Slow entries.
func selectedEntries(cfg config, w bench.Workload) []bench.Entry {
	var es []bench.Entry
	for _, e := range w.Entries {
		if p := e.Program; p != nil && (p.Name == "pgbench" && !cfg.pgbench || p.Name == "psql" && !cfg.psql) {
			continue
		}
		if e.Slow && cfg.quick {
			continue
		}
		if e.Baseline || cfg.contenders.MatchString(e.Name) || cfg.contenders.MatchString(e.Client()) {
			es = append(es, e)
		}
	}
	return es
}

// Command pgpipe-bench runs the benchmarks of package bench for every
// contender, interleaved (A B C A B C ...), with the client and the server
// pinned to different CPU cores, and reports medians and ratios to the
// baseline (pgx stdlib) as a Markdown table on stdout and as JSON in
// results/latest.json. Run it from the bench module:
//
//	make bench                                  # or: go run ./cmd/pgpipe-bench
//	go run ./cmd/pgpipe-bench -quick            # a ~30 s smoke run
//	PGPIPE_BENCH_DSN='host=... sslmode=disable' go run ./cmd/pgpipe-bench -pgdata /path/to/data
//
// Without $PGPIPE_BENCH_DSN it starts a throwaway cluster from the local
// PostgreSQL binaries and removes it at the end. See README.md.
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
	pgbenchTime  time.Duration
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
	fs.StringVar(&cfg.benchtime, "benchtime", "1s", "go test -benchtime for each run")
	fs.BoolVar(&cfg.quick, "quick", false, "smoke run: -count 2 -benchtime 100ms -pgbench-time 2s (unless given)")
	fs.StringVar(&workloads, "workloads", ".", "regexp selecting workloads by name")
	fs.StringVar(&contenders, "contenders", ".", "regexp selecting contenders by name (the baseline always runs)")
	fs.StringVar(&cfg.out, "out", "results/latest.json", "where to write the JSON results (empty: nowhere)")
	fs.BoolVar(&cfg.pgbench, "pgbench", true, "also run pgbench -M prepared for workloads that have a pgbench script")
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
			cfg.count = 2
		}
		if !set["benchtime"] {
			cfg.benchtime = "100ms"
		}
		if !set["pgbench-time"] {
			cfg.pgbenchTime = 2 * time.Second
		}
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
	srv, err := findServer(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer srv.stop()
	logf("setting up tables")
	if err := bench.Setup(ctx, srv.dsn); err != nil {
		return 0, err
	}
	client := pin(cfg, srv)
	tmp, err := os.MkdirTemp("", "pgpipe-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench.test")
	if cfg.keepBinaryAt != "" {
		if bin, err = filepath.Abs(cfg.keepBinaryAt); err != nil {
			return 0, err
		}
	}
	if err := buildBenchBinary(ctx, modDir, bin); err != nil {
		return 0, err
	}
	rep := &report{
		Date:     time.Now().UTC().Format(time.RFC3339),
		Machine:  machineInfo(ctx, modDir, srv.dsn),
		Settings: settingsOf(cfg, client),
	}
	rep.Settings.LoadAverageStart = loadAverage()
	if busy(rep.Settings.LoadAverageStart) {
		rep.Settings.Notes = append(rep.Settings.Notes, "the machine was busy at the start (load average "+
			rep.Settings.LoadAverageStart+"): expect noise, compare the paired ranges")
		logf("the machine is busy (load average %s): expect noisy numbers", rep.Settings.LoadAverageStart)
	}
	r := runner{cfg: cfg, bin: bin, tmp: tmp, dsn: srv.dsn, local: srv.local, client: client}
	rep.Runs, failed = r.all(ctx)
	rep.Settings.LoadAverageEnd = loadAverage()
	if ctx.Err() != nil {
		return failed, ctx.Err()
	}
	rep.Summary = summarise(rep.Runs, selectedWorkloads(cfg), selectedContenders(cfg))
	printMarkdown(os.Stdout, rep)
	if cfg.out != "" {
		if err := writeJSON(cfg.out, rep); err != nil {
			return failed, err
		}
		logf("wrote %s", cfg.out)
	}
	return failed, nil
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

// selectedContenders are the contenders the flags select, and the
// baseline always, in table order.
func selectedContenders(cfg config) []bench.Contender {
	var cs []bench.Contender
	for _, c := range bench.Contenders {
		if c.Baseline || cfg.contenders.MatchString(c.Name) {
			cs = append(cs, c)
		}
	}
	return cs
}

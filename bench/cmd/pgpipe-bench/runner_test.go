package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe/bench"
)

func TestParseBenchLineReadsEveryMetric(t *testing.T) {
	const name = "BenchmarkWorkload/Read100k/pgpipe"
	for _, tc := range []struct {
		line string
		ok   bool
		n    int64
		want map[string]float64
	}{
		{
			line: name + "-2   \t  12\t  71093424 ns/op\t  79.26 B/row\t  4.998 allocs/row\t  710.9 ns/row\t 7925710 B/op\t  499756 allocs/op",
			ok:   true, n: 12,
			want: map[string]float64{"ns/op": 71093424, "B/row": 79.26, "allocs/row": 4.998, "ns/row": 710.9, "B/op": 7925710, "allocs/op": 499756},
		},
		{
			line: name + " 30 100 ns/op 8 B/op 1 allocs/op",
			ok:   true, n: 30,
			want: map[string]float64{"ns/op": 100, "B/op": 8, "allocs/op": 1},
		},
		{line: name + "x 30 100 ns/op", ok: false},               // another benchmark
		{line: name + "-2-3 30 100 ns/op", ok: false},            // not a GOMAXPROCS suffix
		{line: name + " 30 100 B/op", ok: false},                 // no ns/op
		{line: name + " thirty 100 ns/op", ok: false},            // no iteration count
		{line: "--- FAIL: " + name + " 30 100 ns/op", ok: false}, // a failure line
		{line: "PASS", ok: false},
	} {
		n, m, ok := parseBenchLine(tc.line, name)
		if ok != tc.ok || n != tc.n || len(m) != len(tc.want) {
			t.Errorf("parseBenchLine(%q) = %d, %v, %v; want %d, %v, %v", tc.line, n, m, ok, tc.n, tc.want, tc.ok)
			continue
		}
		for unit, v := range tc.want {
			if m[unit] != v {
				t.Errorf("parseBenchLine(%q)[%s] = %v, want %v", tc.line, unit, m[unit], v)
			}
		}
	}
}

func TestParsePgbenchReadsTPSLatencyAndCount(t *testing.T) {
	out := `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: q.pgbench
scaling factor: 1
query mode: prepared
number of clients: 1
number of threads: 1
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 63712
number of failed transactions: 0 (0.000%)
latency average = 0.031 ms
initial connection time = 2.144 ms
tps = 31862.526443 (without initial connection time)
`
	n, m, err := parsePgbench(out)
	if err != nil || n != 63712 || m["tps"] != 31862.526443 || m["latency_ms"] != 0.031 {
		t.Fatalf("parsePgbench = %d, %v, %v", n, m, err)
	}
	if got, want := m["ns/op"], 1e9/31862.526443; math.Abs(got-want) > 1e-6 {
		t.Errorf("ns/op = %v, want %v", got, want)
	}
	if _, _, err := parsePgbench("pgbench: error: connection to server failed"); err == nil {
		t.Error("parsePgbench accepted output without a summary")
	}
}

func TestMedianOfOddAndEvenCounts(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

// allEntries selects every entry of a workload.
func allEntries(w bench.Workload) []bench.Entry { return w.Entries }

// workloadNamed returns the workload called name in bench.Workloads.
func workloadNamed(t *testing.T, name string) bench.Workload {
	t.Helper()
	for _, w := range bench.Workloads {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no workload %s", name)
	return bench.Workload{}
}

// runsOf builds results for one workload: ns[c][rep-1] is contender c's
// ns/op in that repetition, 0 for a failed run.
func runsOf(workload string, ns map[string][]float64, extra map[string]float64) []result {
	var rs []result
	for c, vs := range ns {
		for i, v := range vs {
			r := result{Workload: workload, Contender: c, Rep: i + 1, Metrics: map[string]float64{"ns/op": v}}
			for unit, e := range extra {
				r.Metrics[unit] = e
			}
			if v == 0 {
				r.Error, r.Metrics = "failed", nil
			}
			rs = append(rs, r)
		}
	}
	return rs
}

func TestSummariseUsesTheMedianOfPairedRatios(t *testing.T) {
	// Repetition 2 ran while the machine was slow for everyone: the ratio
	// of medians would be 1.5 (150/100), the paired ratios are 0.5, 0.5,
	// 0.9 and 2.0 (only rep 4, where pgpipe ran alone in a slow phase).
	runs := runsOf("PointQuery", map[string][]float64{
		"pgpipe":     {50, 500, 90, 200, 0},
		"pgx-stdlib": {100, 1000, 100, 100, 100},
		"lib-pq":     {200, 2000, 200, 200, 200},
	}, map[string]float64{"allocs/op": 9, "cpu-ns/op": 10})
	s := summarise(runs, bench.Workloads[:1], allEntries)[0]
	p := s.byName["pgpipe"]
	if p.Reps != 4 || p.Ratio == nil || p.Ratio.Pairs != 4 {
		t.Fatalf("pgpipe summary = %+v, want 4 reps and 4 pairs", p)
	}
	if p.Ratio.Median != 0.7 || p.Ratio.Min != 0.5 || p.Ratio.Max != 2 {
		t.Errorf("pgpipe ratio = %+v, want median 0.7 (of 0.5 0.5 0.9 2), min 0.5, max 2", *p.Ratio)
	}
	if c := p.CPURatio; c == nil || c.Median != 1 || c.Pairs != 4 {
		t.Errorf("pgpipe CPU ratio = %+v, want 1 over 4 pairs", c)
	}
	if got := p.Median["ns/op"]; got != 145 {
		t.Errorf("pgpipe median ns/op = %v, want 145", got)
	}
	if r := s.byName["lib-pq"].Ratio; r == nil || r.Median != 2 {
		t.Errorf("lib-pq ratio = %+v, want 2", r)
	}
	if len(s.Verdicts) != 1 || !s.Verdicts[0].Pass {
		t.Errorf("verdicts = %+v, want one pass (0.7x, 9 allocs/op)", s.Verdicts)
	}
}

func TestVerdictFailsOnEachMissedTarget(t *testing.T) {
	w := bench.Workload{Name: "W", Rows: 10, Target: bench.Target{MaxAllocsPerOp: 10, FewerAllocsPerRow: true}, Entries: []bench.Entry{
		{Name: "pgpipe", Contender: "pgpipe", Subject: true}, {Name: "pgx-stdlib", Contender: "pgx-stdlib", Baseline: true}}}
	for _, tc := range []struct {
		name        string
		pgpipeNs    float64
		allocsOp    float64
		allocsRow   float64
		pass        bool
		wantMissing string
	}{
		{"all met", 90, 10, 4, true, ""},
		{"slower", 110, 10, 4, false, "time 1.10x"},
		{"too many allocs", 90, 11, 4, false, "11 allocs/op"},
		{"as many allocs per row", 90, 10, 5, false, "5.000 allocs/row"},
	} {
		runs := runsOf("W", map[string][]float64{"pgx-stdlib": {100}}, map[string]float64{"allocs/row": 5})
		runs = append(runs, result{Workload: "W", Contender: "pgpipe", Rep: 1, Metrics: map[string]float64{
			"ns/op": tc.pgpipeNs, "allocs/op": tc.allocsOp, "allocs/row": tc.allocsRow}})
		s := summarise(runs, []bench.Workload{w}, allEntries)[0]
		v := s.Verdicts[0]
		if v.Pass != tc.pass || !strings.Contains(v.Text, tc.wantMissing) {
			t.Errorf("%s: verdict %+v, want pass=%v mentioning %q", tc.name, v, tc.pass, tc.wantMissing)
		}
		missed := 0
		for _, part := range strings.Split(v.Text, "; ") {
			if strings.HasSuffix(part, "MISSED") {
				missed++
				if !strings.Contains(part, tc.wantMissing) {
					t.Errorf("%s: verdict %q marks the wrong target missed", tc.name, v.Text)
				}
			}
		}
		if want := map[bool]int{true: 0, false: 1}[tc.pass]; missed != want {
			t.Errorf("%s: verdict %q marks %d targets missed, want %d", tc.name, v.Text, missed, want)
		}
	}
}

func TestVerdictFailsWithoutABaselineResult(t *testing.T) {
	runs := runsOf("PointQuery", map[string][]float64{"pgpipe": {50}, "pgx-stdlib": {0}}, nil)
	v := summarise(runs, bench.Workloads[:1], allEntries)[0].Verdicts[0]
	if v.Pass || !strings.Contains(v.Text, "no result") {
		t.Errorf("verdict = %+v, want a failure saying there is no result", v)
	}
}

func TestPrintMarkdownShowsEveryContenderAndTheVerdict(t *testing.T) {
	runs := runsOf("Read100k", map[string][]float64{
		"pgpipe": {70e6}, "pgx-stdlib": {80e6}, "lib-pq": {120e6},
	}, map[string]float64{"allocs/row": 5, "B/row": 79.3, "ns/row": 700, "B/op": 1, "allocs/op": 5e5})
	runs = append(runs, runsOf("PointQuery", map[string][]float64{"pgbench": {30e3}, "pgx-stdlib": {40e3}}, nil)...)
	ws := []bench.Workload{workloadNamed(t, "PointQuery"), workloadNamed(t, "Read100k")}
	rep := &report{Summary: summarise(runs, ws, allEntries)}
	var buf bytes.Buffer
	printMarkdown(&buf, rep)
	out := buf.String()
	for _, want := range []string{
		"## Read100k", "| pgpipe | 70 ms | 0.875x | 0.875–0.875 (1) | – | – | – |", "| lib/pq | 120 ms | 1.500x",
		"| allocs/row |", "| 5.000 | 79.3 | 700 ns |",
		"## PointQuery", "| libpq (pgbench -M prepared) | 30 µs | 0.750x",
		"**Verdict** Read100k: pgpipe FAIL", "5.000 allocs/row (target < pgx stdlib's 5.000) MISSED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestParentPIDReadsTheFourthStatField(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want int
	}{
		{"1234 (postgres) S 1200 1234 1234 0 -1", 1200},
		{"1234 (postgres: checkpointer ) S 77 1 1", 77}, // spaces in the name
		{"1234 (a) b) S 9 1", 9},                        // a parenthesis in the name
		{"garbage", -1},
	} {
		if got := parentPID(tc.stat); got != tc.want {
			t.Errorf("parentPID(%q) = %d, want %d", tc.stat, got, tc.want)
		}
	}
}

func TestQuickShortensOnlyWhatIsNotGiven(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick", "-count", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.count != 3 || cfg.benchtime != "100ms" || cfg.pgbenchTime != 2*time.Second {
		t.Errorf("-quick -count 3 gave count %d, benchtime %s, pgbench time %v", cfg.count, cfg.benchtime, cfg.pgbenchTime)
	}
	if _, err := parseFlags([]string{"-count", "0"}); err == nil {
		t.Error("-count 0 accepted")
	}
}

func TestSelectedEntriesAlwaysIncludeTheBaseline(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		workload string
		want     string
	}{
		{[]string{"-contenders", "^pgpipe$"}, "PointQuery", "pgpipe,pgx-stdlib"},
		{[]string{"-contenders", "^pgpipe$"}, "Pipeline", "pgpipe-loop,pgpipe-pipeline,pgpipe-batch,pgx-batch"}, // by client name
		{[]string{"-contenders", "pgbench"}, "PointQuery", "pgx-stdlib,pgbench"},
		{[]string{"-pgbench=false"}, "PointQuery", "pgpipe,pgpipe-none,pgx-stdlib,lib-pq"},
		{[]string{"-psql=false"}, "CopyFromCSV", "pgpipe,pgx"},
	} {
		cfg, err := parseFlags(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range selectedEntries(cfg, workloadNamed(t, tc.workload)) {
			names = append(names, e.Name)
		}
		if got := strings.Join(names, ","); got != tc.want {
			t.Errorf("%v on %s selected %s, want %s", tc.args, tc.workload, got, tc.want)
		}
	}
}

func TestVerdictChecksBoundsAgainstOtherEntries(t *testing.T) {
	w := workloadNamed(t, "PipelineProxy")
	for _, tc := range []struct {
		name          string
		loop, pgbench float64
		pass          bool
		wantText      string
	}{
		{"met", 6000, 120, true, "60.0x faster than pgpipe, ExecContext loop (target >= 50x"},
		{"not 50x faster than the loop", 4000, 120, false, "40.0x faster than pgpipe, ExecContext loop (target >= 50x; paired range 40.0–40.0x) MISSED"},
		{"slower than libpq", 6000, 90, false, "time 1.11x libpq pipeline (pgbench) (target <= 1.00; paired range 1.11–1.11) MISSED"},
	} {
		runs := runsOf(w.Name, map[string][]float64{
			"pgpipe-pipeline": {100}, "pgpipe-batch": {100}, "pgx-batch": {110}, "pgpipe-loop": {tc.loop}, "pgbench": {tc.pgbench},
		}, nil)
		v := summarise(runs, []bench.Workload{w}, allEntries)[0].Verdicts[0]
		if v.Contender != "pgpipe-pipeline" || v.Pass != tc.pass || !strings.Contains(v.Text, tc.wantText) {
			t.Errorf("%s: verdict %+v, want pass=%v with %q", tc.name, v, tc.pass, tc.wantText)
		}
	}
}

func TestVerdictSkipsBoundsAgainstEntriesNotSelected(t *testing.T) {
	w := workloadNamed(t, "PipelineProxy")
	runs := runsOf(w.Name, map[string][]float64{"pgpipe-pipeline": {100}, "pgx-batch": {110}, "pgpipe-loop": {6000}}, nil)
	noPgbench := func(w bench.Workload) []bench.Entry {
		var es []bench.Entry
		for _, e := range w.Entries {
			if e.Name != "pgbench" {
				es = append(es, e)
			}
		}
		return es
	}
	v := summarise(runs, []bench.Workload{w}, noPgbench)[0].Verdicts[0]
	if !v.Pass || !strings.Contains(v.Text, "no pgbench in this run (not selected): bound not checked ok") {
		t.Errorf("verdict %+v, want a pass noting that pgbench was not run", v)
	}
	v = summarise(runs, []bench.Workload{w}, allEntries)[0].Verdicts[0]
	if v.Pass || !strings.Contains(v.Text, "no result of pgbench to compare with MISSED") {
		t.Errorf("verdict %+v, want a failure: pgbench was selected but has no result", v)
	}
}

func TestVerdictChecksTheHeapIsFlat(t *testing.T) {
	w := workloadNamed(t, "CopyTo")
	for _, tc := range []struct {
		peak, tenth float64
		pass        bool
	}{
		{8 << 20, 6 << 20, true},
		{80 << 20, 8 << 20, false},
		{0, 0, false}, // not measured
	} {
		runs := runsOf(w.Name, map[string][]float64{"pgpipe": {90}, "pgx": {100}},
			map[string]float64{"peak-heap-B": tc.peak, "peak-heap-tenth-B": tc.tenth})
		v := summarise(runs, []bench.Workload{w}, allEntries)[0].Verdicts[0]
		if v.Pass != tc.pass || !strings.Contains(v.Text, "peak heap") {
			t.Errorf("peak %v, tenth %v: verdict %+v, want pass=%v", tc.peak, tc.tenth, v, tc.pass)
		}
	}
}

func TestMeanLatencyButFirstSkipsTheFirstTransaction(t *testing.T) {
	log := "0 0 4000000 0 1700000000 1\n0 1 50000 0 1700000004 2\n0 2 70000 0 1700000004 3\n"
	mean, n, err := meanLatencyButFirst(log)
	if err != nil || n != 2 || mean != 60e6 {
		t.Errorf("meanLatencyButFirst = %v, %d, %v; want 60e6 ns over 2", mean, n, err)
	}
	if _, _, err := meanLatencyButFirst("0 0 4000000 0 1700000000 1\n"); err == nil {
		t.Error("a log of one transaction gave a mean")
	}
	if _, _, err := meanLatencyButFirst("garbage\n"); err == nil {
		t.Error("a garbled log gave a mean")
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgpipe/pgpipe/bench"
	"github.com/pgpipe/pgpipe/bench/internal/units"
)

// report is what results/latest.json holds.
type report struct {
	Date     string            `json:"date"`
	Machine  machine           `json:"machine"`
	Settings settings          `json:"settings"`
	Runs     []result          `json:"runs"`
	Summary  []workloadSummary `json:"summary"`
}

// settings are how the runs were made.
type settings struct {
	Count                int    `json:"count"`
	Benchtime            string `json:"benchtime"`
	PgbenchSecondsPerRep int    `json:"pgbench_seconds_per_rep,omitempty"`
	GOMAXPROCS           string `json:"gomaxprocs"`
	ClientCPUs           string `json:"client_cpus,omitempty"`
	ServerCPUs           string `json:"server_cpus,omitempty"`
	ClientPinned         bool   `json:"client_pinned"`
	ServerPinned         bool   `json:"server_pinned"`
	CopyRows             int    `json:"copy_rows"`
	// Routes describes each route used, with its measured round trip.
	Routes           map[string]string `json:"routes,omitempty"`
	LoadAverageStart string            `json:"load_average_start"`
	LoadAverageEnd   string            `json:"load_average_end"`
	Notes            []string          `json:"notes,omitempty"`
}

func settingsOf(cfg config, p clientPin) settings {
	s := settings{
		Count:        cfg.count,
		Benchtime:    cfg.benchtime,
		GOMAXPROCS:   "Go's default (CPUs in the affinity mask)",
		ClientPinned: p.clientPinned,
		ServerPinned: p.serverPinned,
		CopyRows:     cfg.copyRows,
		Notes:        p.notes,
	}
	if cfg.pgbench {
		s.PgbenchSecondsPerRep = max(1, int(cfg.pgbenchTime.Seconds())/cfg.count)
	}
	if cfg.gomaxprocs > 0 {
		s.GOMAXPROCS = fmt.Sprint(cfg.gomaxprocs)
	}
	if p.clientPinned {
		s.ClientCPUs = cfg.clientCPUs
	}
	if p.serverPinned {
		s.ServerCPUs = cfg.serverCPUs
	}
	return s
}

// workloadSummary sums up one workload over all repetitions.
type workloadSummary struct {
	Workload string `json:"workload"`
	About    string `json:"about"`
	Route    string `json:"route"`
	Rows     int    `json:"rows_per_op,omitempty"`
	// Throughput says the chart draws rows/s rather than time ratios.
	Throughput bool `json:"throughput,omitempty"`
	Warmups    int  `json:"warmup_ops"`
	// Baseline is the baseline entry's label, BaselineEntry its name.
	Baseline      string             `json:"baseline"`
	BaselineEntry string             `json:"baseline_entry"`
	Extra         []string           `json:"extra_metrics,omitempty"`
	Contenders    []contenderSummary `json:"contenders"`
	Verdicts      []verdict          `json:"verdicts,omitempty"`
	target        bench.Target       // for the verdicts
	runs          map[string]map[int]result
	byName        map[string]*contenderSummary
}

// contenderSummary is one entry of one workload.
type contenderSummary struct {
	Contender string `json:"contender"` // the entry's name
	Label     string `json:"label"`
	// Client is the entry's contender, or its program (pgbench, psql).
	Client string `json:"client"`
	Reps   int    `json:"reps"` // successful repetitions
	// Median is the median of each metric over the repetitions, by unit.
	Median map[string]float64 `json:"median"`
	// Ratio compares ns/op with the baseline's: the median of the
	// repetitions' paired ratios. Nil when no repetition has both.
	Ratio *ratio `json:"ratio_to_baseline,omitempty"`
	// CPURatio compares cpu-ns/op in the same way.
	CPURatio *ratio `json:"cpu_ratio_to_baseline,omitempty"`
	subject  bool
}

// ratio is the median of per-repetition ratios, with their range.
type ratio struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Pairs  int     `json:"pairs"`
}

// verdict says whether a Subject contender met a workload's targets.
type verdict struct {
	Contender string `json:"contender"`
	Pass      bool   `json:"pass"`
	Text      string `json:"text"`
}

// summarise computes medians, paired ratios and verdicts per workload,
// for the entries each workload ran.
func summarise(runs []result, ws []bench.Workload, entries func(bench.Workload) []bench.Entry) []workloadSummary {
	var out []workloadSummary
	for _, w := range ws {
		base := w.Baseline()
		s := workloadSummary{Workload: w.Name, About: w.About, Route: string(w.RouteOrDirect()), Rows: w.RowsPerOp(),
			Throughput: w.Throughput, Warmups: w.Warmups, Baseline: base.Title(), BaselineEntry: base.Name, Extra: w.Extra,
			target: w.Target, runs: map[string]map[int]result{}, byName: map[string]*contenderSummary{}}
		for _, e := range entries(w) {
			s.runs[e.Name] = okRuns(runs, w.Name, e.Name)
		}
		for _, e := range entries(w) {
			s.add(contenderOf(s.runs[e.Name], s.runs[base.Name], e))
		}
		for _, e := range entries(w) {
			if e.Subject {
				s.Verdicts = append(s.Verdicts, s.verdictFor(e.Name))
			}
		}
		out = append(out, s)
	}
	return out
}

func (s *workloadSummary) add(c contenderSummary) {
	s.Contenders = append(s.Contenders, c)
	for i := range s.Contenders {
		s.byName[s.Contenders[i].Contender] = &s.Contenders[i]
	}
}

// okRuns are the successful runs of one pair, by repetition.
func okRuns(runs []result, workload, contender string) map[int]result {
	m := map[int]result{}
	for _, r := range runs {
		if r.Workload == workload && r.Contender == contender && r.Error == "" {
			m[r.Rep] = r
		}
	}
	return m
}

func contenderOf(runs, baseRuns map[int]result, e bench.Entry) contenderSummary {
	c := contenderSummary{Contender: e.Name, Label: e.Title(), Client: e.Client(), Reps: len(runs),
		Median: map[string]float64{}, subject: e.Subject}
	values := map[string][]float64{}
	for _, r := range runs {
		for unit, v := range r.Metrics {
			values[unit] = append(values[unit], v)
		}
	}
	for unit, vs := range values {
		c.Median[unit] = median(vs)
	}
	c.Ratio = pairedRatio(runs, baseRuns, "ns/op")
	c.CPURatio = pairedRatio(runs, baseRuns, "cpu-ns/op")
	return c
}

// pairedRatio is the median over repetitions of runs[rep]/baseRuns[rep]
// for one metric, or nil when no repetition has both.
func pairedRatio(runs, baseRuns map[int]result, unit string) *ratio {
	var ratios []float64
	for rep, r := range runs {
		v, ok := r.Metrics[unit]
		if b := baseRuns[rep].Metrics[unit]; ok && b > 0 {
			ratios = append(ratios, v/b)
		}
	}
	if len(ratios) == 0 {
		return nil
	}
	return &ratio{Median: median(ratios), Min: slices.Min(ratios), Max: slices.Max(ratios), Pairs: len(ratios)}
}

// median returns the middle value (the mean of the two middle ones for
// an even count); vs is sorted in place.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// verdictFor checks the workload's target for one subject entry: no
// slower than the baseline (median paired ratio at most 1), the bounds
// against other entries, and the allocation and heap targets.
func (s *workloadSummary) verdictFor(name string) verdict {
	v := verdict{Contender: name, Pass: true}
	c, b := s.byName[name], s.byName[s.BaselineEntry]
	var parts []string
	check := func(ok bool, format string, args ...any) {
		mark := "ok"
		if !ok {
			mark, v.Pass = "MISSED", false
		}
		parts = append(parts, fmt.Sprintf(format, args...)+" "+mark)
	}
	if c == nil || c.Ratio == nil || b == nil {
		v.Pass = false
		label := name
		if c != nil {
			label = c.Label
		}
		v.Text = fmt.Sprintf("%s: %s: no result to compare with %s", s.Workload, label, s.Baseline)
		return v
	}
	check(c.Ratio.Median <= 1, "time %.2fx %s (target <= 1.00)", c.Ratio.Median, s.Baseline)
	for _, bd := range s.target.Bounds {
		s.checkBound(c, bd, check)
	}
	if max := s.target.MaxAllocsPerOp; max > 0 {
		check(c.Median["allocs/op"] <= max, "%.0f allocs/op (target <= %.0f)", c.Median["allocs/op"], max)
	}
	if s.target.AllocsAtMostBaseline {
		check(c.Median["allocs/op"] <= b.Median["allocs/op"], "%.0f allocs/op (target <= %s's %.0f)",
			c.Median["allocs/op"], s.Baseline, b.Median["allocs/op"])
	}
	if s.target.FewerAllocsPerRow {
		check(c.Median["allocs/row"] < b.Median["allocs/row"], "%.3f allocs/row (target < %s's %.3f)",
			c.Median["allocs/row"], s.Baseline, b.Median["allocs/row"])
	}
	if s.target.FlatHeap {
		peak, tenth := c.Median["peak-heap-B"], c.Median["peak-heap-tenth-B"]
		check(peak > 0 && peak-tenth <= flatHeapSlack, "peak heap %s over all rows, %s over the first tenth (target: at most %s more)",
			fmtBytes(peak), fmtBytes(tenth), fmtBytes(flatHeapSlack))
	}
	result := "PASS"
	if !v.Pass {
		result = "FAIL"
	}
	v.Text = fmt.Sprintf("%s: %s %s: %s", s.Workload, c.Label, result, strings.Join(parts, "; "))
	return v
}

// flatHeapSlack is how much more the peak heap over a whole operation may
// be than over its first tenth of rows for memory to count as flat in
// the row count: 4 bytes a row at 1,000,000 rows.
const flatHeapSlack = 4 << 20

// checkBound checks c's time against another entry's.
func (s *workloadSummary) checkBound(c *contenderSummary, bd bench.Bound, check func(bool, string, ...any)) {
	other := s.byName[bd.Of]
	if _, selected := s.runs[bd.Of]; !selected {
		check(true, "no %s in this run (not selected): bound not checked", bd.Of)
		return
	}
	r := pairedRatio(s.runs[c.Contender], s.runs[bd.Of], "ns/op")
	if other == nil || r == nil {
		check(false, "no result of %s to compare with", bd.Of)
		return
	}
	if bd.Max < 1 {
		check(r.Median <= bd.Max, "%.1fx faster than %s (target >= %.0fx; paired range %.1f–%.1fx)",
			1/r.Median, other.Label, 1/bd.Max, 1/r.Max, 1/r.Min)
		return
	}
	check(r.Median <= bd.Max, "time %.2fx %s (target <= %.2f; paired range %.2f–%.2f)",
		r.Median, other.Label, bd.Max, r.Min, r.Max)
}

// printMarkdown writes the report as Markdown: a header with the machine
// and settings, then one table and verdict per workload.
func printMarkdown(w io.Writer, r *report) {
	m, s := r.Machine, r.Settings
	fmt.Fprintf(w, "# pgpipe benchmarks\n\n")
	fmt.Fprintf(w, "%s · %s · %d cores · %s · %s · PostgreSQL %s · pgpipe %s\n\n",
		r.Date, m.CPUModel, m.Cores, m.Kernel, m.GoVersion, m.PostgreSQL, m.PgpipeCommit)
	fmt.Fprintf(w, "%d repetitions, interleaved; -benchtime %s after each workload's warm-up; COPY workloads of %d rows; GOMAXPROCS %s; %s; load average %s at the start, %s at the end\n",
		s.Count, s.Benchtime, s.CopyRows, s.GOMAXPROCS, pinningText(s), s.LoadAverageStart, s.LoadAverageEnd)
	for _, r := range slices.Sorted(maps.Keys(s.Routes)) {
		fmt.Fprintf(w, "\nRoute %s: %s\n", r, s.Routes[r])
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "\nNote: %s\n", n)
	}
	for _, ws := range r.Summary {
		printWorkload(w, ws)
	}
}

func pinningText(s settings) string {
	switch {
	case s.ClientPinned && s.ServerPinned:
		return fmt.Sprintf("client on CPU %s, server on CPU %s", s.ClientCPUs, s.ServerCPUs)
	case s.ClientPinned:
		return fmt.Sprintf("client on CPU %s, server not pinned", s.ClientCPUs)
	}
	return "nothing pinned"
}

func printWorkload(w io.Writer, ws workloadSummary) {
	fmt.Fprintf(w, "\n## %s\n\n%s (route: %s; %d warm-up operations).\n\n", ws.Workload, ws.About, ws.Route, ws.Warmups)
	head := "| contender | time/op | vs " + ws.Baseline + " (median of paired ratios) | paired range | client CPU/op | client CPU vs " + ws.Baseline + " | server CPU/op | B/op | allocs/op |"
	rule := "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	if ws.Rows > 0 {
		head += " allocs/row | B/row | time/row |"
		rule += "---:|---:|---:|"
	}
	if ws.Throughput {
		head += " rows/s | peak heap | peak heap, first tenth |"
		rule += "---:|---:|---:|"
	}
	for _, x := range ws.Extra {
		head += " " + x + " |"
		rule += "---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, c := range ws.Contenders {
		line := fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", c.Label, fmtNs(c.Median["ns/op"]),
			fmtRatio(c.Ratio), fmtRange(c.Ratio), fmtNs(c.Median["cpu-ns/op"]), fmtRatio(c.CPURatio),
			fmtNs(c.Median["server-cpu-ns/op"]), fmtNum(c.Median, "B/op", 0), fmtNum(c.Median, "allocs/op", 0))
		if ws.Rows > 0 {
			line += fmt.Sprintf(" %s | %s | %s |", fmtNum(c.Median, "allocs/row", 3),
				fmtNum(c.Median, "B/row", 1), fmtNs(c.Median["ns/row"]))
		}
		if ws.Throughput {
			line += fmt.Sprintf(" %s | %s | %s |", fmtRate(c.Median["rows/s"]), fmtBytes(c.Median["peak-heap-B"]),
				fmtBytes(c.Median["peak-heap-tenth-B"]))
		}
		for _, x := range ws.Extra {
			line += " " + fmtNum(c.Median, x, 3) + " |"
		}
		fmt.Fprintln(w, line)
	}
	for _, v := range ws.Verdicts {
		fmt.Fprintf(w, "\n**Verdict** %s\n", v.Text)
	}
}

// fmtRate writes rows per second with three significant digits.
func fmtRate(v float64) string { return orDash(units.Rate(v)) }

// fmtBytes writes a size in MiB (or KiB) with three significant digits.
func fmtBytes(v float64) string {
	switch {
	case v == 0 || math.IsNaN(v):
		return "–"
	case v >= 1<<20:
		return fmt.Sprintf("%.3g MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.3g KiB", v/(1<<10))
}

func fmtRatio(r *ratio) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.3fx", r.Median)
}

func fmtRange(r *ratio) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f–%.3f (%d)", r.Min, r.Max, r.Pairs)
}

func fmtNum(m map[string]float64, unit string, decimals int) string {
	v, ok := m[unit]
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.*f", decimals, v)
}

// fmtNs writes a duration in ns with three significant digits in a
// fitting unit.
func fmtNs(ns float64) string { return orDash(units.Duration(ns)) }

// orDash stands a dash for an empty figure.
func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// writeJSON writes r to path, creating its directory.
func writeJSON(path string, r *report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

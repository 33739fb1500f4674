package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgpipe/pgpipe/bench"
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
	Count                int      `json:"count"`
	Benchtime            string   `json:"benchtime"`
	PgbenchSecondsPerRep int      `json:"pgbench_seconds_per_rep,omitempty"`
	GOMAXPROCS           string   `json:"gomaxprocs"`
	ClientCPUs           string   `json:"client_cpus,omitempty"`
	ServerCPUs           string   `json:"server_cpus,omitempty"`
	ClientPinned         bool     `json:"client_pinned"`
	ServerPinned         bool     `json:"server_pinned"`
	Warmups              int      `json:"warmup_ops"`
	LoadAverageStart     string   `json:"load_average_start"`
	LoadAverageEnd       string   `json:"load_average_end"`
	Notes                []string `json:"notes,omitempty"`
}

func settingsOf(cfg config, p clientPin) settings {
	s := settings{
		Count:        cfg.count,
		Benchtime:    cfg.benchtime,
		GOMAXPROCS:   "Go's default (CPUs in the affinity mask)",
		ClientPinned: p.clientPinned,
		ServerPinned: p.serverPinned,
		Warmups:      bench.Warmups,
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
	Workload   string             `json:"workload"`
	About      string             `json:"about"`
	Rows       int                `json:"rows_per_op,omitempty"`
	Baseline   string             `json:"baseline"`
	Contenders []contenderSummary `json:"contenders"`
	Verdicts   []verdict          `json:"verdicts,omitempty"`
	target     bench.Target       // for the verdicts
	byName     map[string]*contenderSummary
}

// contenderSummary is one contender on one workload.
type contenderSummary struct {
	Contender string `json:"contender"`
	Label     string `json:"label"`
	Reps      int    `json:"reps"` // successful repetitions
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

// summarise computes medians, paired ratios and verdicts per workload.
func summarise(runs []result, ws []bench.Workload, cs []bench.Contender) []workloadSummary {
	base := bench.Baseline()
	var out []workloadSummary
	for _, w := range ws {
		s := workloadSummary{Workload: w.Name, About: w.About, Rows: w.Rows, Baseline: base.Label,
			target: w.Target, byName: map[string]*contenderSummary{}}
		baseRuns := okRuns(runs, w.Name, base.Name)
		for _, c := range cs {
			s.add(contenderOf(okRuns(runs, w.Name, c.Name), baseRuns, c.Name, c.Label, c.Subject))
		}
		if pg := okRuns(runs, w.Name, pgbenchName); len(pg) > 0 {
			s.add(contenderOf(pg, baseRuns, pgbenchName, pgbenchLabel, false))
		}
		for _, c := range cs {
			if c.Subject {
				s.Verdicts = append(s.Verdicts, s.verdictFor(c.Name, base.Name))
			}
		}
		out = append(out, s)
	}
	return out
}

func (s *workloadSummary) add(c contenderSummary) {
	s.Contenders = append(s.Contenders, c)
	s.byName[c.Contender] = &s.Contenders[len(s.Contenders)-1]
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

func contenderOf(runs, baseRuns map[int]result, name, label string, subject bool) contenderSummary {
	c := contenderSummary{Contender: name, Label: label, Reps: len(runs), Median: map[string]float64{}, subject: subject}
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

// verdictFor checks the workload's target for one contender: no slower
// than the baseline (median paired ratio at most 1), and the allocation
// targets.
func (s *workloadSummary) verdictFor(name, baseName string) verdict {
	v := verdict{Contender: name, Pass: true}
	c, b := s.byName[name], s.byName[baseName]
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
		v.Text = fmt.Sprintf("%s: %s: no result to compare with %s", s.Workload, name, s.Baseline)
		return v
	}
	check(c.Ratio.Median <= 1, "time %.2fx %s (target <= 1.00)", c.Ratio.Median, s.Baseline)
	if max := s.target.MaxAllocsPerOp; max > 0 {
		check(c.Median["allocs/op"] <= max, "%.0f allocs/op (target <= %.0f)", c.Median["allocs/op"], max)
	}
	if s.target.FewerAllocsPerRow {
		check(c.Median["allocs/row"] < b.Median["allocs/row"], "%.3f allocs/row (target < %s's %.3f)",
			c.Median["allocs/row"], s.Baseline, b.Median["allocs/row"])
	}
	result := "PASS"
	if !v.Pass {
		result = "FAIL"
	}
	v.Text = fmt.Sprintf("%s: %s %s: %s", s.Workload, c.Label, result, strings.Join(parts, "; "))
	return v
}

// printMarkdown writes the report as Markdown: a header with the machine
// and settings, then one table and verdict per workload.
func printMarkdown(w io.Writer, r *report) {
	m, s := r.Machine, r.Settings
	fmt.Fprintf(w, "# pgpipe benchmarks\n\n")
	fmt.Fprintf(w, "%s · %s · %d cores · %s · %s · PostgreSQL %s · pgpipe %s\n\n",
		r.Date, m.CPUModel, m.Cores, m.Kernel, m.GoVersion, m.PostgreSQL, m.PgpipeCommit)
	fmt.Fprintf(w, "%d repetitions, interleaved; -benchtime %s after %d warm-up operations; GOMAXPROCS %s; %s; load average %s at the start, %s at the end\n",
		s.Count, s.Benchtime, s.Warmups, s.GOMAXPROCS, pinningText(s), s.LoadAverageStart, s.LoadAverageEnd)
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
	fmt.Fprintf(w, "\n## %s\n\n%s.\n\n", ws.Workload, ws.About)
	head := "| contender | time/op | vs " + ws.Baseline + " (median of paired ratios) | paired range | client CPU/op | client CPU vs " + ws.Baseline + " | server CPU/op | B/op | allocs/op |"
	rule := "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	if ws.Rows > 0 {
		head += " allocs/row | B/row | time/row |"
		rule += "---:|---:|---:|"
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
		fmt.Fprintln(w, line)
	}
	for _, v := range ws.Verdicts {
		fmt.Fprintf(w, "\n**Verdict** %s\n", v.Text)
	}
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
func fmtNs(ns float64) string {
	switch {
	case ns == 0 || math.IsNaN(ns):
		return "–"
	case ns < 1e3:
		return fmt.Sprintf("%.3g ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	}
	return fmt.Sprintf("%.3g s", ns/1e9)
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

package main

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// sample is a small pgpipe-bench result: a time workload and a COPY one.
const sample = `{
  "date": "2026-01-02T03:04:05Z",
  "machine": {"cpu_model": "Test CPU", "cores": 2, "kernel": "6.1", "go_version": "go1.26",
    "postgresql_version": "15.18 (Debian)", "pgpipe_commit": "abc123",
    "driver_versions": {"github.com/jackc/pgx/v5": "v5.12.0", "github.com/lib/pq": "v1.12.3"}},
  "settings": {"count": 5, "benchtime": "1s", "copy_rows": 1000000, "client_pinned": true, "server_pinned": true,
    "routes": {"proxy": "latency proxy adding 500µs each way"}, "load_average_start": "0.1", "load_average_end": "0.2"},
  "summary": [
    {"workload": "PointQuery", "route": "direct", "baseline": "pgx stdlib", "contenders": [
      {"contender": "pgpipe", "label": "pgpipe", "client": "pgpipe", "reps": 5, "median": {"ns/op": 40000},
       "ratio_to_baseline": {"median": 0.8, "min": 0.7, "max": 0.9}},
      {"contender": "pgx-stdlib", "label": "pgx stdlib", "client": "pgx-stdlib", "reps": 5, "median": {"ns/op": 50000},
       "ratio_to_baseline": {"median": 1, "min": 1, "max": 1}},
      {"contender": "lib-pq", "label": "lib/pq <&> a label far too long to fit in the label column", "client": "lib-pq", "reps": 0, "median": {}}],
     "verdicts": [{"contender": "pgpipe", "pass": true}]},
    {"workload": "CopyTo", "route": "direct", "throughput": true, "rows_per_op": 1000000, "baseline": "pgx", "contenders": [
      {"contender": "pgpipe", "label": "pgpipe CopyTo", "client": "pgpipe", "reps": 5, "median": {"ns/op": 1e9, "rows/s": 1000000}},
      {"contender": "pgx", "label": "pgx CopyTo", "client": "pgx", "reps": 5, "median": {"ns/op": 8e8, "rows/s": 1250000}}],
     "verdicts": [{"contender": "pgpipe", "pass": false}]}
  ]
}`

func TestRenderDrawsEveryWorkloadAndEntryAsWellFormedSVG(t *testing.T) {
	var r results
	if err := json.Unmarshal([]byte(sample), &r); err != nil {
		t.Fatal(err)
	}
	svg := render(&r)
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, svg)
		}
	}
	for _, want := range []string{
		">PointQuery<", ">CopyTo<", ">pgpipe<", "0.80×  40 µs", ">1×  50 µs<", ">no result<",
		"lib/pq &lt;&amp;&gt; a label far too long to f…", "1 M rows/s", "1.25 M rows/s", "1,000,000 rows per operation",
		"Test CPU, 2 cores", "PostgreSQL 15.18 ", "pgpipe abc123", "2026-01-02", "Route proxy: latency proxy",
		`fill="#2e7d32"`, `fill="#c62828"`, // a met and a missed target
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

func TestLogAxisPutsOneInsideAndTicksAtRoundRatios(t *testing.T) {
	w := workload{Entries: []entry{{Ratio: &struct {
		Median float64 `json:"median"`
		Min    float64 `json:"min"`
		Max    float64 `json:"max"`
	}{Median: 60, Min: 50, Max: 70}}}}
	a := logAxis(w)
	if p := a.pos(1); p <= 0 || p >= 1 {
		t.Errorf("1× at %v, want inside the bar area", p)
	}
	if a.pos(70) > 1 || a.pos(0.5) < 0 {
		t.Errorf("the range 0.5–70 leaves the bar area: %v, %v", a.pos(0.5), a.pos(70))
	}
	var labels []string
	for _, tk := range a.ticks {
		labels = append(labels, tk.label)
	}
	if got := strings.Join(labels, " "); got != "0.50× 1× 2.00× 5.00× 10× 20× 50×" {
		t.Errorf("ticks %s", got)
	}
}

func TestNiceStepRoundsUpToOneTwoOrFive(t *testing.T) {
	for in, want := range map[float64]float64{0.9: 1, 1.5: 2, 3: 5, 7: 10, 120_000: 200_000, 250_000: 500_000} {
		if got := niceStep(in); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", in, got, want)
		}
	}
}

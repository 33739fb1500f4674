// Command pgpipe-chart draws the results of pgpipe-bench
// (results/latest.json) as an SVG chart, results/chart.svg: one panel per
// workload, one bar per entry. Time panels show each entry's time relative
// to the workload's baseline (a pgx client) on a log scale centred on 1×,
// so that bars to the left are faster and bars to the right slower, with
// the paired range as a whisker; COPY panels show rows per second. The
// machine, the date and the settings are in the title and the footer.
//
//	go run ./cmd/pgpipe-chart                   # or: make chart
//	go run ./cmd/pgpipe-chart -in other.json -out other.svg
//
// It uses the standard library only: the SVG is written by hand.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

// results is the part of pgpipe-bench's JSON the chart reads.
type results struct {
	Date    string `json:"date"`
	Machine struct {
		CPUModel     string            `json:"cpu_model"`
		Cores        int               `json:"cores"`
		Kernel       string            `json:"kernel"`
		GoVersion    string            `json:"go_version"`
		PostgreSQL   string            `json:"postgresql_version"`
		PgpipeCommit string            `json:"pgpipe_commit"`
		Drivers      map[string]string `json:"driver_versions"`
	} `json:"machine"`
	Settings struct {
		Count            int               `json:"count"`
		Benchtime        string            `json:"benchtime"`
		CopyRows         int               `json:"copy_rows"`
		ClientPinned     bool              `json:"client_pinned"`
		ServerPinned     bool              `json:"server_pinned"`
		Routes           map[string]string `json:"routes"`
		LoadAverageStart string            `json:"load_average_start"`
		LoadAverageEnd   string            `json:"load_average_end"`
	} `json:"settings"`
	Summary []workload `json:"summary"`
}

// workload is one workload's summary.
type workload struct {
	Name       string  `json:"workload"`
	Route      string  `json:"route"`
	Rows       int     `json:"rows_per_op"`
	Throughput bool    `json:"throughput"`
	Baseline   string  `json:"baseline"`
	Entries    []entry `json:"contenders"`
	Verdicts   []struct {
		Contender string `json:"contender"`
		Pass      bool   `json:"pass"`
	} `json:"verdicts"`
}

// entry is one entry's summary in a workload.
type entry struct {
	Name   string             `json:"contender"`
	Label  string             `json:"label"`
	Client string             `json:"client"`
	Reps   int                `json:"reps"`
	Median map[string]float64 `json:"median"`
	Ratio  *struct {
		Median float64 `json:"median"`
		Min    float64 `json:"min"`
		Max    float64 `json:"max"`
	} `json:"ratio_to_baseline"`
}

func main() {
	in := flag.String("in", "results/latest.json", "pgpipe-bench's JSON results")
	out := flag.String("out", "results/chart.svg", "the SVG to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pgpipe-chart:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("reading %s: %w", in, err)
	}
	if len(r.Summary) == 0 {
		return fmt.Errorf("%s has no summary: did pgpipe-bench finish?", in)
	}
	return os.WriteFile(out, []byte(render(&r)), 0o644)
}

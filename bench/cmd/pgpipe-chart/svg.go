package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pgpipe/pgpipe/bench/internal/units"
)

// Geometry of the chart, in pixels.
const (
	chartWidth  = 1200
	margin      = 20
	columnGap   = 30
	columns     = 2
	panelWidth  = (chartWidth - 2*margin - (columns-1)*columnGap) / columns
	labelWidth  = 232 // entry labels, left of the bars
	barWidth    = 210 // the bar area
	rowHeight   = 19
	barHeight   = 12
	panelHead   = 40 // title and subtitle
	panelAxis   = 24 // tick labels under the bars
	panelGap    = 22
	maxLabelLen = 37 // characters; longer labels are cut
	fontFamily  = "DejaVu Sans, Helvetica, Arial, sans-serif"
)

// family colours bars by client, so one driver keeps one colour.
var family = []struct {
	clients []string
	name    string
	color   string
}{
	{[]string{"pgpipe"}, "pgpipe", "#1d4ed8"},
	{[]string{"pgpipe-none"}, "pgpipe, prepare_threshold=none", "#7fb0f5"},
	{[]string{"pgpipe-mux8"}, "pgpipe, multiplex=8", "#0f766e"},
	{[]string{"pgx-stdlib", "pgx-exec", "pgx"}, "pgx (baseline family)", "#6b7280"},
	{[]string{"lib-pq"}, "lib/pq", "#e69512"},
	{[]string{"pgbench", "psql"}, "libpq, C (pgbench, psql)", "#8b5cf6"},
}

func colorOf(client string) string {
	for _, f := range family {
		for _, c := range f.clients {
			if c == client {
				return f.color
			}
		}
	}
	return "#999999"
}

// canvas accumulates SVG elements.
type canvas struct{ sb strings.Builder }

func (c *canvas) printf(format string, args ...any) { fmt.Fprintf(&c.sb, format, args...) }

// text writes s at (x, y) with extra attributes (anchor, size, weight...).
func (c *canvas) text(x, y float64, attrs, s string) {
	c.printf(`<text x="%.1f" y="%.1f" %s>%s</text>`+"\n", x, y, attrs, html.EscapeString(s))
}

func (c *canvas) rect(x, y, w, h float64, fill string) {
	c.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, w, h, fill)
}

func (c *canvas) line(x1, y1, x2, y2 float64, stroke string, width float64) {
	c.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"/>`+"\n",
		x1, y1, x2, y2, stroke, width)
}

// render draws the whole chart.
func render(r *results) string {
	var body canvas
	top := float64(margin) + 78 // title, subtitle and legend
	heights := make([]float64, columns)
	for _, w := range r.Summary {
		col := 0
		for i := range heights {
			if heights[i] < heights[col] {
				col = i
			}
		}
		x := float64(margin + col*(panelWidth+columnGap))
		heights[col] += drawPanel(&body, x, top+heights[col], w)
	}
	height := top + slices.Max(heights)
	footer := footerLines(r)
	total := height + float64(len(footer))*15 + float64(margin)

	var c canvas
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="%s">`+"\n",
		chartWidth, total, chartWidth, total, fontFamily)
	c.rect(0, 0, chartWidth, total, "#ffffff")
	c.text(margin, margin+16, `font-size="19" font-weight="bold" fill="#111"`,
		"pgpipe against pgx and lib/pq: time relative to a pgx baseline (COPY: rows/s)")
	m := r.Machine
	c.text(margin, margin+36, `font-size="12" fill="#444"`, fmt.Sprintf("%s · %s, %d cores · Linux %s · %s · PostgreSQL %s · pgpipe %s",
		dateOf(r.Date), m.CPUModel, m.Cores, m.Kernel, m.GoVersion, firstWord(m.PostgreSQL), m.PgpipeCommit))
	drawLegend(&c, margin, margin+58)
	c.sb.WriteString(body.sb.String())
	for i, l := range footer {
		c.text(margin, height+float64(i)*15+4, `font-size="11" fill="#555"`, l)
	}
	c.printf("</svg>\n")
	return c.sb.String()
}

func drawLegend(c *canvas, x, y float64) {
	for _, f := range family {
		c.rect(x, y-9, 12, 10, f.color)
		c.text(x+16, y, `font-size="11" fill="#333"`, f.name)
		x += 28 + float64(utf8.RuneCountInString(f.name))*6.2
	}
	c.text(x+10, y, `font-size="11" fill="#333"`, "✓/✗ pgpipe's target met/missed")
}

// drawPanel draws one workload at (x, y) and returns its height.
func drawPanel(c *canvas, x, y float64, w workload) float64 {
	title := w.Name
	if w.Route != "" && w.Route != "direct" {
		title += " (" + w.Route + ")"
	}
	c.text(x, y+14, `font-size="14" font-weight="bold" fill="#111"`, title)
	sub := fmt.Sprintf("time/op relative to %s · log scale · left of 1× is faster", w.Baseline)
	if w.Throughput {
		sub = fmt.Sprintf("rows/s, %s rows per operation · higher is better", groupDigits(w.Rows))
	}
	c.text(x, y+30, `font-size="11" fill="#555"`, sub)
	top := y + panelHead
	bottom := top + float64(len(w.Entries))*rowHeight
	x0 := x + labelWidth
	var scale axis
	if w.Throughput {
		scale = linearAxis(w)
	} else {
		scale = logAxis(w)
	}
	for _, t := range scale.ticks {
		tx := x0 + scale.pos(t.v)*barWidth
		stroke, width := "#e2e2e2", 1.0
		if t.strong {
			stroke, width = "#444", 1.2
		}
		c.line(tx, top-4, tx, bottom+2, stroke, width)
		c.text(tx, bottom+14, `font-size="10" fill="#666" text-anchor="middle"`, t.label)
	}
	verdicts := map[string]bool{}
	for _, v := range w.Verdicts {
		verdicts[v.Contender] = v.Pass
	}
	for i, e := range w.Entries {
		rowY := top + float64(i)*rowHeight
		label := cut(e.Label, maxLabelLen)
		if pass, ok := verdicts[e.Name]; ok {
			mark, color := "✗", "#c62828"
			if pass {
				mark, color = "✓", "#2e7d32"
			}
			c.text(x, rowY+barHeight-1, `font-size="12" font-weight="bold" fill="`+color+`"`, mark)
		}
		c.text(x+14, rowY+barHeight-1, `font-size="11" fill="#222"`, label)
		drawBar(c, x0, rowY, scale, e, w.Throughput)
	}
	return panelHead + float64(len(w.Entries))*rowHeight + panelAxis + panelGap
}

// drawBar draws one entry's bar, whisker and value.
func drawBar(c *canvas, x0, y float64, scale axis, e entry, throughput bool) {
	color := colorOf(e.Client)
	valueX := x0 + barWidth + 8
	attrs := `font-size="11" fill="#222"`
	if throughput {
		v := e.Median["rows/s"]
		if v <= 0 {
			c.text(valueX, y+barHeight-1, attrs, "no result")
			return
		}
		c.rect(x0, y, scale.pos(v)*barWidth, barHeight, color)
		c.text(valueX, y+barHeight-1, attrs, rate(v)+" rows/s")
		return
	}
	if e.Ratio == nil {
		c.text(valueX, y+barHeight-1, attrs, "no result")
		return
	}
	one, at := x0+scale.pos(1)*barWidth, x0+scale.pos(e.Ratio.Median)*barWidth
	if math.Abs(at-one) < 2 {
		c.rect(one-1.5, y-1, 3, barHeight+2, color)
	} else {
		c.rect(math.Min(one, at), y, math.Abs(at-one), barHeight, color)
	}
	if lo, hi := x0+scale.pos(e.Ratio.Min)*barWidth, x0+scale.pos(e.Ratio.Max)*barWidth; hi-lo >= 2 {
		mid := y + barHeight/2
		c.line(lo, mid, hi, mid, "#111", 1)
		c.line(lo, mid-3, lo, mid+3, "#111", 1)
		c.line(hi, mid-3, hi, mid+3, "#111", 1)
	}
	c.text(valueX, y+barHeight-1, attrs, ratioText(e.Ratio.Median)+"  "+units.Duration(e.Median["ns/op"]))
}

// tick is one gridline of an axis.
type tick struct {
	v      float64
	label  string
	strong bool // the baseline's 1×
}

// axis maps values to [0, 1] of the bar area.
type axis struct {
	pos   func(float64) float64
	ticks []tick
}

// logAxis spans the ratios and their ranges, at least 0.5× to 2×.
func logAxis(w workload) axis {
	lo, hi := 0.5, 2.0
	for _, e := range w.Entries {
		if e.Ratio != nil {
			lo = math.Min(lo, math.Min(e.Ratio.Min, e.Ratio.Median)/1.15)
			hi = math.Max(hi, math.Max(e.Ratio.Max, e.Ratio.Median)*1.15)
		}
	}
	llo, lhi := math.Log(lo), math.Log(hi)
	a := axis{pos: func(v float64) float64 {
		if v <= 0 {
			return 0
		}
		return math.Max(0, math.Min(1, (math.Log(v)-llo)/(lhi-llo)))
	}}
	for e := -3; e <= 3; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, float64(e))
			if v >= lo && v <= hi {
				a.ticks = append(a.ticks, tick{v: v, label: ratioText(v), strong: v == 1})
			}
		}
	}
	return a
}

// linearAxis spans 0 to the largest rows/s.
func linearAxis(w workload) axis {
	top := 0.0
	for _, e := range w.Entries {
		top = math.Max(top, e.Median["rows/s"])
	}
	if top <= 0 {
		top = 1
	}
	step := niceStep(top / 4)
	top = math.Ceil(top*1.05/step) * step
	a := axis{pos: func(v float64) float64 { return math.Max(0, math.Min(1, v/top)) }}
	for v := 0.0; v <= top*1.0001; v += step {
		a.ticks = append(a.ticks, tick{v: v, label: rate(v)})
	}
	return a
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func ratioText(v float64) string {
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0f×", v)
	case v >= 0.995 && v < 1.005:
		return "1×"
	case v < 0.1:
		return fmt.Sprintf("%.3f×", v)
	}
	return fmt.Sprintf("%.2f×", v)
}

// rate is units.Rate with an axis' zero.
func rate(v float64) string {
	if v == 0 {
		return "0"
	}
	return units.Rate(v)
}

// groupDigits writes n with thousands separators: 1,000,000.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func dateOf(rfc3339 string) string {
	if d, _, ok := strings.Cut(rfc3339, "T"); ok {
		return d
	}
	return rfc3339
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// footerLines say how the numbers were made.
func footerLines(r *results) []string {
	s := r.Settings
	pinned := "client and server pinned to different cores"
	if !s.ClientPinned || !s.ServerPinned {
		pinned = "not pinned"
	}
	lines := []string{
		fmt.Sprintf("%d interleaved repetitions, -benchtime %s, %s; load average %s at the start, %s at the end.",
			s.Count, s.Benchtime, pinned, s.LoadAverageStart, s.LoadAverageEnd),
		"Bars: median over the repetitions of the ratio to the baseline's run in the same repetition; whiskers: the range of those ratios.",
		fmt.Sprintf("Drivers: pgx %s, lib/pq %s; one connection each, over TCP loopback unless the panel names a route. Drawn by bench/cmd/pgpipe-chart.",
			r.Machine.Drivers["github.com/jackc/pgx/v5"], r.Machine.Drivers["github.com/lib/pq"]),
	}
	for _, route := range []string{"proxy", "proxy-1.2ms", "pgbouncer"} {
		if v := s.Routes[route]; v != "" {
			lines = append(lines, "Route "+route+": "+v+".")
		}
	}
	return lines
}

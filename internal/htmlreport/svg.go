package htmlreport

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"reverify/internal/report"
)

// The charts' geometry, computed here and drawn by the template as SVG.

// barChart is a vertical bar chart, each bar a stack of segments.
type barChart struct {
	Label         string // what the chart shows, for screen readers
	Width, Height float64
	PlotX, PlotY  float64 // the plot area's top left corner
	PlotW, PlotH  float64
	Segments      []segment
	YTicks        []tick
	XLabels       []tick
}

type segment struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type tick struct {
	Pos   float64
	Label string
}

const (
	chartWidth  = 900.0
	chartHeight = 260.0
	chartLeft   = 56.0
	chartRight  = 12.0
	chartTop    = 10.0
	chartBottom = 36.0
	maxBars     = 60
	maxXLabels  = 8
)

func newBarChart(label string) *barChart {
	return &barChart{Label: label, Width: chartWidth, Height: chartHeight, PlotX: chartLeft, PlotY: chartTop,
		PlotW: chartWidth - chartLeft - chartRight, PlotH: chartHeight - chartTop - chartBottom}
}

// stack draws bars (each a map outcome → count) with their x labels; title
// names bar i in the segments' tooltips.
func (c *barChart) stack(bars []map[string]int64, labels []string, title func(i int) string) {
	var top int64
	for _, b := range bars {
		var n int64
		for _, v := range b {
			n += v
		}
		top = max(top, n)
	}
	scale, ticks := niceScale(top)
	for _, t := range ticks {
		c.YTicks = append(c.YTicks, tick{c.PlotY + c.PlotH - c.PlotH*float64(t)/float64(scale), report.Thousands(t)})
	}
	slot := c.PlotW / float64(max(len(bars), 1))
	w := min(math.Max(1, slot*0.8), 48)
	every := (len(bars) + maxXLabels - 1) / maxXLabels
	for i, b := range bars {
		x := c.PlotX + slot*float64(i) + (slot-w)/2
		y := c.PlotY + c.PlotH
		for _, o := range slices.SortedFunc(maps.Keys(b), report.CompareOutcomes) {
			n := b[o]
			if n == 0 {
				continue
			}
			h := c.PlotH * float64(n) / float64(scale)
			y -= h
			c.Segments = append(c.Segments, segment{X: x, Y: y, W: w, H: h, Fill: outcomeColor(o),
				Title: fmt.Sprintf("%s: %s %s", title(i), report.Thousands(n), o)})
		}
		if labels[i] != "" && i%every == 0 {
			c.XLabels = append(c.XLabels, tick{x + w/2, labels[i]})
		}
	}
}

// niceScale is the y axis' top (at least n, a round number) and its ticks.
func niceScale(n int64) (int64, []int64) {
	if n <= 0 {
		return 1, []int64{0, 1}
	}
	step := tickStep(n)
	top := (n + step - 1) / step * step
	var ticks []int64
	for t := int64(0); t <= top; t += step {
		ticks = append(ticks, t)
	}
	return top, ticks
}

// tickStep is the smallest step of 1, 2 or 5 times a power of ten that
// reaches n (> 0) in at most five steps.
func tickStep(n int64) int64 {
	for pow := int64(1); ; pow *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if s := pow * m; (n+s-1)/s <= 5 {
				return s
			}
		}
	}
}

// timeline draws the outcomes over time of the figures' runs: in the
// smallest of report.TimeSteps that needs at most maxBars bars; nil when no
// row has a time.
func timeline(figs []*report.Figures) *barChart {
	merged := &report.Figures{ByTime: map[int64]map[string]int64{}, TimeStep: 1}
	for _, f := range figs {
		merged.Rebucket(f.TimeStep)
	}
	for _, f := range figs {
		for sec, outcomes := range f.ByTime {
			start := sec / merged.TimeStep * merged.TimeStep
			b := merged.ByTime[start]
			if b == nil {
				b = map[string]int64{}
				merged.ByTime[start] = b
			}
			for o, n := range outcomes {
				b[o] += n
			}
		}
	}
	if len(merged.ByTime) == 0 {
		return nil
	}
	for _, step := range report.TimeSteps {
		merged.Rebucket(step)
		first, last := span(merged.ByTime)
		if (last-first)/merged.TimeStep+1 <= maxBars {
			break
		}
	}
	step := merged.TimeStep
	first, last := span(merged.ByTime)
	n := int((last-first)/step + 1)
	bars := make([]map[string]int64, n)
	labels := make([]string, n)
	start := func(i int) time.Time { return time.Unix(first+int64(i)*step, 0).UTC() }
	layout := "2006-01-02"
	switch {
	case step < 60:
		layout = "15:04:05"
	case step < 86400:
		layout = "01-02 15:04"
	}
	for i := range bars {
		bars[i] = merged.ByTime[first+int64(i)*step]
		labels[i] = start(i).Format(layout)
	}
	c := newBarChart(fmt.Sprintf("records by outcome per %s, UTC", stepName(step)))
	c.stack(bars, labels, func(i int) string { return start(i).Format(layout) + " UTC" })
	return c
}

// span is the first and last key of a non-empty map.
func span(m map[int64]map[string]int64) (first, last int64) {
	first, last = math.MaxInt64, math.MinInt64
	for k := range m {
		first, last = min(first, k), max(last, k)
	}
	return first, last
}

func stepName(seconds int64) string {
	switch {
	case seconds == 1:
		return "second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	case seconds == 60:
		return "minute"
	case seconds < 3600:
		return fmt.Sprintf("%d minutes", seconds/60)
	case seconds == 3600:
		return "hour"
	case seconds < 86400:
		return fmt.Sprintf("%d hours", seconds/3600)
	case seconds == 86400:
		return "day"
	}
	return fmt.Sprintf("%d days", seconds/86400)
}

// callsChart draws how many records made each number of API calls.
func callsChart(by map[int32]int64) *barChart {
	if len(by) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(by))
	lo, hi := keys[0], keys[len(keys)-1]
	if hi-lo+1 > maxBars {
		lo = hi - maxBars + 1 // the long tail of many calls is what matters
	}
	var bars []map[string]int64
	var labels []string
	for k := lo; k <= hi; k++ {
		bars = append(bars, map[string]int64{"records": by[k]})
		labels = append(labels, fmt.Sprint(k))
	}
	var fewer int64
	for _, k := range keys {
		if k < lo {
			fewer += by[k]
		}
	}
	label := "records by API calls made"
	if fewer > 0 {
		label += fmt.Sprintf(" (%s records with fewer than %d calls not shown)", report.Thousands(fewer), lo)
	}
	c := newBarChart(label)
	c.stack(bars, labels, func(i int) string { return labels[i] + " calls" })
	return c
}

// shareBar is a horizontal bar of outcome shares, widths in percent.
type shareBar struct {
	Segments []segment
}

func newShareBar(m map[string]int64) shareBar {
	var total int64
	for _, n := range m {
		total += n
	}
	var b shareBar
	x := 0.0
	for _, o := range sortedOutcomes(m) {
		w := 100 * share(m[o], total)
		b.Segments = append(b.Segments, segment{X: x, W: w, Fill: outcomeColor(o),
			Title: fmt.Sprintf("%s %s (%s)", o, report.Thousands(m[o]), pct(share(m[o], total)))})
		x += w
	}
	return b
}

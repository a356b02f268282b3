// Package htmlreport renders the summaries and figures of reverify's
// output as one self-contained HTML page (batch report --html): every style
// inline, the charts drawn here as SVG, no script and no request to any
// other address (a Content-Security-Policy that allows none says so to the
// browser). It shows aggregates only: counts, shares, percentiles and codes,
// never a record id or a personal value.
package htmlreport

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"reverify/internal/report"
)

//go:embed page.html.tmpl
var pageTemplate string

// Input is what a page shows: the runs' summaries (report.Summarize, with
// their dossier counts) and their figures (report.ReadFigures), matched by
// run id.
type Input struct {
	Summaries []report.Summary
	Figures   []report.Figures
	// Source names the output the page describes (a URI: no personal value).
	Source string
	// Version is reverify's version line; Generated when the page was made.
	Version   string
	Generated time.Time
}

// Render writes the page.
func Render(w io.Writer, in Input) error {
	t, err := template.New("page").Funcs(template.FuncMap{
		"thousands": report.Thousands,
		"pct":       pct,
		"color":     outcomeColor,
		"plus":      func(a, b float64) float64 { return a + b },
		"minus":     func(a, b float64) float64 { return a - b },
	}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("html report: template: %w", err)
	}
	p, err := build(in)
	if err != nil {
		return err
	}
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// page is the template's data.
type page struct {
	Title     string
	Source    string
	Version   string
	Generated string
	Legend    []legendItem
	// Timeline is every run's outcomes over time, when there is more than
	// one run.
	Timeline *barChart
	Runs     []runView
}

type legendItem struct{ Outcome, Color string }

type fact struct{ Name, Value string }

type runView struct {
	ID         string
	Anchor     string
	DryRun     bool
	Facts      []fact
	Outcomes   []outcomeRow
	Timeline   *barChart
	Breakdowns []breakdown
	Matrix     *matrix
	Reasons    []reasonRow
	Checks     []checkRow
	Latency    []latencyRow
	Effort     []fact
	Calls      *barChart
}

type outcomeRow struct {
	Outcome string
	Count   int64
	Share   float64
}

func build(in Input) (page, error) {
	figs := map[string]*report.Figures{}
	for i := range in.Figures {
		figs[in.Figures[i].RunID] = &in.Figures[i]
	}
	p := page{Title: "reverify report", Source: in.Source, Version: in.Version,
		Generated: in.Generated.UTC().Format(time.RFC3339)}
	if len(in.Summaries) == 1 {
		p.Title = "reverify report: run " + in.Summaries[0].RunID
	}
	for _, o := range report.Outcomes() {
		p.Legend = append(p.Legend, legendItem{o, outcomeColor(o)})
	}
	var all []*report.Figures
	for _, s := range in.Summaries {
		f := figs[s.RunID]
		if f == nil {
			return page{}, fmt.Errorf("html report: run %s has a summary but no figures", s.RunID)
		}
		all = append(all, f)
		p.Runs = append(p.Runs, runPage(s, f))
	}
	if len(all) > 1 {
		p.Timeline = timeline(all)
	}
	return p, nil
}

func runPage(s report.Summary, f *report.Figures) runView {
	v := runView{ID: s.RunID, Anchor: "run-" + s.RunID, DryRun: s.DryRun, Facts: facts(s)}
	for _, o := range sortedOutcomes(s.Outcomes) {
		v.Outcomes = append(v.Outcomes, outcomeRow{o, s.Outcomes[o], share(s.Outcomes[o], s.Records)})
	}
	v.Timeline = timeline([]*report.Figures{f})
	v.Breakdowns = []breakdown{
		newBreakdown("By process type", "process type", f.ByProcessType),
		newBreakdown("By document id", "document id", f.ByDocumentID),
		newBreakdown("By issuing country", "issuing country", f.ByCountry),
	}
	v.Matrix = newMatrix(s.Transitions, s.TransitionReasons)
	v.Reasons = topReasons(s.Reasons, s.Outcomes)
	v.Checks = checks(f)
	v.Latency = latency(f.Latency)
	v.Effort, v.Calls = effort(s, f)
	return v
}

// facts are the run's header lines.
func facts(s report.Summary) []fact {
	var fs []fact
	add := func(name, value string) { fs = append(fs, fact{name, value}) }
	if s.Shard == report.AllShards {
		add("shards", fmt.Sprintf("%d of %d", len(s.Shards), s.ShardCount))
	} else {
		add("shard", fmt.Sprintf("%d of %d", s.Shard, s.ShardCount))
	}
	add("records", report.Thousands(s.Records))
	if s.Listed != nil {
		add("listed", report.Thousands(*s.Listed))
	}
	if s.StartedAt != nil {
		add("started", s.StartedAt.UTC().Format(time.RFC3339))
	}
	if s.FinishedAt != nil {
		add("finished", s.FinishedAt.UTC().Format(time.RFC3339))
	}
	if s.DurationS > 0 {
		add("duration", time.Duration(s.DurationS*float64(time.Second)).Round(time.Second).String())
		add("records/s", fmt.Sprintf("%.2f", s.RecordsPerS))
	}
	switch {
	case s.ExitCode != nil:
		add("exit code", fmt.Sprint(*s.ExitCode))
	case len(s.ExitCodes) > 0:
		var parts []string
		for _, c := range slices.Sorted(maps.Keys(s.ExitCodes)) {
			parts = append(parts, fmt.Sprintf("%d (%d shards)", c, s.ExitCodes[c]))
		}
		add("exit codes", strings.Join(parts, ", "))
	}
	if s.Interrupted {
		add("interrupted", "yes")
	}
	add("attempts", fmt.Sprint(s.Attempts))
	add("parts", fmt.Sprint(s.Parts))
	if s.DuplicateRecords > 0 {
		add("duplicate rows", report.Thousands(s.DuplicateRecords))
	}
	if s.PersonalData != "" {
		add("personal data policy", s.PersonalData)
	}
	if d := s.Dossiers; d != nil {
		add("dossiers", fmt.Sprintf("%s created, %s deleted, %s left",
			report.Thousands(d.Created), report.Thousands(d.Deleted), report.Thousands(d.Left)))
	}
	if s.DryRun {
		add("dry run", "yes: every row is from the emulator")
	} else if s.DryRunRecords > 0 {
		add("dry-run rows", report.Thousands(s.DryRunRecords))
	}
	return fs
}

func sortedOutcomes(m map[string]int64) []string {
	var out []string
	for _, o := range slices.SortedFunc(maps.Keys(m), report.CompareOutcomes) {
		if m[o] > 0 {
			out = append(out, o)
		}
	}
	return out
}

// share is n ÷ total (0 when total is 0).
func share(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// pct renders a share as a percentage: "12.3%", "<0.1%" for a small
// non-zero one.
func pct(f float64) string {
	switch {
	case f == 0:
		return "0%"
	case f < 0.001:
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// outcomeColor is the colour of an outcome in every chart.
func outcomeColor(o string) string {
	switch o {
	case report.OutcomeAccepted:
		return "#2e7d32"
	case report.OutcomeRejected:
		return "#c62828"
	case report.OutcomeInconclusive:
		return "#f9a825"
	case report.OutcomeFailed:
		return "#6a1b9a"
	case report.OutcomeCanceled:
		return "#757575"
	case report.OutcomeSkipped:
		return "#90a4ae"
	case report.OutcomeError:
		return "#ef6c00"
	case report.OutcomeTimeout:
		return "#1565c0"
	}
	return "#455a64"
}

// breakdown is one dimension's rows: each a category with its count and its
// outcomes' shares as a bar.
type breakdown struct {
	Title, Column string
	Rows          []shareRow
	// Others says how many categories the "other" row folds.
	Others int
}

type shareRow struct {
	Label string
	Count int64
	Bar   shareBar
}

// maxCategories is how many categories a breakdown lists before it folds
// the rest into one row.
const maxCategories = 15

func newBreakdown(title, column string, m map[string]map[string]int64) breakdown {
	b := breakdown{Title: title, Column: column}
	cats := slices.Collect(maps.Keys(m))
	totals := map[string]int64{}
	for _, c := range cats {
		for _, n := range m[c] {
			totals[c] += n
		}
	}
	slices.SortFunc(cats, func(x, y string) int { return cmp.Or(cmp.Compare(totals[y], totals[x]), strings.Compare(x, y)) })
	other := map[string]int64{}
	for i, c := range cats {
		if i < maxCategories {
			b.Rows = append(b.Rows, shareRow{c, totals[c], newShareBar(m[c])})
			continue
		}
		b.Others++
		for o, n := range m[c] {
			other[o] += n
		}
	}
	if b.Others > 0 {
		var n int64
		for _, v := range other {
			n += v
		}
		b.Rows = append(b.Rows, shareRow{fmt.Sprintf("other (%d values)", b.Others), n, newShareBar(other)})
	}
	return b
}

// matrix is the then-vs-now table: a row per previous outcome, a column per
// outcome now.
type matrix struct {
	Columns []string
	Rows    []matrixRow
	Changed []changedCell
}

type matrixRow struct {
	Previous string
	Total    int64
	Cells    []matrixCell
}

type matrixCell struct {
	Count     int64
	Share     float64 // of the row
	Unchanged bool
	// Shade is the cell's background opacity, from its share.
	Shade string
}

type changedCell struct {
	Previous, Outcome string
	Count             int64
	Reasons           []reasonCount
}

type reasonCount struct {
	Reason string
	Count  int64
}

// maxMatrixRows and maxChanged bound the matrix and the changed cells
// explained under it.
const (
	maxMatrixRows = 12
	maxChanged    = 8
	maxCellReason = 3
)

func newMatrix(tr map[string]map[string]int64, reasons map[string]map[string]map[string]int64) *matrix {
	if len(tr) == 0 {
		return nil
	}
	cols := map[string]int64{}
	rows := map[string]int64{}
	for prev, m := range tr {
		for o, n := range m {
			cols[o] += n
			rows[prev] += n
		}
	}
	mx := &matrix{Columns: sortedOutcomes(cols)}
	prevs := slices.SortedFunc(maps.Keys(rows), func(x, y string) int {
		return cmp.Or(cmp.Compare(rows[y], rows[x]), report.CompareOutcomes(x, y))
	})
	if len(prevs) > maxMatrixRows {
		prevs = prevs[:maxMatrixRows]
	}
	for _, prev := range prevs {
		r := matrixRow{Previous: prev, Total: rows[prev]}
		for _, o := range mx.Columns {
			n := tr[prev][o]
			s := share(n, rows[prev])
			r.Cells = append(r.Cells, matrixCell{Count: n, Share: s, Unchanged: prev == o,
				Shade: fmt.Sprintf("%.2f", 0.08+0.6*s)})
		}
		mx.Rows = append(mx.Rows, r)
	}
	var changed []changedCell
	for prev, m := range tr {
		for o, n := range m {
			if prev == o || n == 0 {
				continue
			}
			c := changedCell{Previous: prev, Outcome: o, Count: n}
			rs := reasons[prev][o]
			for _, reason := range slices.SortedFunc(maps.Keys(rs), func(x, y string) int {
				return cmp.Or(cmp.Compare(rs[y], rs[x]), strings.Compare(x, y))
			}) {
				if len(c.Reasons) == maxCellReason {
					break
				}
				c.Reasons = append(c.Reasons, reasonCount{reason, rs[reason]})
			}
			changed = append(changed, c)
		}
	}
	slices.SortFunc(changed, func(x, y changedCell) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Previous, y.Previous), strings.Compare(x.Outcome, y.Outcome))
	})
	if len(changed) > maxChanged {
		changed = changed[:maxChanged]
	}
	mx.Changed = changed
	return mx
}

type reasonRow struct {
	Outcome, Reason string
	Count           int64
	Share           float64 // of the outcome's rows
	Width           float64 // bar width, percent of the largest
}

const maxReasons = 15

func topReasons(reasons map[string]map[string]int64, outcomes map[string]int64) []reasonRow {
	var rows []reasonRow
	for o, m := range reasons {
		for r, n := range m {
			rows = append(rows, reasonRow{Outcome: o, Reason: r, Count: n, Share: share(n, outcomes[o])})
		}
	}
	slices.SortFunc(rows, func(x, y reasonRow) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), report.CompareOutcomes(x.Outcome, y.Outcome), strings.Compare(x.Reason, y.Reason))
	})
	if len(rows) > maxReasons {
		rows = rows[:maxReasons]
	}
	for i := range rows {
		rows[i].Width = 100 * float64(rows[i].Count) / float64(rows[0].Count)
	}
	return rows
}

type checkRow struct {
	Check            string
	Reported, Failed int64
	Share            float64 // failed ÷ reported
	Width            float64 // bar width, percent
}

func checks(f *report.Figures) []checkRow {
	names := report.CheckNames()
	for _, n := range slices.Sorted(maps.Keys(f.ChecksReported)) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var rows []checkRow
	for _, n := range names {
		if f.ChecksReported[n] == 0 {
			continue
		}
		s := share(f.ChecksFailed[n], f.ChecksReported[n])
		rows = append(rows, checkRow{n, f.ChecksReported[n], f.ChecksFailed[n], s, 100 * s})
	}
	return rows
}

type latencyRow struct {
	ProcessType                string
	Count                      int64
	P50, P90, P95, P99, MaxVal string
}

func latency(by map[string]*report.Histogram) []latencyRow {
	var rows []latencyRow
	all := &report.Histogram{}
	row := func(name string, h *report.Histogram) latencyRow {
		return latencyRow{name, h.Count, ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.95)),
			ms(h.Quantile(0.99)), ms(h.Max)}
	}
	for _, pt := range slices.Sorted(maps.Keys(by)) {
		all.Merge(by[pt])
		rows = append(rows, row(pt, by[pt]))
	}
	if len(rows) > 1 {
		rows = append(rows, row("all", all))
	}
	return rows
}

// ms renders a duration in milliseconds: "850 ms", "12.4 s", "3 min 05 s".
func ms(v int64) string {
	switch {
	case v < 1000:
		return fmt.Sprintf("%d ms", v)
	case v < 60_000:
		return fmt.Sprintf("%.1f s", float64(v)/1000)
	case v < 3_600_000:
		return fmt.Sprintf("%d min %02d s", v/60_000, (v/1000)%60)
	}
	return fmt.Sprintf("%d h %02d min", v/3_600_000, (v/60_000)%60)
}

// effort lists the API work per record and draws the distribution of calls
// per record.
func effort(s report.Summary, f *report.Figures) ([]fact, *barChart) {
	per := func(n int64) string {
		if s.Records == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(n)/float64(s.Records))
	}
	fs := []fact{
		{"API calls per record", per(s.APICalls)},
		{"retries per record", per(s.Retries)},
		{"polls per record", per(s.Polls)},
	}
	if f.ThrottledKnown {
		name := "429 answers per record"
		if s.Attempts > 1 {
			name += " (each shard's last attempt)"
		}
		fs = append(fs, fact{name, per(f.Throttled)})
	}
	fs = append(fs, fact{"API calls", report.Thousands(s.APICalls)}, fact{"retries", report.Thousands(s.Retries)})
	if f.ThrottledKnown {
		fs = append(fs, fact{"429 answers", report.Thousands(f.Throttled)})
	}
	return fs, callsChart(f.CallsPerRecord)
}

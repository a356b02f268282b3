package report

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// topReasons is how many reasons the table shows per outcome.
const topReasons = 3

// RenderTables writes the human summary of each run, separated by a blank
// line.
func RenderTables(w io.Writer, sums []Summary) error {
	for i, s := range sums {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := RenderTable(w, s); err != nil {
			return err
		}
	}
	return nil
}

// RenderTable writes the human summary of one run or shard: a header with the
// run's facts, then one aligned line per outcome present with its count,
// share and top reasons, then the total; then, when any row had a previous
// outcome, how outcomes moved from it (transitionTable). It holds counts,
// outcome and reason codes only, never row values.
func RenderTable(w io.Writer, s Summary) error {
	var b strings.Builder
	b.WriteString(headerLines(s))

	type line struct{ outcome, count, share, reasons string }
	outcomes := slices.Collect(maps.Keys(s.Outcomes))
	slices.SortFunc(outcomes, CompareOutcomes)
	lines := []line{{"outcome", "count", "share", "top reasons"}}
	for _, o := range outcomes {
		n := s.Outcomes[o]
		if n == 0 {
			continue
		}
		lines = append(lines, line{o, Thousands(n), share(n, s.Records), reasonList(s.Reasons[o])})
	}
	lines = append(lines, line{"total", Thousands(s.Records), share(s.Records, s.Records), ""})

	wo, wc, ws := 0, 0, 0
	for _, l := range lines {
		wo, wc, ws = max(wo, len(l.outcome)), max(wc, len(l.count)), max(ws, len(l.share))
	}
	for _, l := range lines {
		row := fmt.Sprintf("%-*s  %*s  %*s  %s", wo, l.outcome, wc, l.count, ws, l.share, l.reasons)
		b.WriteString(strings.TrimRight(row, " "))
		b.WriteByte('\n')
	}
	b.WriteString(transitionTable(s.Transitions))
	b.WriteString(changedCells(s.Transitions, s.TransitionReasons))
	_, err := io.WriteString(w, b.String())
	return err
}

// maxTransitionRows is how many previous outcomes the transition table
// shows; the rest are summed in one "other (N)" row.
const maxTransitionRows = 10

// CompareOutcomes orders outcomes for display: known ones in Outcomes order, then
// the rest by name.
func CompareOutcomes(a, b string) int {
	return cmp.Or(cmp.Compare(outcomeRank(a), outcomeRank(b)), strings.Compare(a, b))
}

// transitionTable renders Totals.Transitions, after a blank line: one row
// per previous outcome, one column per outcome now, counts in the cells, a
// total row and column. "" when no row had a previous outcome.
func transitionTable(tr map[string]map[string]int64) string {
	if len(tr) == 0 {
		return ""
	}
	var cols []string
	colTotal := map[string]int64{}
	rowTotal := map[string]int64{}
	var total int64
	for prev, m := range tr {
		for oc, n := range m {
			if _, ok := colTotal[oc]; !ok {
				cols = append(cols, oc)
			}
			colTotal[oc] += n
			rowTotal[prev] += n
			total += n
		}
	}
	slices.SortFunc(cols, CompareOutcomes)
	prevs := slices.SortedFunc(maps.Keys(tr), func(a, b string) int {
		// Known outcomes first; among the others the most frequent first.
		ka, kb := KnownOutcome(a), KnownOutcome(b)
		switch {
		case ka && kb:
			return CompareOutcomes(a, b)
		case ka != kb:
			if ka {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(rowTotal[b], rowTotal[a]), strings.Compare(a, b))
	})

	cells := [][]string{append(append([]string{"previous"}, cols...), "total")}
	// A cell: its count and its share of the row (of the previous outcome's
	// rows: where they went).
	addRow := func(label string, get func(oc string) int64, sum int64) {
		r := []string{label}
		for _, oc := range cols {
			r = append(r, cellShare(get(oc), sum))
		}
		cells = append(cells, append(r, Thousands(sum)))
	}
	shown := prevs
	if len(prevs) > maxTransitionRows {
		shown = prevs[:maxTransitionRows-1]
	}
	for _, prev := range shown {
		addRow(prev, func(oc string) int64 { return tr[prev][oc] }, rowTotal[prev])
	}
	if rest := prevs[len(shown):]; len(rest) > 0 {
		var sum int64
		for _, prev := range rest {
			sum += rowTotal[prev]
		}
		addRow(fmt.Sprintf("other (%d)", len(rest)), func(oc string) int64 {
			var n int64
			for _, prev := range rest {
				n += tr[prev][oc]
			}
			return n
		}, sum)
	}
	addRow("total", func(oc string) int64 { return colTotal[oc] }, total)

	widths := make([]int, len(cells[0]))
	for _, r := range cells {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	b.WriteString("\nprevious outcome (rows) -> outcome now (columns)\n")
	for _, r := range cells {
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// headerLines renders the facts above the table.
func headerLines(s Summary) string {
	var b strings.Builder
	// Line 1: which run and shard.
	fmt.Fprintf(&b, "run %s", s.RunID)
	switch {
	case s.Shard == AllShards:
		fmt.Fprintf(&b, "  shards %s of %s present", Thousands(int64(len(s.Shards))), Thousands(int64(s.ShardCount)))
		if missing := missingShards(s.Shards, s.ShardCount); len(missing) > 0 && len(missing) <= 10 {
			fmt.Fprintf(&b, " (missing %s)", joinInts(missing))
		}
	case s.ShardCount > 0:
		fmt.Fprintf(&b, "  shard %d of %d", s.Shard, s.ShardCount)
	}
	if s.DryRun {
		b.WriteString("  DRY RUN (bundled emulator)")
	}
	b.WriteByte('\n')

	// Line 2: effort.
	fmt.Fprintf(&b, "records %s  parts %d", Thousands(s.Records), s.Parts)
	if s.Attempts > 1 {
		fmt.Fprintf(&b, "  attempts %d", s.Attempts)
	}
	fmt.Fprintf(&b, "  api calls %s", Thousands(s.APICalls))
	if s.Records > 0 {
		fmt.Fprintf(&b, " (%.2f/record)", float64(s.APICalls)/float64(s.Records))
	}
	// The rows count the calls made for them; an interrupted attempt also
	// made calls for the records it left to the next one: say how many it
	// made in all, so that the table agrees with what was spent.
	if made, ok := extraCount(s.Extra, "api_calls_total"); ok && s.Interrupted && made > s.APICalls {
		fmt.Fprintf(&b, ", %s made by the last attempt", Thousands(made))
	}
	fmt.Fprintf(&b, "  retries %s  polls %s\n", Thousands(s.Retries), Thousands(s.Polls))

	// Line 3: time, when known.
	var t []string
	if s.StartedAt != nil {
		t = append(t, "started "+s.StartedAt.UTC().Format(time.RFC3339))
	}
	if s.FinishedAt != nil {
		t = append(t, "finished "+s.FinishedAt.UTC().Format(time.RFC3339))
	}
	if s.DurationS > 0 {
		t = append(t, "duration "+time.Duration(s.DurationS*float64(time.Second)).Round(time.Second).String(),
			fmt.Sprintf("%.2f records/s", s.RecordsPerS))
	}
	if s.ExitCode != nil {
		t = append(t, "exit code "+strconv.Itoa(*s.ExitCode))
	} else if len(s.ExitCodes) > 0 {
		codes := slices.Sorted(maps.Keys(s.ExitCodes))
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%d (%s)", c, plural(s.ExitCodes[c], "shard"))
		}
		t = append(t, "exit codes "+strings.Join(parts, ", "))
	}
	if s.Interrupted {
		t = append(t, "interrupted")
	}
	if s.PersonalData != "" {
		t = append(t, "personal data "+s.PersonalData)
	}
	if d := s.Dossiers; d != nil {
		t = append(t, fmt.Sprintf("dossiers created %s, deleted %s, left %s",
			Thousands(d.Created), Thousands(d.Deleted), Thousands(d.Left)))
	}
	if len(t) > 0 {
		b.WriteString(strings.Join(t, "  "))
		b.WriteByte('\n')
	}

	// Line 4: comparisons and anomalies, when any.
	var c []string
	if s.OutcomeCompared > 0 {
		c = append(c, fmt.Sprintf("outcome changed %s of %s compared with the previous outcome",
			Thousands(s.OutcomeChanged), Thousands(s.OutcomeCompared)))
	}
	if s.DuplicateRecords > 0 {
		c = append(c, fmt.Sprintf("WARNING %s duplicate rows (a record written more than once)", Thousands(s.DuplicateRecords)))
	}
	if len(c) > 0 {
		b.WriteString(strings.Join(c, "  "))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.String()
}

// reasonList renders the most frequent reasons: "A 3, B 2, C 1, +2 more".
func reasonList(m map[string]int64) string {
	reasons := slices.Collect(maps.Keys(m))
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	var parts []string
	for i, r := range reasons {
		if i == topReasons {
			parts = append(parts, fmt.Sprintf("+%d more", len(reasons)-topReasons))
			break
		}
		parts = append(parts, r+" "+Thousands(m[r]))
	}
	return strings.Join(parts, ", ")
}

// cellShare renders a transition cell: "0", or the count and its share of
// the row, whole percent ("<1%" below one).
func cellShare(n, row int64) string {
	if n == 0 || row == 0 {
		return Thousands(n)
	}
	pct := 100 * float64(n) / float64(row)
	if pct < 1 {
		return Thousands(n) + " <1%"
	}
	return fmt.Sprintf("%s %.0f%%", Thousands(n), pct)
}

// maxChangedCells is how many changed cells the table explains.
const maxChangedCells = 8

// changedCells renders, after the transition table, the largest cells whose
// outcome changed with their top reasons (Totals.TransitionReasons); "" when
// none changed.
func changedCells(tr map[string]map[string]int64, reasons map[string]map[string]map[string]int64) string {
	type cell struct {
		prev, now string
		n         int64
	}
	var cells []cell
	for prev, m := range reasons {
		for now := range m {
			cells = append(cells, cell{prev, now, tr[prev][now]})
		}
	}
	if len(cells) == 0 {
		return ""
	}
	slices.SortFunc(cells, func(a, b cell) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.prev, b.prev), CompareOutcomes(a.now, b.now))
	})
	more := 0
	if len(cells) > maxChangedCells {
		more = len(cells) - maxChangedCells
		cells = cells[:maxChangedCells]
	}
	wl, wn := 0, 0
	for _, c := range cells {
		wl, wn = max(wl, len(c.prev)+4+len(c.now)), max(wn, len(Thousands(c.n)))
	}
	var b strings.Builder
	b.WriteString("\nwhy outcomes changed (largest cells, top reasons)\n")
	for _, c := range cells {
		why := reasons[c.prev][c.now]
		list := reasonList(why)
		if len(why) == 1 && why[NoReason] > 0 {
			list = "" // an accepted row, a failed process without reasons
		}
		line := fmt.Sprintf("%-*s  %*s  %s", wl, c.prev+" -> "+c.now, wn, Thousands(c.n), list)
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	if more > 0 {
		fmt.Fprintf(&b, "+%d more changed cells (batch report --json: transition_reasons)\n", more)
	}
	return b.String()
}

func share(n, total int64) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// Thousands renders n with comma separators: 1234567 → "1,234,567".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func missingShards(present []int, count int) []int {
	have := make(map[int]bool, len(present))
	for _, k := range present {
		have[k] = true
	}
	var missing []int
	for k := 0; k < count && len(missing) <= 10; k++ {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	return missing
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// extraCount reads a count from RunStats.Extra (an int64 in process, a
// float64 once read back from JSON).
func extraCount(extra map[string]any, key string) (int64, bool) {
	switch v := extra[key].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	}
	return 0, false
}

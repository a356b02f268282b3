package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"reverify/internal/assure"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

// progress shows a run's progress: a line redrawn in place on a terminal,
// else a log line every interval.
type progress struct {
	w        io.Writer
	terminal bool
	interval time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	last time.Time
	line string // the progress line on the terminal, "" when none is shown
	snap pipeline.Progress
	// width is the terminal's width in columns (0: unknown).
	width func() int
	// waits, once set, tells what the API client waits for.
	waits func() assure.Waits
}

func newProgress(w io.Writer, terminal bool, interval time.Duration, log *slog.Logger) *progress {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return &progress{w: w, terminal: terminal, interval: interval, log: log, width: func() int { return terminalWidth(w) }}
}

// watch makes the display say what the client waits for.
func (p *progress) watch(waits func() assure.Waits) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits = waits
}

// waiting says what the run waits for: a rate-limit pause, tokens,
// processes being polled; "" when it waits for nothing in particular.
func (p *progress) waiting(s pipeline.Progress, now time.Time) string {
	var parts []string
	if p.waits != nil {
		w := p.waits()
		if !w.PausedUntil.IsZero() {
			parts = append(parts, "rate-limit pause until "+w.PausedUntil.UTC().Format("15:04:05Z"))
		}
		if !w.TokenFailingSince.IsZero() {
			parts = append(parts, fmt.Sprintf("an access token (the token endpoint failing for %s)",
				now.Sub(w.TokenFailingSince).Round(time.Second)))
		}
	}
	if s.Polling > 0 {
		parts = append(parts, fmt.Sprintf("%d processes being polled", s.Polling))
	}
	return strings.Join(parts, "; ")
}

// update is the pipeline's progress callback (called on the writer's goroutine).
func (p *progress) update(s pipeline.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snap = s
	now := time.Now()
	every := p.interval
	if p.terminal {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	p.emit(now)
}

// total is the number of records the attempt will have rows for, and
// whether it is known: the listing's count once it ended, else the count
// ahead of it (pipeline.Counter).
func total(s pipeline.Progress) (int64, bool) {
	switch {
	case s.ListingEnd:
		return s.Listed, true
	case s.CountEnd:
		return s.Counted, true
	}
	return max(s.Listed, s.Counted), false
}

func (p *progress) emit(now time.Time) {
	s := p.snap
	elapsed := now.Sub(s.Started).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Done) / elapsed
	}
	// Done counts this attempt's rows; the records an earlier attempt
	// finished are done too.
	done := s.Done + s.Resumed
	n, known := total(s)
	var eta time.Duration
	pct := -1.0
	if known && n > 0 {
		pct = math.Min(100, 100*float64(done)/float64(n))
		if rate > 0 && n > done {
			eta = (time.Duration(float64(n-done)/rate) * time.Second).Round(time.Second)
		}
	}
	waiting := p.waiting(s, now)
	if p.terminal {
		var b strings.Builder
		if known {
			fmt.Fprintf(&b, "%d/%d (%.0f%%)", done, n, pct)
		} else {
			fmt.Fprintf(&b, "%d done, listing… %d so far", done, n)
		}
		fmt.Fprintf(&b, "  %.1f rec/s", rate)
		if eta > 0 {
			fmt.Fprintf(&b, "  ETA %s", eta)
		}
		fmt.Fprintf(&b, "  in flight %d  %s", s.InFlight, outcomeList(s.Outcomes))
		if waiting != "" {
			b.WriteString("  waiting for " + waiting)
		}
		p.line = fit(b.String(), p.width())
		p.draw()
		return
	}
	attrs := []any{"done", done, "listed", s.Listed, "listing_complete", s.ListingEnd}
	if known {
		attrs = append(attrs, "total", n, "percent", math.Round(pct*10)/10)
	}
	attrs = append(attrs, "in_flight", s.InFlight, "records_per_s", math.Round(rate*100)/100, "outcomes", s.Outcomes)
	if eta > 0 {
		attrs = append(attrs, "eta", eta) // a number of seconds (eta_s), when known
	}
	if waiting != "" {
		attrs = append(attrs, "waiting_for", waiting)
	}
	p.log.Info("progress", attrs...)
}

// draw writes the progress line over the current terminal line (under p.mu).
func (p *progress) draw() {
	fmt.Fprintf(p.w, "\r\033[K%s", p.line)
}

// fit cuts a line to a terminal's width, so that it never wraps (a wrapped
// line cannot be redrawn in place): one column is left for the cursor.
func fit(line string, width int) string {
	if width <= 1 {
		return line
	}
	r := []rune(line)
	if len(r) < width {
		return line
	}
	return string(r[:width-2]) + "…"
}

// logWriter is where the logger writes on a terminal: each log line clears
// the progress line first and redraws it after, so that the two never glue
// together. Off a terminal it is the stream itself.
func (p *progress) logWriter() io.Writer {
	if !p.terminal {
		return p.w
	}
	return writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.line != "" {
			fmt.Fprint(p.w, "\r\033[K")
		}
		n, err := p.w.Write(b)
		if p.line != "" {
			p.draw()
		}
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// left is how many of the shard's records have no row yet, once the total
// is known: what an interrupted attempt leaves to the next one.
func (p *progress) left() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, known := total(p.snap)
	if !known {
		return 0, false
	}
	return max(n-p.snap.Done-p.snap.Resumed, 0), true
}

// finish ends the progress display.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.snap.Started.IsZero() {
		return
	}
	p.emit(time.Now())
	if p.terminal {
		fmt.Fprintln(p.w)
		p.line = ""
	}
}

// outcomeList renders counts in the report's outcome order.
func outcomeList(m map[string]int64) string {
	rank := map[string]int{}
	for i, o := range report.Outcomes() {
		rank[o] = i
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return rank[keys[i]] < rank[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

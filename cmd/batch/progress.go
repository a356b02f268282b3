package main

import (
	"fmt"
	"io"
	"log/slog"
	"reverify/internal/assure"
	"sort"
	"strings"
	"sync"
	"time"

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

	mu       sync.Mutex
	last     time.Time
	lastLine int
	snap     pipeline.Progress
	// waits, once set, tells what the API client waits for.
	waits func() assure.Waits
}

func newProgress(w io.Writer, terminal bool, interval time.Duration, log *slog.Logger) *progress {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return &progress{w: w, terminal: terminal, interval: interval, log: log}
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

func (p *progress) emit(now time.Time) {
	s := p.snap
	elapsed := now.Sub(s.Started).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Done) / elapsed
	}
	total := "?"
	eta := ""
	if s.ListingEnd {
		total = fmt.Sprint(s.Listed)
		if rate > 0 && s.Listed > s.Done {
			eta = (time.Duration(float64(s.Listed-s.Done)/rate) * time.Second).Round(time.Second).String()
		}
	}
	waiting := p.waiting(s, now)
	if p.terminal {
		line := fmt.Sprintf("%d/%s done  %s  %.1f rec/s  in flight %d", s.Done, total, outcomeList(s.Outcomes), rate, s.InFlight)
		if eta != "" {
			line += "  ETA " + eta
		}
		if waiting != "" {
			line += "  waiting for " + waiting
		}
		pad := ""
		if n := p.lastLine - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(p.w, "\r%s%s", line, pad)
		p.lastLine = len(line)
		return
	}
	p.log.Info("progress", "done", s.Done, "listed", s.Listed, "listing_complete", s.ListingEnd,
		"in_flight", s.InFlight, "records_per_s", fmt.Sprintf("%.2f", rate), "eta", eta, "outcomes", s.Outcomes,
		"waiting_for", waiting)
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

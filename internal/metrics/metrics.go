// Package metrics sends a run shard's counts where batch jobs send metrics:
// CloudWatch Embedded Metric Format lines in the log (EMF), which AWS
// Batch's awslogs driver turns into CloudWatch metrics, and a Prometheus
// Pushgateway (Pusher). A Sampler takes a Snapshot on a timer and writes it
// to every sink.
//
// Metrics never fail or slow the run: a sink's error is logged (at most one
// warning every few minutes, with the count of failures since) and the run
// goes on. They hold no personal data: the run id, the shard, outcome codes
// and counts.
package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Snapshot is what a run shard's attempt has done so far: counters since
// the attempt started (cumulative; each sink turns them into what its
// backend wants) and gauges.
type Snapshot struct {
	// Records counts the rows written, by outcome code.
	Records map[string]int64
	// Listed counts the records taken from the archive.
	Listed int64
	// APICalls counts the HTTP attempts to the API (token requests too);
	// Throttled the 429 answers among them; Retries the attempts after a
	// call's first.
	APICalls, Throttled, Retries int64
	// InFlight is the number of records under way (gauge).
	InFlight int64
	// Rate is the API request rate in force, requests per second (gauge;
	// 0: no limit).
	Rate float64
}

// Sink receives snapshots. Write is called from one goroutine at a time.
type Sink interface {
	// Write records the snapshot taken at at.
	Write(ctx context.Context, at time.Time, s Snapshot) error
	// Name says what the sink is, for log lines ("emf", "pushgateway").
	Name() string
}

// warnEvery bounds how often a failing sink is logged.
const warnEvery = 5 * time.Minute

// Sampler takes a snapshot every interval and writes it to its sinks.
type Sampler struct {
	interval time.Duration
	snapshot func() Snapshot
	sinks    []Sink
	log      *slog.Logger
	now      func() time.Time

	mu     sync.Mutex // one sample at a time
	health []sinkHealth
}

// sinkHealth is a sink's failures since the last warning about it.
type sinkHealth struct {
	failing  int // consecutive failures
	unlogged int // failures since the last warning
	warned   time.Time
}

// NewSampler returns a sampler of snapshot every interval to sinks, in
// their order (put a fast sink, EMF, before a slow one). log gets the
// sinks' failures (nil: discarded).
func NewSampler(interval time.Duration, snapshot func() Snapshot, log *slog.Logger, sinks ...Sink) *Sampler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sampler{interval: interval, snapshot: snapshot, sinks: sinks, log: log, now: time.Now,
		health: make([]sinkHealth, len(sinks))}
}

// Run samples every interval until ctx ends. It does not sample at the end:
// the caller does, with Sample, once the run's last counts are in.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sample(ctx)
		}
	}
}

// Sample takes one snapshot now and writes it to every sink. A sink's error
// is logged, rate-limited, never returned.
func (s *Sampler) Sample(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.now()
	snap := s.snapshot()
	for i, sink := range s.sinks {
		s.report(sink, &s.health[i], at, sink.Write(ctx, at, snap))
	}
}

// report logs a sink's failure (the first, then at most every warnEvery
// with the count since) and its recovery.
func (s *Sampler) report(sink Sink, h *sinkHealth, at time.Time, err error) {
	if err == nil {
		if h.failing > 0 {
			s.log.Info("metrics: sink works again", "sink", sink.Name(), "failures", h.failing)
		}
		*h = sinkHealth{}
		return
	}
	h.failing++
	h.unlogged++
	if !h.warned.IsZero() && at.Sub(h.warned) < warnEvery {
		return
	}
	s.log.Warn("metrics: sink failed; the run goes on without it", "sink", sink.Name(), "error", err,
		"failures", h.unlogged, "next_warning_after", warnEvery)
	h.unlogged, h.warned = 0, at
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"reverify/internal/config"
	"reverify/internal/metrics"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

// lineWriter makes each Write whole on the stream: the logger and the EMF
// lines share one, so a line of either is never cut by the other.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// progressTap keeps the pipeline's last progress snapshot for the metrics.
type progressTap struct {
	mu   sync.Mutex
	last pipeline.Progress
}

func (t *progressTap) set(p pipeline.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = p
}

func (t *progressTap) get() pipeline.Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// runMetrics are an attempt's metrics (cfg.Metrics): a sampler on its own
// goroutine writing EMF lines and pushing to a Pushgateway. nil: none.
type runMetrics struct {
	sampler *metrics.Sampler
	pusher  *metrics.Pusher // nil without metrics.push_url
	cancel  context.CancelFunc
	done    chan struct{}
	log     *slog.Logger
}

// metricsShard names a run shard in the metrics: "K-of-N", the name of its
// output folder without the prefix (a slash would need escaping in a
// Pushgateway path).
func metricsShard(k, n int) string { return fmt.Sprintf("%d-of-%d", k, n) }

// startMetrics starts the metrics of cfg over the attempt a, EMF lines to
// lines (stderr: the summary alone is on stdout); nil when metrics are off.
// Only run ids, shards, outcome codes and counts go out.
func startMetrics(ctx context.Context, cfg config.Config, a *attempt, tap *progressTap, lines io.Writer, log *slog.Logger) *runMetrics {
	m := cfg.Metrics
	shard := metricsShard(a.shard, a.count)
	var sinks []metrics.Sink
	if m.Format == config.MetricsEMF {
		sinks = append(sinks, metrics.NewEMF(lines, m.Namespace, cfg.Run.RunID, shard, report.Outcomes()))
	}
	var pusher *metrics.Pusher
	if m.PushURL != "" {
		pusher = metrics.NewPusher(m.PushURL, m.Job, cfg.Run.RunID, shard, report.Outcomes(),
			&http.Client{Timeout: metrics.PushTimeout})
		sinks = append(sinks, pusher) // after EMF: a slow gateway does not delay its line
	}
	if len(sinks) == 0 {
		return nil
	}
	snapshot := func() metrics.Snapshot { return snapshotOf(tap.get(), a.meter.Stats(), a.client.Rate()) }
	rm := &runMetrics{sampler: metrics.NewSampler(m.Interval, snapshot, log, sinks...), pusher: pusher,
		done: make(chan struct{}), log: log}
	var sctx context.Context
	sctx, rm.cancel = context.WithCancel(ctx)
	go func() {
		defer close(rm.done)
		rm.sampler.Run(sctx)
	}()
	log.Info("metrics on", "format", m.Format, "push_url", m.PushURL, "interval", m.Interval)
	return rm
}

// snapshotOf is the metrics' view of the pipeline's progress, the API
// meter's counts and the client's rate.
func snapshotOf(p pipeline.Progress, calls pipeline.CallStats, rate float64) metrics.Snapshot {
	var throttled int64
	for _, byStatus := range calls.ByEndpoint {
		throttled += byStatus[http.StatusTooManyRequests]
	}
	return metrics.Snapshot{Records: p.Outcomes, Listed: p.Listed, InFlight: p.InFlight,
		APICalls: calls.Calls, Throttled: throttled, Retries: calls.Retries, Rate: rate}
}

// finish stops the timer and sends the last sample, the attempt's final
// counts (a run shorter than the interval gets its one line); after a
// successful run (exit code 0) it deletes the run shard's Pushgateway
// group, which a failed run leaves for the dashboards to show. Each step is
// bounded by metrics.PushTimeout; failures are logged, never returned.
func (rm *runMetrics) finish(ctx context.Context, success bool) {
	if rm == nil {
		return
	}
	rm.cancel()
	<-rm.done
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metrics.PushTimeout)
	defer cancel()
	rm.sampler.Sample(fctx)
	if rm.pusher == nil || !success {
		return
	}
	if err := rm.pusher.Delete(); err != nil {
		rm.log.Warn("metrics: the run shard's Pushgateway group is left behind", "error", err)
	}
}

package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// PushTimeout bounds one push to the Pushgateway, and the delete at the
// end: a gateway that does not answer delays the run's metrics, never the
// run by more than this at its end.
const PushTimeout = 5 * time.Second

// Pusher pushes each snapshot to a Prometheus Pushgateway, replacing the
// metrics of the group job/run_id/shard (PUT): counters cumulative over the
// attempt (reverify_records_total{outcome}, reverify_api_calls_total, …),
// gauges as values (docs/metrics.md). Delete removes the group, at the end
// of a successful run.
type Pusher struct {
	pusher *push.Pusher
	where  string // the group's URL without credentials, for errors
	col    *collector
}

// NewPusher returns a Pusher to the Pushgateway at baseURL (http(s), no
// credentials in it), grouping by job, run id and shard ("K-of-N").
// outcomes are the outcome codes that get a series on every push, 0 when
// none ended so. client nil: an http.Client with PushTimeout.
func NewPusher(baseURL, job, runID, shard string, outcomes []string, client *http.Client) *Pusher {
	if client == nil {
		client = &http.Client{Timeout: PushTimeout}
	}
	col := newCollector(outcomes)
	where := baseURL
	if u, err := url.Parse(baseURL); err == nil {
		where = u.Redacted()
	}
	where = fmt.Sprintf("%s (job %s, run_id %s, shard %s)", where, job, runID, shard)
	// push.New gives the pusher a registry of its own: nothing global.
	p := push.New(baseURL, job).Grouping("run_id", runID).Grouping("shard", shard).
		Client(client).Collector(col)
	return &Pusher{pusher: p, where: where, col: col}
}

// Name implements Sink.
func (p *Pusher) Name() string { return "pushgateway" }

// Write implements Sink: one push (PUT) of the snapshot.
func (p *Pusher) Write(ctx context.Context, at time.Time, s Snapshot) error {
	p.col.set(at, s)
	ctx, cancel := context.WithTimeout(ctx, PushTimeout)
	defer cancel()
	if err := p.pusher.PushContext(ctx); err != nil {
		return fmt.Errorf("push to %s: %w", p.where, err)
	}
	return nil
}

// Delete removes the run shard's group from the Pushgateway.
func (p *Pusher) Delete() error {
	if err := p.pusher.Delete(); err != nil {
		return fmt.Errorf("delete the group %s: %w", p.where, err)
	}
	return nil
}

// collector is the Prometheus view of the last snapshot.
type collector struct {
	outcomes []string

	records, listed, calls, throttled, retries *prometheus.Desc
	inFlight, rate, lastPush                   *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	snap Snapshot
}

func newCollector(outcomes []string) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{outcomes: slices.Clone(outcomes),
		records:   d("reverify_records_total", "Rows written by this attempt of the run shard, by outcome.", "outcome"),
		listed:    d("reverify_records_listed_total", "Records taken from the archive by this attempt."),
		calls:     d("reverify_api_calls_total", "HTTP attempts to the Assure API (token requests too)."),
		throttled: d("reverify_api_throttled_total", "429 answers of the Assure API."),
		retries:   d("reverify_api_retries_total", "HTTP attempts after a call's first."),
		inFlight:  d("reverify_in_flight", "Records under way."),
		rate:      d("reverify_api_rate", "API request rate in force, requests per second (0: no limit)."),
		lastPush:  d("reverify_last_push_timestamp_seconds", "When this push was sampled, seconds since the epoch."),
	}
}

func (c *collector) set(at time.Time, s Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.snap = at, s
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.records, c.listed, c.calls, c.throttled, c.retries, c.inFlight, c.rate, c.lastPush} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	s, at := c.snap, c.at
	c.mu.Unlock()
	outcomes := slices.Clone(c.outcomes)
	for o := range s.Records {
		if !slices.Contains(outcomes, o) {
			outcomes = append(outcomes, o)
		}
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	for _, o := range outcomes {
		counter(c.records, s.Records[o], o)
	}
	counter(c.listed, s.Listed)
	counter(c.calls, s.APICalls)
	counter(c.throttled, s.Throttled)
	counter(c.retries, s.Retries)
	gauge(c.inFlight, float64(s.InFlight))
	gauge(c.rate, finite(s.Rate))
	gauge(c.lastPush, float64(at.UnixMilli())/1000)
}

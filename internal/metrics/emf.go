package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// EMF writes each snapshot as one CloudWatch Embedded Metric Format line
// (docs/metrics.md): the counters as deltas since the previous line (CloudWatch
// sums the values of a period, so the sum over the run's lines is the
// run's count), the gauges as values. Dimensions: RunId and Shard, and
// RunId alone (the run's total over its shards).
//
// Each line is written with one Write call, so that lines written to the
// same stream by a logger never interleave with it.
type EMF struct {
	w         io.Writer
	namespace string
	runID     string
	shard     string
	outcomes  []string
	last      Snapshot // the previous line's counters
}

// Metric names and units of the EMF lines.
const (
	emfRecords   = "Records"
	emfListed    = "RecordsListed"
	emfCalls     = "APICalls"
	emfThrottled = "APIThrottled"
	emfRetries   = "APIRetries"
	emfInFlight  = "InFlight"
	emfRate      = "APIRate"

	unitCount       = "Count"
	unitCountPerSec = "Count/Second"
)

// NewEMF returns an EMF sink writing to w under namespace, for run runID's
// shard (as "K-of-N"). outcomes are the outcome codes that get a metric on
// every line, 0 when none ended so (others get one when they occur).
func NewEMF(w io.Writer, namespace, runID, shard string, outcomes []string) *EMF {
	return &EMF{w: w, namespace: namespace, runID: runID, shard: shard, outcomes: slices.Clone(outcomes)}
}

// Name implements Sink.
func (e *EMF) Name() string { return "emf" }

// OutcomeMetric is the EMF metric name of an outcome's records:
// accepted → RecordsAccepted.
func OutcomeMetric(outcome string) string {
	var b strings.Builder
	b.WriteString(emfRecords)
	for _, part := range strings.FieldsFunc(outcome, func(r rune) bool { return r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// emfMember is one metric of a line: its name, unit and value.
type emfMember struct {
	name, unit string
	value      any // int64 or float64
}

// Write implements Sink: one line.
func (e *EMF) Write(_ context.Context, at time.Time, s Snapshot) error {
	var done int64
	outcomes := e.outcomes
	for o := range s.Records {
		if !slices.Contains(outcomes, o) {
			outcomes = append(slices.Clone(outcomes), o)
		}
	}
	var byOutcome []emfMember
	for _, o := range outcomes {
		d := s.Records[o] - e.last.Records[o]
		done += d
		byOutcome = append(byOutcome, emfMember{OutcomeMetric(o), unitCount, d})
	}
	members := append([]emfMember{{emfRecords, unitCount, done}}, byOutcome...)
	members = append(members,
		emfMember{emfListed, unitCount, s.Listed - e.last.Listed},
		emfMember{emfCalls, unitCount, s.APICalls - e.last.APICalls},
		emfMember{emfThrottled, unitCount, s.Throttled - e.last.Throttled},
		emfMember{emfRetries, unitCount, s.Retries - e.last.Retries},
		emfMember{emfInFlight, unitCount, s.InFlight},
		emfMember{emfRate, unitCountPerSec, finite(s.Rate)},
	)
	line, err := e.line(at, members)
	if err != nil {
		return err
	}
	if _, err := e.w.Write(line); err != nil {
		return fmt.Errorf("write an EMF line: %w", err)
	}
	// The deltas of a line that was not written are in the next one.
	e.last = s
	e.last.Records = make(map[string]int64, len(s.Records))
	for o, n := range s.Records {
		e.last.Records[o] = n
	}
	return nil
}

// finite is f, or 0 for NaN and the infinities (which JSON cannot hold).
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// emfMetadata is the _aws member of a line.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"` // milliseconds since the epoch
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string          `json:"Namespace"`
	Dimensions [][]string      `json:"Dimensions"`
	Metrics    []emfDefinition `json:"Metrics"`
}

type emfDefinition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// line renders one EMF document as a line: _aws first, then the dimension
// values, then the metric values, in a fixed order (a reader of the log
// finds them where they were in the previous line).
func (e *EMF) line(at time.Time, members []emfMember) ([]byte, error) {
	md := emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: []emfDirective{{
		Namespace:  e.namespace,
		Dimensions: [][]string{{"RunId", "Shard"}, {"RunId"}},
	}}}
	for _, m := range members {
		md.CloudWatchMetrics[0].Metrics = append(md.CloudWatchMetrics[0].Metrics, emfDefinition{m.name, m.unit})
	}
	var b bytes.Buffer
	b.WriteString(`{"_aws":`)
	if err := json.NewEncoder(&b).Encode(md); err != nil {
		return nil, fmt.Errorf("encode an EMF line: %w", err)
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	add := func(name string, v any) error {
		k, _ := json.Marshal(name)
		val, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode an EMF line: %s: %w", name, err)
		}
		b.WriteByte(',')
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
		return nil
	}
	_ = add("RunId", e.runID)
	_ = add("Shard", e.shard)
	for _, m := range members {
		if err := add(m.name, m.value); err != nil {
			return nil, err // a NaN or infinite rate
		}
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

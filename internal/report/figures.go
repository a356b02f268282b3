package report

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"reverify/internal/blob"
)

// Figures are the aggregates of a run's rows that a picture of it needs
// beyond Totals (the HTML report): outcomes by time, process type, document
// id and issuing country, the security checks, latency and effort. Counts
// only: no record id, no personal value. Memory follows the number of
// distinct keys (minutes of the run, countries, document ids), not rows.
type Figures struct {
	RunID string `json:"run_id"`
	// ByTime counts rows by the time of their completion, or of their
	// recording for rows that never completed (skipped, error), and
	// outcome: keyed by the Unix second that starts a bucket TimeStep
	// seconds long. The step is the smallest of TimeSteps that keeps at most
	// maxTimeBuckets buckets: a second for a demo, a day for a month.
	ByTime   map[int64]map[string]int64 `json:"by_time"`
	TimeStep int64                      `json:"time_step_s"`
	// ByProcessType, ByDocumentID and ByCountry count rows by that column
	// and outcome; Unknown stands for an empty or NULL value.
	ByProcessType map[string]map[string]int64 `json:"by_process_type"`
	ByDocumentID  map[string]map[string]int64 `json:"by_document_id"`
	ByCountry     map[string]map[string]int64 `json:"by_issuing_country"`
	// ChecksReported counts the rows that report each security check
	// (its check column not NULL); ChecksFailed those that failed it, by the
	// check's securityChecks key.
	ChecksReported map[string]int64 `json:"checks_reported"`
	ChecksFailed   map[string]int64 `json:"checks_failed"`
	// Latency is the distribution of duration_ms of the rows with a final
	// API outcome, by process type.
	Latency map[string]*Histogram `json:"latency"`
	// CallsPerRecord counts rows by their api_calls.
	CallsPerRecord map[int32]int64 `json:"calls_per_record"`
	// Throttled is the number of HTTP attempts answered 429, from the shards'
	// _summary.json (api_calls_by_endpoint); ThrottledKnown is false when no
	// shard's summary says.
	Throttled      int64 `json:"throttled"`
	ThrottledKnown bool  `json:"throttled_known"`
}

// Unknown is the key of Figures' breakdowns for a row without a value.
const Unknown = "unknown"

// The security checks of Row in their documented order, by securityChecks
// key, with the column that holds each.
var checkOrder = []string{"notTamperedDocument", "nonExpired", "notUnderage", "notBlackAndWhite",
	"dataIntegrity", "sidesMatch", "notFaceSpoofing", "selfieAndDocumentMatch"}

// CheckNames returns the security checks' keys in display order.
func CheckNames() []string { return slices.Clone(checkOrder) }

// figureCols is the projection of Row that Figures need.
type figureCols struct {
	Outcome        string     `parquet:"outcome"`
	ProcessType    string     `parquet:"process_type"`
	DocumentID     *int32     `parquet:"document_id,optional"`
	IssuingCountry *string    `parquet:"issuing_country,optional"`
	APICalls       int32      `parquet:"api_calls"`
	CompletedAt    *time.Time `parquet:"completed_at,optional,timestamp(millisecond)"`
	RecordedAt     *time.Time `parquet:"recorded_at,optional,timestamp(millisecond)"`
	DurationMS     *int64     `parquet:"duration_ms,optional"`

	CheckNotTamperedDocument    *bool `parquet:"check_not_tampered_document,optional"`
	CheckNonExpired             *bool `parquet:"check_non_expired,optional"`
	CheckNotUnderage            *bool `parquet:"check_not_underage,optional"`
	CheckNotBlackAndWhite       *bool `parquet:"check_not_black_and_white,optional"`
	CheckDataIntegrity          *bool `parquet:"check_data_integrity,optional"`
	CheckSidesMatch             *bool `parquet:"check_sides_match,optional"`
	CheckNotFaceSpoofing        *bool `parquet:"check_not_face_spoofing,optional"`
	CheckSelfieAndDocumentMatch *bool `parquet:"check_selfie_and_document_match,optional"`
	// FailedChecks adds the checks without a column that a status reason
	// names.
	FailedChecks []string `parquet:"failed_checks,list"`
}

func (c *figureCols) checks() [8]*bool {
	return [8]*bool{c.CheckNotTamperedDocument, c.CheckNonExpired, c.CheckNotUnderage, c.CheckNotBlackAndWhite,
		c.CheckDataIntegrity, c.CheckSidesMatch, c.CheckNotFaceSpoofing, c.CheckSelfieAndDocumentMatch}
}

// TimeSteps are the lengths of Figures' time buckets, in seconds: each
// divides the next, so buckets merge into the next step's.
var TimeSteps = []int64{1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 28 * 86400, 364 * 86400}

// maxTimeBuckets bounds Figures.ByTime.
const maxTimeBuckets = 4096

func newFigures(runID string) *Figures {
	return &Figures{RunID: runID, ByTime: map[int64]map[string]int64{}, TimeStep: TimeSteps[0],
		ByProcessType: map[string]map[string]int64{}, ByDocumentID: map[string]map[string]int64{},
		ByCountry: map[string]map[string]int64{}, ChecksReported: map[string]int64{},
		ChecksFailed: map[string]int64{}, Latency: map[string]*Histogram{}, CallsPerRecord: map[int32]int64{}}
}

// add counts one row.
func (f *Figures) add(r *figureCols) {
	if at := cmp.Or(r.CompletedAt, r.RecordedAt); at != nil {
		f.addTime(at.Unix(), r.Outcome, 1)
	}
	addCount(f.ByProcessType, orUnknown(r.ProcessType), r.Outcome, 1)
	doc := Unknown
	if r.DocumentID != nil {
		doc = strconv.Itoa(int(*r.DocumentID))
	}
	addCount(f.ByDocumentID, doc, r.Outcome, 1)
	country := ""
	if r.IssuingCountry != nil {
		country = *r.IssuingCountry
	}
	addCount(f.ByCountry, orUnknown(country), r.Outcome, 1)
	for i, v := range r.checks() {
		if v == nil {
			continue
		}
		f.ChecksReported[checkOrder[i]]++
		if !*v {
			f.ChecksFailed[checkOrder[i]]++
		}
	}
	for _, name := range r.FailedChecks {
		if !slices.Contains(checkOrder, name) {
			f.ChecksReported[name]++
			f.ChecksFailed[name]++
		}
	}
	if FinalOutcome(r.Outcome) && r.DurationMS != nil {
		pt := orUnknown(r.ProcessType)
		h := f.Latency[pt]
		if h == nil {
			h = &Histogram{}
			f.Latency[pt] = h
		}
		h.Add(*r.DurationMS)
	}
	f.CallsPerRecord[r.APICalls]++
}

// addTime counts n rows of an outcome at Unix second sec, and moves to a
// longer step when the buckets grow past maxTimeBuckets.
func (f *Figures) addTime(sec int64, outcome string, n int64) {
	addCount(f.ByTime, floorDiv(sec, f.TimeStep)*f.TimeStep, outcome, n)
	for len(f.ByTime) > maxTimeBuckets && f.TimeStep < TimeSteps[len(TimeSteps)-1] {
		f.Rebucket(TimeSteps[slices.Index(TimeSteps, f.TimeStep)+1])
	}
}

// Rebucket merges ByTime's buckets into buckets of step seconds (a multiple
// of TimeStep, from TimeSteps).
func (f *Figures) Rebucket(step int64) {
	if step <= f.TimeStep {
		return
	}
	old := f.ByTime
	f.ByTime, f.TimeStep = map[int64]map[string]int64{}, step
	for sec, outcomes := range old {
		for o, n := range outcomes {
			addCount(f.ByTime, floorDiv(sec, step)*step, o, n)
		}
	}
}

// floorDiv is a ÷ b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// ReadFigures computes the Figures of one run (runID) or of every run below
// the output root (runID ""), sorted by run id, from every part (every
// attempt's rows, as Summarize counts them) and the shards' _summary.json.
// ErrNoOutput when there is no part.
func ReadFigures(ctx context.Context, store blob.Store, runID string) ([]Figures, error) {
	prefix := RunsPrefix
	if runID != "" {
		if err := ValidateRunID(runID); err != nil {
			return nil, err
		}
		prefix = RunPrefix(runID)
	}
	runs := map[string]*Figures{}
	parts, summaryKeys, err := listOutput(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%s: %w", store.KeyURI(prefix), ErrNoOutput)
	}
	for _, p := range parts {
		f := runs[p.RunID]
		if f == nil {
			f = newFigures(p.RunID)
			runs[p.RunID] = f
		}
		err := readPartAs(ctx, store, p.Key, func(rows []figureCols) error {
			for i := range rows {
				f.add(&rows[i])
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, key := range summaryKeys {
		id, _, _, _ := parseSummaryKey(key)
		f := runs[id]
		if f == nil {
			continue // a shard without parts has no row to count against
		}
		s, err := readSummaryKey(ctx, store, key)
		if err != nil {
			return nil, err
		}
		if n, ok := Throttled(s.Extra); ok {
			f.Throttled += n
			f.ThrottledKnown = true
		}
	}
	out := make([]Figures, 0, len(runs))
	for _, id := range slices.Sorted(maps.Keys(runs)) {
		out = append(out, *runs[id])
	}
	return out, nil
}

// Throttled sums the attempts answered 429 in a summary's
// extra.api_calls_by_endpoint (endpoint → status → attempts); ok is false
// when the summary has none.
func Throttled(extra map[string]any) (n int64, ok bool) {
	by, ok := extra["api_calls_by_endpoint"].(map[string]any)
	if !ok {
		return 0, false
	}
	for _, statuses := range by {
		m, _ := statuses.(map[string]any)
		if v, ok := m["429"].(float64); ok {
			n += int64(v)
		}
	}
	return n, true
}

// Histogram is a distribution of non-negative integers (milliseconds) in
// logarithmic buckets HistogramPrecision wide: memory follows the range of
// the values, not their number, and every quantile is within that relative
// error.
type Histogram struct {
	Count   int64           `json:"count"`
	Min     int64           `json:"min"`
	Max     int64           `json:"max"`
	Buckets map[int32]int64 `json:"buckets"`
}

// HistogramPrecision is the relative width of a Histogram's buckets.
const HistogramPrecision = 0.01

var histogramBase = math.Log1p(HistogramPrecision)

// bucket is v's bucket: 0 for 0, else the least i with v ≤ (1+p)^i
// (1 for 1).
func bucket(v int64) int32 {
	if v <= 0 {
		return 0
	}
	return int32(math.Ceil(math.Log(float64(v))/histogramBase)) + 1
}

// Add counts one value (a negative one as 0).
func (h *Histogram) Add(v int64) {
	v = max(v, 0)
	if h.Buckets == nil {
		h.Buckets = map[int32]int64{}
	}
	if h.Count == 0 || v < h.Min {
		h.Min = v
	}
	h.Max = max(h.Max, v)
	h.Count++
	h.Buckets[bucket(v)]++
}

// Merge adds o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.Count == 0 {
		return
	}
	if h.Buckets == nil {
		h.Buckets = map[int32]int64{}
	}
	if h.Count == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	h.Max = max(h.Max, o.Max)
	h.Count += o.Count
	for b, n := range o.Buckets {
		h.Buckets[b] += n
	}
}

// Quantile is the q-quantile (0 ≤ q ≤ 1) of the values, the smallest value
// with at least q of the values at or below it (quantile_disc), within
// HistogramPrecision; 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) int64 {
	if h.Count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.Count)))
	rank = min(max(rank, 1), h.Count)
	var seen int64
	for _, b := range slices.Sorted(maps.Keys(h.Buckets)) {
		seen += h.Buckets[b]
		if seen >= rank {
			// The bucket's upper bound, within the values seen.
			v := int64(0)
			if b > 0 {
				v = int64(math.Floor(math.Exp(float64(b-1) * histogramBase)))
			}
			return min(max(v, h.Min), h.Max)
		}
	}
	return h.Max
}

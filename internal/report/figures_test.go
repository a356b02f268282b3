package report

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHistogramQuantilesAreWithinItsPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var vals []int64
	for range 20000 {
		v := int64(rng.ExpFloat64() * 30000) // latencies around half a minute
		vals = append(vals, v)
		h.Add(v)
	}
	h.Add(0)
	vals = append(vals, 0)
	slices.Sort(vals)
	for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		rank := max(1, int(float64(len(vals))*q+0.999999999))
		exact := vals[min(rank, len(vals))-1]
		got := h.Quantile(q)
		assert.GreaterOrEqual(t, got, exact, "q %g", q)
		assert.LessOrEqual(t, float64(got), float64(exact)*(1+HistogramPrecision)+1, "q %g", q)
	}
	assert.Equal(t, int64(len(vals)), h.Count)
	assert.Equal(t, vals[len(vals)-1], h.Max)
	assert.Less(t, len(h.Buckets), 1500, "buckets follow the range of the values, not their number")

	var merged, a, b Histogram
	for i, v := range vals {
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	merged.Merge(&a)
	merged.Merge(&b)
	assert.Equal(t, h, merged)
	var empty Histogram
	assert.Equal(t, int64(0), empty.Quantile(0.5))
}

func TestFiguresTimeBucketsStayBounded(t *testing.T) {
	f := newFigures("r")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	// Ten days of one row a second: far more seconds than buckets.
	for s := int64(0); s < 10*86400; s += 7 {
		f.addTime(start+s, OutcomeAccepted, 1)
	}
	assert.LessOrEqual(t, len(f.ByTime), maxTimeBuckets)
	assert.Equal(t, int64(300), f.TimeStep, "the smallest step that keeps ten days in %d buckets", maxTimeBuckets)
	var n int64
	for sec, m := range f.ByTime {
		assert.Zero(t, sec%f.TimeStep)
		n += m[OutcomeAccepted]
	}
	assert.Equal(t, int64((10*86400+6)/7), n, "rebucketing keeps every row")
}

func TestReadFiguresCountsEveryRowOfTheRun(t *testing.T) {
	st := localStore(t)
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	row := func(id, outcome, pt string, doc int32, country string, ms int64, checks ...bool) Row {
		r := outcomeRow(id, outcome, "", 6)
		r.ProcessType = pt
		r.DocumentID = &doc
		if country != "" {
			r.IssuingCountry = &country
		}
		done := at.Add(time.Duration(ms) * time.Millisecond)
		r.SubmittedAt, r.CompletedAt, r.DurationMS = &at, &done, &ms
		if len(checks) == 2 {
			r.CheckNonExpired, r.CheckSidesMatch = &checks[0], &checks[1]
			if !checks[0] {
				r.FailedChecks = append(r.FailedChecks, "nonExpired")
			}
			if !checks[1] {
				r.FailedChecks = append(r.FailedChecks, "sidesMatch")
			}
		}
		return r
	}
	writeRun(t, st, "r1", 0, 2, "a1",
		row("1", OutcomeAccepted, "document", 58, "NOR", 1000, true, true),
		row("2", OutcomeRejected, "document", 58, "NOR", 2000, false, true),
		row("3", OutcomeAccepted, "documentSelfie", 101, "", 3000, true, false))
	skipped := outcomeRow("4", OutcomeSkipped, "corrupt", 0)
	writeRun(t, st, "r1", 1, 2, "a1", skipped)
	writeRun(t, st, "r2", 0, 1, "a1", row("9", OutcomeAccepted, "document", 58, "SWE", 500))

	figs, err := ReadFigures(context.Background(), st, "")
	require.NoError(t, err)
	require.Len(t, figs, 2)
	f := figs[0]
	assert.Equal(t, "r1", f.RunID)
	assert.Equal(t, map[string]map[string]int64{
		"document": {OutcomeAccepted: 1, OutcomeRejected: 1}, "documentSelfie": {OutcomeAccepted: 1},
		Unknown: {OutcomeSkipped: 1}}, f.ByProcessType)
	assert.Equal(t, map[string]map[string]int64{"58": {OutcomeAccepted: 1, OutcomeRejected: 1},
		"101": {OutcomeAccepted: 1}, Unknown: {OutcomeSkipped: 1}}, f.ByDocumentID)
	assert.Equal(t, map[string]map[string]int64{"NOR": {OutcomeAccepted: 1, OutcomeRejected: 1},
		Unknown: {OutcomeAccepted: 1, OutcomeSkipped: 1}}, f.ByCountry)
	assert.Equal(t, map[string]int64{"nonExpired": 3, "sidesMatch": 3}, f.ChecksReported)
	assert.Equal(t, map[string]int64{"nonExpired": 1, "sidesMatch": 1}, f.ChecksFailed)
	assert.Equal(t, int64(2), f.Latency["document"].Count)
	assert.Equal(t, int64(2000), f.Latency["document"].Max)
	assert.Equal(t, map[int32]int64{6: 3, 0: 1}, f.CallsPerRecord)
	var timed int64
	for _, m := range f.ByTime {
		for _, n := range m {
			timed += n
		}
	}
	assert.Equal(t, int64(4), timed, "the skipped row counts at its recording time")
	assert.False(t, f.ThrottledKnown, "no summary, no 429 count")

	one, err := ReadFigures(context.Background(), st, "r2")
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, map[string]map[string]int64{"SWE": {OutcomeAccepted: 1}}, one[0].ByCountry)

	_, err = ReadFigures(context.Background(), st, "nope")
	assert.ErrorIs(t, err, ErrNoOutput)
}

func TestThrottledSumsEveryEndpoints429s(t *testing.T) {
	n, ok := Throttled(map[string]any{"api_calls_by_endpoint": map[string]any{
		"create_dossier": map[string]any{"201": 10.0, "429": 3.0}, "get_process": map[string]any{"200": 9.0, "429": 2.0}}})
	assert.True(t, ok)
	assert.Equal(t, int64(5), n)
	_, ok = Throttled(map[string]any{})
	assert.False(t, ok)
}

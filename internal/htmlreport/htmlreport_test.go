package htmlreport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/report"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.html")

// fixture is a fixed input: two runs, one with two shards, a day apart,
// with every section filled.
func fixture() Input {
	t0 := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	ptr := func(t time.Time) *time.Time { return &t }
	code3, listed := 3, int64(1200)
	run1 := report.Summary{RunID: "nightly-2026-11-30", Shard: report.AllShards, ShardCount: 2, Shards: []int{0, 1},
		Totals: report.Totals{Records: 1200,
			Outcomes: map[string]int64{"accepted": 900, "rejected": 120, "inconclusive": 90, "skipped": 50, "error": 25, "timeout": 15},
			Reasons: map[string]map[string]int64{"rejected": {"ImageQuality": 70, "NotUnderage": 50},
				"inconclusive": {"SimilarityLevel": 90}, "skipped": {"corrupt": 30, "too_small": 20},
				"error": {"http_500": 25}, "timeout": {"deadline": 15}},
			OutcomeChanged: 260, OutcomeCompared: 1100,
			Transitions: map[string]map[string]int64{
				"accepted": {"accepted": 840, "rejected": 100, "inconclusive": 60, "skipped": 10},
				"rejected": {"rejected": 20, "accepted": 60, "inconclusive": 10}},
			TransitionReasons: map[string]map[string]map[string]int64{
				"accepted": {"rejected": {"ImageQuality": 60, "NotUnderage": 40}, "inconclusive": {"SimilarityLevel": 60},
					"skipped": {"corrupt": 10}},
				"rejected": {"accepted": {report.NoReason: 60}, "inconclusive": {"SimilarityLevel": 10}}},
			APICalls: 6900, Retries: 40, Polls: 1300, DryRunRecords: 1200, DryRun: true, Parts: 2, Attempts: 2},
		RunStats: report.RunStats{StartedAt: ptr(t0), FinishedAt: ptr(t0.Add(3 * time.Hour)), DurationS: 10800,
			RecordsPerS: 0.11, ExitCodes: map[int]int{3: 2}, ExitCode: &code3, Listed: &listed, PersonalData: "omit",
			Dossiers: &report.DossierCounts{Created: 1150, Deleted: 1135, Left: 15}}}
	f1 := report.Figures{RunID: run1.RunID, TimeStep: 60, ByTime: map[int64]map[string]int64{},
		ByProcessType:  map[string]map[string]int64{"documentSelfie": {"accepted": 700, "rejected": 100, "inconclusive": 90}, "document": {"accepted": 200, "rejected": 20, "error": 25, "timeout": 15}, report.Unknown: {"skipped": 50}},
		ByDocumentID:   map[string]map[string]int64{"58": {"accepted": 500, "rejected": 60}, "101": {"accepted": 400, "rejected": 60, "inconclusive": 90}, report.Unknown: {"skipped": 50, "error": 25, "timeout": 15}},
		ByCountry:      map[string]map[string]int64{"NOR": {"accepted": 500}, "SWE": {"accepted": 300, "rejected": 100}, "DEU": {"accepted": 100, "rejected": 20, "inconclusive": 90}, report.Unknown: {"skipped": 50, "error": 25, "timeout": 15}},
		ChecksReported: map[string]int64{"notTamperedDocument": 1110, "nonExpired": 1110, "selfieAndDocumentMatch": 890},
		ChecksFailed:   map[string]int64{"notTamperedDocument": 12, "nonExpired": 70, "selfieAndDocumentMatch": 90},
		Latency:        map[string]*report.Histogram{}, CallsPerRecord: map[int32]int64{0: 50, 6: 1000, 7: 110, 9: 40},
		Throttled: 35, ThrottledKnown: true}
	for i := range 180 {
		sec := t0.Add(time.Duration(i) * time.Minute).Unix()
		f1.ByTime[sec] = map[string]int64{"accepted": 5, "rejected": int64(i % 2), "inconclusive": int64(i % 3 / 2)}
	}
	for pt, n := range map[string]int{"document": 235, "documentSelfie": 890} {
		h := &report.Histogram{}
		for i := range n {
			h.Add(int64(20000 + (i*7919)%40000))
		}
		f1.Latency[pt] = h
	}
	run2 := report.Summary{RunID: "nightly-2026-12-01", ShardCount: 1,
		Totals: report.Totals{Records: 40, Outcomes: map[string]int64{"accepted": 38, "rejected": 2},
			Reasons: map[string]map[string]int64{"rejected": {"<b>not bold</b>": 2}}, APICalls: 240, Parts: 1, Attempts: 1}}
	f2 := report.Figures{RunID: run2.RunID, TimeStep: 1,
		ByTime:        map[int64]map[string]int64{t0.Add(24 * time.Hour).Unix(): {"accepted": 38, "rejected": 2}},
		ByProcessType: map[string]map[string]int64{"document": {"accepted": 38, "rejected": 2}},
		ByDocumentID:  map[string]map[string]int64{"58": {"accepted": 38, "rejected": 2}},
		ByCountry:     map[string]map[string]int64{"NOR": {"accepted": 38, "rejected": 2}},
		Latency:       map[string]*report.Histogram{}, CallsPerRecord: map[int32]int64{6: 40}}
	return Input{Summaries: []report.Summary{run1, run2}, Figures: []report.Figures{f1, f2},
		Source: "s3://bank-kyc/reverify", Version: "reverify v1.2.3 (commit abc) go1.26",
		Generated: time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)}
}

func TestRenderMatchesTheGoldenPage(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Render(&b, fixture()))
	golden := filepath.Join("testdata", "golden.html")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "go test ./internal/htmlreport -update writes it")
	assert.Equal(t, string(want), b.String(), "the page changed: look at it, then go test ./internal/htmlreport -update")
}

func TestThePageIsSelfContainedAndEscaped(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Render(&b, fixture()))
	page := b.String()
	// Nothing that would load: no script, no external reference.
	for _, re := range []string{`(?i)<script`, `(?i)<link[^>]+href="(?:https?:)?//`, `(?i)src=`, `(?i)url\(`, `(?i)@import`, `(?i)https?://(?:[^"]*)"`} {
		for _, m := range regexp.MustCompile(re).FindAllString(page, -1) {
			if strings.Contains(m, "www.w3.org/2000/svg") {
				continue // the SVG namespace is a name, not a request
			}
			t.Errorf("the page refers to something outside it: %q", m)
		}
	}
	assert.Contains(t, page, `default-src 'none'`, "the browser is told to load nothing")
	assert.NotContains(t, page, "<b>not bold</b>", "values are escaped")
	assert.Contains(t, page, "&lt;b&gt;not bold&lt;/b&gt;")
	for _, want := range []string{"Run nightly-2026-11-30", "Run nightly-2026-12-01", "All runs: outcomes over time",
		"By issuing country", "Then and now", "Top reasons", "Failed security checks", "Verification latency",
		"429 answers per record", "0.03", "1,150 created, 1,135 deleted, 15 left"} {
		assert.Contains(t, page, want)
	}
}

func TestTimelinePicksAStepThatFitsTheSpan(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, tc := range []struct {
		span int64
		step string
	}{{11, "second"}, {600, "15 seconds"}, {3 * 3600, "5 minutes"}, {3 * 86400, "6 hours"}, {2 * 86400, "hour"}, {40 * 86400, "day"}, {400 * 86400, "7 days"}} {
		f := &report.Figures{TimeStep: 1, ByTime: map[int64]map[string]int64{base: {"accepted": 1}, base + tc.span: {"rejected": 2}}}
		c := timeline([]*report.Figures{f})
		require.NotNil(t, c)
		assert.Contains(t, c.Label, "per "+tc.step+",", "span %d s", tc.span)
		assert.LessOrEqual(t, len(c.Segments), 2)
		assert.LessOrEqual(t, len(c.XLabels), maxXLabels+1)
	}
	assert.Nil(t, timeline([]*report.Figures{{TimeStep: 1, ByTime: map[int64]map[string]int64{}}}))
}

func TestNiceScale(t *testing.T) {
	for n, want := range map[int64]int64{1: 1, 5: 5, 6: 6, 7: 8, 12: 15, 200: 200, 201: 250, 999: 1000, 1001: 1500} {
		top, ticks := niceScale(n)
		assert.Equal(t, want, top, "n %d", n)
		assert.Equal(t, int64(0), ticks[0])
		assert.Equal(t, top, ticks[len(ticks)-1])
		assert.LessOrEqual(t, len(ticks), 6)
	}
}

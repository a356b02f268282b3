package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/pipeline"
	"reverify/internal/report"
	"reverify/internal/testutil/pushgateway"
)

func TestSnapshotOf(t *testing.T) {
	s := snapshotOf(pipeline.Progress{Listed: 9, InFlight: 2, Outcomes: map[string]int64{"accepted": 3}},
		pipeline.CallStats{Calls: 40, Retries: 4, ByEndpoint: map[string]map[int]int64{
			"create_dossier": {201: 10, 429: 2}, "poll": {200: 20, 429: 3, 503: 1}, "token": {200: 1}}}, 7.5)
	assert.EqualValues(t, 5, s.Throttled, "the 429 answers of every endpoint")
	assert.EqualValues(t, 40, s.APICalls)
	assert.EqualValues(t, 4, s.Retries)
	assert.EqualValues(t, 9, s.Listed)
	assert.EqualValues(t, 2, s.InFlight)
	assert.Equal(t, 7.5, s.Rate)
	assert.Equal(t, map[string]int64{"accepted": 3}, s.Records)
	assert.Equal(t, "3-of-8", metricsShard(3, 8))
}

// A dry run with EMF and a Pushgateway that ends with skipped rows (exit
// 3): stderr holds whole log and EMF lines, the EMF deltas add up to the
// summary's outcomes, and the group is pushed and left (no DELETE: the
// dashboard shows the unfinished run).
func TestRunMetricsOfAnIncompleteRun(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	gw := pushgateway.NewRecorder(t)
	code, _, errOut := runBatch(t, nil, "specimen", "--out", "archive", "--count", "25", "--seed", "3")
	require.Equal(t, ExitOK, code, errOut)
	code, stdout, errOut := runBatch(t, nil, "run", "--json", "--run-id", "metrics-1", "--set", "emulator.time_scale=0.001",
		"--set", "api.rate=1000", "--set", "metrics.format=emf", "--set", "metrics.interval=20ms",
		"--set", "metrics.push_url="+gw.URL, "--set", "metrics.namespace=reverify/test")
	require.Equal(t, ExitIncomplete, code, errOut)
	var sum report.Summary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), "stdout is the summary alone: %s", stdout)

	got := map[string]float64{}
	emfLines := 0
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), "a whole JSON line: %q", line)
		if _, ok := l["_aws"]; !ok {
			continue
		}
		emfLines++
		assert.Equal(t, "metrics-1", l["RunId"])
		assert.Equal(t, "0-of-1", l["Shard"])
		aws := l["_aws"].(map[string]any)
		assert.Equal(t, "reverify/test", aws["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"])
		for _, o := range report.Outcomes() {
			got[o] += l["Records"+strings.ToUpper(o[:1])+o[1:]].(float64)
		}
		got["records"] += l["Records"].(float64)
		got["calls"] += l["APICalls"].(float64)
	}
	require.NotZero(t, emfLines)
	for _, o := range report.Outcomes() {
		assert.EqualValues(t, sum.Outcomes[o], got[o], o)
	}
	assert.EqualValues(t, sum.Records, got["records"])
	assert.EqualValues(t, sum.RunStats.Extra["api_calls_total"], got["calls"])

	reqs := gw.Requests()
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, http.MethodPut, r.Method, "pushes, no delete after exit code 3")
		assert.Equal(t, map[string]string{"job": "reverify", "run_id": "metrics-1", "shard": "0-of-1"}, r.Group)
		assert.NoError(t, r.Err)
	}
	last := reqs[len(reqs)-1].Families
	for _, o := range report.Outcomes() {
		v, ok := pushgateway.Value(last["reverify_records_total"], "outcome", o)
		assert.True(t, ok, o)
		assert.EqualValues(t, sum.Outcomes[o], v, "the last push holds the final counts: %s", o)
	}
	v, _ := pushgateway.Value(last["reverify_in_flight"])
	assert.Zero(t, v)
}

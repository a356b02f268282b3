package e2e

// Metrics where batch jobs send them (docs/metrics.md): CloudWatch EMF
// lines on stderr and a Prometheus Pushgateway group per run shard.

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/metrics"
	"reverify/internal/report"
	"reverify/internal/testutil/pushgateway"
)

const seedMetrics = 83

// emfLines returns stderr's EMF lines, each checked against the Embedded
// Metric Format specification, and fails on a line that is not whole JSON
// (a log line cut by an EMF line, or the reverse).
func emfLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var root map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&root), "a whole JSON line: %q", line)
		require.False(t, dec.More(), "one object per line: %q", line)
		aws, ok := root["_aws"].(map[string]any)
		if !ok {
			continue // a log line
		}
		_, err := aws["Timestamp"].(json.Number).Int64()
		require.NoError(t, err, "_aws.Timestamp: whole milliseconds")
		dirs := aws["CloudWatchMetrics"].([]any)
		require.Len(t, dirs, 1)
		dir := dirs[0].(map[string]any)
		assert.Equal(t, "reverify", dir["Namespace"])
		for _, set := range dir["Dimensions"].([]any) {
			for _, k := range set.([]any) {
				_, ok := root[k.(string)].(string)
				assert.True(t, ok, "dimension %s: a string member", k)
			}
		}
		for _, m := range dir["Metrics"].([]any) {
			def := m.(map[string]any)
			_, ok := root[def["Name"].(string)].(json.Number)
			assert.True(t, ok, "metric %s: a number member", def["Name"])
			assert.Contains(t, []any{"Count", "Count/Second"}, def["Unit"])
		}
		out = append(out, root)
	}
	return out
}

func number(t *testing.T, root map[string]any, name string) int64 {
	t.Helper()
	n, ok := root[name].(json.Number)
	require.True(t, ok, "%s: a number", name)
	f, err := strconv.ParseFloat(string(n), 64)
	require.NoError(t, err)
	return int64(f)
}

// A run that ends with exit code 0: EMF lines on stderr (the summary alone
// on stdout) whose per-line deltas add up to the summary's outcomes, and a
// Pushgateway group job/run_id/shard pushed every interval, its last push
// holding the final counts, then deleted. A run that ends with exit code 3,
// against the real Pushgateway: its group stays, with its final counts.
func TestMetricsEMFAndPushgateway(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 24, Seed: seedMetrics, Mix: "accepted=3,expired=1,other_person=1"})
	emu := StartEmulator(t, nil)
	gw := pushgateway.NewRecorder(t)
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "metrics-ok",
		Sets: []string{"metrics.format=emf", "metrics.interval=100ms", "metrics.push_url=" + gw.URL},
		Args: []string{"--json"}})
	RequireExit(t, res, ExitOK)
	AssertOutcomes(t, ReadRows(t, out), arch.Expected)
	var sum report.Summary
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &sum), "stdout is the summary alone:\n%s", res.Stdout)

	lines := emfLines(t, res.Stderr)
	require.NotEmpty(t, lines, "at least the final line")
	t.Logf("%d EMF lines; the last: %v", len(lines), lines[len(lines)-1])
	byOutcome := map[string]int64{}
	var records, calls int64
	for _, l := range lines {
		assert.Equal(t, "metrics-ok", l["RunId"])
		assert.Equal(t, "0-of-1", l["Shard"])
		for _, o := range report.Outcomes() {
			byOutcome[o] += number(t, l, metrics.OutcomeMetric(o))
		}
		records += number(t, l, "Records")
		calls += number(t, l, "APICalls")
	}
	for _, o := range report.Outcomes() {
		assert.Equal(t, sum.Outcomes[o], byOutcome[o], "the sum of the %s deltas is the summary's count", o)
	}
	assert.Equal(t, sum.Records, records)
	assert.EqualValues(t, sum.RunStats.Extra["api_calls_total"], calls)
	assert.Zero(t, number(t, lines[len(lines)-1], "InFlight"), "the last line: nothing left in flight")

	reqs := gw.Requests()
	require.GreaterOrEqual(t, len(reqs), 2, "a push and the delete")
	group := map[string]string{"job": "reverify", "run_id": "metrics-ok", "shard": "0-of-1"}
	for i, r := range reqs {
		want := http.MethodPut
		if i == len(reqs)-1 {
			want = http.MethodDelete
		}
		assert.Equal(t, want, r.Method, "request %d of %d: pushes, then the delete on success", i, len(reqs))
		assert.Equal(t, group, r.Group, "request %d", i)
		assert.NoError(t, r.Err, "request %d", i)
	}
	final := reqs[len(reqs)-2].Families
	for _, o := range report.Outcomes() {
		v, ok := pushgateway.Value(final["reverify_records_total"], "outcome", o)
		assert.True(t, ok, "a series for %s", o)
		assert.EqualValues(t, sum.Outcomes[o], v, "the last push's %s", o)
	}
	v, _ := pushgateway.Value(final["reverify_api_calls_total"])
	assert.EqualValues(t, sum.RunStats.Extra["api_calls_total"], v)

	t.Run("exit 3 leaves the group on the real Pushgateway", func(t *testing.T) {
		gateway := pushgateway.Start(t)
		broken := WriteSpecimen(t, SpecimenSpec{Count: 12, Seed: seedMetrics}) // the default mix: skipped rows
		res := RunBatch(t, RunSpec{Emulator: emu, Source: broken.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "metrics-3",
			Sets: []string{"metrics.push_url=" + gateway.URL, "metrics.interval=1h"}, Args: []string{"--json"}})
		RequireExit(t, res, ExitIncomplete)
		assert.Empty(t, emfLines(t, res.Stderr), "metrics.format: none")
		var sum report.Summary
		require.NoError(t, json.Unmarshal([]byte(res.Stdout), &sum))
		groups := gateway.Groups(t)
		require.Len(t, groups, 1, "the final push, left for the dashboards")
		assert.Equal(t, map[string]string{"job": "reverify", "run_id": "metrics-3", "shard": "0-of-1"}, groups[0].Labels)
		for _, s := range groups[0].Metrics["reverify_records_total"] {
			assert.Equal(t, strconv.FormatInt(sum.Outcomes[s.Labels["outcome"]], 10), s.Value, s.Labels["outcome"])
		}
		assert.Len(t, groups[0].Metrics["reverify_records_total"], len(report.Outcomes()))
	})
}

package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var outcomes = []string{"accepted", "rejected", "inconclusive", "failed", "canceled", "skipped", "error", "timeout"}

// CheckEMF checks one line against the Embedded Metric Format
// specification and returns its root object: a JSON object alone on its
// line, with _aws holding Timestamp (ms since the epoch, a number) and
// CloudWatchMetrics (MetricDirectives: Namespace, Dimensions — arrays of at
// most 30 dimension keys —, at most 100 Metrics of Name and Unit), every
// referenced dimension a string member of the root and every referenced
// metric a number (or an array of at most 100 numbers) member of the root.
func CheckEMF(t testing.TB, line string) map[string]any {
	t.Helper()
	require.False(t, strings.ContainsAny(line, "\n\r"), "one line")
	var root map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&root), "a JSON object: %s", line)
	require.False(t, dec.More(), "no data after the object")
	aws, ok := root["_aws"].(map[string]any)
	require.True(t, ok, "_aws is an object")
	ts, ok := aws["Timestamp"].(json.Number)
	require.True(t, ok, "_aws.Timestamp is a number")
	ms, err := ts.Int64()
	require.NoError(t, err, "Timestamp in whole milliseconds")
	assert.InDelta(t, time.Now().UnixMilli(), ms, float64(14*24*time.Hour/time.Millisecond),
		"Timestamp in milliseconds, within the two weeks CloudWatch accepts")
	directives, ok := aws["CloudWatchMetrics"].([]any)
	require.True(t, ok, "_aws.CloudWatchMetrics is an array")
	require.NotEmpty(t, directives)
	for _, d := range directives {
		dir, ok := d.(map[string]any)
		require.True(t, ok, "a MetricDirective is an object")
		ns, ok := dir["Namespace"].(string)
		require.True(t, ok, "Namespace is a string")
		assert.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9._#:/ -]{1,255}$`), ns)
		dims, ok := dir["Dimensions"].([]any)
		require.True(t, ok, "Dimensions is an array of DimensionSets")
		for _, ds := range dims {
			set, ok := ds.([]any)
			require.True(t, ok, "a DimensionSet is an array")
			assert.LessOrEqual(t, len(set), 30)
			for _, k := range set {
				key, ok := k.(string)
				require.True(t, ok, "a dimension key is a string")
				v, ok := root[key].(string)
				require.True(t, ok, "dimension %s is a string member of the root", key)
				assert.NotEmpty(t, strings.TrimSpace(v))
				assert.LessOrEqual(t, len(v), 1024)
			}
		}
		ms, ok := dir["Metrics"].([]any)
		require.True(t, ok, "Metrics is an array")
		assert.LessOrEqual(t, len(ms), 100)
		for _, m := range ms {
			def, ok := m.(map[string]any)
			require.True(t, ok, "a MetricDefinition is an object")
			name, ok := def["Name"].(string)
			require.True(t, ok, "Name is a string")
			assert.NotEmpty(t, name)
			if u, ok := def["Unit"]; ok {
				assert.Contains(t, []any{"Count", "Count/Second", "Seconds", "None"}, u, "%s: a CloudWatch unit", name)
			}
			for k := range def {
				assert.Contains(t, []string{"Name", "Unit", "StorageResolution"}, k, "%s: no other member", name)
			}
			switch v := root[name].(type) {
			case json.Number:
			case []any:
				assert.LessOrEqual(t, len(v), 100)
			default:
				t.Errorf("metric %s: the root's member is %T, want a number", name, root[name])
			}
		}
	}
	return root
}

func num(t testing.TB, root map[string]any, name string) float64 {
	t.Helper()
	n, ok := root[name].(json.Number)
	require.True(t, ok, "%s is a number", name)
	f, err := n.Float64()
	require.NoError(t, err)
	return f
}

func TestEMFLineFollowsTheSpecification(t *testing.T) {
	var buf bytes.Buffer
	e := NewEMF(&buf, "reverify", "run-1", "2-of-4", outcomes)
	at := time.Now().Truncate(time.Millisecond)
	require.NoError(t, e.Write(context.Background(), at, Snapshot{Records: map[string]int64{"accepted": 3, "error": 1},
		Listed: 9, APICalls: 20, Throttled: 2, Retries: 3, InFlight: 5, Rate: 12.5}))
	line := strings.TrimSuffix(buf.String(), "\n")
	require.Equal(t, buf.Len()-1, len(line), "ends with one newline")
	root := CheckEMF(t, line)
	t.Logf("%s", line)

	aws := root["_aws"].(map[string]any)
	assert.Equal(t, json.Number(strconv.FormatInt(at.UnixMilli(), 10)), aws["Timestamp"])
	dir := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	assert.Equal(t, "reverify", dir["Namespace"])
	assert.Equal(t, []any{[]any{"RunId", "Shard"}, []any{"RunId"}}, dir["Dimensions"])
	assert.Equal(t, "run-1", root["RunId"])
	assert.Equal(t, "2-of-4", root["Shard"])
	units := map[string]any{}
	for _, m := range dir["Metrics"].([]any) {
		units[m.(map[string]any)["Name"].(string)] = m.(map[string]any)["Unit"]
	}
	want := map[string]any{"Records": "Count", "RecordsListed": "Count", "APICalls": "Count", "APIThrottled": "Count",
		"APIRetries": "Count", "InFlight": "Count", "APIRate": "Count/Second"}
	for _, o := range outcomes {
		want[OutcomeMetric(o)] = "Count"
	}
	assert.Equal(t, want, units)
	for name, v := range map[string]float64{"Records": 4, "RecordsAccepted": 3, "RecordsError": 1, "RecordsRejected": 0,
		"RecordsTimeout": 0, "RecordsListed": 9, "APICalls": 20, "APIThrottled": 2, "APIRetries": 3, "InFlight": 5, "APIRate": 12.5} {
		assert.Equal(t, v, num(t, root, name), name)
	}
	// Nothing but the run id, the shard and numbers: no personal data.
	for k, v := range root {
		if _, isNum := v.(json.Number); !isNum && k != "_aws" {
			assert.Contains(t, []string{"RunId", "Shard"}, k)
		}
	}
}

// Counters are deltas since the previous line (CloudWatch sums a period's
// values), gauges values; the sum over the lines is the final count.
func TestEMFCountersAreDeltas(t *testing.T) {
	var buf bytes.Buffer
	e := NewEMF(&buf, "reverify", "r", "0-of-1", outcomes)
	ctx := context.Background()
	snaps := []Snapshot{
		{Records: map[string]int64{"accepted": 2}, Listed: 10, APICalls: 8, InFlight: 8, Rate: 10},
		{Records: map[string]int64{"accepted": 5, "rejected": 1}, Listed: 10, APICalls: 20, Throttled: 1, Retries: 1, InFlight: 4, Rate: 5},
		{Records: map[string]int64{"accepted": 5, "rejected": 1}, Listed: 10, APICalls: 20, Throttled: 1, Retries: 1, InFlight: 4, Rate: 5},
		{Records: map[string]int64{"accepted": 7, "rejected": 3, "some_new": 1}, Listed: 11, APICalls: 31, Throttled: 1, Retries: 2, Rate: 6},
	}
	for i, s := range snaps {
		require.NoError(t, e.Write(ctx, time.Now().Add(time.Duration(i)*time.Minute), s))
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, len(snaps))
	var roots []map[string]any
	for _, l := range lines {
		roots = append(roots, CheckEMF(t, l))
	}
	col := func(name string) []float64 {
		var out []float64
		for _, r := range roots {
			out = append(out, num(t, r, name))
		}
		return out
	}
	assert.Equal(t, []float64{2, 4, 0, 5}, col("Records"), "every outcome's")
	assert.Equal(t, []float64{2, 3, 0, 2}, col("RecordsAccepted"))
	assert.Equal(t, []float64{0, 1, 0, 2}, col("RecordsRejected"))
	assert.Equal(t, []float64{10, 0, 0, 1}, col("RecordsListed"))
	assert.Equal(t, []float64{8, 12, 0, 11}, col("APICalls"))
	assert.Equal(t, []float64{0, 1, 0, 0}, col("APIThrottled"))
	assert.Equal(t, []float64{0, 1, 0, 1}, col("APIRetries"))
	assert.Equal(t, []float64{8, 4, 4, 0}, col("InFlight"), "a gauge")
	assert.Equal(t, []float64{10, 5, 5, 6}, col("APIRate"), "a gauge")
	assert.Equal(t, 1.0, num(t, roots[3], "RecordsSomeNew"), "an outcome not in the list gets a metric when it occurs")
}

type failingWriter struct{ fail bool }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.fail {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

// A line that could not be written: its deltas go into the next one.
func TestEMFUnwrittenDeltasCarryOver(t *testing.T) {
	w := &failingWriter{fail: true}
	e := NewEMF(w, "reverify", "r", "0-of-1", outcomes)
	ctx := context.Background()
	require.Error(t, e.Write(ctx, time.Now(), Snapshot{Records: map[string]int64{"accepted": 3}}))
	var buf bytes.Buffer
	e.w = &buf
	require.NoError(t, e.Write(ctx, time.Now(), Snapshot{Records: map[string]int64{"accepted": 4}}))
	assert.Equal(t, 4.0, num(t, CheckEMF(t, strings.TrimSpace(buf.String())), "RecordsAccepted"))
}

func TestOutcomeMetric(t *testing.T) {
	assert.Equal(t, "RecordsAccepted", OutcomeMetric("accepted"))
	assert.Equal(t, "RecordsBadManifestLine", OutcomeMetric("bad_manifest_line"))
	assert.Equal(t, "Records", OutcomeMetric(""))
}

package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/testutil/pushgateway"
)

func value(t testing.TB, mf *dto.MetricFamily, labels ...string) float64 {
	t.Helper()
	require.NotNil(t, mf)
	v, ok := pushgateway.Value(mf, labels...)
	require.True(t, ok, "%s: no sample with %v", mf.GetName(), labels)
	return v
}

// Pushes replace the group job/run_id/shard (PUT) with cumulative counters
// and gauges; Delete removes that same group.
func TestPusherGroupsByRunAndShard(t *testing.T) {
	gw := pushgateway.NewRecorder(t)
	p := NewPusher(gw.URL, "reverify", "run-7", "1-of-4", outcomes, nil)
	ctx := context.Background()
	at := time.Unix(1_800_000_000, 250_000_000)
	require.NoError(t, p.Write(ctx, at, Snapshot{Records: map[string]int64{"accepted": 2}, APICalls: 5, InFlight: 3, Rate: 4}))
	require.NoError(t, p.Write(ctx, at.Add(time.Minute), Snapshot{Records: map[string]int64{"accepted": 5, "timeout": 1},
		Listed: 9, APICalls: 12, Throttled: 2, Retries: 3, InFlight: 1, Rate: 2.5}))
	require.NoError(t, p.Delete())

	reqs := gw.Requests()
	require.Len(t, reqs, 3)
	// /metrics/job/<job>/<label>/<value>…: the labels in any order.
	group := map[string]string{"job": "reverify", "run_id": "run-7", "shard": "1-of-4"}
	for i, want := range []string{http.MethodPut, http.MethodPut, http.MethodDelete} {
		assert.Equal(t, want, reqs[i].Method, "request %d", i)
		assert.Equal(t, group, reqs[i].Group, "request %d", i)
		assert.NoError(t, reqs[i].Err, "request %d", i)
	}
	last := reqs[1].Families
	rec := last["reverify_records_total"]
	require.NotNil(t, rec)
	assert.Equal(t, dto.MetricType_COUNTER, rec.GetType())
	assert.Len(t, rec.GetMetric(), len(outcomes), "a series for every outcome")
	assert.Equal(t, 5.0, value(t, rec, "outcome", "accepted"), "cumulative")
	assert.Equal(t, 1.0, value(t, rec, "outcome", "timeout"))
	assert.Equal(t, 0.0, value(t, rec, "outcome", "rejected"))
	for name, want := range map[string]float64{"reverify_records_listed_total": 9, "reverify_api_calls_total": 12,
		"reverify_api_throttled_total": 2, "reverify_api_retries_total": 3} {
		assert.Equal(t, dto.MetricType_COUNTER, last[name].GetType(), name)
		assert.Equal(t, want, value(t, last[name]), name)
	}
	for name, want := range map[string]float64{"reverify_in_flight": 1, "reverify_api_rate": 2.5,
		"reverify_last_push_timestamp_seconds": 1_800_000_060.25} {
		assert.Equal(t, dto.MetricType_GAUGE, last[name].GetType(), name)
		assert.Equal(t, want, value(t, last[name]), name)
	}
	// The grouping labels are the gateway's to add: no pushed sample has them.
	for _, mf := range last {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.Equal(t, "outcome", l.GetName(), mf.GetName())
			}
		}
	}
}

// A Pushgateway that refuses or is gone is an error of the push, and of the
// push only: the sampler logs it and goes on (TestSamplerGoesOnWhenASinkFails).
func TestPusherErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	p := NewPusher(srv.URL, "reverify", "r", "0-of-1", outcomes, nil)
	err := p.Write(context.Background(), time.Now(), Snapshot{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "500")
	assert.Contains(t, err.Error(), "run_id r")
	srv.Close()
	require.Error(t, p.Write(context.Background(), time.Now(), Snapshot{}))
	require.Error(t, p.Delete())

	// Credentials in the URL never reach an error message.
	p = NewPusher("http://user:hunter2@127.0.0.1:1", "reverify", "r", "0-of-1", outcomes, nil)
	assert.NotContains(t, p.where, "hunter2")
}

// The same against the real Pushgateway: the group holds the pushed
// metrics, typed, under job/run_id/shard, and is gone after Delete.
func TestPusherAgainstThePushgateway(t *testing.T) {
	gw := pushgateway.Start(t)
	p := NewPusher(gw.URL, "reverify", "run-real", "0-of-2", outcomes, nil)
	other := NewPusher(gw.URL, "reverify", "run-real", "1-of-2", outcomes, nil)
	ctx := context.Background()
	require.NoError(t, p.Write(ctx, time.Now(), Snapshot{Records: map[string]int64{"accepted": 1}}))
	require.NoError(t, p.Write(ctx, time.Now(), Snapshot{Records: map[string]int64{"accepted": 4, "rejected": 2},
		APICalls: 30, Throttled: 1, InFlight: 7, Rate: 3.5}))
	require.NoError(t, other.Write(ctx, time.Now(), Snapshot{Records: map[string]int64{"accepted": 1}}))

	groups := gw.Groups(t)
	require.Len(t, groups, 2)
	var g pushgateway.Group
	for _, grp := range groups {
		if grp.Labels["shard"] == "0-of-2" {
			g = grp
		}
	}
	assert.Equal(t, map[string]string{"job": "reverify", "run_id": "run-real", "shard": "0-of-2"}, g.Labels)
	find := func(name string, labels ...string) pushgateway.Sample {
		t.Helper()
	samples:
		for _, s := range g.Metrics[name] {
			for i := 0; i+1 < len(labels); i += 2 {
				if s.Labels[labels[i]] != labels[i+1] {
					continue samples
				}
			}
			return s
		}
		t.Fatalf("%s %v not pushed: %v", name, labels, g.Metrics[name])
		return pushgateway.Sample{}
	}
	s := find("reverify_records_total", "outcome", "accepted")
	assert.Equal(t, "COUNTER", s.Type)
	assert.Equal(t, "4", s.Value, "the second push replaced the first")
	assert.Equal(t, "run-real", s.Labels["run_id"])
	assert.Equal(t, "2", find("reverify_records_total", "outcome", "rejected").Value)
	assert.Equal(t, "30", find("reverify_api_calls_total").Value)
	assert.Equal(t, "1", find("reverify_api_throttled_total").Value)
	assert.Equal(t, "GAUGE", find("reverify_in_flight").Type)
	assert.Equal(t, "7", find("reverify_in_flight").Value)
	assert.Equal(t, "3.5", find("reverify_api_rate").Value)
	ts, err := strconv.ParseFloat(find("reverify_last_push_timestamp_seconds").Value, 64)
	require.NoError(t, err)
	assert.InDelta(t, float64(time.Now().Unix()), ts, 60)

	require.NoError(t, p.Delete())
	groups = gw.Groups(t)
	require.Len(t, groups, 1, "the deleted group is gone, the other shard's stays")
	assert.Equal(t, "1-of-2", groups[0].Labels["shard"])
}

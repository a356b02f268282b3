package assure_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
)

// The adaptive rate against the real emulator over HTTP, throttled by its
// global token bucket. The checks are qualitative, for a loaded machine: a
// 429 comes, the rate falls after a storm of them and climbs again, and the
// share of 429s stays well below a loose bound. The figures are
// BenchmarkAdaptiveRateUnderAQuota's.

// quotaRig is an emulator limited to quota requests/s (burst: a tenth of a
// second's worth) behind a loopback server, and an adaptive client of it.
type quotaRig struct {
	emu    *emulator.Emulator
	client *assure.Client
}

func newQuotaRig(tb testing.TB, quota, maxRate, start float64, retryAfter time.Duration) *quotaRig {
	tb.Helper()
	cfg := emulator.DefaultConfig()
	cfg.TimeScale = testTimeScale
	// Sent scaled by the time scale and rounded to whole seconds: 0 at
	// 0.001 unless retryAfter is at least 500 s.
	cfg.RateLimit = emulator.RateLimit{RequestsPerSecond: quota, Burst: max(1, int(quota/10)), RetryAfter: retryAfter}
	emu, err := emulator.New(cfg)
	require.NoError(tb, err)
	srv := httptest.NewServer(emu)
	tb.Cleanup(srv.Close)
	hc := assure.NewHTTPClient()
	tb.Cleanup(hc.CloseIdleConnections)
	client, err := assure.New(assure.Config{
		BaseURL: srv.URL + "/assure", TokenURL: srv.URL + "/auth/open/connect/token",
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, HTTPClient: hc,
		RequestTimeout: 30 * time.Second, Burst: 10,
		Adaptive: assure.AdaptiveRate{Max: maxRate, Start: start},
		Retry:    assure.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxPause: time.Second, MaxElapsed: time.Minute},
	})
	require.NoError(tb, err)
	return &quotaRig{emu: emu, client: client}
}

// throttled counts the emulator's answers at ep: 429s (of the rate limit and
// injected) and all.
func (r *quotaRig) throttled(ep assure.Endpoint) (tooMany, all int64) {
	for status, n := range r.emu.Counters().Requests[string(ep)] {
		all += n
		if status == "429" {
			tooMany += n
		}
	}
	return tooMany, all
}

// load keeps workers calls going (document types: one idempotent GET) until
// stop is closed, and counts the calls that failed.
func load(ctx context.Context, c *assure.Client, workers int) (stop func() int64) {
	var wg sync.WaitGroup
	var failed atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := c.DocumentTypes(ctx, ""); err != nil && ctx.Err() == nil {
					failed.Add(1)
				}
			}
		}()
	}
	return func() int64 {
		cancel()
		wg.Wait()
		return failed.Load()
	}
}

// waitFor polls cond every 50 ms until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestAdaptiveRateAgainstTheEmulatorsQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for seconds")
	}
	const quota = 100.0
	h := newQuotaRig(t, quota, 3*quota, quota/10, time.Second)
	ctx := context.Background()
	ep := assure.EndpointDocumentTypes
	stop := load(ctx, h.client, 16)
	defer stop()

	// Slow start reaches the quota: the first 429s, and slow start is over.
	require.True(t, waitFor(60*time.Second, func() bool { n, _ := h.throttled(ep); return n > 0 }),
		"no 429 in a minute: rate %.1f", h.client.Rate())
	// Some time at the quota. The 429 share stays far below a loose bound.
	_, before := h.throttled(ep)
	beforeTooMany, _ := h.throttled(ep)
	time.Sleep(3 * time.Second)
	tooMany, all := h.throttled(ep)
	share := float64(tooMany-beforeTooMany) / float64(max(1, all-before))
	t.Logf("at the quota: rate %.1f/s, %d requests in 3 s, 429 share %.3f", h.client.Rate(), all-before, share)
	assert.Less(t, share, 0.2)
	assert.LessOrEqual(t, h.client.Rate(), 3*quota)
	assert.Equal(t, h.client.Rate(), h.client.Waits().Rate, "the rate in force, for progress displays")

	// A storm: every request answered 429 for a while. The rate falls.
	high := h.client.Rate()
	require.NoError(t, h.emu.SetFaults(emulator.Faults{Seed: 1, Default: emulator.FaultSpec{TooManyRequests: 1, RetryAfter: time.Second}}))
	require.True(t, waitFor(30*time.Second, func() bool { return h.client.Rate() < high/2 }),
		"rate %.1f after the storm, %.1f before", h.client.Rate(), high)
	time.Sleep(1500 * time.Millisecond) // well into the storm
	low := h.client.Rate()
	assert.Less(t, low, high/2, "a storm of 429s brings the rate down")
	assert.GreaterOrEqual(t, low, 3*quota*0.001, "never below the floor")

	// The storm ends: the rate climbs back.
	require.NoError(t, h.emu.SetFaults(emulator.Faults{Seed: 1}))
	assert.True(t, waitFor(60*time.Second, func() bool { return h.client.Rate() > 2*low }),
		"rate %.1f after the storm ended, %.1f in it", h.client.Rate(), low)
	assert.Zero(t, stop(), "429s are retried: no call failed")
}

// A fixed rate is not adapted: a storm of 429s leaves it where it was.
func TestFixedRateAgainstAStorm(t *testing.T) {
	h := newHarness(t, nil)
	h.client = h.newClient(func(c *assure.Config) { c.Rate, c.Burst = 50, 5 })
	h.inject(assure.EndpointDocumentTypes, emulator.FaultSpec{TooManyRequests: 1, RetryAfter: time.Second})
	h.liftFaultsAfter(assure.EndpointDocumentTypes, 20)
	_, err := h.client.DocumentTypes(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, 50.0, h.client.Rate())
}

// BenchmarkAdaptiveRateUnderAQuota: one client against an emulator limited
// to Q requests/s, with api.max_rate 3Q and a start of Q/10 (the targets of
// issue 12: 429s ≤ 2 %, useful throughput ≥ 0.95 Q, 0.9 Q within 60 s).
// It reports, does not assert:
//
//	go test -run '^$' -bench AdaptiveRateUnderAQuota -benchtime 1x ./internal/assure/
//
// REVERIFY_TEST_QUOTA and REVERIFY_TEST_QUOTA_SECONDS change Q (200) and
// the measured time after the ramp (60 s); REVERIFY_TEST_RETRY_AFTER sets
// the emulator's Retry-After in real seconds (0: none, so no pause).
func BenchmarkAdaptiveRateUnderAQuota(b *testing.B) {
	quota := envFloat(b, "REVERIFY_TEST_QUOTA", 200)
	measure := time.Duration(envFloat(b, "REVERIFY_TEST_QUOTA_SECONDS", 60) * float64(time.Second))
	retryAfter := time.Duration(envFloat(b, "REVERIFY_TEST_RETRY_AFTER", 0)/testTimeScale) * time.Second
	for range b.N {
		h := newQuotaRig(b, quota, 3*quota, quota/10, retryAfter)
		ep := assure.EndpointDocumentTypes
		stop := load(context.Background(), h.client, 32)
		began := time.Now()

		// Time until the API accepted 0.9 Q over one second.
		var ramp time.Duration
		okAt := func() int64 { n, all := h.throttled(ep); return all - n }
		prev, prevAt := okAt(), time.Now()
		for ramp == 0 && time.Since(began) < 2*time.Minute {
			time.Sleep(time.Second)
			n, now := okAt(), time.Now()
			if float64(n-prev)/now.Sub(prevAt).Seconds() >= 0.9*quota {
				ramp = now.Sub(began)
			}
			prev, prevAt = n, now
		}
		tm0, all0 := h.throttled(ep)
		t0 := time.Now()
		time.Sleep(measure)
		tm1, all1 := h.throttled(ep)
		el := time.Since(t0).Seconds()
		failed := stop()
		ok := float64((all1 - tm1) - (all0 - tm0))
		b.ReportMetric(ok/el/quota, "accepted/Q")
		b.ReportMetric(float64(tm1-tm0)/float64(max(1, all1-all0)), "429-share")
		b.ReportMetric(ramp.Seconds(), "s-to-0.9Q")
		b.ReportMetric(h.client.Rate()/quota, "final-rate/Q")
		b.ReportMetric(float64(failed), "failed-calls")
	}
}

// envFloat reads a number from the environment (def when unset).
func envFloat(tb testing.TB, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return f
}

package assure

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The adaptive rate's logic under a fake clock: every test here is
// deterministic and takes no real time.

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newTestController(t *testing.T, maxRate, start float64) (*controller, *[]float64) {
	t.Helper()
	var applied []float64
	c, err := newController(AdaptiveRate{Max: maxRate, Start: start}, t0, nil, func(r float64) { applied = append(applied, r) }, nil)
	require.NoError(t, err)
	return c, &applied
}

// busyTick takes as many tokens as the rate in force when called, spread over
// the tick starting at at,
// each answered 200 in 10 ms.
func busyTick(c *controller, at time.Time) {
	n := int(math.Ceil(c.Rate()))
	for i := range n {
		now := at.Add(time.Duration(i) * adaptTick / time.Duration(n))
		c.took(now)
		c.answered(now, EndpointGetProcess, http.StatusOK, 10*time.Millisecond)
	}
}

func TestAdaptiveStartsAtAStartRateOrATenthOfTheCeiling(t *testing.T) {
	c, applied := newTestController(t, 100, 0)
	assert.Equal(t, 10.0, c.Rate())
	assert.Equal(t, []float64{10}, *applied, "the first rate reaches the bucket")
	c, _ = newTestController(t, 100, 40)
	assert.Equal(t, 40.0, c.Rate())

	for _, bad := range []AdaptiveRate{{Max: -1}, {Max: math.Inf(1)}, {Max: 10, Start: 11}, {Max: 10, Start: -1}} {
		_, err := newController(bad, t0, nil, nil, nil)
		assert.Error(t, err, "%+v", bad)
	}
}

func TestAdaptiveSlowStartGrowsWhileBusyUpToTheCeiling(t *testing.T) {
	c, _ := newTestController(t, 100, 0)
	var rates []float64
	for i := range 15 {
		busyTick(c, t0.Add(time.Duration(i)*adaptTick))
		c.took(t0.Add(time.Duration(i+1) * adaptTick)) // closes the tick
		rates = append(rates, c.Rate())
	}
	assert.InDelta(t, 10, rates[0], 1e-9, "the first tick shows the rate used")
	assert.InDelta(t, 10*adaptSlowStart, rates[1], 1e-9, "then ×1.25 a second, continuously")
	assert.InDelta(t, 10*adaptSlowStart*adaptSlowStart, rates[2], 1e-9)
	for i := 1; i < len(rates); i++ {
		assert.GreaterOrEqual(t, rates[i], rates[i-1], "tick %d", i)
	}
	assert.Equal(t, 100.0, rates[len(rates)-1], "capped at the ceiling")
	assert.True(t, c.slowStart, "no 429 yet")
}

func TestAdaptiveDoesNotGrowAnUnusedRate(t *testing.T) {
	c, _ := newTestController(t, 100, 20)
	for i := range 30 {
		at := t0.Add(time.Duration(i) * adaptTick)
		for j := range 9 { // 9 of 20 tokens a tick: app-limited
			now := at.Add(time.Duration(j) * 100 * time.Millisecond)
			c.took(now)
			c.answered(now, EndpointGetProcess, http.StatusOK, 10*time.Millisecond)
		}
	}
	c.took(t0.Add(30 * adaptTick))
	assert.Equal(t, 20.0, c.Rate(), "a client that uses less than half its rate does not claim more")

	// Idle for a minute: nothing grows either.
	c.took(t0.Add(90 * adaptTick))
	assert.Equal(t, 20.0, c.Rate())
}

func TestAdaptiveSlowStartGrowsContinuouslyAndEndsAtThe429(t *testing.T) {
	c, _ := newTestController(t, 300, 100)
	busyTick(c, t0)
	c.took(t0.Add(adaptTick)) // closes the first, busy tick
	require.Equal(t, 100.0, c.Rate())
	// Within the second tick the rate grows with time, not in one step at
	// its end.
	c.took(t0.Add(adaptTick + 500*time.Millisecond))
	require.InDelta(t, 100*math.Sqrt(adaptSlowStart), c.Rate(), 1e-9)

	// The first 429 ends slow start: a shallow cut.
	at := t0.Add(adaptTick + 600*time.Millisecond)
	c.took(at)
	before := c.Rate()
	c.answered(at, EndpointGetProcess, http.StatusTooManyRequests, 5*time.Millisecond)
	assert.InDelta(t, before*adaptExitBeta, c.Rate(), 1e-9)
	assert.False(t, c.slowStart, "a 429 ends slow start")
	c.took(at.Add(300 * time.Millisecond))
	assert.InDelta(t, before*adaptExitBeta, c.Rate(), 1e-9, "and its growth")
}

func TestAdaptiveSlowStartWaitsForABusyTick(t *testing.T) {
	c, _ := newTestController(t, 300, 20)
	for i := range 10 { // 5 of 20 tokens a tick
		c.took(t0.Add(time.Duration(i) * 200 * time.Millisecond))
	}
	c.took(t0.Add(2500 * time.Millisecond))
	assert.Equal(t, 20.0, c.Rate(), "an app-limited client does not grow, even in slow start")
}

// afterSlowStart is a controller at rate, past slow start.
func afterSlowStart(t *testing.T, maxRate, rate float64) *controller {
	c, _ := newTestController(t, maxRate, rate)
	c.slowStart, c.decreased = false, t0
	return c
}

func TestAdaptiveEach429DecreasesUnlessSentBeforeTheLastDecrease(t *testing.T) {
	c := afterSlowStart(t, 200, 100)
	at := t0.Add(500 * time.Millisecond)
	c.answered(at, EndpointGetProcess, http.StatusTooManyRequests, time.Millisecond)
	assert.InDelta(t, 100*adaptDecrease, c.Rate(), 1e-9, "× adaptDecrease per 429")

	// A burst of 429s answering requests sent before that decrease: one
	// signal, already answered.
	for i := range 50 {
		c.answered(at.Add(time.Duration(i)*time.Millisecond), EndpointGetProcess, http.StatusTooManyRequests, 60*time.Millisecond)
	}
	assert.InDelta(t, 100*adaptDecrease, c.Rate(), 1e-9, "one burst, one decrease")
	assert.Equal(t, 51, c.throttles)
	assert.Equal(t, 50, c.stale)

	// A request sent after it, throttled still: another signal.
	c.answered(at.Add(100*time.Millisecond), EndpointGetProcess, http.StatusTooManyRequests, 20*time.Millisecond)
	assert.InDelta(t, 100*adaptDecrease*adaptDecrease, c.Rate(), 1e-9)
}

func TestAdaptiveDecreaseTakesEffectAfterTheSlotsAlreadyGranted(t *testing.T) {
	c, err := newController(AdaptiveRate{Max: 200, Start: 100}, t0, nil, nil, func(time.Time) time.Duration { return 300 * time.Millisecond })
	require.NoError(t, err)
	c.slowStart = false
	c.answered(t0, EndpointGetProcess, http.StatusTooManyRequests, time.Millisecond)
	require.InDelta(t, 100*adaptDecrease, c.Rate(), 1e-9)
	// Sent 200 ms after the decrease, on a slot granted before it: stale.
	c.answered(t0.Add(250*time.Millisecond), EndpointGetProcess, http.StatusTooManyRequests, 50*time.Millisecond)
	assert.InDelta(t, 100*adaptDecrease, c.Rate(), 1e-9)
	// Sent once those slots were used: a signal.
	c.answered(t0.Add(400*time.Millisecond), EndpointGetProcess, http.StatusTooManyRequests, 50*time.Millisecond)
	assert.InDelta(t, 100*adaptDecrease*adaptDecrease, c.Rate(), 1e-9)
}

func TestAdaptiveKeepsAFloor(t *testing.T) {
	c, _ := newTestController(t, 100, 1)
	for i := range 400 {
		c.answered(t0.Add(time.Duration(i)*time.Second), EndpointGetProcess, http.StatusTooManyRequests, time.Millisecond)
	}
	assert.Equal(t, 100*adaptFloorShare, c.Rate(), "a storm of 429s leaves the floor, not zero")
}

func TestAdaptiveAddsAStepPerBusyTickProbingFasterWithout429s(t *testing.T) {
	c := afterSlowStart(t, 200, 100)
	step := adaptIncrease * 200
	probe := func(quiet time.Duration) float64 {
		return step * min(adaptProbeMax, 1+quiet.Seconds()/adaptProbeAfter.Seconds())
	}
	busyTick(c, t0)
	busyTick(c, t0.Add(adaptTick))
	want := 100 + probe(time.Second)
	assert.InDelta(t, want, c.Rate(), 1e-9, "additive increase, 1 s after the last decrease")
	busyTick(c, t0.Add(2*adaptTick))
	want += probe(2 * time.Second)
	assert.InDelta(t, want, c.Rate(), 1e-9)

	// A tick with a 429 decreases and does not grow; the probe starts over.
	c.answered(t0.Add(2*adaptTick+adaptTick/2), EndpointGetProcess, http.StatusTooManyRequests, time.Millisecond)
	want *= adaptDecrease
	busyTick(c, t0.Add(3*adaptTick))
	assert.InDelta(t, want, c.Rate(), 1e-9)
	busyTick(c, t0.Add(4*adaptTick))
	want += probe(1500 * time.Millisecond)
	assert.InDelta(t, want, c.Rate(), 1e-9)

	// Up to the ceiling, not beyond; a long quiet spell probes at most
	// adaptProbeMax steps a tick.
	assert.Equal(t, adaptProbeMax*step, probe(time.Hour))
	for i := 5; i < 60; i++ {
		busyTick(c, t0.Add(time.Duration(i)*adaptTick))
	}
	assert.Equal(t, 200.0, c.Rate())
}

func TestAdaptiveRisingLatencyDecreasesGently(t *testing.T) {
	c, _ := newTestController(t, 100, 10)
	// Half a tick at 150 ms: the endpoint's usual latency.
	at := t0
	for range 100 {
		c.took(at)
		c.answered(at, EndpointSetImages, http.StatusCreated, 150*time.Millisecond)
		at = at.Add(5 * time.Millisecond)
	}
	// Then 600 ms for a whole tick: four times the usual.
	tick := t0.Add(adaptTick)
	for i := range 40 {
		now := tick.Add(time.Duration(i) * 20 * time.Millisecond)
		c.took(now)
		c.answered(now, EndpointSetImages, http.StatusCreated, 600*time.Millisecond)
	}
	c.took(tick.Add(adaptTick))
	assert.InDelta(t, 10*adaptSlowStart*adaptDecrease, c.Rate(), 1e-9, "grown in slow start for a second, then ×0.95")
	assert.False(t, c.slowStart, "rising latency ends slow start")
}

func TestAdaptiveLatencyBelowTheFloorIsNoSignal(t *testing.T) {
	c, _ := newTestController(t, 100, 50)
	at := t0
	for range 100 {
		c.answered(at, EndpointGetProcess, http.StatusOK, 2*time.Millisecond)
		at = at.Add(time.Millisecond)
	}
	tick := t0.Add(adaptTick)
	for i := range 50 { // 30× the usual, but far below 100 ms: a loaded machine, not the API
		now := tick.Add(time.Duration(i) * 10 * time.Millisecond)
		c.took(now)
		c.answered(now, EndpointGetProcess, http.StatusOK, 60*time.Millisecond)
	}
	c.took(tick.Add(adaptTick))
	assert.Equal(t, 50.0, c.Rate(), "no decrease")
	assert.True(t, c.slowStart && c.growing, "a busy tick: slow start goes on")
}

// quotaSim is a deterministic fluid model of clients behind one API that
// throttles with a token bucket: the clients' buckets run at their
// controllers' rates and always have work (unless stopped); the API accepts
// a request when its own bucket (quota, burst) has a token, else answers 429.
type quotaSim struct {
	quota, burst float64
	tokens       float64
	clients      []*simClient
	now          time.Time
	step         time.Duration
	rng          *rand.Rand
}

type simClient struct {
	c                  *controller
	tokens             float64
	stopped            bool
	accepted, rejected int
}

func newQuotaSim(t *testing.T, quota, burst float64, n int, maxRate, start float64) *quotaSim {
	s := &quotaSim{quota: quota, burst: burst, tokens: burst, now: t0, step: 5 * time.Millisecond,
		rng: rand.New(rand.NewPCG(1, 2))}
	for range n {
		c, _ := newTestController(t, maxRate, start)
		s.clients = append(s.clients, &simClient{c: c, tokens: 1})
	}
	return s
}

// run advances the model by d.
func (s *quotaSim) run(d time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); s.now = s.now.Add(s.step) {
		dt := s.step.Seconds()
		s.tokens = min(s.burst, s.tokens+s.quota*dt)
		for _, cl := range s.clients {
			cl.tokens = min(10, cl.tokens+cl.c.Rate()*dt) // each client's burst: 10
		}
		// In an order drawn anew each step (from a fixed seed): the
		// clients' requests interleave without locking into a phase.
		order := s.rng.Perm(len(s.clients))
		for sent := true; sent; {
			sent = false
			for _, i := range order {
				cl := s.clients[i]
				if cl.stopped || cl.tokens < 1 {
					continue
				}
				cl.tokens--
				sent = true
				cl.c.took(s.now)
				status := http.StatusOK
				if s.tokens >= 1 {
					s.tokens--
					cl.accepted++
				} else {
					status = http.StatusTooManyRequests
					cl.rejected++
				}
				cl.c.answered(s.now, EndpointGetProcess, status, 20*time.Millisecond)
			}
		}
	}
}

// measure runs d and returns the accepted rate of each client and the
// share of 429s of all requests in that time.
func (s *quotaSim) measure(d time.Duration) (perClient []float64, total, share429 float64) {
	before := make([][2]int, len(s.clients))
	for i, cl := range s.clients {
		before[i] = [2]int{cl.accepted, cl.rejected}
	}
	s.run(d)
	var acc, rej int
	for i, cl := range s.clients {
		a, r := cl.accepted-before[i][0], cl.rejected-before[i][1]
		acc += a
		rej += r
		perClient = append(perClient, float64(a)/d.Seconds())
	}
	return perClient, float64(acc) / d.Seconds(), float64(rej) / float64(max(1, acc+rej))
}

func TestAdaptiveConvergesBelowAQuota(t *testing.T) {
	const q = 200.0
	s := newQuotaSim(t, q, 20, 1, 3*q, q/10)
	// From a tenth of the quota to 0.9 of it well within a minute.
	reached := time.Duration(-1)
	for i := range 600 {
		s.run(100 * time.Millisecond)
		if s.clients[0].c.Rate() >= 0.9*q {
			reached = time.Duration(i+1) * 100 * time.Millisecond
			break
		}
	}
	require.Positive(t, reached, "never reached 0.9 × the quota")
	assert.Less(t, reached, 20*time.Second)
	s.run(20 * time.Second)
	_, total, share := s.measure(60 * time.Second)
	t.Logf("reached 0.9Q in %s; then %.1f/s accepted (%.3f Q), 429 share %.4f", reached, total, total/q, share)
	assert.Greater(t, total, 0.93*q)
	assert.Less(t, share, 0.03)
}

func TestAdaptiveClientsShareAQuotaFairly(t *testing.T) {
	const q, n = 200.0, 4
	// Each of the N shards: the job's ceiling and start divided by N.
	s := newQuotaSim(t, q, 20, n, 3*q/n, q/10/n)
	// Start unfairly: one client at its ceiling.
	s.clients[0].c.rate = 3 * q / n
	s.run(60 * time.Second)
	per, total, share := s.measure(60 * time.Second)
	lo, hi := minMax(per)
	t.Logf("per client %v, total %.1f (%.3f Q), 429 share %.4f, slowest/fastest %.2f", round(per), total, total/q, share, lo/hi)
	assert.Greater(t, total, 0.9*q)
	assert.Less(t, share, 0.05)
	assert.Greater(t, lo/hi, 0.7, "shares converge")

	// One client finishes: the others take its share.
	s.clients[0].stopped = true
	s.run(30 * time.Second)
	per, total, _ = s.measure(30 * time.Second)
	t.Logf("after one stopped: per client %v, total %.1f (%.3f Q)", round(per), total, total/q)
	assert.Greater(t, total, 0.9*q, "the share of a finished client is taken up")
}

// Eight clients with equal work, as the shards of BenchmarkShardsShareQuota:
// over many draws of the order their requests interleave in, the slowest
// keeps most of the fastest's throughput, the 429s stay few, and the share
// of a client that stops is taken up within seconds. (The model is
// deterministic: these are the figures of adaptive.go's comment.)
func TestAdaptiveEightClientsShareFairly(t *testing.T) {
	const q, n, seeds = 200.0, 8, 40
	var fair, worst, share, after float64
	worst = 1
	for seed := range uint64(seeds) {
		s := newQuotaSim(t, q, 20, n, 3*q/n, q/10/n)
		s.rng = rand.New(rand.NewPCG(seed+1, 7))
		s.run(10 * time.Second)
		per, _, sh := s.measure(40 * time.Second)
		lo, hi := minMax(per)
		fair += lo / hi / seeds
		worst = min(worst, lo/hi)
		share += sh / seeds
		s.clients[0].stopped = true
		_, total, _ := s.measure(10 * time.Second)
		after += total / q / seeds
	}
	t.Logf("slowest/fastest %.3f on average, %.3f at worst; 429 share %.4f; 10 s after one stopped %.3f Q", fair, worst, share, after)
	assert.Greater(t, fair, 0.85, "the slowest client's throughput over the fastest's, on average")
	assert.Greater(t, worst, 0.75, "at worst")
	assert.Less(t, share, 0.03, "429 share")
	assert.Greater(t, after, 0.95, "the share of a stopped client is taken up")
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if x == 0 {
			continue // a stopped client
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func round(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf("%.1f", x)
	}
	return out
}

func TestFixedRateIgnoresFeedback(t *testing.T) {
	l := newLimiter(20, 5)
	for range 100 {
		l.feedback(Attempt{Endpoint: EndpointGetProcess, StatusCode: http.StatusTooManyRequests})
	}
	assert.Equal(t, 20.0, l.current(), "a static api.rate is not adapted")
	assert.Equal(t, 0.0, newLimiter(0, 1).current(), "no limit")
}

// Under an adaptive rate a short Retry-After delays only its own call (the
// rate's cut is the shared response); a long one, and any under a fixed
// rate, pauses every call.
func TestAdaptiveShortRetryAfterIsNotSharedPause(t *testing.T) {
	fixed := newLimiter(10, 1)
	assert.True(t, fixed.sharesPause(time.Second))
	adaptive, err := newAdaptiveLimiter(AdaptiveRate{Max: 100}, 1, nil)
	require.NoError(t, err)
	assert.False(t, adaptive.sharesPause(time.Second))
	assert.True(t, adaptive.sharesPause(2*time.Second))
}

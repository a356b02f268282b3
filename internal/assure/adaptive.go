package assure

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"
)

// AdaptiveRate configures a rate that finds the API's unpublished quota
// from its answers (api.rate: auto): it grows while calls succeed and the
// client uses the rate it has, and backs off on 429 answers and on latency
// rising well above its usual level. Each client adapts on its own, so many
// processes (the shards of a run) share one quota without a coordinator, as
// TCP flows share a link.
type AdaptiveRate struct {
	// Max is the ceiling in requests per second; > 0 turns adaptation on
	// (Config.Rate is then unused).
	Max float64
	// Start is the first rate (0: Max/10). At most Max.
	Start float64
}

// The controller is AIMD on the bucket's rate, after TCP Reno (slow start,
// then additive increase, multiplicative decrease) with Netflix
// concurrency-limits' rule that a limit grows only while it is used:
//
//   - slow start: the rate grows by adaptSlowStart per second (continuously,
//     while the last tick was busy: Max/10 reaches 0.9 Max in 10 s) until the
//     first 429 multiplies it by adaptExitBeta. Shards started together must
//     leave slow start at about the same rate, or the one that left last keeps
//     a larger share for long: hence a gentle growth (a shard that sees its
//     first 429 a little after the others has grown little meanwhile), grown
//     continuously (not a step per tick, whose phases differ), and a shallow
//     exit from the rate in force (a deep one would make room for the shards
//     not yet throttled to grow on; the rate the API accepted lately is as
//     uneven as the shards' recent demand);
//   - then each busy tick adds adaptIncrease × Max, more the longer the
//     client has gone without a 429 (one more step per adaptProbeAfter, up to
//     adaptProbeMax steps a tick: the convex probing of CUBIC, so that the
//     share a finished client left is taken up in seconds), and each 429 takes
//     adaptDecrease off (×0.98), except the 429s that answer requests sent
//     before the last decrease took effect: those were sent at the old rate
//     (already in flight, or holding a slot the bucket had granted at the old
//     rate), so one burst of them is one signal, as TCP cuts its window once
//     per loss event. A tick that saw any 429 does not grow;
//   - a tick whose answers took on average more than adaptLatencyTolerance
//     times their endpoint's long-run latency (itself taken as at least
//     adaptLatencyFloor, so that a loaded machine's milliseconds are no
//     signal) counts as one 429, as HyStart leaves slow start on rising delay;
//   - a busy tick is one in which at least adaptBusyShare of the tick's
//     tokens were taken: an idle or app-limited client does not claim a share
//     it cannot use, and a paused one does not grow. The rate never leaves
//     [adaptFloorShare × Max, Max].
//
// Why a small decrease per 429 signal rather than a large one per window:
// behind a token bucket every request has the same chance of a 429, so a
// client's 429s come in proportion to its rate. Small decreases, each on its
// own signal, make the decrease proportional to the rate too and average out
// which client happened to be unlucky; one large decrease per event makes
// each client's share a lottery of a few events. And the smaller both steps,
// the less each client's share wanders from the fair one between two
// signals, at the cost of a slower take-up of the share a finished client
// leaves. In the model of adaptive_test.go (8 clients with equal work
// sharing a bucket, 40 s after 10 s of warm-up, 40 seeds;
// TestAdaptiveEightClientsShareFairly), the slowest kept on average 0.89 of
// the fastest's throughput with ×0.98 per 429 and +0.5% a tick (worst seed
// 0.81; 429 share 2.4%; the others took a finished client's share up to
// 0.98 Q in 10 s), 0.79 with ×0.95 and +1% (worst 0.64; 2.1%; 0.99 Q), 0.73
// with ×0.9 and +1%, and 0.77 in an earlier design with one ×0.9 per
// second. The additive step scales with Max so that the dynamics do not
// depend on the unit; the shards of a run share one Max (api.max_rate / N
// each) and so one step, which is what makes AIMD fair.
const (
	adaptTick             = time.Second
	adaptBusyShare        = 0.5
	adaptSlowStart        = 1.25
	adaptGrowStep         = 50 * time.Millisecond // slow start's growth, at most this often
	adaptExitBeta         = 0.85
	adaptIncrease         = 0.005
	adaptDecrease         = 0.98
	adaptFloorShare       = 0.001
	adaptProbeAfter       = 4 * time.Second
	adaptProbeMax         = 10
	adaptLatencyTolerance = 2.0
	adaptLatencyFloor     = 100 * time.Millisecond
	adaptLatencyWarmup    = 32 // samples of an endpoint before its latency is judged
	adaptLatencyMinTick   = 10 // samples in a tick before its latency is judged
	adaptLatencyLongGain  = 1.0 / 256
	adaptLogStep          = 1.25 // log growth each time the rate moved this factor
)

// Signals the controller tells apart in its log.
const (
	reasonThrottled = "throttled"
	reasonLatency   = "latency"
)

// controller is the adaptive rate's logic, without a clock of its own: every
// method takes the time, so tests drive it with a fake clock. apply is called
// with every new rate while the controller's lock is held, so rates reach
// the bucket in the order they were decided; backlog (nil: none) is how long
// the bucket has already granted ahead at the rate in force (its reserved
// slots), so that a decrease is known to take effect only after it.
type controller struct {
	ceiling, floor float64
	apply          func(rate float64)
	backlog        func(now time.Time) time.Duration
	log            *slog.Logger

	mu        sync.Mutex
	rate      float64
	slowStart bool
	growing   bool      // in slow start, after a busy tick: the rate grows continuously
	grownAt   time.Time // the rate's last growth
	effective time.Time // when the last decrease took effect: 429s of requests sent before are stale
	decreased time.Time // the last decrease
	latency   map[Endpoint]*latencyMean
	logged    float64 // the rate last logged

	tickStart     time.Time
	granted       int     // tokens taken in the tick
	throttledTick bool    // a 429 came in the tick
	ratioSum      float64 // latency ratios of the tick
	ratioN        int

	throttles, stale int // 429s seen, and those of them answering requests sent before the last decrease took effect
}

type latencyMean struct {
	mean float64 // seconds
	n    int
}

func newController(cfg AdaptiveRate, now time.Time, log *slog.Logger, apply func(float64), backlog func(time.Time) time.Duration) (*controller, error) {
	if !(cfg.Max > 0) || math.IsInf(cfg.Max, 0) {
		return nil, &ConfigError{Msg: fmt.Sprintf("adaptive rate: ceiling %g must be > 0", cfg.Max)}
	}
	if !(cfg.Start >= 0 && cfg.Start <= cfg.Max) {
		return nil, &ConfigError{Msg: fmt.Sprintf("adaptive rate: start %g must be in [0, ceiling %g]", cfg.Start, cfg.Max)}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &controller{
		ceiling: cfg.Max, floor: cfg.Max * adaptFloorShare, apply: apply, backlog: backlog, log: log,
		rate: cfg.Start, slowStart: true, latency: map[Endpoint]*latencyMean{},
		tickStart: now,
	}
	if c.rate == 0 {
		c.rate = cfg.Max / 10
	}
	c.rate = max(c.rate, c.floor)
	c.logged = c.rate
	if c.apply != nil {
		c.apply(c.rate)
	}
	return c, nil
}

// Rate is the rate in force, requests per second.
func (c *controller) Rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// took records a token taken from the bucket.
func (c *controller) took(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(now)
	c.granted++
}

// answered records the outcome of one HTTP attempt that was sent latency
// ago: status 0 (no answer) and 5xx say nothing about the quota; 429 is the
// throttle signal; any other answer is accepted and its latency measured.
func (c *controller) answered(now time.Time, ep Endpoint, status int, latency time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(now)
	switch {
	case status == http.StatusTooManyRequests:
		c.throttles++
		c.throttledTick = true
		if now.Add(-latency).Before(c.effective) {
			c.stale++ // sent at the old rate: the decrease answered it already
			return
		}
		c.decrease(now, reasonThrottled)
	case status == 0 || status >= 500:
	default:
		c.measure(ep, latency)
	}
}

// measure folds one accepted answer's latency into the tick's latency ratio
// and its endpoint's long-run mean.
func (c *controller) measure(ep Endpoint, latency time.Duration) {
	m := c.latency[ep]
	if m == nil {
		m = &latencyMean{}
		c.latency[ep] = m
	}
	s := latency.Seconds()
	if m.n >= adaptLatencyWarmup {
		c.ratioSum += s / max(m.mean, adaptLatencyFloor.Seconds())
		c.ratioN++
	}
	m.n++
	gain := max(adaptLatencyLongGain, 1/float64(m.n)) // a plain mean while warming up
	m.mean += gain * (s - m.mean)
}

// decrease takes adaptDecrease off the rate, or adaptExitBeta at the 429
// that ends slow start; rising latency ends slow start too. The decrease
// takes effect once the slots the bucket granted at the old rate are used.
func (c *controller) decrease(now time.Time, reason string) {
	old := c.rate
	if c.slowStart && reason == reasonThrottled {
		c.rate *= adaptExitBeta
	} else {
		c.rate *= adaptDecrease
	}
	c.slowStart, c.growing = false, false
	c.rate = max(c.floor, c.rate)
	c.decreased, c.effective = now, now
	if c.backlog != nil {
		c.effective = now.Add(c.backlog(now))
	}
	c.set(old, reason)
}

// advance closes the ticks that ended by now, and grows a slow start.
func (c *controller) advance(now time.Time) {
	for end := c.tickStart.Add(adaptTick); !now.Before(end); end = c.tickStart.Add(adaptTick) {
		c.closeTick(end)
		if now.Sub(c.tickStart) >= 2*adaptTick {
			c.tickStart = now // idle ticks: nothing to count, nothing to grow
			c.growing = false
		}
	}
	if now.Sub(c.grownAt) >= adaptGrowStep {
		c.grow(now)
	}
}

// grow applies slow start's growth from the last growth to now.
func (c *controller) grow(now time.Time) {
	if c.growing && !c.throttledTick && now.After(c.grownAt) {
		old := c.rate
		c.rate = min(c.ceiling, c.rate*math.Pow(adaptSlowStart, now.Sub(c.grownAt).Seconds()))
		c.set(old, "")
	}
	c.grownAt = now
}

// closeTick ends the tick at end: latency that rose counts as a 429; a busy
// tick without either grows the rate.
func (c *controller) closeTick(end time.Time) {
	busy := float64(c.granted) >= adaptBusyShare*c.rate*adaptTick.Seconds()
	slow := c.ratioN >= adaptLatencyMinTick && c.ratioSum/float64(c.ratioN) > adaptLatencyTolerance
	c.grow(end)
	old := c.rate
	switch {
	case slow:
		c.decrease(end, reasonLatency)
	case c.slowStart:
		c.growing = busy && !c.throttledTick
	case !busy || c.throttledTick:
	default:
		steps := min(adaptProbeMax, 1+end.Sub(c.decreased).Seconds()/adaptProbeAfter.Seconds())
		c.rate = min(c.ceiling, c.rate+steps*adaptIncrease*c.ceiling*adaptTick.Seconds())
		c.set(old, "")
	}
	c.granted, c.throttledTick, c.ratioSum, c.ratioN = 0, false, 0, 0
	c.tickStart = end
}

// set applies a new rate and logs it when it moved by adaptLogStep since
// the last line, or reached the ceiling or the floor.
func (c *controller) set(old float64, reason string) {
	if c.rate == old {
		return
	}
	if c.apply != nil {
		c.apply(c.rate)
	}
	far := c.rate >= c.logged*adaptLogStep || c.rate <= c.logged/adaptLogStep
	edge := (c.rate == c.ceiling || c.rate == c.floor) && c.rate != c.logged
	switch {
	case !far && !edge:
		return
	case c.rate < c.logged:
		c.log.Debug("api rate decreased", "reason", reason, "rate", round2(c.rate), "from", round2(c.logged))
	default:
		c.log.Debug("api rate increased", "rate", round2(c.rate), "from", round2(c.logged), "slow_start", c.slowStart)
	}
	c.logged = c.rate
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

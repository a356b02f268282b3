package assure

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is the client's one request bucket (golang.org/x/time/rate): every
// attempt of every call waits for a token, token requests and retries
// included. A 429 answer with Retry-After pauses it for every call until
// then, so that a throttled API sees the whole client back off, not one
// worker. With an adaptive rate (AdaptiveRate) the bucket's rate is the
// controller's, which learns from every answer (feedback); else it is fixed.
type limiter struct {
	bucket *rate.Limiter
	adapt  *controller // nil: a fixed rate

	mu          sync.Mutex
	pausedUntil time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	limit := rate.Limit(rps)
	if rps <= 0 || math.IsInf(rps, 1) {
		limit = rate.Inf
	}
	return &limiter{bucket: rate.NewLimiter(limit, max(burst, 1))}
}

// newAdaptiveLimiter is a limiter whose rate the controller sets.
func newAdaptiveLimiter(cfg AdaptiveRate, burst int, log *slog.Logger) (*limiter, error) {
	l := &limiter{bucket: rate.NewLimiter(0, max(burst, 1))}
	now := time.Now()
	apply := func(r float64) { l.bucket.SetLimitAt(time.Now(), rate.Limit(r)) }
	// Negative tokens are slots granted ahead, at the rate in force.
	backlog := func(now time.Time) time.Duration {
		tokens, r := l.bucket.TokensAt(now), float64(l.bucket.Limit())
		if tokens >= 0 || r <= 0 {
			return 0
		}
		return time.Duration(-tokens / r * float64(time.Second))
	}
	adapt, err := newController(cfg, now, log, apply, backlog)
	if err != nil {
		return nil, err
	}
	l.adapt = adapt
	// It starts empty: shards started together do not burst together into a
	// quota whose own burst is unknown.
	l.bucket.AllowN(now, max(burst, 1))
	return l, nil
}

// adaptivePauseAbove: under an adaptive rate, a Retry-After of at most this
// delays only the call that got it. The rate's cut is the shared response;
// a pause of every call per 429 held a shard probing for the quota at
// 0.69 of it (Retry-After: 1, BenchmarkAdaptiveRateUnderAQuota). A longer
// one — a quota spent for a while — still pauses every call.
const adaptivePauseAbove = time.Second

// sharesPause reports whether a 429's Retry-After of d pauses every call.
func (l *limiter) sharesPause(d time.Duration) bool {
	return l.adapt == nil || d > adaptivePauseAbove
}

// current is the rate in force, requests per second (0: no limit).
func (l *limiter) current() float64 {
	if l.adapt != nil {
		return l.adapt.Rate()
	}
	if r := l.bucket.Limit(); r != rate.Inf {
		return float64(r)
	}
	return 0
}

// feedback tells an adaptive rate how an attempt went: its status (0: no
// answer) and latency.
func (l *limiter) feedback(a Attempt) {
	if l.adapt != nil {
		l.adapt.answered(time.Now(), a.Endpoint, a.StatusCode, a.Latency)
	}
}

// wait blocks while the limiter is paused, then for a token.
func (l *limiter) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		d := time.Until(l.pausedUntil)
		l.mu.Unlock()
		if d <= 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if l.adapt != nil {
		if err := l.waitAhead(ctx); err != nil {
			return err
		}
		l.adapt.took(time.Now())
		return nil
	}
	if err := l.bucket.Wait(ctx); err != nil {
		// rate.Limiter answers at once when the token would come after the
		// context's deadline: report that as the deadline.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("rate limiter: %w", context.DeadlineExceeded)
	}
	return nil
}

// adaptHorizon bounds how far ahead an adaptive bucket grants its slots. A
// slot rate.Limiter has granted keeps its time when the rate changes, so with
// every waiter holding one (as Wait does) a decrease would reach the API only
// after concurrency ÷ rate seconds, a second or more, while the 429s go on.
const adaptHorizon = 100 * time.Millisecond

// waitAhead waits for a token of an adaptive bucket: a waiter whose slot
// would come later than adaptHorizon gives it back and asks again nearer the
// time, at the rate then in force.
func (l *limiter) waitAhead(ctx context.Context) error {
	for {
		now := time.Now()
		r := l.bucket.ReserveN(now, 1)
		d := r.DelayFrom(now)
		if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
			r.CancelAt(now)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("rate limiter: %w", context.DeadlineExceeded)
		}
		if d > adaptHorizon {
			r.CancelAt(now)
			if err := sleep(ctx, d-adaptHorizon/2); err != nil {
				return err
			}
			continue
		}
		if err := sleep(ctx, d); err != nil {
			r.CancelAt(time.Now())
			return err
		}
		return nil
	}
}

// pausedTill is the end of the current pause (possibly in the past).
func (l *limiter) pausedTill() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}

// pause stops every call for d, extending (never shortening) a pause. It
// reports whether the pause was extended.
func (l *limiter) pause(d time.Duration) bool {
	until := time.Now().Add(d)
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

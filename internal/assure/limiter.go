package assure

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is the client's one request bucket (golang.org/x/time/rate): every
// attempt of every call waits for a token, token requests and retries
// included. A 429 answer with Retry-After pauses it for every call until
// then, so that a throttled API sees the whole client back off, not one
// worker.
type limiter struct {
	bucket *rate.Limiter

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

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"reverify/internal/assure"
)

// Gate is the one rate limiter every API call of a run passes, token
// requests and retries included: an x/time/rate token bucket. A 429 answer
// with Retry-After pauses the gate for every worker until that time. It also
// counts calls for the run's summary and, through the context, for the
// record that made them. It implements assure.Observer.
type Gate struct {
	lim *rate.Limiter
	now func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time

	calls   atomic.Int64
	retries atomic.Int64
	pauses  atomic.Int64
	byKey   sync.Map // callKey → *atomic.Int64
}

type callKey struct {
	ep     assure.Endpoint
	status int
}

// NewGate returns a gate allowing rate calls per second with the given burst.
func NewGate(rps float64, burst int) *Gate {
	if burst < 1 {
		burst = 1
	}
	return &Gate{lim: rate.NewLimiter(rate.Limit(rps), burst), now: time.Now}
}

// Wait implements assure.Observer: it blocks while the gate is paused, then
// for a token of the bucket.
func (g *Gate) Wait(ctx context.Context, _ assure.Endpoint) error {
	for {
		g.mu.Lock()
		d := g.pausedUntil.Sub(g.now())
		g.mu.Unlock()
		if d <= 0 {
			break
		}
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
	if err := g.lim.Wait(ctx); err != nil {
		// rate.Limiter answers at once with its own error when the token would
		// come after the context's deadline: report it as the deadline.
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("rate limiter: %w", context.DeadlineExceeded)
	}
	if s := statsFrom(ctx); s != nil {
		s.calls.Add(1)
	}
	return nil
}

// Done implements assure.Observer.
func (g *Gate) Done(ctx context.Context, a assure.Attempt) {
	g.calls.Add(1)
	if a.Number > 1 {
		g.retries.Add(1)
		if s := statsFrom(ctx); s != nil {
			s.retries.Add(1)
		}
	}
	k := callKey{a.Endpoint, a.StatusCode}
	v, ok := g.byKey.Load(k)
	if !ok {
		v, _ = g.byKey.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
	if a.StatusCode == 429 && a.RetryAfter > 0 {
		g.Pause(a.RetryAfter)
	}
}

// Pause stops every call for d (extending, never shortening, a pause).
func (g *Gate) Pause(d time.Duration) {
	until := g.now().Add(d)
	g.mu.Lock()
	defer g.mu.Unlock()
	if until.After(g.pausedUntil) {
		g.pausedUntil = until
		g.pauses.Add(1)
	}
}

// CallStats are the gate's counters.
type CallStats struct {
	Calls   int64
	Retries int64
	Pauses  int64
	// ByEndpoint counts attempts per endpoint and HTTP status ("0" for
	// transport failures).
	ByEndpoint map[string]map[int]int64
}

// Stats returns a snapshot of the counters.
func (g *Gate) Stats() CallStats {
	s := CallStats{Calls: g.calls.Load(), Retries: g.retries.Load(), Pauses: g.pauses.Load(),
		ByEndpoint: map[string]map[int]int64{}}
	g.byKey.Range(func(k, v any) bool {
		ck := k.(callKey)
		m := s.ByEndpoint[string(ck.ep)]
		if m == nil {
			m = map[int]int64{}
			s.ByEndpoint[string(ck.ep)] = m
		}
		m[ck.status] = v.(*atomic.Int64).Load()
		return true
	})
	return s
}

// recordStats counts one record's API effort.
type recordStats struct {
	calls   atomic.Int32
	retries atomic.Int32
	polls   atomic.Int32
}

type statsKey struct{}

func withStats(ctx context.Context, s *recordStats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

func statsFrom(ctx context.Context) *recordStats {
	s, _ := ctx.Value(statsKey{}).(*recordStats)
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
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

// isCtxErr reports whether err comes from a context ending.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"reverify/internal/assure"
	"reverify/internal/fault"
)

// Meter counts a run's API attempts: in all for the summary, and, through
// the context of the call that made them, for the record they were made for
// (its api_calls, retries). It only counts: the rate, the pauses and the
// retries themselves are the client's (assure.Client). It implements
// assure.Observer.
type Meter struct {
	log     *slog.Logger
	calls   atomic.Int64
	retries atomic.Int64
	pauses  atomic.Int64
	byKey   sync.Map // callKey → *atomic.Int64

	// Token endpoint failures, logged at most every tokenLogEvery.
	tokenMu       sync.Mutex
	tokenFailures int64 // since the last log line
	tokenLogged   time.Time
}

// tokenLogEvery bounds how often failures of the token endpoint are logged.
const tokenLogEvery = 10 * time.Second

type callKey struct {
	ep     assure.Endpoint
	status int
}

// NewMeter returns a meter with every count at zero. log (may be nil) gets
// a warning when the token endpoint fails, at most every 10 s with the count
// since the last one: nothing else would show that a run is waiting for
// tokens.
func NewMeter(log *slog.Logger) *Meter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Meter{log: log}
}

// Observe implements assure.Observer.
func (m *Meter) Observe(ctx context.Context, a assure.Attempt) {
	if m.log.Enabled(ctx, slog.LevelDebug) {
		// One line per API call at debug: what was asked and how it went,
		// never a body, an id or a token.
		m.log.LogAttrs(ctx, slog.LevelDebug, "api call", slog.String("endpoint", string(a.Endpoint)),
			slog.String("method", a.Method), slog.String("path", a.Endpoint.Path()), slog.Int("status", a.StatusCode),
			slog.Duration("latency", a.Latency), slog.Int("attempt", a.Number))
	}
	m.calls.Add(1)
	if a.Number > 1 {
		m.retries.Add(1)
	}
	if a.Paused {
		m.pauses.Add(1)
	}
	// A record's effort counts the calls made for it, not the token
	// requests that happen to run within them.
	if s := statsFrom(ctx); s != nil && a.Endpoint != assure.EndpointToken {
		s.calls.Add(1)
		if a.Number > 1 {
			s.retries.Add(1)
		}
	}
	if a.Endpoint == assure.EndpointToken && fault.Retryable(a.Err) {
		m.tokenFailed(a) // a refusal ends the run with its own message
	}
	k := callKey{a.Endpoint, a.StatusCode}
	v, ok := m.byKey.Load(k)
	if !ok {
		v, _ = m.byKey.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// tokenFailed counts a failed token request and logs, rate-limited.
func (m *Meter) tokenFailed(a assure.Attempt) {
	m.tokenMu.Lock()
	defer m.tokenMu.Unlock()
	m.tokenFailures++
	now := time.Now()
	if now.Sub(m.tokenLogged) < tokenLogEvery {
		return
	}
	m.log.Warn("token endpoint failing: calls wait for an access token", "status", a.StatusCode,
		"failures", m.tokenFailures, "error", a.Err)
	m.tokenFailures, m.tokenLogged = 0, now
}

// CallStats are the meter's counts.
type CallStats struct {
	Calls   int64
	Retries int64
	// Pauses counts the 429 answers that paused every call.
	Pauses int64
	// ByEndpoint counts attempts per endpoint and HTTP status ("0" for
	// transport failures).
	ByEndpoint map[string]map[int]int64
}

// Stats returns a snapshot of the counts.
func (m *Meter) Stats() CallStats {
	s := CallStats{Calls: m.calls.Load(), Retries: m.retries.Load(), Pauses: m.pauses.Load(),
		ByEndpoint: map[string]map[int]int64{}}
	m.byKey.Range(func(k, v any) bool {
		ck := k.(callKey)
		e := s.ByEndpoint[string(ck.ep)]
		if e == nil {
			e = map[int]int64{}
			s.ByEndpoint[string(ck.ep)] = e
		}
		e[ck.status] = v.(*atomic.Int64).Load()
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

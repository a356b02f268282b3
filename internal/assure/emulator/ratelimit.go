package emulator

import (
	"math"
	"sync"
	"time"
)

// tokenBucket is the optional global rate limit, over real time.
type tokenBucket struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(r RateLimit, now time.Time) *tokenBucket {
	return &tokenBucket{rate: r.RequestsPerSecond, burst: float64(r.Burst), tokens: float64(r.Burst), last: now}
}

// allow takes a token; false when the bucket is empty.
func (b *tokenBucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refill fills the bucket (Reset).
func (b *tokenBucket) refill(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens, b.last = b.burst, now
}

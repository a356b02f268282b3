// Package fakeclock is a settable clock for tests: it stands still until the
// test advances it, and is safe for concurrent use.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a fake clock; pass its Now where code takes a clock function.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

package emulator

import "time"

// clock maps the real clock to the emulated one: emulated = epoch +
// (real - epoch) / scale, where epoch is the real time when the emulator was
// created. Everything the API shows (timestamps, processing latency, the
// transaction expiry, the 30-day list window) runs on the emulated clock;
// token lifetimes and the rate limit run on the real one.
type clock struct {
	now   func() time.Time
	epoch time.Time
	scale float64
}

func newClock(now func() time.Time, scale float64) clock {
	return clock{now: now, epoch: now(), scale: scale}
}

// real is the injected real clock.
func (c clock) real() time.Time { return c.now() }

// emulated is the emulated time now.
func (c clock) emulated() time.Time { return c.toEmulated(c.now()) }

func (c clock) toEmulated(real time.Time) time.Time {
	return c.epoch.Add(time.Duration(float64(real.Sub(c.epoch)) / c.scale))
}

// realDuration converts an emulated duration to real time.
func (c clock) realDuration(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.scale)
}

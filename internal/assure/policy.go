package assure

import (
	"math/rand/v2"
	"time"
)

// SubmitWindow is how long the provider allows between the first image of a
// process and the start of its verification: a verification started later
// fails ("Transaction time expired.").
const SubmitWindow = 15 * time.Minute

// RetryPolicy bounds every call of the client; it is the whole of reverify's
// retry policy for the Assure API (the pipeline adds no retries of its own).
// A call starts no attempt later than MaxElapsed after it began — every wait
// (the rate limiter, a Retry-After pause, the backoffs, the token fetch and,
// for the calls that are not idempotent, the read-backs of unknown outcomes)
// counts — and an attempt lasts at most the client's RequestTimeout, so a
// call ends within MaxElapsed + RequestTimeout (WorstCall). Within that:
//
//   - a call is sent at most MaxAttempts times, counting every failure but
//     429 answers, which say "later", not "broken": they are retried for as
//     long as the budget lasts;
//   - between attempts the call waits a full-jitter exponential backoff
//     (BaseDelay·2^(n-1), at most MaxDelay), or the server's Retry-After,
//     which pauses every call of the client, capped at MaxPause;
//   - a call that is not idempotent (create dossier, create process, start
//     verification) is sent again only when the request certainly did not
//     reach the API, or when the caller's read-back shows that it was not
//     applied; an attempt that got no answer is read back only once it can
//     no longer be in flight (request timeout + InFlightMargin after it
//     ended), so such a call ends within WorstReadBackCall.
//
// So a record's start verification ends within WorstSubmit of its first
// image, which must fit in the provider's SubmitWindow. The yaml tags are
// the keys of api.retry.
type RetryPolicy struct {
	// MaxAttempts per call, first attempt included (default 4; 1 disables
	// retries). 429 answers do not use it up.
	MaxAttempts int `yaml:"max_attempts"`
	// BaseDelay of the exponential backoff (default 250 ms).
	BaseDelay time.Duration `yaml:"base_delay"`
	// MaxDelay caps one backoff delay (default 10 s).
	MaxDelay time.Duration `yaml:"max_delay"`
	// MaxPause caps the pause a server's Retry-After imposes on every
	// call (default 30 s).
	MaxPause time.Duration `yaml:"max_pause"`
	// MaxElapsed bounds a whole call, every wait included (default 2 minutes).
	MaxElapsed time.Duration `yaml:"max_elapsed"`
}

// WithDefaults fills the zero fields with their defaults.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.MaxPause <= 0 {
		p.MaxPause = 30 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	return p
}

// InFlightMargin is how much longer than a request timeout an unanswered
// request may still be on its way to the API: the wait before its state is
// read back adds it (a tenth of the timeout, at least a second).
func InFlightMargin(requestTimeout time.Duration) time.Duration {
	return max(time.Second, requestTimeout/10)
}

// WorstCall is the longest an idempotent call can take with attempts of at
// most requestTimeout: its last attempt starts by MaxElapsed and lasts at
// most requestTimeout.
func (p RetryPolicy) WorstCall(requestTimeout time.Duration) time.Duration {
	return p.WithDefaults().MaxElapsed + requestTimeout
}

// WorstReadBackCall is the longest a call that is not idempotent can take:
// its last attempt, unanswered, is followed by the wait until it can no
// longer be in flight (requestTimeout + InFlightMargin) and a read-back of
// the same budget.
func (p RetryPolicy) WorstReadBackCall(requestTimeout time.Duration) time.Duration {
	return p.WorstCall(requestTimeout) + 2*(requestTimeout+InFlightMargin(requestTimeout))
}

// WorstSubmit is the longest a record's set images and start verification
// can take together, back to back. The first image reaches the API during
// set images, so this bounds the time between the first image and the
// start, which SubmitWindow limits.
func (p RetryPolicy) WorstSubmit(requestTimeout time.Duration) time.Duration {
	return p.WorstCall(requestTimeout) + p.WorstReadBackCall(requestTimeout)
}

// Backoff returns the full-jitter delay before retry number n (1 = first
// retry): uniform in [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (p RetryPolicy) Backoff(n int) time.Duration {
	p = p.WithDefaults()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	if d > p.MaxDelay {
		d = p.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

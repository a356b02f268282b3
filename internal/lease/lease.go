// Package lease gives a run shard one writer at a time. On a store that can
// lock (blob.Locker: a local folder) the lease is an OS file lock, which goes
// with its process however that ends. On a store with conditional writes
// (blob.Versioned: S3) it is an object created with If-None-Match and renewed
// with If-Match, carrying an expiry: the lease of a holder that was killed
// runs out within one period, and the next attempt takes it over then.
//
// The expiry is read against the reader's clock: hosts sharing an S3 lease
// must agree on the time to well within a lease period (NTP does).
package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"reverify/internal/blob"
	"reverify/internal/fault"
)

// DefaultTTL is a lease's period: an S3 lease is renewed every third of it.
const DefaultTTL = time.Minute

// Holder says who holds a lease.
type Holder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Attempt string    `json:"attempt,omitempty"`
	Since   time.Time `json:"since"`
	// Expires is when an S3 lease runs out unless renewed.
	Expires time.Time `json:"expires,omitzero"`
}

// Self is this process as a holder.
func Self() Holder {
	host, _ := os.Hostname()
	return Holder{Host: host, PID: os.Getpid(), Since: time.Now().UTC()}
}

func (h Holder) String() string {
	s := fmt.Sprintf("host %s, pid %d", h.Host, h.PID)
	if h.Attempt != "" {
		s += ", attempt " + h.Attempt
	}
	s += ", since " + h.Since.UTC().Format(time.RFC3339)
	if !h.Expires.IsZero() {
		s += ", until " + h.Expires.UTC().Format(time.RFC3339) + " unless renewed"
	}
	return s
}

// ErrHeld: another live holder has the lease. The error that wraps it says
// who and until when. It ends the attempt before any work (fault.Abort).
var ErrHeld = fault.New(fault.Abort, "another attempt holds the run shard")

// ErrLost: the lease could not be renewed and may be another's now.
var ErrLost = fault.New(fault.Abort, "the run shard's lease was lost")

// Lease is a held lease.
type Lease struct {
	store blob.Store
	key   string
	ttl   time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	holder  Holder
	version string // S3: the lease object's ETag

	release func() error // local: the lock's
	lost    chan struct{}
	lostErr error
	stop    chan struct{}
	done    chan struct{}
}

// Acquire takes the lease of key (an object below store) for holder. A lease
// another live holder has is ErrHeld, naming the holder. An S3 lease whose
// holder stops renewing it (killed) is waited for — at most about one
// period — and taken over; one that is renewed meanwhile is ErrHeld.
func Acquire(ctx context.Context, store blob.Store, key string, holder Holder, ttl time.Duration, log *slog.Logger) (*Lease, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Lease{store: store, key: key, ttl: ttl, log: log, holder: holder, lost: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	switch s := store.(type) {
	case blob.Locker:
		if err := l.lock(s); err != nil {
			return nil, err
		}
		return l, nil
	case blob.Versioned:
		if err := l.acquire(ctx, s); err != nil {
			return nil, err
		}
		go l.renew(s)
		return l, nil
	}
	return nil, fmt.Errorf("lease: the output %s can neither lock nor write conditionally", store.URI())
}

func (l *Lease) lock(s blob.Locker) error {
	info, _ := json.Marshal(l.holder)
	release, err := s.Lock(l.key, info)
	if errors.Is(err, blob.ErrLocked) {
		var h Holder
		if b, rerr := s.LockInfo(l.key); rerr == nil && json.Unmarshal(b, &h) == nil {
			return fmt.Errorf("%w (%s); it pays for nothing twice: wait for it to end", ErrHeld, h)
		}
		return fmt.Errorf("%w (%s); wait for it to end", ErrHeld, l.store.KeyURI(l.key))
	}
	if err != nil {
		return fault.Mark(fault.Abort, fmt.Errorf("lease: %w", err))
	}
	l.release = release
	close(l.done)
	return nil
}

// acquire takes an S3 lease: created if absent, taken over once expired.
func (l *Lease) acquire(ctx context.Context, s blob.Versioned) error {
	for {
		l.holder.Expires = time.Now().Add(l.ttl).UTC()
		b, _ := json.Marshal(l.holder)
		v, err := s.PutIfAbsentVersion(ctx, l.key, b)
		if err == nil {
			l.version = v
			return nil
		}
		if !errors.Is(err, blob.ErrExists) {
			return fault.Mark(fault.Abort, fmt.Errorf("lease: %w", err))
		}
		cur, ver, err := s.GetVersion(ctx, l.key, 1<<16)
		if errors.Is(err, blob.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return fault.Mark(fault.Abort, fmt.Errorf("lease: %w", err))
		}
		var h Holder
		_ = json.Unmarshal(cur, &h)
		if wait := time.Until(h.Expires); wait > 0 {
			// Wait for it to run out, looking every third of a period: a
			// renewal says its holder is alive.
			l.log.Info("the run shard's lease is held: waiting for it to run out or be renewed", "holder", h.String())
			for wait > 0 {
				step := min(wait, l.ttl/3) + 50*time.Millisecond
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(step):
				}
				_, now, err := s.GetVersion(ctx, l.key, 1<<16)
				if err != nil && !errors.Is(err, blob.ErrNotFound) {
					return fault.Mark(fault.Abort, fmt.Errorf("lease: %w", err))
				}
				if errors.Is(err, blob.ErrNotFound) {
					break
				}
				if now != ver {
					return fmt.Errorf("%w (%s), and renewing it; it pays for nothing twice: wait for it to end", ErrHeld, h)
				}
				wait = time.Until(h.Expires)
			}
			continue
		}
		// Expired: its holder is gone. Take it over, unless another attempt
		// does first.
		l.holder.Expires = time.Now().Add(l.ttl).UTC()
		b, _ = json.Marshal(l.holder)
		v, err = s.PutIfVersion(ctx, l.key, b, ver)
		if err == nil {
			l.log.Warn("took over the run shard's lease from a holder that stopped renewing it", "previous_holder", h.String())
			l.version = v
			return nil
		}
		if !errors.Is(err, blob.ErrChanged) {
			return fault.Mark(fault.Abort, fmt.Errorf("lease: %w", err))
		}
	}
}

// renew renews an S3 lease every third of its period until Release. A
// renewal that finds the lease changed, or that cannot be made before the
// lease runs out, loses it (Lost).
func (l *Lease) renew(s blob.Versioned) {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		h, ver := l.holder, l.version
		l.mu.Unlock()
		expired := time.Now().After(h.Expires)
		h.Expires = time.Now().Add(l.ttl).UTC()
		b, _ := json.Marshal(h)
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		v, err := s.PutIfVersion(ctx, l.key, b, ver)
		cancel()
		switch {
		case err == nil && !expired:
			l.mu.Lock()
			l.holder, l.version = h, v
			l.mu.Unlock()
		case err == nil || errors.Is(err, blob.ErrChanged) || expired:
			// Renewed only after it ran out (another may have taken it
			// meanwhile, and lost it again), or taken: stop.
			if err == nil {
				err = errors.New("renewed only after it had run out")
			}
			l.lose(fmt.Errorf("%w: %v", ErrLost, err))
			return
		default:
			l.log.Warn("the run shard's lease was not renewed; trying again", "error", err)
		}
	}
}

func (l *Lease) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr == nil {
		l.lostErr = err
		close(l.lost)
	}
}

// Lost is closed when the lease was lost; Err then says why.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err is why the lease was lost (nil while it is held).
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// SetAttempt names the holder's attempt in the lease, from its next
// renewal (S3) or now (local).
func (l *Lease) SetAttempt(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder.Attempt = id
}

// Release gives the lease up.
func (l *Lease) Release(ctx context.Context) error {
	if l.release != nil {
		return l.release()
	}
	select {
	case <-l.stop:
		return nil
	default:
		close(l.stop)
	}
	<-l.done
	if l.Err() != nil {
		return nil // not ours any more
	}
	l.mu.Lock()
	ver := l.version
	l.mu.Unlock()
	if err := l.store.(blob.Versioned).DeleteIfVersion(ctx, l.key, ver); err != nil && !errors.Is(err, blob.ErrChanged) {
		return fmt.Errorf("lease: release: %w", err)
	}
	return nil
}

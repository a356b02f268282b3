package pipeline

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"time"

	"reverify/internal/fault"
)

// PollConfig shapes how each started process is polled. The yaml tags are
// the keys of the configuration's poll section.
type PollConfig struct {
	// InitialDelay before the first poll after start (the provider's typical
	// latency: polling earlier only spends calls).
	InitialDelay time.Duration `yaml:"initial_delay"`
	// Multiplier grows the interval after each poll that finds the process
	// still running, up to MaxInterval.
	Multiplier  float64       `yaml:"multiplier"`
	MaxInterval time.Duration `yaml:"max_interval"`
	// Jitter spreads polls by ± this fraction so that processes started
	// together are not polled together.
	Jitter float64 `yaml:"jitter"`
	// Deadline per record, counted from start: then the outcome is timeout
	// and the process id is kept for a later run.
	Deadline time.Duration `yaml:"deadline"`
	// BulkStatus finds final processes in the list of the API client's
	// processes (GET /processes) instead of polling each until it is final
	// (watch.go); ListInterval is the shortest interval between two lists
	// (0: initial_delay/10, at most 2 s).
	BulkStatus   bool          `yaml:"bulk_status"`
	ListInterval time.Duration `yaml:"list_interval"`
}

// next returns the interval after prev (0: the first poll).
func (c PollConfig) next(prev time.Duration) time.Duration {
	if prev <= 0 {
		return c.InitialDelay
	}
	d := time.Duration(float64(prev) * c.Multiplier)
	if c.MaxInterval > 0 && d > c.MaxInterval {
		d = c.MaxInterval
	}
	if d <= 0 {
		d = prev
	}
	return d
}

// jittered spreads d by ±Jitter.
func (c PollConfig) jittered(d time.Duration) time.Duration {
	if c.Jitter <= 0 || d <= 0 {
		return d
	}
	f := 1 + c.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

// pollQueue orders in-flight records by their next poll time. The scheduler
// holds thousands of processes in it at the cost of one heap entry each; no
// goroutine sleeps per process.
type pollQueue []*record

func (q pollQueue) Len() int           { return len(q) }
func (q pollQueue) Less(i, j int) bool { return q[i].nextPoll.Before(q[j].nextPoll) }
func (q pollQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIndex = i
	q[j].heapIndex = j
}
func (q *pollQueue) Push(x any) {
	t := x.(*record)
	t.heapIndex = len(*q)
	*q = append(*q, t)
}
func (q *pollQueue) Pop() any {
	old := *q
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.heapIndex = -1
	*q = old[:n-1]
	return t
}

// pollResult is what a poll worker found.
type pollResult struct {
	t    *record
	done bool // the record left polling (final, timeout, error); else poll again
}

// scheduler polls started processes when due with a fixed pool of workers,
// and hands every record that left polling to out.
type scheduler struct {
	cfg     PollConfig
	workers int
	now     func() time.Time
	poll    func(ctx context.Context, t *record) (done bool, err error)
	// list, when set, is the bulk status list (watch.go), used when
	// cfg.BulkStatus is set.
	list lister
	// listFailed is told why the bulk list was given up (a refusal).
	listFailed func(err error)
	// drainBy, when closed, makes the scheduler give up on records still
	// polling: they go to out with interrupted set.
	drainBy <-chan struct{}
}

// run polls until in is closed and every record has left. An error from poll
// (fatal for the run) stops it.
func (s *scheduler) run(ctx context.Context, in <-chan *record, out chan<- *record) error {
	var q pollQueue
	work := make(chan *record, s.workers)
	results := make(chan pollResult, s.workers)
	errc := make(chan error, s.workers)
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	for i := 0; i < s.workers; i++ {
		go func() {
			for t := range work {
				var done bool
				err := guard("poll worker", func() (err error) {
					done, err = s.poll(wctx, t)
					return err
				})()
				if err != nil {
					errc <- err
					return
				}
				results <- pollResult{t: t, done: done}
			}
		}()
	}
	defer close(work)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	outstanding := 0
	inOpen := true
	draining := false
	drainBy := s.drainBy
	var pendingOut []*record

	// Bulk status (watch.go). A list runs on its own goroutine, one at a
	// time, and hands what it found back here.
	var w *watcher
	if s.cfg.BulkStatus && s.list != nil {
		w = newWatcher(s.cfg, s.now())
	}
	listed := make(chan listResult, 1)

	for {
		now := s.now()
		if w != nil && !draining && w.due(now) {
			w.listing = true
			since := w.since()
			go func() {
				ids, err := s.list(wctx, since)
				listed <- listResult{ids: ids, err: err}
			}()
		}
		for !draining && q.Len() > 0 && outstanding < s.workers && !q[0].nextPoll.After(now) {
			t := heap.Pop(&q).(*record)
			outstanding++
			work <- t
		}
		if !inOpen && q.Len() == 0 && outstanding == 0 && len(pendingOut) == 0 {
			return nil
		}
		// The next wake-up: the earliest due poll, or the next list.
		if !draining {
			var wake time.Time
			if q.Len() > 0 {
				wake = q[0].nextPoll
			}
			if w != nil && !w.listing && len(w.watched) > 0 && (wake.IsZero() || w.nextList.Before(wake)) {
				wake = w.nextList
			}
			if !wake.IsZero() {
				resetTimer(timer, max(wake.Sub(now), time.Millisecond))
			}
		}
		var sendCh chan<- *record
		var next *record
		if len(pendingOut) > 0 {
			sendCh, next = out, pendingOut[0]
		}
		var inCh <-chan *record
		if inOpen {
			inCh = in
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return err
		case t, ok := <-inCh:
			if !ok {
				inOpen = false
				continue
			}
			if draining {
				t.interrupted = true
				pendingOut = append(pendingOut, t)
				continue
			}
			if w != nil {
				paid := w.pays()
				w.arrived(now)
				if !paid && w.pays() {
					w.watchWaiting(&q, now)
				}
			}
			s.schedule(&q, t, now, w)
		case lr := <-listed:
			w.listing = false
			now = s.now()
			w.nextList = now.Add(w.every())
			w.found(&q, lr.ids, now)
			switch {
			case lr.err == nil, ctx.Err() != nil:
			case fault.Fatal(lr.err):
				return lr.err
			case fault.Of(lr.err) == fault.Record:
				// The API refuses the list (a 4xx): poll each process instead,
				// for the rest of the run.
				if s.listFailed != nil {
					s.listFailed(lr.err)
				}
				w.unwatchAll(&q, now)
				w = nil
			}
		case r := <-results:
			outstanding--
			if w != nil && (r.done || draining) {
				w.forget(r.t)
			}
			if r.done || draining {
				r.t.interrupted = r.t.interrupted || !r.done
				pendingOut = append(pendingOut, r.t)
			} else {
				s.schedule(&q, r.t, s.now(), w)
			}
		case sendCh <- next:
			pendingOut = pendingOut[1:]
		case <-timer.C:
		case <-drainBy:
			// Stop polling: every waiting record leaves as interrupted; records
			// being polled leave when their poll returns.
			draining = true
			drainBy = nil
			for q.Len() > 0 {
				t := heap.Pop(&q).(*record)
				t.interrupted = true
				if w != nil {
					w.forget(t)
				}
				pendingOut = append(pendingOut, t)
			}
		}
	}
}

// schedule queues t for its next poll. A record entering polling is
// watched (its own first poll comes late) when w, the bulk status, takes it.
func (s *scheduler) schedule(q *pollQueue, t *record, now time.Time, w *watcher) {
	d := s.cfg.next(t.pollInterval)
	if t.pollInterval <= 0 && w != nil {
		if fallback, ok := w.watch(t); ok {
			d = fallback
		}
	}
	t.pollInterval = d
	t.pollAt(now.Add(s.cfg.jittered(t.pollInterval)), now)
	heap.Push(q, t)
}

// pollAt sets t's next poll to next, but not past its deadline (one last
// look at the deadline itself) and not before now.
func (t *record) pollAt(next, now time.Time) {
	if !t.deadline.IsZero() && next.After(t.deadline) {
		next = t.deadline
	}
	if next.Before(now) {
		next = now
	}
	t.nextPoll = next
}

func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}

package pipeline

import (
	"container/heap"
	"context"
	"time"

	"reverify/internal/assure"
)

// Bulk status (GET /processes): instead of polling every process until it
// is final, the scheduler lists the API client's final processes created
// since the oldest one it watches, a page of up to 2,000 per call, and polls
// only those it finds there, once each, for the full answer. A run then
// spends about one poll per record (the floor) however long processing
// takes, plus one list call per listInterval, which the watcher stretches
// until a list finds about listTarget records.
//
// The list is a shortcut, not the truth: a watched record is still polled
// on its own, late (6 × initial_delay after its start, past the latency of
// nearly every process, then every max_interval), so a process the list
// misses (a listing that lags, a page shifted by deletions, another
// client's processes crowding the window) is found as before. Processes an
// earlier attempt created have no known creation time and are polled as
// before, and so are all processes while the records finish too slowly for
// a list to pay (fewer than listPays per listMax).
//
// The latency to the final status: a record is found within one list
// interval of becoming final, at most 2 × initial_delay. Polling on its own
// (initial_delay 20 s, then 40 s later, then every 60 s) found a record
// final after about 49 s on average at the emulator's latencies (median
// 25 s, mean 28 s); found within 40 s of it by the list it is about
// 28 + 20 = 48 s at worst, and less the more records are in flight.

// listTarget is how many records a list call should find final: a list
// costs one call per listTarget records (2.5%).
const listTarget = 40

// listPays is how many records a list must find for it to cost less than
// polling each: a record polled on its own costs about 0.35 polls more than
// the one that finds it final (1.31 to 1.5 polls per record at the
// emulator's latencies); a list finding 4 costs 0.25 per record.
const listPays = 4

// listFloor is the shortest interval between two lists when the
// configuration sets none.
const listFloor = 2 * time.Second

// listPage is the page size of the bulk list (the API's maximum).
const listPage = 2000

// watchWindow is how far back a list may reach: the API lists the processes
// created in the last 30 days (listWindow); a day's margin covers clock skew.
const watchWindow = listWindow - 24*time.Hour

// finalStatuses are the statuses the bulk list asks for.
var finalStatuses = []assure.Status{assure.StatusAccepted, assure.StatusRejected, assure.StatusInconclusive,
	assure.StatusFailed, assure.StatusCanceled}

// lister returns the ids of the final processes created at or after since.
// A list that ends early still returns what it read.
type lister func(ctx context.Context, since time.Time) ([]string, error)

// listResult is what one list found.
type listResult struct {
	ids []string
	err error
}

// watcher is the scheduler's bulk status state. It is owned by the
// scheduler's goroutine.
type watcher struct {
	cfg      PollConfig
	interval time.Duration // the shortest interval between lists
	watched  map[string]*record
	listing  bool      // a list call is under way
	nextList time.Time // when the next list is due

	// The rate records arrive at (started processes per second), the
	// estimate of the rate they become final at in steady state.
	arrivals    int
	windowStart time.Time
	rate        float64
}

func newWatcher(cfg PollConfig, now time.Time) *watcher {
	iv := cfg.ListInterval
	if iv <= 0 {
		iv = min(listFloor, max(cfg.InitialDelay/10, time.Millisecond))
	}
	return &watcher{cfg: cfg, interval: iv, watched: map[string]*record{}, windowStart: now}
}

// arrived counts a record that entered polling.
func (w *watcher) arrived(now time.Time) {
	w.arrivals++
	window := max(w.cfg.InitialDelay/4, w.interval)
	if el := now.Sub(w.windowStart); el >= window {
		r := float64(w.arrivals) / el.Seconds()
		if w.rate == 0 {
			w.rate = r
		} else {
			w.rate = (w.rate + r) / 2
		}
		w.arrivals, w.windowStart = 0, now
	}
}

// listMax is the longest interval between two lists: 2 × initial_delay.
func (w *watcher) listMax() time.Duration { return max(2*w.cfg.InitialDelay, w.interval) }

// pays reports whether records finish fast enough for a list to find
// listPays of them within listMax.
func (w *watcher) pays() bool {
	return w.rate*w.listMax().Seconds() >= listPays
}

// every is the interval until the next list: long enough to find listTarget
// records, at most listMax.
func (w *watcher) every() time.Duration {
	if w.rate <= 0 {
		return w.listMax()
	}
	d := time.Duration(listTarget / w.rate * float64(time.Second))
	return min(max(d, w.interval), w.listMax())
}

// watch makes t watched when the list pays and its creation time is known.
// It returns the delay before t's own first poll: the fallback, past the
// latency of nearly every process (the emulator's longest is 6 × the
// default initial_delay).
func (w *watcher) watch(t *record) (time.Duration, bool) {
	if t.created.IsZero() || t.st.process == "" || !w.pays() {
		return 0, false
	}
	t.watched = true
	w.watched[t.st.process] = t
	return max(6*w.cfg.InitialDelay, w.cfg.MaxInterval), true
}

// watchWaiting watches the records in q still waiting for their first own
// poll that entered polling before the list paid: those of a run's first
// seconds, before the rate records arrive at was known. Their first own
// poll moves to the fallback, as if they had been watched on arrival, and
// the list finds them. Call it when pays turns true.
func (w *watcher) watchWaiting(q *pollQueue, now time.Time) {
	moved := false
	for _, t := range *q {
		if t.watched || t.pollInterval != w.cfg.InitialDelay || t.effort.polls.Load() > 0 {
			continue // watched, or polled already: its schedule stands
		}
		fallback, ok := w.watch(t)
		if !ok {
			continue
		}
		// It arrived about pollInterval before its first poll.
		t.pollAt(t.nextPoll.Add(fallback-t.pollInterval), now)
		t.pollInterval = fallback
		moved = true
	}
	if moved {
		heap.Init(q)
	}
}

// forget stops watching t (it left polling).
func (w *watcher) forget(t *record) {
	if t.watched {
		t.watched = false
		delete(w.watched, t.st.process)
	}
}

// due reports whether a list should start now.
func (w *watcher) due(now time.Time) bool {
	return !w.listing && len(w.watched) > 0 && !now.Before(w.nextList)
}

// since is the list's start creation date: the oldest watched process's
// creation time, to the second (the API's resolution). Watched records too
// old for the API's 30-day window are no longer watched: they are polled on
// their own.
func (w *watcher) since() time.Time {
	var oldest, newest time.Time
	for _, t := range w.watched {
		if newest.IsZero() || t.created.After(newest) {
			newest = t.created
		}
	}
	for _, t := range w.watched {
		if t.created.Before(newest.Add(-watchWindow)) {
			w.forget(t)
			continue
		}
		if oldest.IsZero() || t.created.Before(oldest) {
			oldest = t.created
		}
	}
	return oldest.UTC().Truncate(time.Second)
}

// found moves the watched records the list found final to the front of the
// poll queue.
func (w *watcher) found(q *pollQueue, ids []string, now time.Time) {
	for _, id := range ids {
		t := w.watched[id]
		if t == nil || t.heapIndex < 0 || !t.nextPoll.After(now) {
			continue // not ours, being polled, or due anyway
		}
		t.nextPoll = now
		heap.Fix(q, t.heapIndex)
	}
}

// unwatchAll stops bulk status for the run: every watched record is polled
// on its own from now on, the first time after initial_delay.
func (w *watcher) unwatchAll(q *pollQueue, now time.Time) {
	for _, t := range w.watched {
		w.forget(t)
		if t.heapIndex >= 0 {
			t.pollInterval = w.cfg.InitialDelay
			if next := now.Add(w.cfg.InitialDelay); next.Before(t.nextPoll) {
				t.nextPoll = next
				heap.Fix(q, t.heapIndex)
			}
		}
	}
}

// listFinal is the scheduler's lister: the ids of the final processes of
// the API client created since, every page of them. Calls made for no
// record, they count in the run's totals only.
func (p *Pipeline) listFinal(ctx context.Context, since time.Time) ([]string, error) {
	var ids []string
	err := p.deps.API.EachProcess(ctx, assure.ProcessQuery{Start: since, Statuses: finalStatuses, Limit: listPage},
		func(lp assure.ListedProcess) error {
			ids = append(ids, lp.ProcessID)
			return nil
		})
	return ids, err
}

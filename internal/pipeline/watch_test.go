package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/fault"
)

// fakeFinals is a pretend API for the scheduler: process i is final from
// finalAt[i] on. Lists and polls read it.
type fakeFinals struct {
	mu      sync.Mutex
	finalAt map[string]time.Time
	polls   map[string]int
	listed  map[string]bool // returned by a list
	byList  int             // polls of a process a list had returned
	late    int             // polls more than 300 ms after the process became final: its own first poll, not a list's find
	lists   atomic.Int64
	refuse  bool // the list answers a 4xx
}

func (f *fakeFinals) final(id string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.finalAt[id]
	return ok && !now.Before(at)
}

func (f *fakeFinals) list(_ context.Context, since time.Time) ([]string, error) {
	f.lists.Add(1)
	if f.refuse {
		return nil, fault.Mark(fault.Record, errors.New("400 bad request"))
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, at := range f.finalAt {
		if !now.Before(at) {
			ids = append(ids, id)
			f.listed[id] = true
		}
	}
	return ids, nil
}

func (f *fakeFinals) poll(_ context.Context, t *record) (bool, error) {
	f.mu.Lock()
	f.polls[t.st.process]++
	if f.listed[t.st.process] {
		f.byList++
	}
	if at, ok := f.finalAt[t.st.process]; ok && time.Since(at) > 300*time.Millisecond {
		f.late++
	}
	f.mu.Unlock()
	if f.final(t.st.process, time.Now()) {
		t.st.step = stepEnded
		return true, nil
	}
	return false, nil
}

// runWatched sends n records through a scheduler with bulk status, each
// final 30 ms after it arrives, and returns the fake.
func runWatched(t *testing.T, n int, refuse bool) (*fakeFinals, []*record) {
	t.Helper()
	f := &fakeFinals{finalAt: map[string]time.Time{}, polls: map[string]int{}, listed: map[string]bool{}, refuse: refuse}
	var refused atomic.Int64
	s := &scheduler{
		// The first own poll of a record comes after 400 ms (a watched one's
		// after 2.4 s); a list finds it final after 30 ms.
		cfg: PollConfig{InitialDelay: 400 * time.Millisecond, Multiplier: 2, MaxInterval: 800 * time.Millisecond,
			BulkStatus: true, ListInterval: 5 * time.Millisecond},
		workers: 4, now: time.Now, poll: f.poll, list: f.list,
		listFailed: func(error) { refused.Add(1) },
	}
	in := make(chan *record)
	out := make(chan *record, n)
	errc := make(chan error, 1)
	go func() { errc <- s.run(context.Background(), in, out) }()
	created := time.Now()
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		f.mu.Lock()
		f.finalAt[id] = time.Now().Add(30 * time.Millisecond)
		f.mu.Unlock()
		in <- &record{st: state{process: id}, created: created, heapIndex: -1}
		time.Sleep(100 * time.Microsecond)
	}
	close(in)
	require.NoError(t, <-errc)
	close(out)
	var recs []*record
	for r := range out {
		recs = append(recs, r)
	}
	require.Len(t, recs, n)
	if refuse {
		assert.Equal(t, int64(1), refused.Load(), "a refused list is given up once")
	}
	return f, recs
}

// With bulk status every record is polled once, when the list found it
// final (or, before the list pays, at its first own poll), and the lists
// cost a fraction of a call per record.
func TestBulkStatusPollsEachRecordOnce(t *testing.T) {
	const n = 1000
	f, recs := runWatched(t, n, false)
	for _, r := range recs {
		assert.Equal(t, 1, f.polls[r.st.process], "process %s polled once", r.st.process)
		assert.False(t, r.watched, "a record that left polling is no longer watched")
	}
	// Records arriving after the first 100 ms (the rate's first estimate)
	// are watched: the list finds them 30 ms after they arrive, long before
	// their own poll at 2.4 s; those that arrived before are watched from
	// then on, their own first poll (400 ms) moved to 2.4 s too.
	assert.Greater(t, f.byList, n/2, "most records are polled because a list found them final")
	assert.LessOrEqual(t, f.late, n/100, "records polled late, on their own: those of the first 100 ms are watched too once the rate is known")
	assert.Less(t, f.lists.Load(), int64(n/10), "lists find many records each")
}

// An API that refuses the list: the run goes on polling each process.
func TestBulkStatusRefusedFallsBackToPolling(t *testing.T) {
	const n = 300
	f, recs := runWatched(t, n, true)
	for _, r := range recs {
		assert.Equal(t, 1, f.polls[r.st.process], "process %s polled once", r.st.process)
	}
	assert.Equal(t, int64(1), f.lists.Load(), "no list after the refusal")
}

func TestWatcherInterval(t *testing.T) {
	start := time.Unix(0, 0)
	w := newWatcher(PollConfig{InitialDelay: 20 * time.Second}, start)
	assert.Equal(t, 2*time.Second, w.interval, "initial_delay/10")
	assert.False(t, w.pays(), "no rate known yet")
	assert.Equal(t, 40*time.Second, w.every(), "at most 2 × initial_delay")
	// 10 records per second: a list every 4 s finds 40.
	for i := 1; i <= 50; i++ {
		w.arrived(start.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	assert.InDelta(t, 10, w.rate, 0.5)
	assert.True(t, w.pays())
	assert.InDelta(t, 4*time.Second, w.every(), float64(200*time.Millisecond))

	// Too slow for a list to pay: one record per 20 s finds 2 per
	// 2 × initial_delay.
	slow := newWatcher(PollConfig{InitialDelay: 20 * time.Second}, start)
	for i := 1; i <= 10; i++ {
		slow.arrived(start.Add(time.Duration(i) * 20 * time.Second))
	}
	assert.False(t, slow.pays())
	_, ok := slow.watch(&record{st: state{process: "p"}, created: start})
	assert.False(t, ok)

	// The window: the oldest watched creation time, to the second; one
	// older than the API's window is polled on its own.
	w.watch(&record{st: state{process: "a"}, created: start.Add(40*24*time.Hour + 1500*time.Millisecond)})
	w.watch(&record{st: state{process: "b"}, created: start.Add(40*24*time.Hour + 3*time.Second)})
	old := &record{st: state{process: "c"}, created: start}
	w.watch(old)
	assert.Equal(t, start.Add(40*24*time.Hour+time.Second).UTC(), w.since())
	assert.False(t, old.watched)
	assert.Len(t, w.watched, 2)
}

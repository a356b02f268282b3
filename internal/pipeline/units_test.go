package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/report"
	"reverify/internal/source"
)

func TestThreshold(t *testing.T) {
	outcomes := func(errs, ok int) []string {
		var out []string
		for i := 0; i < errs; i++ {
			out = append(out, report.OutcomeError)
		}
		for i := 0; i < ok; i++ {
			out = append(out, report.OutcomeAccepted)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		th       Threshold
		outcomes []string
		fails    bool
	}{
		{"disabled", Threshold{}, outcomes(100, 0), false},
		{"at the limit", Threshold{MinRecords: 10, MaxErrorShare: 0.5}, outcomes(5, 5), false},
		{"over the limit", Threshold{MinRecords: 10, MaxErrorShare: 0.5}, outcomes(6, 4), true},
		{"certain early", Threshold{MinRecords: 10, MaxErrorShare: 0.5}, outcomes(6, 0), true},
		{"only the first N count", Threshold{MinRecords: 10, MaxErrorShare: 0.5}, append(outcomes(0, 10), outcomes(50, 0)...), false},
		{"skips are not errors", Threshold{MinRecords: 4, MaxErrorShare: 0.25}, []string{"skipped", "skipped", "skipped", "timeout"}, false},
		{"skips do not dilute", Threshold{MinRecords: 4, MaxErrorShare: 0.5}, append([]string{"skipped", "skipped", "skipped", "skipped"}, outcomes(3, 0)...), true},
		{"share 1 never aborts", Threshold{MinRecords: 4, MaxErrorShare: 1}, outcomes(4, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := thresholdCheck{t: tc.th}
			var err error
			for _, o := range tc.outcomes {
				if err = c.add(o); err != nil {
					break
				}
			}
			if tc.fails {
				require.ErrorIs(t, err, ErrThreshold)
				assert.Contains(t, err.Error(), "ended in error")
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestPollIntervals(t *testing.T) {
	c := PollConfig{InitialDelay: 20 * time.Second, Multiplier: 2, MaxInterval: 60 * time.Second}
	var got []time.Duration
	d := time.Duration(0)
	for i := 0; i < 5; i++ {
		d = c.next(d)
		got = append(got, d)
	}
	assert.Equal(t, []time.Duration{20 * time.Second, 40 * time.Second, 60 * time.Second, 60 * time.Second, 60 * time.Second}, got)
	c.Jitter = 0.2
	for i := 0; i < 100; i++ {
		j := c.jittered(10 * time.Second)
		assert.GreaterOrEqual(t, j, 8*time.Second)
		assert.LessOrEqual(t, j, 12*time.Second)
	}
}

// The scheduler polls thousands of tasks from one heap, each when due, and
// honours the deadline.
func TestSchedulerPollsWhenDueAndTimesOut(t *testing.T) {
	const n = 2000
	type state struct{ polls int }
	states := make([]state, n)
	s := &scheduler{
		cfg:     PollConfig{InitialDelay: 5 * time.Millisecond, Multiplier: 2, MaxInterval: 20 * time.Millisecond, Deadline: time.Second},
		workers: 4,
		now:     time.Now,
		poll: func(_ context.Context, tk *task) (bool, error) {
			i := tk.heapIndex // not used by the queue while polled
			_ = i
			st := &states[tk.pages] // the test keeps the task's index in pages
			st.polls++
			if tk.pages%100 == 0 { // never final: must time out
				if !time.Now().Before(tk.deadline) {
					tk.timedOut = true
					return true, nil
				}
				return false, nil
			}
			return st.polls >= 3, nil
		},
	}
	in := make(chan *task)
	out := make(chan *task, n)
	errc := make(chan error, 1)
	go func() { errc <- s.run(context.Background(), in, out) }()
	start := time.Now()
	for i := 0; i < n; i++ {
		deadline := time.Time{}
		if i%100 == 0 {
			deadline = start.Add(100 * time.Millisecond)
		}
		in <- &task{pages: i, heapIndex: -1, deadline: deadline}
	}
	close(in)
	require.NoError(t, <-errc)
	close(out)
	done := 0
	for tk := range out {
		done++
		if tk.pages%100 == 0 {
			assert.True(t, tk.timedOut, "task %d", tk.pages)
		} else {
			assert.Equal(t, 3, states[tk.pages].polls, "task %d polled until final", tk.pages)
		}
	}
	assert.Equal(t, n, done)
}

func TestSchedulerDrain(t *testing.T) {
	drain := make(chan struct{})
	s := &scheduler{
		cfg:     PollConfig{InitialDelay: time.Millisecond, Multiplier: 1, MaxInterval: time.Millisecond},
		workers: 2, now: time.Now, drainBy: drain,
		poll: func(context.Context, *task) (bool, error) { return false, nil }, // never final
	}
	in := make(chan *task)
	out := make(chan *task, 10)
	errc := make(chan error, 1)
	go func() { errc <- s.run(context.Background(), in, out) }()
	for i := 0; i < 5; i++ {
		in <- &task{heapIndex: -1}
	}
	time.Sleep(20 * time.Millisecond)
	close(drain)
	in <- &task{heapIndex: -1} // arrives while draining
	close(in)
	require.NoError(t, <-errc)
	close(out)
	n := 0
	for tk := range out {
		n++
		assert.True(t, tk.interrupted)
	}
	assert.Equal(t, 6, n)
}

func TestSchedulerStopsOnFatalPollError(t *testing.T) {
	fatalErr := errors.New("credentials refused")
	s := &scheduler{cfg: PollConfig{InitialDelay: time.Millisecond}, workers: 2, now: time.Now,
		poll: func(context.Context, *task) (bool, error) { return false, fatalErr }}
	in := make(chan *task, 1)
	in <- &task{heapIndex: -1}
	err := s.run(context.Background(), in, make(chan *task, 1))
	assert.ErrorIs(t, err, fatalErr)
}

func TestInShardIsStableAndBalanced(t *testing.T) {
	counts := make([]int, 4)
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("rec-%06d", i)
		k := -1
		for s := 0; s < 4; s++ {
			if InShard(id, s, 4) {
				require.Equal(t, -1, k, "a record is in exactly one shard")
				k = s
			}
		}
		counts[k]++
	}
	for _, c := range counts {
		assert.InDelta(t, 2500, c, 200)
	}
	assert.True(t, InShard("anything", 0, 1))
	// Pinned: shards must not move between versions, or a resumed array job
	// would redo or miss records.
	assert.True(t, InShard("rec-000001", 3, 4))
}

func TestJournalFoldsEntries(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	row := &report.Row{RecordID: "c", Outcome: "accepted"}
	entries := [][]Entry{
		{ // first attempt
			{Type: EntryRun, Attempt: "20260101T000000Z-aaaa", RunStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Type: EntryDossier, Record: "a", Dossier: "d-a"},
			{Type: EntryDossier, Record: "b", Dossier: "d-b"},
			{Type: EntryProcess, Record: "b", Dossier: "d-b", Process: "p-b", Pages: 2},
			{Type: EntryDossier, Record: "c", Dossier: "d-c"},
			{Type: EntryProcess, Record: "c", Dossier: "d-c", Process: "p-c", Pages: 1},
			{Type: EntryStarted, Record: "c", Dossier: "d-c", Process: "p-c"},
			{Type: EntryFinal, Record: "c", Row: row},
			{Type: EntryDeleted, Record: "c", Dossier: "d-c"},
			{Type: EntryDossier, Record: "d", Dossier: "d-d"},
			{Type: EntryStarted, Record: "d", Dossier: "d-d", Process: "p-d"},
			{Type: EntryFinal, Record: "d", Row: &report.Row{RecordID: "d"}},
			{Type: EntryCommitted, Records: []string{"d"}},
		},
		{ // second attempt
			{Type: EntryRun, Attempt: "20260102T000000Z-bbbb", RunStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Type: EntryStarted, Record: "b", Dossier: "d-b", Process: "p-b"},
		},
	}
	for i, es := range entries {
		j, err := OpenJournal(ctx, store, "run", 0, 1, fmt.Sprintf("2026010%dT000000Z-x", i+1), 0)
		require.NoError(t, err)
		for _, e := range es {
			e.V = JournalVersion
			require.NoError(t, j.Append(ctx, e, true))
		}
		require.NoError(t, j.Close())
	}
	// A line cut short by a crash is skipped.
	require.NoError(t, store.Put(ctx, JournalPrefix("run", 0, 1)+"20260103T000000Z-y.jsonl", []byte(`{"v":1,"t":"dossier","rec":"z","dos`)))

	st, err := ReadJournal(ctx, store, "run", 0, 1)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Attempts)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), st.RunStart)
	assert.Equal(t, &RecordState{Dossier: "d-a"}, st.Records["a"])
	assert.Equal(t, &RecordState{Dossier: "d-b", Process: "p-b", Pages: 2, Started: true}, st.Records["b"])
	assert.Equal(t, &RecordState{Dossier: "d-c", Process: "p-c", Pages: 1, Started: true, Row: row, Deleted: true}, st.Records["c"])
	assert.True(t, st.Records["d"].Committed)
	assert.Nil(t, st.Records["d"].Row, "a committed row is not kept in memory")
	assert.NotContains(t, st.Records, "z")

	// An unknown version is refused, not guessed at.
	require.NoError(t, store.Put(ctx, JournalPrefix("run", 0, 1)+"20260104T000000Z-z.jsonl", []byte(`{"v":9,"t":"run"}`+"\n")))
	_, err = ReadJournal(ctx, store, "run", 0, 1)
	assert.ErrorContains(t, err, "version 9")
}

// Attempts restarted within one second (a crash loop, a quick retry) are
// folded in the order they ran. With ids that sorted by start second and a
// random suffix, the later attempt's final row and deletion could be folded
// before the earlier attempt's dossier entry, which reset the record: the
// resumed run polled a process whose dossier was gone and wrote an http_404
// error row instead of the paid result (found by the e2e crash loop).
func TestJournalFoldsAttemptsOfOneSecondInRunOrder(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 8, 38, 13, 0, time.UTC)
	row := &report.Row{RecordID: "r", Outcome: "accepted"}
	for i := 0; i < 20; i++ { // random suffixes: each order of them
		store, err := blob.NewLocal(t.TempDir())
		require.NoError(t, err)
		attempts := [][]Entry{
			{
				{Type: EntryDossier, Record: "r", Dossier: "d"},
				{Type: EntryProcess, Record: "r", Dossier: "d", Process: "p", Pages: 1},
				{Type: EntryStarted, Record: "r", Dossier: "d", Process: "p"},
			},
			{
				{Type: EntryFinal, Record: "r", Dossier: "d", Process: "p", Row: row},
				{Type: EntryDeleted, Record: "r", Dossier: "d"},
			},
		}
		for n, es := range attempts {
			id := report.AttemptID(n+1, now) // the same second
			j, err := OpenJournal(ctx, store, "run", 0, 1, id, 0)
			require.NoError(t, err)
			require.NoError(t, j.Append(ctx, Entry{V: JournalVersion, Type: EntryRun, Attempt: id, RunStart: now}, true))
			for _, e := range es {
				e.V = JournalVersion
				require.NoError(t, j.Append(ctx, e, true))
			}
			require.NoError(t, j.Close())
		}
		st, err := ReadJournal(ctx, store, "run", 0, 1)
		require.NoError(t, err)
		require.Equal(t, 2, st.Attempts)
		r := st.Records["r"]
		require.NotNil(t, r.Row, "the second attempt's final row survives the fold")
		assert.True(t, r.Deleted)
	}
	// Older ids (no attempt number) sort before numbered ones.
	assert.Less(t, report.NewAttemptID(now.Add(time.Hour)), report.AttemptID(1, now))
	assert.Less(t, report.AttemptID(9, now), report.AttemptID(10, now))
}

func TestJournalOnObjectStoreCheckpoints(t *testing.T) {
	ctx := context.Background()
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	store := objectOnly{local} // not *blob.Local: takes the checkpoint path
	j, err := OpenJournal(ctx, store, "run", 0, 1, "20260101T000000Z-a", time.Hour)
	require.NoError(t, err)
	require.NoError(t, j.Append(ctx, Entry{V: 1, Type: EntryDossier, Record: "a", Dossier: "d"}, true))
	require.NoError(t, j.Sync(ctx)) // a checkpoint now, not at the interval
	require.NoError(t, j.Append(ctx, Entry{V: 1, Type: EntryStarted, Record: "a", Dossier: "d", Process: "p"}, true))
	require.NoError(t, j.Close())
	var keys []string
	require.NoError(t, store.List(ctx, JournalPrefix("run", 0, 1), func(o blob.Object) error {
		keys = append(keys, o.Key)
		return nil
	}))
	assert.Len(t, keys, 2, "one checkpoint object per interval with entries")
	st, err := ReadJournal(ctx, store, "run", 0, 1)
	require.NoError(t, err)
	assert.True(t, st.Records["a"].Started)
}

type objectOnly struct{ blob.Store }

// A Load failure classed ErrAbort ends the run; ErrRetry is retried, then the
// record ends as error.
func TestFatalClassification(t *testing.T) {
	assert.True(t, fatal(fmt.Errorf("x: %w", source.ErrAbort)))
	assert.False(t, fatal(fmt.Errorf("x: %w", source.ErrRetry)))
	assert.True(t, fatal(&assure.APIError{StatusCode: 401, Endpoint: assure.EndpointGetProcess}))
	assert.True(t, fatal(&assure.APIError{StatusCode: 403, Endpoint: assure.EndpointGetProcess}))
	assert.False(t, fatal(&assure.APIError{StatusCode: 404, Endpoint: assure.EndpointGetProcess}))
	assert.False(t, fatal(&assure.APIError{StatusCode: 503, Endpoint: assure.EndpointGetProcess}))
	assert.True(t, fatal(&journalError{err: errors.New("disk full")}))
	assert.Equal(t, "http_400", errorCode(fmt.Errorf("create process: %w", &assure.APIError{StatusCode: 400})))
	assert.Equal(t, "outcome_unknown", errorCode(&assure.OutcomeUnknownError{Err: errors.New("reset")}))
}

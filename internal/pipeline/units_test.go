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
	"reverify/internal/fault"
	"reverify/internal/journal"
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

// The scheduler polls thousands of records from one heap, each when due, and
// honours the deadline.
func TestSchedulerPollsWhenDueAndTimesOut(t *testing.T) {
	const n = 2000
	type polled struct{ polls int }
	states := make([]polled, n)
	s := &scheduler{
		cfg:     PollConfig{InitialDelay: 5 * time.Millisecond, Multiplier: 2, MaxInterval: 20 * time.Millisecond, Deadline: time.Second},
		workers: 4,
		now:     time.Now,
		poll: func(_ context.Context, tk *record) (bool, error) {
			st := &states[tk.st.pages] // the test keeps the record's index in pages
			st.polls++
			if tk.st.pages%100 == 0 { // never final: must time out
				if !time.Now().Before(tk.deadline) {
					tk.st.timeout(time.Second, time.Now())
					return true, nil
				}
				return false, nil
			}
			return st.polls >= 3, nil
		},
	}
	in := make(chan *record)
	out := make(chan *record, n)
	errc := make(chan error, 1)
	go func() { errc <- s.run(context.Background(), in, out) }()
	start := time.Now()
	for i := 0; i < n; i++ {
		deadline := time.Time{}
		if i%100 == 0 {
			deadline = start.Add(100 * time.Millisecond)
		}
		in <- &record{st: state{pages: i}, heapIndex: -1, deadline: deadline}
	}
	close(in)
	require.NoError(t, <-errc)
	close(out)
	done := 0
	for tk := range out {
		done++
		if tk.st.pages%100 == 0 {
			require.True(t, tk.st.ended(), "record %d", tk.st.pages)
			assert.Equal(t, report.OutcomeTimeout, tk.st.end.outcome, "record %d", tk.st.pages)
		} else {
			assert.Equal(t, 3, states[tk.st.pages].polls, "record %d polled until final", tk.st.pages)
		}
	}
	assert.Equal(t, n, done)
}

func TestSchedulerDrain(t *testing.T) {
	drain := make(chan struct{})
	s := &scheduler{
		cfg:     PollConfig{InitialDelay: time.Millisecond, Multiplier: 1, MaxInterval: time.Millisecond},
		workers: 2, now: time.Now, drainBy: drain,
		poll: func(context.Context, *record) (bool, error) { return false, nil }, // never final
	}
	in := make(chan *record)
	out := make(chan *record, 10)
	errc := make(chan error, 1)
	go func() { errc <- s.run(context.Background(), in, out) }()
	for i := 0; i < 5; i++ {
		in <- &record{heapIndex: -1}
	}
	time.Sleep(20 * time.Millisecond)
	close(drain)
	in <- &record{heapIndex: -1} // arrives while draining
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
		poll: func(context.Context, *record) (bool, error) { return false, fatalErr }}
	in := make(chan *record, 1)
	in <- &record{heapIndex: -1}
	err := s.run(context.Background(), in, make(chan *record, 1))
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

// One vocabulary: every package's errors answer, through fault.Of, whether
// the pipeline retries, gives up on the record, or stops the run.
func TestErrorsOfEveryPackageAnswerOneQuestion(t *testing.T) {
	ctx := context.Background()
	jstore, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	j, err := journal.Open(ctx, jstore, "journal/", "a1", 0)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	journalErr := j.Append(ctx, journal.Entry{Type: journal.TypeDossier, Record: "r"})
	require.Error(t, journalErr)

	for _, c := range []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"archive unusable", fmt.Errorf("x: %w", source.ErrAbort), fault.Abort},
		{"archive temporarily down", fmt.Errorf("x: %w", source.ErrRetry), fault.Retry},
		{"archive misconfigured", fmt.Errorf("x: %w", source.ErrConfig), fault.Config},
		{"credentials refused", &assure.APIError{StatusCode: 401, Endpoint: assure.EndpointGetProcess}, fault.Abort},
		{"not allowed", &assure.APIError{StatusCode: 403, Endpoint: assure.EndpointGetProcess}, fault.Abort},
		{"process gone", &assure.APIError{StatusCode: 404, Endpoint: assure.EndpointGetProcess}, fault.Record},
		{"API down", &assure.APIError{StatusCode: 503, Endpoint: assure.EndpointGetProcess}, fault.Retry},
		{"outcome unknown", &assure.OutcomeUnknownError{Err: &assure.TransportError{Sent: true, Err: errors.New("reset")}}, fault.Retry},
		{"client misconfigured", &assure.ConfigError{Msg: "bad URL"}, fault.Config},
		{"journal broken", journalErr, fault.Abort},
		{"S3 access denied", fmt.Errorf("get: %w", blob.ErrAccessDenied), fault.Abort},
		{"run stopped", fmt.Errorf("getProcess: %w", context.Canceled), fault.Abort},
	} {
		assert.Equal(t, c.want, fault.Of(c.err), c.name)
	}
	assert.Equal(t, "http_400", errorCode(fmt.Errorf("create process: %w", &assure.APIError{StatusCode: 400})))
	assert.Equal(t, "outcome_unknown", errorCode(&assure.OutcomeUnknownError{Err: errors.New("reset")}))
}

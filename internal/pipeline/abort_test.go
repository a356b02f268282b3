package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"reverify/internal/assure"
	"reverify/internal/fault"
	"reverify/internal/pictureid"
	"reverify/internal/pipeline"
	"reverify/internal/report"
	"reverify/internal/source"
)

// A run that aborts (here: the failure threshold) while submitters are still
// finishing records ends with the abort's error. Regression: the rows
// channel was closed as soon as the finalizers returned, so a submitter
// handing over a record it had just finished panicked with "send on closed
// channel" (the process exited 2, not 4).
func TestAbortWhileSubmittersFinishRecords(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for i := range 5 { // the panic was likely, not certain: repeat
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			arch := &slowArchive{n: 40, fast: 2}
			p, err := pipeline.New(pipeline.Options{
				RunID: "abort", ShardCount: 1,
				Concurrency: pipeline.Concurrency{Uploads: 8, InFlight: 8, PollWorkers: 1, Finalizers: 1},
				Threshold:   pipeline.Threshold{MinRecords: 2, MaxErrorShare: 0.5},
			}, pipeline.Deps{Archive: arch, API: refusingAPI{}, Rows: &memSink{}})
			require.NoError(t, err)
			_, err = p.Run(context.Background())
			require.ErrorIs(t, err, pipeline.ErrThreshold)
		})
	}
}

// slowArchive lists n records. The first `fast` load at once; the others
// wait for the run to be cancelled, then a moment longer, and come back
// with a preflight problem: their submitters hand a skipped row over after
// the rest of the pipeline has stopped.
type slowArchive struct{ n, fast int }

func (a *slowArchive) Records(ctx context.Context, fn func(source.Record) error) error {
	for i := 1; i <= a.n; i++ {
		if err := fn(source.Record{ID: fmt.Sprintf("rec-%03d", i), Origin: "test", DocumentID: 137,
			ProcessType: pictureid.ProcessDocument}); err != nil {
			return err
		}
	}
	return nil
}

func (a *slowArchive) Load(ctx context.Context, r source.Record) (*source.Images, []source.Problem, error) {
	var i int
	fmt.Sscanf(r.ID, "rec-%d", &i)
	if i <= a.fast {
		return &source.Images{Front: &source.Image{Bytes: []byte{0xff, 0xd8, 0xff}, ContentType: "image/jpeg"}}, nil, nil
	}
	<-ctx.Done()
	time.Sleep(20 * time.Millisecond)
	return &source.Images{}, []source.Problem{{Code: source.CodeMissingFront, Detail: r.ID + ": no front"}}, nil
}

// refusingAPI refuses every dossier with a permanent error (HTTP 400).
type refusingAPI struct{ pipeline.API }

func (refusingAPI) CreateDossier(context.Context, string, assure.ReadBack[assure.Dossier]) (*assure.Dossier, error) {
	return nil, &assure.APIError{Endpoint: assure.EndpointCreateDossier, Method: "POST", StatusCode: 400}
}

// DocumentTypes answers an empty list: document ids are not checked.
func (refusingAPI) DocumentTypes(context.Context, string) ([]assure.DocumentType, error) {
	return nil, nil
}

// memSink keeps rows in memory.
type memSink struct {
	mu     sync.Mutex
	rows   []report.Row
	totals report.Totals
}

func (s *memSink) Write(_ context.Context, rows ...report.Row) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, rows...)
	for i := range rows {
		s.totals.Add(&rows[i])
	}
	return nil
}

func (s *memSink) Written() report.Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totals
}
func (s *memSink) FlushIfDue(context.Context) error { return nil }
func (s *memSink) Close(context.Context) error      { return nil }

// panickingAPI panics where a bug would: in a submitter's call.
type panickingAPI struct{ refusingAPI }

func (panickingAPI) CreateDossier(context.Context, string, assure.ReadBack[assure.Dossier]) (*assure.Dossier, error) {
	panic("bug in a submitter")
}

// A panic in any of the pipeline's goroutines ends the run as a fatal error
// (exit 1, retried by AWS Batch), with its stack, instead of killing the
// process with Go's exit code 2; every goroutine returns.
func TestAPanicEndsTheRunAsAFatalError(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := pipeline.New(pipeline.Options{
		RunID: "panic", ShardCount: 1,
		Concurrency: pipeline.Concurrency{Uploads: 4, InFlight: 4, PollWorkers: 1, Finalizers: 1},
	}, pipeline.Deps{Archive: &slowArchive{n: 10, fast: 10}, API: panickingAPI{}, Rows: &memSink{}})
	require.NoError(t, err)
	_, err = p.Run(context.Background())
	require.Error(t, err)
	require.Equal(t, fault.Abort, fault.Of(err))
	require.ErrorContains(t, err, "internal error in the submitter")
	require.ErrorContains(t, err, "panic: bug in a submitter")
	require.ErrorContains(t, err, "submitLoop", "with its stack")
}

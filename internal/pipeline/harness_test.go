package pipeline_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/pipeline"
	"reverify/internal/report"
	"reverify/internal/source"
	"reverify/internal/specimen"
)

// harness wires a pipeline to real parts: the emulator over HTTP, the Assure
// client, a specimen archive in a temp folder, and the Parquet writer.
type harness struct {
	t        *testing.T
	emu      *emulator.Emulator
	srv      *httptest.Server
	archive  blob.Store
	out      blob.Store
	expected map[string]specimen.ExpectedLine
}

// timeScale makes the emulator's 25 s median latency 25 ms.
const timeScale = 0.001

func newHarness(t *testing.T, records int, mutate func(*emulator.Config)) *harness {
	t.Helper()
	// Registered first, so it runs after every other cleanup (the servers'
	// Close): no goroutine of the run may outlive it.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx := context.Background()
	cfg := emulator.DefaultConfig()
	cfg.TimeScale = timeScale
	if mutate != nil {
		mutate(&cfg)
	}
	emu, err := emulator.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)

	archive, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	_, err = specimen.Generate(ctx, archive, specimen.Options{Count: records, Seed: 7})
	require.NoError(t, err)
	out, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)

	h := &harness{t: t, emu: emu, srv: srv, archive: archive, out: out, expected: map[string]specimen.ExpectedLine{}}
	rc, err := archive.Open(ctx, specimen.ExpectedName)
	require.NoError(t, err)
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		var e specimen.ExpectedLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		h.expected[e.RecordID] = e
	}
	require.NoError(t, sc.Err())
	require.Len(t, h.expected, records)
	return h
}

// options are pipeline options with poll timings in the emulator's scale.
func (h *harness) options(runID string) pipeline.Options {
	return pipeline.Options{
		RunID: runID, Shard: 0, ShardCount: 1,
		Uploads: 8, InFlight: 200, PollWorkers: 4, Finalizers: 2,
		Poll: pipeline.PollConfig{InitialDelay: 20 * time.Millisecond, Multiplier: 1.5,
			MaxInterval: 60 * time.Millisecond, Jitter: 0.2, Deadline: 5 * time.Second},
		Step:        pipeline.StepPolicy{Attempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		Threshold:   pipeline.Threshold{MinRecords: 20, MaxErrorShare: 0.5},
		GracePeriod: 2 * time.Second,
		DryRun:      true,
	}
}

// client returns an Assure client through a fresh gate.
func (h *harness) client(gate *pipeline.Gate) *assure.Client {
	c, err := assure.New(assure.Config{
		BaseURL: h.srv.URL + "/assure", TokenURL: h.srv.URL + "/auth/open/connect/token",
		ClientID: emulator.DefaultClientID, ClientSecret: emulator.DefaultClientSecret,
		Observer: gate,
		Retry:    assure.RetryPolicy{BaseDelay: 2 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxRetryAfter: time.Second},
	})
	require.NoError(h.t, err)
	return c
}

// run runs one attempt of a run and returns its result and error.
func (h *harness) run(ctx context.Context, opt pipeline.Options, resume *pipeline.ResumeState) (pipeline.Result, error) {
	h.t.Helper()
	return h.attempt(ctx, opt, attemptHooks{resume: resume})
}

// attemptHooks adjust one attempt.
type attemptHooks struct {
	// resume, when set, is used as is; else it is loaded like batch run does
	// (journal, committed rows, reconciliation with the API).
	resume *pipeline.ResumeState
	// onRow is called after every row with the pipeline (to Stop it) and
	// the rows written so far.
	onRow func(p *pipeline.Pipeline, done int64)
	// crash makes the attempt end like a killed process: rows of the part
	// not yet committed are lost.
	crash *atomic.Bool
}

// attempt runs one attempt the way batch run wires it: journal, resume
// state, report writer whose commits are journaled.
func (h *harness) attempt(ctx context.Context, opt pipeline.Options, hooks attemptHooks) (pipeline.Result, error) {
	h.t.Helper()
	arch, err := source.Open(ctx, blob.NewOpener(blob.S3Options{}), source.Config{
		Archive: h.archive.URI(), DefaultDocumentID: 137, DefaultProcessType: assure.ProcessTypeDocumentSelfie,
	})
	require.NoError(h.t, err)
	gate := pipeline.NewGate(2000, 100)
	client := h.client(gate)
	resume := hooks.resume
	if resume == nil {
		resume, err = pipeline.LoadResume(ctx, h.out, client, opt.RunID, opt.Shard, opt.ShardCount, slog.New(slog.DiscardHandler))
		require.NoError(h.t, err)
	}
	journal, attempt, err := pipeline.BeginAttempt(ctx, h.out, opt.RunID, opt.Shard, opt.ShardCount, resume, time.Now(), 0)
	require.NoError(h.t, err)
	defer func() { require.NoError(h.t, journal.Close()) }()
	w, err := report.NewWriter(h.out, report.WriterConfig{RunID: opt.RunID, Shard: opt.Shard, ShardCount: opt.ShardCount,
		Attempt: attempt, OnCommit: func(part string, ids []string) {
			_ = journal.Append(context.Background(), pipeline.Entry{Type: pipeline.EntryCommitted,
				Records: ids, Part: part}, false)
		}})
	require.NoError(h.t, err)
	var p *pipeline.Pipeline
	deps := pipeline.Deps{Archive: arch, API: client, Gate: gate, Rows: crashSink{w, hooks.crash},
		Resume: resume, Results: h.out, Journal: journal}
	if hooks.onRow != nil {
		deps.Progress = func(pr pipeline.Progress) { hooks.onRow(p, pr.Done) }
	}
	p, err = pipeline.New(opt, deps)
	require.NoError(h.t, err)
	return p.Run(ctx)
}

// crashSink is a report writer that, once crashed is set, loses the rows of
// its current part instead of committing them (like a killed process).
type crashSink struct {
	*report.Writer
	crashed *atomic.Bool
}

func (s crashSink) Close(ctx context.Context) error {
	if s.crashed != nil && s.crashed.Load() {
		return s.Writer.Abort()
	}
	return s.Writer.Close(ctx)
}

// rows reads back every row of a run.
func (h *harness) rows(runID string) []report.Row {
	h.t.Helper()
	var rows []report.Row
	err := report.ReadRun(context.Background(), h.out, runID, func(r report.Row) error {
		rows = append(rows, r)
		return nil
	})
	if !errors.Is(err, report.ErrNoOutput) {
		require.NoError(h.t, err)
	}
	return rows
}

// loseOutput deletes every object of a run (parts, journals, summaries) and
// leaves one journal with only a run entry: as if everything the attempts
// wrote after they began had been lost.
func (h *harness) loseOutput(runID string, runStart time.Time) error {
	ctx := context.Background()
	var keys []string
	if err := h.out.List(ctx, report.RunPrefix(runID), func(o blob.Object) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := h.out.Delete(ctx, k); err != nil {
			return err
		}
	}
	line, err := json.Marshal(pipeline.Entry{V: pipeline.JournalVersion, Type: pipeline.EntryRun,
		Attempt: "20000101T000000Z-lost", RunStart: runStart})
	if err != nil {
		return err
	}
	return h.out.Put(ctx, pipeline.JournalPrefix(runID, 0, 1)+"20000101T000000Z-lost.jsonl", append(line, '\n'))
}

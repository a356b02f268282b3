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
	"reverify/internal/journal"
	"reverify/internal/pictureid"
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
	// skew moves the emulator's clock ahead of real time (advance).
	skew *atomic.Int64
}

// advance moves the emulator's clock forward by d of emulated time, at
// once: processes due within d are final at their next poll. Tests that
// need a process still processing at one attempt and final at the next use
// it instead of real waits, which a loaded machine stretches.
func (h *harness) advance(d time.Duration) {
	h.skew.Add(int64(float64(d) * timeScale))
}

// timeScale makes the emulator's 25 s median latency 25 ms.
const timeScale = 0.001

func newHarness(t *testing.T, records int, mutate func(*emulator.Config)) *harness {
	t.Helper()
	return newHarnessOf(t, specimen.Options{Count: records, Seed: 7}, mutate)
}

// newHarnessOf is newHarness over the specimen archive opts describe.
func newHarnessOf(t *testing.T, opts specimen.Options, mutate func(*emulator.Config)) *harness {
	t.Helper()
	records := opts.Count
	// Registered first, so it runs after every other cleanup (the servers'
	// Close): no goroutine of the run may outlive it.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx := context.Background()
	cfg := emulator.DefaultConfig()
	cfg.TimeScale = timeScale
	// The API's 15 minutes between the first image and the start are 0.9 s
	// at this scale, and a loaded machine stretches a record's uploads past
	// that: its outcome would be `failed` by the scale, not by what a test
	// does (seen under two CPU hogs: rec-000006 failed instead of
	// accepted). A test of the window sets it and moves the clock (advance).
	cfg.TransactionExpiry = 24 * time.Hour
	if mutate != nil {
		mutate(&cfg)
	}
	skew := new(atomic.Int64)
	emu, err := emulator.New(cfg, emulator.WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	require.NoError(t, err)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)

	archive, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	_, err = specimen.Generate(ctx, archive, opts)
	require.NoError(t, err)
	out, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)

	h := &harness{t: t, emu: emu, srv: srv, archive: archive, out: out, expected: map[string]specimen.ExpectedLine{}, skew: skew}
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
		Concurrency: pipeline.Concurrency{Uploads: 8, InFlight: 200, PollWorkers: 4, Finalizers: 2},
		Poll: pipeline.PollConfig{InitialDelay: 20 * time.Millisecond, Multiplier: 1.5,
			MaxInterval: 60 * time.Millisecond, Jitter: 0.2, Deadline: 5 * time.Second},
		Threshold:   pipeline.Threshold{MinRecords: 20, MaxErrorShare: 0.5},
		GracePeriod: 2 * time.Second,
		DryRun:      true,
	}
}

// client returns an Assure client reporting to meter; mutate, when given,
// changes its configuration.
func (h *harness) client(meter *pipeline.Meter, mutate ...func(*assure.Config)) *assure.Client {
	cfg := assure.Config{
		BaseURL: h.srv.URL + "/assure", TokenURL: h.srv.URL + "/auth/open/connect/token",
		ClientID: emulator.DefaultClientID, ClientSecret: emulator.DefaultClientSecret,
		Rate: 2000, Burst: 100, Observer: meter,
		// An unanswered create or start is read back a request timeout (and
		// a second) after it: short here, where every answer is quick.
		RequestTimeout: 3 * time.Second,
		Retry:          assure.RetryPolicy{BaseDelay: 2 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxPause: time.Second},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := assure.New(cfg)
	require.NoError(h.t, err)
	return c
}

// run runs one attempt of a run and returns its result and error.
func (h *harness) run(ctx context.Context, opt pipeline.Options, resume *journal.State) (pipeline.Result, error) {
	h.t.Helper()
	return h.attempt(ctx, opt, attemptHooks{resume: resume})
}

// attemptHooks adjust one attempt.
type attemptHooks struct {
	// resume, when set, is used as is; else it is loaded like batch run does
	// (journal, committed rows, reconciliation with the API).
	resume *journal.State
	// onRow is called after every row with the pipeline (to Stop it) and
	// the rows written so far.
	onRow func(p *pipeline.Pipeline, done int64)
	// crash makes the attempt end like a killed process: rows of the part
	// not yet committed are lost.
	crash *atomic.Bool
	// results, when set, stores the full-result zips instead of h.out.
	results pipeline.ResultStore
	// client, when set, changes the Assure client's configuration.
	client func(*assure.Config)
	// redrive is the attempt's run.redrive (none when empty).
	redrive pipeline.Redrive
}

// openArchive opens the specimen archive as batch run does (folder layout,
// document id 137 and documentSelfie by default).
func (h *harness) openArchive() *source.Archive {
	h.t.Helper()
	arch, err := source.Open(context.Background(), blob.NewOpener(blob.S3Options{}), source.Config{
		Archive: h.archive.URI(), DefaultDocumentID: 137, DefaultProcessType: pictureid.ProcessDocumentSelfie,
	})
	require.NoError(h.t, err)
	return arch
}

// attempt runs one attempt the way batch run wires it: journal, resume
// state, report writer whose commits are journaled.
func (h *harness) attempt(ctx context.Context, opt pipeline.Options, hooks attemptHooks) (pipeline.Result, error) {
	h.t.Helper()
	arch := h.openArchive()
	var err error
	meter := pipeline.NewMeter(nil)
	var mutate []func(*assure.Config)
	if hooks.client != nil {
		mutate = append(mutate, hooks.client)
	}
	client := h.client(meter, mutate...)
	resume := hooks.resume
	if resume == nil {
		redrive := hooks.redrive
		if redrive == "" {
			redrive = pipeline.RedriveNone
		}
		resume, err = pipeline.LoadResume(ctx, h.out, client, opt.RunID, opt.Shard, opt.ShardCount, redrive, slog.New(slog.DiscardHandler))
		require.NoError(h.t, err)
	}
	jr, attempt, err := pipeline.BeginAttempt(ctx, h.out, opt.RunID, opt.Shard, opt.ShardCount, resume, time.Now(), 0)
	require.NoError(h.t, err)
	defer func() { require.NoError(h.t, jr.Close()) }()
	dl, err := pipeline.OpenDossierLog(ctx, h.out, opt.RunID, opt.Shard, opt.ShardCount, attempt)
	require.NoError(h.t, err)
	defer func() { require.NoError(h.t, dl.Close()) }()
	w, err := report.NewWriter(h.out, report.WriterConfig{RunID: opt.RunID, Shard: opt.Shard, ShardCount: opt.ShardCount,
		Attempt: attempt, OnCommit: jr.Committed})
	require.NoError(h.t, err)
	var p *pipeline.Pipeline
	var results pipeline.ResultStore = h.out
	if hooks.results != nil {
		results = hooks.results
	}
	deps := pipeline.Deps{Archive: arch, API: client, Meter: meter, Rows: crashSink{w, hooks.crash},
		Resume: resume, Results: results, Journal: jr, Dossiers: dl}
	if hooks.onRow != nil {
		deps.Progress = func(pr pipeline.Progress) { hooks.onRow(p, pr.Done) }
	}
	p, err = pipeline.New(opt, deps)
	require.NoError(h.t, err)
	res, err := p.Run(ctx)
	if hooks.crash == nil || !hooks.crash.Load() {
		// Like batch run: the rows this attempt replaced are removed.
		require.NoError(h.t, pipeline.Supersede(ctx, h.out, opt.RunID, opt.Shard, opt.ShardCount, attempt, slog.New(slog.DiscardHandler)))
	}
	return res, err
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
	line, err := json.Marshal(journal.Entry{V: journal.Version, Type: journal.TypeRun,
		Attempt: "20000101T000000Z-lost", RunStart: runStart})
	if err != nil {
		return err
	}
	return h.out.Put(ctx, report.JournalPrefix(runID, 0, 1)+"20000101T000000Z-lost.jsonl", append(line, '\n'))
}

package pipeline_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http/httptest"
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
	arch, err := source.Open(ctx, blob.NewOpener(blob.S3Options{}), source.Config{
		Archive: h.archive.URI(), DefaultDocumentID: 137, DefaultProcessType: assure.ProcessTypeDocumentSelfie,
	})
	require.NoError(h.t, err)
	gate := pipeline.NewGate(2000, 100)
	w, err := report.NewWriter(h.out, report.WriterConfig{RunID: opt.RunID, Shard: opt.Shard, ShardCount: opt.ShardCount})
	require.NoError(h.t, err)
	p, err := pipeline.New(opt, pipeline.Deps{Archive: arch, API: h.client(gate), Gate: gate, Rows: w, Resume: resume, Results: h.out})
	require.NoError(h.t, err)
	return p.Run(ctx)
}

// rows reads back every row of a run.
func (h *harness) rows(runID string) []report.Row {
	h.t.Helper()
	var rows []report.Row
	require.NoError(h.t, report.ReadRun(context.Background(), h.out, runID, func(r report.Row) error {
		rows = append(rows, r)
		return nil
	}))
	return rows
}

package pipeline_test

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/journal"
	"reverify/internal/pipeline"
	"reverify/internal/report"
	"reverify/internal/source"
)

// outcomesOf counts rows by outcome.
func outcomesOf(rows []report.Row) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		n[r.Outcome]++
	}
	return n
}

// slowProcessing keeps every process processing for about two emulated
// days (three real minutes): none is final in the attempt that starts it,
// however late a loaded machine makes its polls (with 0.2 s, then 2.4 s of
// processing, one was), until the test moves the emulator's clock past it
// (h.advance(pastProcessing)) before the attempt that is to see it final.
var slowProcessing = emulator.Latency{Median: 50 * time.Hour, Sigma: 0.01, Min: 48 * time.Hour, Max: 52 * time.Hour}

const pastProcessing = 53 * time.Hour

// A timeout row is not the end of a paid verification: the next attempt
// polls its process again (no dossier, process or start is paid twice) and
// its final row replaces the timeout, so the output holds one row per
// record, each final.
func TestATimeoutRowIsPolledAgainAndReplaced(t *testing.T) {
	h := newHarness(t, 40, func(c *emulator.Config) {
		c.Processing = slowProcessing
	})
	ctx := context.Background()
	opt := h.options("run-timeout")
	opt.Poll.Deadline = time.Millisecond // before any process can be final
	_, err := h.attempt(ctx, opt, attemptHooks{})
	require.NoError(t, err)
	first := h.rows("run-timeout")
	require.Len(t, first, 40)
	require.Equal(t, h.nonSkipped(), outcomesOf(first)[report.OutcomeTimeout], "every verification timed out: %v", outcomesOf(first))
	before := h.emu.Counters()
	assert.EqualValues(t, h.nonSkipped(), before.DossiersLive, "a timed-out record's dossier is kept for the next attempt")

	h.advance(pastProcessing)
	res, err := h.attempt(ctx, h.options("run-timeout"), attemptHooks{})
	require.NoError(t, err)
	assert.EqualValues(t, h.nonSkipped(), res.Totals.Records, "the timeouts, and only they, are taken up again")
	rows := h.rows("run-timeout")
	h.checkOutcomes(rows) // one row per record, each as expected
	assert.Zero(t, outcomesOf(rows)[report.OutcomeTimeout])
	after := h.checkCounters()
	assert.Equal(t, before.DossiersCreated, after.DossiersCreated, "no dossier created again")
	assert.Equal(t, before.ProcessesCreated, after.ProcessesCreated, "no process created again")
	assert.Equal(t, before.VerificationsStarted, after.VerificationsStarted, "no verification started again")
	for _, r := range rows {
		if r.Outcome != report.OutcomeSkipped {
			assert.NotNil(t, r.ProcessID, r.RecordID)
		}
	}

	// A third attempt finds nothing to do, and the output stays as it is.
	res, err = h.attempt(ctx, h.options("run-timeout"), attemptHooks{})
	require.NoError(t, err)
	assert.Zero(t, res.Totals.Records)
	assert.Len(t, h.rows("run-timeout"), 40)
}

// Error rows stay unless the rerun redrives them: retryable redrives the
// failures that may pass another time (here the 5xx answers of an outage),
// and the records begin again; their rows replace the errors.
func TestRedriveReattemptsRetryableErrorRows(t *testing.T) {
	h := newHarness(t, 30, nil)
	ctx := context.Background()
	opt := h.options("run-redrive")
	opt.Threshold = pipeline.Threshold{} // the outage must not abort the run
	require.NoError(t, h.emu.SetFaults(emulator.Faults{Endpoints: map[assure.Endpoint]emulator.FaultSpec{
		assure.EndpointCreateDossier: {ServerError: 1},
	}}))
	_, err := h.attempt(ctx, opt, attemptHooks{})
	require.NoError(t, err)
	first := h.rows("run-redrive")
	require.Len(t, first, 30)
	require.Equal(t, h.nonSkipped(), outcomesOf(first)[report.OutcomeError])
	for _, r := range first {
		if r.Outcome == report.OutcomeError {
			assert.Regexp(t, `^http_5\d\d$`, r.ErrorCode, r.RecordID)
		}
	}
	require.NoError(t, h.emu.SetFaults(emulator.Faults{}))

	// Without redrive, a rerun leaves them.
	res, err := h.attempt(ctx, h.options("run-redrive"), attemptHooks{})
	require.NoError(t, err)
	assert.Zero(t, res.Totals.Records)
	assert.Zero(t, h.emu.Counters().DossiersCreated)

	res, err = h.attempt(ctx, h.options("run-redrive"), attemptHooks{redrive: pipeline.RedriveRetryable})
	require.NoError(t, err)
	assert.EqualValues(t, h.nonSkipped(), res.Totals.Records)
	h.checkOutcomes(h.rows("run-redrive"))
	c := h.checkCounters()
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted)
}

// writeRows commits rows as one part of an attempt of run-x.
func writeRows(t *testing.T, out blob.Store, attempt string, rows ...report.Row) {
	t.Helper()
	w, err := report.NewWriter(out, report.WriterConfig{RunID: "run-x", Shard: 0, ShardCount: 1, Attempt: attempt})
	require.NoError(t, err)
	for _, r := range rows {
		r.RunID, r.ShardCount = "run-x", 1
		require.NoError(t, w.Write(context.Background(), r))
	}
	require.NoError(t, w.Close(context.Background()))
}

func errorRow(id, code string) report.Row {
	return report.Row{RecordID: id, Origin: "m.csv:" + id, Outcome: report.OutcomeError, ErrorCode: code}
}

// noAPI is a ReconcileAPI that holds nothing of the run.
type noAPI struct {
	pipeline.ReconcileAPI // nil: any other call panics
}

func (noAPI) EachProcess(context.Context, assure.ProcessQuery, func(assure.ListedProcess) error) error {
	return nil
}
func (noAPI) ListDossiers(context.Context) ([]assure.Dossier, error) { return nil, nil }

// What each redrive takes up again, from committed rows (real Parquet parts).
func TestRedriveChoosesErrorRowsByCode(t *testing.T) {
	out, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	dossier, process := "d-1", "p-1"
	writeRows(t, out, "0001-a",
		report.Row{RecordID: "accepted", Origin: "m.csv:1", Outcome: report.OutcomeAccepted},
		report.Row{RecordID: "timeout", Origin: "m.csv:2", Outcome: report.OutcomeTimeout, ErrorCode: "deadline",
			DossierID: &dossier, ProcessID: &process},
		errorRow("transport", "transport"), errorRow("unknown", "outcome_unknown"), errorRow("read", "source_read"),
		errorRow("s429", "http_429"), errorRow("s503", "http_503"),
		errorRow("s400", "http_400"), errorRow("s404", "http_404"), errorRow("other", "error"),
		errorRow("fixed", "http_503"),
		// The row of a repeated record id is its line's: it does not mark
		// the record "accepted-later" done.
		report.Row{RecordID: "accepted-later", Origin: "m.csv:20", Outcome: report.OutcomeSkipped,
			SkipReasons: []string{report.SkipDuplicateRecord}},
	)
	// A later attempt's row of "fixed" wins over its error.
	writeRows(t, out, "0002-b", report.Row{RecordID: "fixed", Origin: "m.csv:11", Outcome: report.OutcomeAccepted})
	retryable := []string{"transport", "unknown", "read", "s429", "s503"}
	permanent := []string{"s400", "s404", "other"}
	for _, tc := range []struct {
		redrive pipeline.Redrive
		again   []string
	}{
		{pipeline.RedriveNone, nil},
		{pipeline.RedriveRetryable, retryable},
		{pipeline.RedriveAll, append(append([]string{}, retryable...), permanent...)},
	} {
		t.Run(string(tc.redrive), func(t *testing.T) {
			st, err := pipeline.LoadResume(context.Background(), out, noAPI{}, "run-x", 0, 1, tc.redrive, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			for _, id := range append(append([]string{"accepted", "fixed"}, retryable...), permanent...) {
				r := st.Lookup(id)
				require.NotNil(t, r, id)
				assert.Equal(t, !slices.Contains(tc.again, id), r.Committed, "%s committed", id)
				if !r.Committed {
					assert.Empty(t, r.Dossier, "%s begins again", id)
				}
			}
			tr := st.Lookup("timeout")
			require.NotNil(t, tr)
			assert.False(t, tr.Committed, "a timeout is always polled again")
			assert.True(t, tr.Started)
			assert.Equal(t, "d-1", tr.Dossier)
			assert.Equal(t, "p-1", tr.Process)
			assert.Nil(t, st.Lookup("accepted-later"), "a repeated id's row is not its record's")
			dup := st.Lookup(report.DuplicateKey("m.csv:20"))
			require.NotNil(t, dup)
			assert.True(t, dup.Committed)
		})
	}
}

// The pipeline's skip reason for a repeated id is the one report keys on.
func TestDuplicateSkipReasonIsTheSourceCode(t *testing.T) {
	assert.Equal(t, source.CodeDuplicateRecord, report.SkipDuplicateRecord)
}

// A rerun cut short while it takes rows up again (polling timeouts,
// redriving errors) leaves its work in its journal; the next attempt resumes
// it whatever its own redrive, so no result is lost and nothing is paid
// twice: a record whose final answer the killed attempt journaled (and
// whose dossier it then deleted) gets its row from the journal, not a 404.
func TestARerunCutShortIsResumed(t *testing.T) {
	kill := func(h *harness, runID string, redrive pipeline.Redrive) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var crashed atomic.Bool
		_, err := h.attempt(ctx, h.options(runID), attemptHooks{crash: &crashed, redrive: redrive,
			onRow: func(_ *pipeline.Pipeline, done int64) {
				if done == 12 {
					crashed.Store(true)
					cancel()
				}
			}})
		require.ErrorIs(t, err, context.Canceled)
	}
	check := func(h *harness, runID string, redrive pipeline.Redrive) {
		res, err := h.attempt(context.Background(), h.options(runID), attemptHooks{redrive: redrive})
		require.NoError(t, err)
		if redrive == pipeline.RedriveNone {
			assert.Positive(t, res.Totals.Records, "the killed attempt's records finished")
		}
		rows := h.rows(runID)
		h.checkOutcomes(rows)
		for _, r := range rows {
			assert.NotEqual(t, "http_404", r.ErrorCode, "%s: polled after its dossier was deleted", r.RecordID)
		}
		c := h.checkCounters()
		assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted, "every verification started once")
	}

	t.Run("polling timeouts", func(t *testing.T) {
		h := newHarness(t, 40, func(c *emulator.Config) {
			c.Processing = slowProcessing
		})
		opt := h.options("run-cut")
		opt.Poll.Deadline = time.Millisecond
		_, err := h.attempt(context.Background(), opt, attemptHooks{})
		require.NoError(t, err)
		h.advance(pastProcessing)
		kill(h, "run-cut", pipeline.RedriveNone)
		check(h, "run-cut", pipeline.RedriveNone)
	})
	t.Run("redriving errors", func(t *testing.T) {
		h := newHarness(t, 40, nil)
		opt := h.options("run-cut")
		opt.Threshold = pipeline.Threshold{}
		require.NoError(t, h.emu.SetFaults(emulator.Faults{Endpoints: map[assure.Endpoint]emulator.FaultSpec{
			assure.EndpointCreateDossier: {ServerError: 1},
		}}))
		_, err := h.attempt(context.Background(), opt, attemptHooks{})
		require.NoError(t, err)
		require.NoError(t, h.emu.SetFaults(emulator.Faults{}))
		kill(h, "run-cut", pipeline.RedriveRetryable)
		// The records the killed redrive took up (it journaled their
		// dossiers: the first attempt's create dossier always failed) are
		// finished by a rerun without redrive; how many it reached before
		// the kill depends on the machine's speed, and those it did not are
		// left to a redrive, as the first attempt left them.
		st, err := journal.Read(context.Background(), h.out, report.JournalPrefix("run-cut", 0, 1))
		require.NoError(t, err)
		takenUp := map[string]bool{}
		for id, r := range st.Records {
			if r.Dossier != "" {
				takenUp[id] = true
			}
		}
		require.NotEmpty(t, takenUp)
		_, err = h.attempt(context.Background(), h.options("run-cut"), attemptHooks{})
		require.NoError(t, err)
		for _, r := range h.rows("run-cut") {
			if takenUp[r.RecordID] {
				assert.Equal(t, h.expected[r.RecordID].Outcome, r.Outcome, "%s: taken up by the killed redrive", r.RecordID)
			} else if h.expected[r.RecordID].Outcome != report.OutcomeSkipped {
				assert.Equal(t, report.OutcomeError, r.Outcome, "%s: not redriven without --redrive", r.RecordID)
			}
		}
		assert.LessOrEqual(t, h.emu.Counters().VerificationsStarted, int64(h.nonSkipped()))
		check(h, "run-cut", pipeline.RedriveRetryable) // the rest
	})
}

// Every dossier's deletion is recorded with the API's answer, without
// personal data, and the counts say nothing is left; a timeout's dossier is
// left on purpose until a later attempt polls it again and deletes it.
func TestDeletionsAreRecorded(t *testing.T) {
	h := newHarness(t, 30, func(c *emulator.Config) {
		c.Processing = slowProcessing
	})
	ctx := context.Background()
	logs := []string{report.DossierLogPrefix("run-del", 0, 1)}
	opt := h.options("run-del")
	opt.Poll.Deadline = time.Millisecond // every record a timeout: dossiers kept
	_, err := h.attempt(ctx, opt, attemptHooks{})
	require.NoError(t, err)
	c, err := pipeline.DossierCounts(ctx, h.out, logs)
	require.NoError(t, err)
	live := h.emu.Counters().DossiersLive
	assert.Positive(t, live)
	assert.Equal(t, live, c.Left, "the timeouts' dossiers, kept to be polled again")

	h.advance(pastProcessing)
	_, err = h.attempt(ctx, h.options("run-del"), attemptHooks{})
	require.NoError(t, err)
	h.checkCounters()
	c, err = pipeline.DossierCounts(ctx, h.out, logs)
	require.NoError(t, err)
	assert.Zero(t, c.Left)
	assert.Equal(t, c.Created, c.Deleted)
	assert.EqualValues(t, h.emu.Counters().DossiersCreated, c.Created, "every dossier the API created is in the log")

	n := 0
	require.NoError(t, journal.Each(ctx, h.out, logs[0], func(_ string, e journal.Entry) error {
		if e.Type == journal.TypeDeleted {
			n++
			assert.Equal(t, 204, e.Status, e.Dossier)
			assert.NotEmpty(t, e.Dossier)
			assert.False(t, e.Time.IsZero())
			assert.Nil(t, e.Final, "no result in the dossier log")
		}
		return nil
	}))
	assert.EqualValues(t, c.Deleted, n)
}

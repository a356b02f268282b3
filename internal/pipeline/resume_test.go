package pipeline_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/pipeline"
	"reverify/internal/report"
)

// A stop drains: intake ends, in-flight processes are polled for the grace
// period, unfinished records are left to the next attempt, which finishes
// the run with one row per record and nothing paid twice.
func TestStopThenResume(t *testing.T) {
	h := newHarness(t, 80, nil)
	opt := h.options("run-stop")
	opt.GracePeriod = 0 // give up polling at once: some records are left in flight
	res, err := h.attempt(context.Background(), opt, attemptHooks{onRow: func(p *pipeline.Pipeline, done int64) {
		if done == 15 {
			p.Stop()
		}
	}})
	require.NoError(t, err)
	assert.True(t, res.Stopped)
	assert.Less(t, res.Totals.Records, int64(80))
	assert.Greater(t, res.Interrupted, int64(0), "some records left for the next attempt")
	first := len(h.rows("run-stop"))

	res, err = h.attempt(context.Background(), h.options("run-stop"), attemptHooks{})
	require.NoError(t, err)
	assert.False(t, res.Stopped)
	assert.EqualValues(t, first, res.Resumed, "committed records are not redone")
	h.checkOutcomes(h.rows("run-stop"))
	c := h.checkCounters()
	assert.EqualValues(t, c.VerificationsStarted, c.ProcessesCreated, "no process created twice")
}

// A crash loses the uncommitted part and whatever the journal had not yet
// written; the resumed attempt rewrites final rows from the journal, polls
// started processes and finishes with exactly one row per record.
func TestCrashThenResume(t *testing.T) {
	h := newHarness(t, 80, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var crashed atomic.Bool
	_, err := h.attempt(ctx, h.options("run-crash"), attemptHooks{crash: &crashed,
		onRow: func(_ *pipeline.Pipeline, done int64) {
			if done == 40 {
				crashed.Store(true)
				cancel()
			}
		}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, h.rows("run-crash"), "the crash lost the uncommitted part")
	startsBefore := h.emu.Counters().VerificationsStarted

	res, err := h.attempt(context.Background(), h.options("run-crash"), attemptHooks{})
	require.NoError(t, err)
	rows := h.rows("run-crash")
	h.checkOutcomes(rows)
	c := h.checkCounters()
	assert.EqualValues(t, 80-res.Totals.Outcomes[report.OutcomeSkipped], c.VerificationsStarted,
		"every verification started once: %d before the crash", startsBefore)
	assert.LessOrEqual(t, c.ProcessesCreated-c.VerificationsStarted, int64(8),
		"processes created but never started are bounded by the uploads in flight at the crash")
}

// Reconciliation finds processes the journal never heard of: the output
// (parts and journal) is lost after the processes were started, but the
// API still has them; the resumed attempt collects them instead of paying
// again.
func TestResumeFindsProcessesTheJournalMissed(t *testing.T) {
	h := newHarness(t, 30, nil)
	ctx := context.Background()
	opt := h.options("run-kept")
	opt.KeepDossiers = true
	started := time.Now()
	_, err := h.attempt(ctx, opt, attemptHooks{})
	require.NoError(t, err)
	before := h.emu.Counters()
	require.NoError(t, h.loseOutput("run-kept", started))

	_, err = h.attempt(ctx, h.options("run-kept"), attemptHooks{})
	require.NoError(t, err)
	after := h.emu.Counters()
	assert.Equal(t, before.VerificationsStarted, after.VerificationsStarted, "nothing started again")
	assert.Equal(t, before.ProcessesCreated, after.ProcessesCreated, "nothing created again")
	h.checkOutcomes(h.rows("run-kept"))
	h.checkCounters()
}

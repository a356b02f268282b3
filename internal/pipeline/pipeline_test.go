package pipeline_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

// checkOutcomes asserts one row per specimen record with the expected
// outcome and reason.
func (h *harness) checkOutcomes(rows []report.Row) {
	t := h.t
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		require.False(t, seen[r.RecordID], "duplicate row for %s", r.RecordID)
		seen[r.RecordID] = true
		want, ok := h.expected[r.RecordID]
		if !assert.True(t, ok, "row for unknown record %s", r.RecordID) {
			continue
		}
		assert.Equal(t, want.Outcome, r.Outcome, "%s (%s): %v", r.RecordID, want.Case, r.ErrorMessage)
		assert.Equal(t, want.Reason, r.Reason, "%s (%s)", r.RecordID, want.Case)
	}
	assert.Len(t, seen, len(h.expected), "every record has a row")
}

// nonSkipped counts the records that reach the API.
func (h *harness) nonSkipped() int {
	n := 0
	for _, e := range h.expected {
		if e.Outcome != report.OutcomeSkipped {
			n++
		}
	}
	return n
}

func (h *harness) checkCounters() emulator.Counters {
	c := h.emu.Counters()
	assert.Zero(h.t, c.DossiersLive, "every dossier deleted")
	assert.LessOrEqual(h.t, c.MaxStartRequestsPerProcess, int64(1), "no process started twice")
	return c
}

func TestRunMatchesExpectedOutcomes(t *testing.T) {
	h := newHarness(t, 60, nil)
	res, err := h.run(context.Background(), h.options("run-1"), nil)
	require.NoError(t, err)
	assert.EqualValues(t, 60, res.Listed)
	assert.EqualValues(t, 60, res.Totals.Records)
	rows := h.rows("run-1")
	h.checkOutcomes(rows)
	c := h.checkCounters()
	skipped := res.Totals.Outcomes[report.OutcomeSkipped]
	assert.EqualValues(t, 60-skipped, c.VerificationsStarted)
	assert.EqualValues(t, c.VerificationsStarted, c.ProcessesCreated)
	for _, r := range rows {
		if r.Outcome == report.OutcomeSkipped {
			assert.Zero(t, r.APICalls, "%s: no API call for a skipped record", r.RecordID)
			assert.NotEmpty(t, r.SkipReasons)
			continue
		}
		assert.GreaterOrEqual(t, r.APICalls, int32(6), r.RecordID)
		assert.GreaterOrEqual(t, r.Polls, int32(1), r.RecordID)
		assert.NotNil(t, r.ProcessID)
		assert.NotNil(t, r.DossierID)
		assert.NotNil(t, r.FrontSHA256)
		assert.True(t, r.DryRun)
	}
}

func TestRunUnderFaults(t *testing.T) {
	h := newHarness(t, 60, func(c *emulator.Config) {
		c.Faults.Seed = 3
		c.Faults.Default = emulator.FaultSpec{ServerError: 0.05, TooManyRequests: 0.05, Reset: 0.01}
		// The harness widens the API's 15-minute window between the first
		// image and the start (0.9 s at its scale): the retries' backoff is
		// real time, and a record whose uploads were retried a few times on
		// a loaded machine was `failed` by the scale, not by the faults
		// (seen: rec-000014 failed instead of rejected). The e2e storms widen
		// it the same way, and TestSubmitStepsFitTheProviderWindow tests it.
	})
	res, err := h.run(context.Background(), h.options("run-f"), nil)
	require.NoError(t, err)
	h.checkOutcomes(h.rows("run-f"))
	c := h.checkCounters()
	assert.Greater(t, res.Calls.Retries, int64(0), "faults cost retries")
	assert.Greater(t, c.Faults["server_error"]+c.Faults["too_many_requests"], int64(0))
	t.Logf("calls %d, retries %d, faults %v, processes created %d for %d started",
		res.Calls.Calls, res.Calls.Retries, c.Faults, c.ProcessesCreated, c.VerificationsStarted)
}

// A documentId the API does not know is skipped before anything is paid for.
func TestUnknownDocumentIDIsSkippedBeforePaying(t *testing.T) {
	h := newHarness(t, 20, nil)
	ctx := context.Background()
	// The first plain "accepted" case (a documentSelfie record with a
	// selfie): a map-order pick could be a document-only record, whose
	// missing selfie would then be the skip reason.
	var target string
	for _, id := range slices.Sorted(maps.Keys(h.expected)) {
		if e := h.expected[id]; e.Case == "accepted" {
			target = id
			break
		}
	}
	require.NotEmpty(t, target)
	require.NoError(t, h.archive.Put(ctx, target+"/meta.json", []byte(`{"documentId": 999999, "processType": "documentSelfie"}`)))
	_, err := h.run(ctx, h.options("run-doc"), nil)
	require.NoError(t, err)
	for _, r := range h.rows("run-doc") {
		if r.RecordID != target {
			continue
		}
		assert.Equal(t, report.OutcomeSkipped, r.Outcome)
		assert.Equal(t, pipeline.CodeUnknownDocumentID, r.Reason)
		assert.Zero(t, r.APICalls)
		assert.Contains(t, *r.ErrorMessage, "999999")
	}
	c := h.checkCounters()
	assert.EqualValues(t, c.VerificationsStarted, c.DossiersCreated, "no dossier for the unknown document")
}

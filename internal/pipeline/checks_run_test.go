package pipeline_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/report"
	"reverify/internal/specimen"
)

// Through the emulator, every specimen case fails the checks the seed's
// answer of its kind fails; accepted records and those that never reached
// the API fail none.
func TestFailedChecksOfEverySpecimenCase(t *testing.T) {
	mix := specimen.Mix{}
	for _, c := range specimen.Cases() {
		mix[c] = 1
	}
	h := newHarnessOf(t, specimen.Options{Count: 3 * len(specimen.Cases()), Seed: 5, Mix: mix}, nil)
	_, err := h.attempt(context.Background(), h.options("run-checks"), attemptHooks{})
	require.NoError(t, err)
	want := map[specimen.Case][]string{
		specimen.CaseExpired:          {"nonExpired"},
		specimen.CaseUnderage:         {"notUnderage", "dataIntegrity"},
		specimen.CaseUnreadableNumber: {"notTamperedDocument", "dataIntegrity"},
		specimen.CaseOtherPerson:      {"selfieAndDocumentMatch"},
		specimen.CaseLookalike:        {"selfieAndDocumentMatch"},
		specimen.CaseBlackAndWhite:    {"notBlackAndWhite"},
	}
	seen := map[specimen.Case]int{}
	rows := h.rows("run-checks")
	require.Len(t, rows, len(h.expected))
	for _, r := range rows {
		c := h.expected[r.RecordID].Case
		seen[c]++
		assert.Equal(t, want[c], r.FailedChecks, "%s (%s)", r.RecordID, c)
		if r.Outcome == report.OutcomeAccepted {
			for _, v := range []*bool{r.CheckNotTamperedDocument, r.CheckNonExpired, r.CheckNotUnderage, r.CheckNotBlackAndWhite, r.CheckDataIntegrity} {
				assert.Equal(t, new(true), v, "%s (%s): the five document checks", r.RecordID, c)
			}
			assert.Equal(t, r.ProcessType == "documentSelfie", r.CheckSelfieAndDocumentMatch != nil, "%s (%s)", r.RecordID, c)
		}
		if c == specimen.CaseUnderage {
			assert.Equal(t, new(false), r.CheckNotUnderage, "%s: from the status reason", r.RecordID)
		}
	}
	for _, c := range specimen.Cases() {
		assert.Positive(t, seen[c], "no record of case %s", c)
	}
}

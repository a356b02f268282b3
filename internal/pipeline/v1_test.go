package pipeline_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/privacy"
	"reverify/internal/report"
	"reverify/internal/specimen"
)

// A run whose journal an earlier reverify wrote (format version 1) resumes
// with this one: testdata/v1-run holds the output of a v1 attempt over a
// specimen archive (16 records, seed 3) that died before committing its
// Parquet part — its journal (out/), and, for comparison, the part it would
// have committed (expected/). Resumed here, every final record's row is
// written from the v1 journal without an API call, equal to the row v1
// wrote, and nothing is paid again.
func TestV1JournalResumes(t *testing.T) {
	h := newHarnessOf(t, specimen.Options{Count: 16, Seed: 3}, nil)
	copyTree(t, "testdata/v1-run/out", h.out.(*blob.Local).Root())
	const runID = "v1-fixture"

	opt := h.options(runID)
	opt.PersonalData = privacy.Include // v1 wrote every column: compared below
	_, err := h.attempt(context.Background(), opt, attemptHooks{})
	require.NoError(t, err)

	c := h.emu.Counters()
	assert.Zero(t, c.DossiersCreated, "nothing created again")
	assert.Zero(t, c.VerificationsStarted, "nothing verified again")

	fixture, err := blob.NewLocal("testdata/v1-run/expected")
	require.NoError(t, err)
	want := map[string]report.Row{}
	require.NoError(t, report.ReadRun(context.Background(), fixture, runID, func(r report.Row) error {
		want[r.RecordID] = r
		return nil
	}))
	got := h.rows(runID)
	require.Len(t, got, len(want))
	finals := 0
	for _, r := range got {
		w, ok := want[r.RecordID]
		require.True(t, ok, r.RecordID)
		if w.Outcome == report.OutcomeSkipped {
			// Never journaled: checked again by this attempt, in its archive.
			assert.Equal(t, w.SkipReasons, r.SkipReasons, r.RecordID)
			assert.Equal(t, w.FrontSHA256, r.FrontSHA256, r.RecordID)
			assert.Zero(t, r.APICalls, r.RecordID)
			continue
		}
		finals++
		// What depends on where the archive is and when the row was written.
		for _, row := range []*report.Row{&r, &w} {
			row.Origin, row.FrontURI, row.BackURI, row.SelfieURI, row.RecordedAt = "", nil, nil, nil, nil
		}
		// v1 kept millisecond timestamps; it took the duration from finer ones.
		require.NotNil(t, r.DurationMS, r.RecordID)
		assert.InDelta(t, *w.DurationMS, *r.DurationMS, 1, r.RecordID)
		r.DurationMS = w.DurationMS
		// The final entry is written before the dossier's deletion, which the
		// attempt that deletes it counts: that attempt died here.
		if w.Outcome != report.OutcomeTimeout {
			assert.Equal(t, w.APICalls-1, r.APICalls, r.RecordID)
			r.APICalls = w.APICalls
		}
		// The same JSON; v1's journal escaped HTML characters in it.
		if w.ResultJSON != nil {
			assert.JSONEq(t, string(w.ResultJSON), string(r.ResultJSON), r.RecordID)
			r.ResultJSON = w.ResultJSON
		}
		sinceV1(t, &w, &r)
		assert.Equal(t, w, r, r.RecordID)
	}
	assert.Equal(t, 11, finals)
}

// sinceV1 checks and then copies into w (the v1 row) what this version
// fills differently: meta.json's previous_status fills previous_outcome and
// outcome_changed (v1 kept it as metadata), and the check columns are read
// from the status reasons and the similarity level too (v1 left a check
// without an object or a passed flag NULL; failed_checks is new). Every
// check v1 reported keeps its value.
func sinceV1(t *testing.T, w, r *report.Row) {
	t.Helper()
	prev, ok := w.Metadata["previous_status"]
	if assert.True(t, ok, "%s: v1 kept previous_status as metadata", r.RecordID) &&
		assert.NotNil(t, r.PreviousOutcome, r.RecordID) {
		assert.Equal(t, prev, *r.PreviousOutcome, r.RecordID)
		assert.Equal(t, report.OutcomeChanged(prev, r.Outcome), r.OutcomeChanged, r.RecordID)
	}
	w.Metadata = maps.Clone(w.Metadata)
	delete(w.Metadata, "previous_status")
	w.PreviousOutcome, w.OutcomeChanged = r.PreviousOutcome, r.OutcomeChanged

	for _, c := range []struct{ v1, now **bool }{
		{&w.CheckNotTamperedDocument, &r.CheckNotTamperedDocument},
		{&w.CheckNonExpired, &r.CheckNonExpired},
		{&w.CheckNotUnderage, &r.CheckNotUnderage},
		{&w.CheckNotBlackAndWhite, &r.CheckNotBlackAndWhite},
		{&w.CheckDataIntegrity, &r.CheckDataIntegrity},
		{&w.CheckSidesMatch, &r.CheckSidesMatch},
		{&w.CheckNotFaceSpoofing, &r.CheckNotFaceSpoofing},
		{&w.CheckSelfieAndDocumentMatch, &r.CheckSelfieAndDocumentMatch},
	} {
		if *c.v1 != nil {
			assert.Equal(t, *c.v1, *c.now, "%s: a check v1 reported", r.RecordID)
		}
		*c.v1 = *c.now
	}
	assert.Nil(t, w.FailedChecks, "v1 had no failed_checks")
	w.FailedChecks = r.FailedChecks
}

// copyTree copies the files below src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	}))
}

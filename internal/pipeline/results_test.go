package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/privacy"
	"reverify/internal/report"
)

// A full result that could not be stored is not lost: the record's dossier
// (the API's copy of the result) is kept and the record left to the next
// attempt, which fetches and stores the zip and only then deletes the
// dossier. It used to delete the dossier anyway.
func TestAZipNotStoredKeepsItsDossier(t *testing.T) {
	h := newHarness(t, 20, nil)
	ctx := context.Background()
	const runID = "run-zips"
	opt := h.options(runID)
	opt.DownloadResults = true
	opt.PersonalData = privacy.Include // zips hold every identifier
	broken := &failingPuts{Store: h.out}
	broken.fail.Store(true)
	res, err := h.attempt(ctx, opt, attemptHooks{results: broken})
	require.NoError(t, err)
	zips := 0
	for _, e := range h.expected {
		switch e.Outcome {
		case report.OutcomeAccepted, report.OutcomeRejected, report.OutcomeInconclusive:
			zips++
		}
	}
	require.Positive(t, zips)
	assert.EqualValues(t, zips, res.Interrupted, "every record whose zip was lost is left to the next attempt")
	assert.EqualValues(t, zips, h.emu.Counters().DossiersLive, "their dossiers are kept")
	assert.Len(t, h.rows(runID), len(h.expected)-zips, "no row for them yet")

	res, err = h.attempt(ctx, opt, attemptHooks{})
	require.NoError(t, err)
	assert.Zero(t, res.Interrupted)
	rows := h.rows(runID)
	h.checkOutcomes(rows)
	c := h.checkCounters() // every dossier deleted, nothing started twice
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted)
	stored := 0
	for _, r := range rows {
		if r.ResultZipURI != nil {
			stored++
			assert.True(t, strings.HasSuffix(*r.ResultZipURI, "/results/"+r.RecordID+".zip"), *r.ResultZipURI)
		}
	}
	assert.Equal(t, zips, stored)
}

// failingPuts fails every Put while fail is set.
type failingPuts struct {
	blob.Store
	fail atomic.Bool
}

func (f *failingPuts) Put(ctx context.Context, key string, data []byte) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.Store.Put(ctx, key, data)
}

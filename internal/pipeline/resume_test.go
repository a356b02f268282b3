package pipeline_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/journal"
	"reverify/internal/pictureid"
	"reverify/internal/pipeline"
	"reverify/internal/report"
	"reverify/internal/source"
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
	// Nothing paid twice: one verification per record. (A process may be
	// created twice: an upload still under way a second after the grace
	// period is cut short, which a loaded machine makes likely, and the
	// next attempt replaces the unstarted process; see
	// TestResumeReplacesAnUnstartedProcessAndPollsAStartedOne.)
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted, "one verification per record")
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

// On an object store (S3) the journal is written as checkpoints every few
// seconds, and reconciliation recovers what a crash lost from the API. But
// deleting a dossier deletes the API's copy of the result: before that, the
// record's final entry must be on storage. Without it, a crash after the
// deletion lost the paid result and the record was verified (paid) again,
// or polled into an http_404 error row (found by the e2e crash loop on S3).
func TestFinalRowIsOnStorageBeforeTheDossierIsDeleted(t *testing.T) {
	h := newHarness(t, 20, nil)
	ctx := context.Background()
	out := checkpointStore{h.out} // cannot append: the journal checkpoints
	const runID = "run-s3"
	arch := h.openArchive()
	meter := pipeline.NewMeter(nil)
	attempt := report.AttemptID(1, time.Now())
	// Checkpoints every 20 ms: a dossier is deleted only after the
	// checkpoint that holds its record's final entry, whichever comes.
	jr, err := journal.Open(ctx, out, report.JournalPrefix(runID, 0, 1), attempt, 20*time.Millisecond)
	require.NoError(t, err)
	w, err := report.NewWriter(out, report.WriterConfig{RunID: runID, ShardCount: 1, Attempt: attempt})
	require.NoError(t, err)
	api := &deleteWatcher{Client: h.client(meter), check: func(dossier string) bool {
		st, err := journal.Read(ctx, out, report.JournalPrefix(runID, 0, 1))
		if err != nil {
			return false
		}
		for _, r := range st.Records {
			if r.Dossier == dossier && r.Final != nil {
				return true
			}
		}
		return false
	}}
	p, err := pipeline.New(h.options(runID), pipeline.Deps{Archive: arch, API: api, Meter: meter, Rows: w,
		Results: out, Journal: jr})
	require.NoError(t, err)
	_, err = p.Run(ctx)
	require.NoError(t, err)
	require.NoError(t, jr.Close())
	assert.Positive(t, api.deleted.Load(), "dossiers deleted")
	assert.Zero(t, api.early.Load(), "dossiers deleted while their final row was not yet on storage")
	h.checkOutcomes(h.rows(runID))
}

// checkpointStore hides the local folder's blob.Appender from the journal,
// which then writes checkpoint objects as on S3.
type checkpointStore struct{ blob.Store }

// deleteWatcher checks, at each dossier deletion, what the journal holds.
type deleteWatcher struct {
	*assure.Client
	check          func(dossier string) bool
	deleted, early atomic.Int64
}

func (d *deleteWatcher) DeleteDossierEvidence(ctx context.Context, dossierID string) (assure.Deletion, error) {
	d.deleted.Add(1)
	if !d.check(dossierID) {
		d.early.Add(1)
	}
	return d.Client.DeleteDossierEvidence(ctx, dossierID)
}

// A process an earlier attempt created (and journaled) but did not start is
// not reused: its transaction began with the first image upload, and the
// API fails a verification started too long after that ("Transaction time
// expired.", 15 minutes). Reusing it made a resume
// that came later than that pay for a `failed` verification (found by the
// e2e crash loop). A journaled process that did start, its `started` entry
// lost in the crash, is polled, never started again.
func TestResumeReplacesAnUnstartedProcessAndPollsAStartedOne(t *testing.T) {
	h := newHarness(t, 12, func(c *emulator.Config) { c.TransactionExpiry = 15 * time.Minute })
	ctx := context.Background()
	const runID = "run-expiry"
	arch := h.openArchive()
	recs := acceptedRecords(t, h, arch, 2)

	// The earlier attempt: both records got a dossier and a process with
	// their images, journaled; the second was started, its `started` entry
	// lost.
	client := h.client(pipeline.NewMeter(nil))
	attempt := report.AttemptID(1, time.Now())
	j, err := journal.Begin(ctx, h.out, report.JournalPrefix(runID, 0, 1), attempt, time.Now(), time.Time{}, 0)
	require.NoError(t, err)
	for i, r := range recs {
		dossier, process, pages := submitByHand(t, client, arch, runID, r, i == 1)
		for _, e := range []journal.Entry{
			{Type: journal.TypeDossier, Record: r.ID, Dossier: dossier},
			{Type: journal.TypeProcess, Record: r.ID, Dossier: dossier, Process: process, Pages: pages},
		} {
			require.NoError(t, j.Append(ctx, e))
		}
	}
	require.NoError(t, j.Close())
	h.advance(16 * time.Minute) // past the transaction expiry

	_, err = h.attempt(ctx, h.options(runID), attemptHooks{})
	require.NoError(t, err)
	h.checkOutcomes(h.rows(runID))
	c := h.checkCounters()
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted, "one verification per record")
	assert.EqualValues(t, h.nonSkipped()+1, c.ProcessesCreated, "the unstarted process was replaced once")
}

// On S3 the journal is written as checkpoints; an attempt killed before its
// first one left no journal at all, so the next attempt took the run for a
// new one, did not reconcile with the API, and started the killed attempt's
// records again: paid twice (found by the e2e crash loop on S3). The run
// entry is on storage before any API call now (BeginAttempt), so the next
// attempt reconciles and polls what the first one started.
func TestAttemptKilledBeforeItsFirstCheckpointIsReconciled(t *testing.T) {
	h := newHarness(t, 12, nil)
	ctx := context.Background()
	const runID = "run-early-kill"
	arch := h.openArchive()
	out := checkpointStore{h.out} // the same folder, written as on S3
	now := time.Now()
	j, _, err := pipeline.BeginAttempt(ctx, out, runID, 0, 1, journal.NewState(), now, time.Hour)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	// The first attempt started two verifications, then was killed before
	// any checkpoint but the run entry.
	client := h.client(pipeline.NewMeter(nil))
	for _, r := range acceptedRecords(t, h, arch, 2) {
		dossier, process, pages := submitByHand(t, client, arch, runID, r, true)
		require.NoError(t, j.Append(ctx, journal.Entry{Type: journal.TypeStarted,
			Record: r.ID, Dossier: dossier, Process: process, Pages: pages})) // buffered, never written
	}

	_, err = h.attempt(ctx, h.options(runID), attemptHooks{})
	require.NoError(t, err)
	h.checkOutcomes(h.rows(runID))
	c := h.checkCounters()
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted, "nothing started twice")
	assert.EqualValues(t, h.nonSkipped(), c.ProcessesCreated, "nothing created twice")
}

// A record an attempt took up from reconciliation alone (the attempt before
// it was killed before its first checkpoint) has nothing in the journal
// but the final entry of the attempt that polled it. When that attempt is
// killed after the entry is on storage and before the dossier's deletion,
// the next one writes the row from the entry and must delete the dossier
// named there, also when GET /dossiers (the newest 100) no longer lists it.
// (Seen in the S3 crash loop: the first records' dossiers were left, their
// rows committed, every entry of theirs compacted away.)
func TestAFinalEntryAloneNamesTheDossierToDelete(t *testing.T) {
	h := newHarness(t, 12, nil)
	ctx := context.Background()
	const runID = "run-final-alone"
	arch := h.openArchive()
	out := checkpointStore{h.out}
	prefix := report.JournalPrefix(runID, 0, 1)
	// Attempt 1: two verifications started, nothing on storage but the run
	// entry.
	j1, _, err := pipeline.BeginAttempt(ctx, out, runID, 0, 1, journal.NewState(), time.Now(), time.Hour)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j1.Close() })
	client := h.client(pipeline.NewMeter(nil))
	recs := acceptedRecords(t, h, arch, 2)
	type started struct{ dossier, process string }
	var begun []started
	for _, r := range recs {
		d, p, _ := submitByHand(t, client, arch, runID, r, true)
		begun = append(begun, started{d, p})
	}
	// Attempt 2: found them at the API, polled them to their end, journaled
	// their final entries (on storage), and was killed before deleting.
	st, err := journal.Read(ctx, out, prefix)
	require.NoError(t, err)
	j2, _, err := pipeline.BeginAttempt(ctx, out, runID, 0, 1, st, time.Now(), time.Hour)
	require.NoError(t, err)
	t.Cleanup(func() { _ = j2.Close() })
	h.advance(time.Hour)
	for i, r := range recs {
		p, err := client.GetProcess(ctx, begun[i].dossier, begun[i].process)
		require.NoError(t, err)
		require.True(t, p.Status.Final(), "the process is final once the clock moved")
		require.NoError(t, j2.Append(ctx, journal.Entry{Type: journal.TypeFinal, Record: r.ID,
			Dossier: begun[i].dossier, Process: begun[i].process,
			Final: &journal.Final{Outcome: string(p.Status), Process: p.Raw, Effort: journal.Effort{Calls: 5, Polls: 1}}}))
	}
	require.NoError(t, j2.Sync(ctx))
	// A hundred newer dossiers (of another run): GET /dossiers no longer
	// lists the two.
	var others []string
	for i := range 100 {
		d, err := client.CreateDossier(ctx, fmt.Sprintf("another-run/%d", i), nil)
		require.NoError(t, err)
		others = append(others, d.DossierID)
	}

	_, err = h.attempt(ctx, h.options(runID), attemptHooks{})
	require.NoError(t, err)
	for _, d := range others {
		_, err := client.DeleteDossierEvidence(ctx, d)
		require.NoError(t, err)
	}
	h.checkOutcomes(h.rows(runID))
	c := h.checkCounters()
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted, "nothing started twice")
}

// acceptedRecords returns the first n records the API accepts.
func acceptedRecords(t *testing.T, h *harness, arch *source.Archive, n int) []source.Record {
	t.Helper()
	var recs []source.Record
	require.NoError(t, arch.Records(context.Background(), func(r source.Record) error {
		if h.expected[r.ID].Outcome == report.OutcomeAccepted && len(recs) < n {
			recs = append(recs, r)
		}
		return nil
	}))
	require.Len(t, recs, n)
	return recs
}

// submitByHand does what an attempt does for a record up to its start:
// dossier, process, images and, when start is set, start verification.
func submitByHand(t *testing.T, client *assure.Client, arch *source.Archive, runID string, r source.Record, start bool) (dossier, process string, pages int) {
	t.Helper()
	ctx := context.Background()
	d, err := client.CreateDossier(ctx, pipeline.ExternalReference(runID, r.ID), nil)
	require.NoError(t, err)
	pr, err := client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{Provider: assure.ProviderPictureID,
		ProcessType: r.ProcessType, DocumentID: r.DocumentID}, nil)

	require.NoError(t, err)
	imgs, problems, err := arch.Load(ctx, r)
	require.NoError(t, err)
	require.Empty(t, problems)
	up := assure.Images{Front: &assure.Image{Data: imgs.Front.Bytes, ContentType: imgs.Front.ContentType}}
	if pr.DocumentPages >= 2 {
		up.Back = &assure.Image{Data: imgs.Back.Bytes, ContentType: imgs.Back.ContentType}
	}
	if r.ProcessType == pictureid.ProcessDocumentSelfie {
		up.Selfie = &assure.Image{Data: imgs.Selfie.Bytes, ContentType: imgs.Selfie.ContentType}
	}
	require.NoError(t, client.SetImages(ctx, d.DossierID, pr.ProcessID, up))
	if start {
		_, err := client.StartVerification(ctx, d.DossierID, pr.ProcessID, nil)
		require.NoError(t, err)
	}
	return d.DossierID, pr.ProcessID, pr.DocumentPages
}

// No pause outlives a drain: with every poll answered 429 and a Retry-After
// of 36 s (capped at 60 s), a stop still ends the attempt within the grace
// period and a moment, not when the pause is over; what it left is
// finished by the next attempt, nothing started twice. (A run used to stay
// alive for the whole pause after SIGTERM.)
func TestStopEndsCallsStuckInAPause(t *testing.T) {
	h := newHarness(t, 30, nil)
	ctx := context.Background()
	opt := h.options("run-paused")
	opt.GracePeriod = 500 * time.Millisecond
	var stoppedAt atomic.Int64
	res, err := h.attempt(ctx, opt, attemptHooks{
		client: func(c *assure.Config) { c.Retry.MaxPause, c.Retry.MaxElapsed = time.Minute, 5*time.Minute },
		onRow: func(p *pipeline.Pipeline, done int64) {
			if done == 3 {
				// 10 emulated hours: "Retry-After: 36" at this scale.
				require.NoError(t, h.emu.SetFaults(emulator.Faults{Seed: 1, Endpoints: map[assure.Endpoint]emulator.FaultSpec{
					assure.EndpointGetProcess: {TooManyRequests: 1, RetryAfter: 10 * time.Hour}}}))
				stoppedAt.Store(time.Now().UnixNano())
				p.Stop()
			}
		}})
	took := time.Since(time.Unix(0, stoppedAt.Load()))
	require.NoError(t, err, "the end of a drain is not a failure")
	assert.True(t, res.Stopped)
	assert.Positive(t, res.Interrupted, "records left for the next attempt")
	assert.Less(t, took, opt.GracePeriod+5*time.Second, "grace period + a moment, not the 36 s pause")

	require.NoError(t, h.emu.SetFaults(emulator.Faults{Seed: 1}))
	_, err = h.attempt(ctx, h.options("run-paused"), attemptHooks{})
	require.NoError(t, err)
	h.checkOutcomes(h.rows("run-paused"))
	c := h.checkCounters()
	assert.EqualValues(t, h.nonSkipped(), c.VerificationsStarted, "nothing started twice")
}

// With no journal at all (the output deleted or moved), a run the API still
// knows — its dossiers carry the run's externalReference — is reconciled
// anyway: what exists at the API is finished, not paid for again.
func TestAFreshAttemptOfARunTheAPIKnowsReconciles(t *testing.T) {
	h := newHarness(t, 30, nil)
	ctx := context.Background()
	opt := h.options("run-lost")
	opt.KeepDossiers = true // every record's dossier and process stay at the API
	_, err := h.attempt(ctx, opt, attemptHooks{})
	require.NoError(t, err)
	before := h.emu.Counters()
	var keys []string
	require.NoError(t, h.out.List(ctx, "", func(o blob.Object) error { keys = append(keys, o.Key); return nil }))
	for _, k := range keys {
		require.NoError(t, h.out.Delete(ctx, k))
	}

	_, err = h.attempt(ctx, h.options("run-lost"), attemptHooks{})
	require.NoError(t, err)
	after := h.emu.Counters()
	assert.Equal(t, before.VerificationsStarted, after.VerificationsStarted, "nothing started again")
	assert.Equal(t, before.ProcessesCreated, after.ProcessesCreated, "nothing created again")
	assert.Equal(t, before.DossiersCreated, after.DossiersCreated)
	h.checkOutcomes(h.rows("run-lost"))
	h.checkCounters()
}

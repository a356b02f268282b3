package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"reverify/internal/assure"
	"reverify/internal/fault"
	"reverify/internal/report"
)

// pollOnce reads a started process once. done reports that the record leaves
// polling: final, past its deadline, or failed for good (its state says
// which). err is fatal for the run.
func (p *Pipeline) pollOnce(ctx context.Context, t *record) (done bool, err error) {
	ctx = withStats(ctx, &t.effort)
	t.effort.polls.Add(1)
	pr, err := p.deps.API.GetProcess(ctx, t.st.dossier, t.st.process)
	now := p.opt.Now()
	switch kind := fault.Of(err); {
	case err == nil && pr.Status.Final():
		t.st.finish(pr, now)
		return true, nil
	case fault.Fatal(err):
		return false, err
	case kind == fault.Record:
		// 404: the process is gone (deleted, expired, or an emulator
		// restart lost it). The record ends as error, the run goes on.
		t.st.fail(errorCode(err), fmt.Errorf("get process %s: %w", t.st.process, err), now)
		t.st.dossierGone = assure.StatusCodeOf(err) == http.StatusNotFound
		return true, nil
	case err != nil:
		p.log.Debug("poll failed; will poll again", "record_id", t.rec.ID, "process_id", t.st.process, "error", err)
	}
	if !t.deadline.IsZero() && !now.Before(t.deadline) {
		t.st.timeout(p.opt.Poll.Deadline, now)
		return true, nil
	}
	return false, nil
}

// finalizeLoop finishes records that left polling: their final entry is
// journaled, then a record whose dossier is to be deleted goes to the
// deleters, the others to the writer.
func (p *Pipeline) finalizeLoop(ctx context.Context, finals <-chan *record, deletions, rows chan<- *record) error {
	for t := range finals {
		p.polling.Add(-1)
		if t.interrupted {
			// Left for the next run, which polls it again (journal).
			p.interrupted.Add(1)
			p.release(t)
			continue
		}
		if err := p.finalize(ctx, t); err != nil {
			return err
		}
		if t.interrupted {
			// Its full result could not be stored: its dossier is kept, and
			// the next attempt polls it and fetches the zip again.
			p.interrupted.Add(1)
			p.release(t)
			continue
		}
		next := rows
		if p.deletesDossier(t) {
			next = deletions
		}
		if err := send(ctx, next, t); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// finalize completes a record that left polling: the optional zip, then the
// final journal entry. A zip that could not be stored leaves the record
// unfinished (interrupted), its dossier kept: deleting it would lose the zip
// for good.
func (p *Pipeline) finalize(ctx context.Context, t *record) error {
	ctx = withStats(ctx, &t.effort)
	if p.opt.DownloadResults && t.st.end.process != nil {
		if err := p.download(ctx, t); err != nil {
			if fault.Fatal(err) {
				return err
			}
			p.log.Warn("full result not stored: the dossier is kept, and the next attempt fetches it again",
				"record_id", t.rec.ID, "dossier_id", t.st.dossier, "process_id", t.st.process, "error", err)
			t.interrupted = true
			return nil
		}
	}
	if err := p.journal(ctx, t.final()); err != nil {
		return err
	}
	t.journaled = p.deps.Journal.Mark()
	return nil
}

// deletesDossier reports whether a finalized record's dossier is deleted
// now: a timeout keeps its process for a later run to poll.
func (p *Pipeline) deletesDossier(t *record) bool {
	return t.st.end.outcome != report.OutcomeTimeout && !p.opt.KeepDossiers
}

// deleteLoop deletes the dossiers of finalized records, each once its final
// entry is on storage, and hands the records to the writer.
//
// Deleting the dossier deletes the API's copy of the result, so the final
// entry must be on storage first, also where the journal only checkpoints
// (S3): else a crash right after the deletion loses the paid result, and
// the record is verified (paid) again. The deleters wait for the journal's
// next periodic checkpoint (Journal.Await) rather than ask for one per
// record: records arrive in the order they were journaled, so one
// checkpoint releases every record finalized before it.
func (p *Pipeline) deleteLoop(ctx context.Context, deletions <-chan *record, rows chan<- *record) error {
	for t := range deletions {
		if err := p.deps.Journal.Await(ctx, t.journaled); err != nil {
			return err
		}
		dctx := withStats(ctx, &t.effort)
		if err := p.deleteDossier(dctx, t); err != nil {
			if fault.Fatal(err) {
				return err
			}
			p.log.Warn("dossier not deleted; `batch cleanup` removes it",
				"record_id", t.rec.ID, "dossier_id", t.st.dossier, "error", err)
		}
		p.log.Debug("record done", "record_id", t.rec.ID, "outcome", t.st.end.outcome)
		if err := send(ctx, rows, t); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// download stores the process's full-result zip under the output.
func (p *Pipeline) download(ctx context.Context, t *record) error {
	switch t.st.end.process.Status {
	case assure.StatusAccepted, assure.StatusRejected, assure.StatusInconclusive:
	default:
		return nil // no zip for failed or canceled processes
	}
	var zip []byte
	for n := 0; ; n++ {
		data, ready, err := p.deps.API.DownloadResult(ctx, t.st.dossier, t.st.process)
		if err != nil {
			return fmt.Errorf("download result: %w", err)
		}
		if ready {
			zip = data
			break
		}
		// 204: the zip is not there yet. This is waiting for the API's
		// side, not a retry of a failed call.
		if n >= 3 {
			return errors.New("download result: still not ready (204)")
		}
		t := time.NewTimer(max(p.opt.Poll.InitialDelay/4, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	key := report.ResultKey(p.opt.RunID, t.rec.ID)
	if err := p.deps.Results.Put(ctx, key, zip); err != nil {
		return fmt.Errorf("store result zip: %w", err)
	}
	t.zipURI = p.deps.Results.KeyURI(key)
	return nil
}

// deleteDossier deletes the record's dossier (404: already gone).
func (p *Pipeline) deleteDossier(ctx context.Context, t *record) error {
	if t.st.dossier == "" || t.st.dossierGone {
		return nil
	}
	d, err := p.deps.API.DeleteDossierEvidence(ctx, t.st.dossier)
	if err != nil && assure.StatusCodeOf(err) != http.StatusNotFound {
		return fmt.Errorf("delete dossier: %w", err)
	}
	if err := p.logDossier(ctx, DeletionEntry(t.rec.ID, t.st.dossier, d, p.opt.Now())); err != nil {
		return err
	}
	return p.journal(ctx, t.st.dossierDeleted(t.rec.ID))
}

// deleteDossierQuietly deletes the dossier of a record that ends without a
// result (skipped, error), logging a failure.
func (p *Pipeline) deleteDossierQuietly(ctx context.Context, t *record) {
	if p.opt.KeepDossiers {
		return
	}
	if err := p.deleteDossier(ctx, t); err != nil {
		p.log.Warn("dossier not deleted; `batch cleanup` removes it", "record_id", t.rec.ID, "dossier_id", t.st.dossier, "error", err)
	}
}

// release frees the in-flight slot of a record that leaves without a row.
func (p *Pipeline) release(t *record) {
	if t.hasSlot {
		t.hasSlot = false
		p.inFlight.Add(-1)
		<-p.slots
	}
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/report"
)

// pollOnce reads a started process once. done reports that the task leaves
// polling: final, past its deadline, or failed for good (its row says so).
// err is fatal for the run.
func (p *Pipeline) pollOnce(ctx context.Context, t *task) (done bool, err error) {
	ctx = withStats(ctx, &t.stats)
	t.stats.polls.Add(1)
	pr, err := p.deps.API.GetProcess(ctx, t.dossierID, t.processID)
	now := p.opt.Now()
	if err != nil {
		switch assure.ClassOf(err) {
		case assure.Fatal, assure.Canceled:
			return false, err
		case assure.Permanent:
			// 404: the process is gone (deleted, expired, or an emulator
			// restart lost it). The record ends as error, the run goes on.
			p.fail(t, errorCode(err), fmt.Errorf("get process %s: %w", t.processID, err))
			t.dossierGone = assure.StatusCodeOf(err) == http.StatusNotFound
			return true, nil
		}
		p.log.Debug("poll failed; will poll again", "record_id", t.rec.ID, "process_id", t.processID, "error", err)
	} else if pr.Status.Final() {
		t.process = pr
		return true, nil
	}
	if !t.deadline.IsZero() && !now.Before(t.deadline) {
		t.timedOut = true
		return true, nil
	}
	return false, nil
}

// finalizeLoop finishes tasks that left polling.
func (p *Pipeline) finalizeLoop(ctx context.Context, finals <-chan *task, rows chan<- *task) error {
	for t := range finals {
		if t.interrupted {
			// Left for the next run, which polls it again (journal).
			p.interrupted.Add(1)
			p.release(t)
			continue
		}
		if err := p.finalize(ctx, t); err != nil {
			return err
		}
		if err := sendTask(ctx, rows, t); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// finalize completes a task's row: the result, the optional zip, the
// dossier's deletion. The row is journaled before the dossier is deleted, so
// a crash between the two never loses a paid result.
func (p *Pipeline) finalize(ctx context.Context, t *task) error {
	ctx = withStats(ctx, &t.stats)
	log := p.log.With("record_id", t.rec.ID, "dossier_id", t.dossierID, "process_id", t.processID)
	switch {
	case t.process != nil:
		applyProcess(&t.row, t.process)
		if p.opt.DownloadResults {
			if err := p.download(ctx, t); err != nil {
				if fatal(err) {
					return err
				}
				log.Warn("full result not downloaded", "error", err)
			}
		}
	case t.timedOut:
		t.row.Outcome = report.OutcomeTimeout
		t.row.ErrorCode = "deadline"
		t.row.ErrorMessage = report.NonEmpty(fmt.Sprintf("no final status within %s of the start; the process is kept for a later run", p.opt.Poll.Deadline))
		finishRow(&t.row)
	}
	completeRow(&t.row, &t.stats, t.submitted, p.opt.Now())
	if err := p.journal(ctx, Entry{Type: EntryFinal, Record: t.rec.ID, Dossier: t.dossierID, Process: t.processID, Row: &t.row}); err != nil {
		return err
	}
	if t.row.Outcome != report.OutcomeTimeout && !p.opt.KeepDossiers {
		// Deleting the dossier deletes the API's copy of the result: the
		// final entry must be on storage first, also where the journal only
		// checkpoints (S3). Else a crash right after the deletion loses the
		// paid result, and the record is verified (paid) again.
		if err := p.syncJournal(ctx); err != nil {
			return err
		}
		if err := p.deleteDossier(ctx, t); err != nil {
			if fatal(err) {
				return err
			}
			log.Warn("dossier not deleted; `batch cleanup` removes it", "error", err)
		}
		stampEffort(&t.row, &t.stats) // count the deletion too
	}
	log.Debug("record done", "outcome", t.row.Outcome, "reason", t.row.Reason)
	return nil
}

// download stores the process's full-result zip under the output.
func (p *Pipeline) download(ctx context.Context, t *task) error {
	switch t.process.Status {
	case assure.StatusAccepted, assure.StatusRejected, assure.StatusInconclusive:
	default:
		return nil // no zip for failed or canceled processes
	}
	var zip []byte
	for n := 0; ; n++ {
		data, ready, err := p.deps.API.DownloadResult(ctx, t.dossierID, t.processID)
		if err != nil {
			return fmt.Errorf("download result: %w", err)
		}
		if ready {
			zip = data
			break
		}
		if n >= 3 {
			return errors.New("download result: still not ready (204)")
		}
		if err := sleepCtx(ctx, max(p.opt.Poll.InitialDelay/4, 10*time.Millisecond)); err != nil {
			return err
		}
	}
	key := report.RunPrefix(p.opt.RunID) + "results/" + safeKey(t.rec.ID) + ".zip"
	if err := p.deps.Results.Put(ctx, key, zip); err != nil {
		return fmt.Errorf("store result zip: %w", err)
	}
	t.row.ResultZipURI = report.NonEmpty(p.deps.Results.KeyURI(key))
	return nil
}

// safeKey turns a record ID into key segments that need no escaping.
func safeKey(id string) string {
	segs := strings.Split(id, "/")
	for i, s := range segs {
		s = url.PathEscape(s)
		if s == "" || s == "." || s == ".." {
			s = "_" + s
		}
		segs[i] = s
	}
	return strings.Join(segs, "/")
}

// deleteDossier deletes the task's dossier (404: already gone).
func (p *Pipeline) deleteDossier(ctx context.Context, t *task) error {
	if t.dossierID == "" || t.dossierGone {
		return nil
	}
	err := p.deps.API.DeleteDossier(ctx, t.dossierID)
	if err != nil && assure.StatusCodeOf(err) != http.StatusNotFound {
		return fmt.Errorf("delete dossier: %w", err)
	}
	t.dossierGone = true
	return p.journal(ctx, Entry{Type: EntryDeleted, Record: t.rec.ID, Dossier: t.dossierID})
}

// deleteDossierQuietly deletes the dossier of a task that ends during
// submission, logging a failure.
func (p *Pipeline) deleteDossierQuietly(ctx context.Context, t *task) {
	if p.opt.KeepDossiers {
		return
	}
	if err := p.deleteDossier(ctx, t); err != nil {
		p.log.Warn("dossier not deleted; `batch cleanup` removes it", "record_id", t.rec.ID, "dossier_id", t.dossierID, "error", err)
	}
}

// release frees the in-flight slot of a task that leaves without a row.
func (p *Pipeline) release(t *task) {
	if t.hasSlot {
		t.hasSlot = false
		p.inFlight.Add(-1)
		<-p.slots
	}
}

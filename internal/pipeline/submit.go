package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"reverify/internal/assure"
	"reverify/internal/fault"
	"reverify/internal/journal"
	"reverify/internal/pictureid"
	"reverify/internal/source"
)

// submitLoop takes records until the lister is done or Stop is called, and
// runs each through its submit steps. Started records go to the scheduler;
// records that ended early (skipped, error) go to the writer.
func (p *Pipeline) submitLoop(ctx context.Context, records <-chan *record, started, rows chan<- *record) error {
	for {
		var t *record
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t, ok = <-records:
			if !ok {
				return nil
			}
		}
		if p.stopped() && t.st.step == stepNew {
			// Not yet begun: left for the next run.
			p.interrupted.Add(1)
			continue
		}
		if err := p.submit(ctx, t); err != nil {
			if p.stopped() {
				p.interrupted.Add(1) // cut short by the end of a drain
			}
			return err
		}
		next := started
		if t.st.ended() {
			next = rows
		} else {
			p.polling.Add(1)
		}
		if err := send(ctx, next, t); err != nil {
			return err
		}
	}
}

func (p *Pipeline) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

// submit takes a record from where it stands up to a started verification,
// or to its end (skipped, error). It returns an error only when the run must
// stop (fault.Fatal, or the run's context ended).
func (p *Pipeline) submit(ctx context.Context, t *record) error {
	ctx = withStats(ctx, &t.effort)
	if t.st.step < stepStarted {
		if err := p.prepare(ctx, t); err != nil || t.st.ended() {
			return err
		}
	}
	defer func() { t.images = nil }() // images leave memory with the submitter

	// From here on the record costs API calls: hold an in-flight slot until
	// its row is written.
	select {
	case p.slots <- struct{}{}:
		p.inFlight.Add(1)
		t.hasSlot = true
	case <-ctx.Done():
		return ctx.Err()
	}
	if t.submitted.IsZero() {
		t.submitted = p.opt.Now()
	}
	steps := []struct {
		at  step
		run func(context.Context, *record) error
	}{
		{stepNew, p.createDossier},
		{stepDossier, p.createProcess},
		{stepProcess, p.upload},
	}
	for _, s := range steps {
		if t.st.step != s.at {
			continue
		}
		if err := s.run(ctx, t); err != nil {
			if fault.Fatal(err) || ctx.Err() != nil {
				return err
			}
			t.st.fail(errorCode(err), err, p.opt.Now())
			p.log.Warn("record failed", "record_id", t.rec.ID, "dossier_id", t.st.dossier, "process_id", t.st.process,
				"step", s.at.String(), "error_code", t.st.end.code)
			p.deleteDossierQuietly(ctx, t)
			return nil
		}
		if t.st.ended() {
			return nil
		}
	}
	if t.startedAt.IsZero() {
		t.startedAt = p.opt.Now()
	}
	if p.opt.Poll.Deadline > 0 {
		t.deadline = t.startedAt.Add(p.opt.Poll.Deadline)
	}
	p.log.Debug("verification started", "record_id", t.rec.ID, "dossier_id", t.st.dossier, "process_id", t.st.process)
	return nil
}

// prepare fetches and checks the images of a record not started yet, before
// anything (more) is paid for it: a record that fails the checks is
// skipped, and its dossier, if an earlier attempt made one, deleted.
func (p *Pipeline) prepare(ctx context.Context, t *record) error {
	imgs, problems, err := p.deps.Archive.Load(ctx, t.rec)
	if err != nil {
		if fault.Fatal(err) || ctx.Err() != nil {
			return err
		}
		t.st.fail("source_read", err, p.opt.Now())
		p.log.Warn("images could not be read", "record_id", t.rec.ID, "error", err)
		p.deleteDossierQuietly(ctx, t)
		return nil
	}
	t.setImages(imgs)
	if pr, ok := p.checkDocument(t); !ok {
		problems = append(problems, pr)
	}
	if len(problems) > 0 {
		p.skip(ctx, t, problems)
	}
	return nil
}

// skip ends a record as skipped with every problem found, deleting the
// dossier an earlier step or attempt made.
func (p *Pipeline) skip(ctx context.Context, t *record, problems []source.Problem) {
	t.st.skip(problems, p.opt.Now())
	t.images = nil
	p.log.Debug("record skipped", "record_id", t.rec.ID, "reasons", t.st.end.skips)
	p.deleteDossierQuietly(ctx, t)
}

// createDossier creates the record's dossier. When the outcome of a create
// is unknown, the client reads it back through findDossier before it sends
// the create again, so that a record never leaves a second dossier behind.
func (p *Pipeline) createDossier(ctx context.Context, t *record) error {
	ref := ExternalReference(p.opt.RunID, t.rec.ID)
	d, err := p.deps.API.CreateDossier(ctx, ref, func(ctx context.Context) (*assure.Dossier, error) {
		return p.findDossier(ctx, ref)
	})
	if err != nil {
		return fmt.Errorf("create dossier: %w", err)
	}
	if err := p.logDossier(ctx, journal.Entry{Type: journal.TypeDossier, Record: t.rec.ID, Dossier: d.DossierID}); err != nil {
		return err
	}
	return p.journal(ctx, t.st.dossierCreated(t.rec.ID, d.DossierID))
}

// findDossier looks for a live dossier with the reference among the API
// client's most recent dossiers; nil when there is none.
func (p *Pipeline) findDossier(ctx context.Context, ref string) (*assure.Dossier, error) {
	list, err := p.deps.API.ListDossiers(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		if d.ExternalReference == ref {
			return &d, nil
		}
	}
	return nil, nil
}

// createProcess creates the PictureID process. When the outcome of a create
// is unknown, the client reads it back through clearProcesses, which deletes
// any process the create may have left, before it sends the create again:
// only a process whose creation answer was read is used, because that answer
// says how many pages to upload.
func (p *Pipeline) createProcess(ctx context.Context, t *record) error {
	if t.resumed {
		// An earlier attempt may have created a process it did not journal,
		// or created one it did not start (deleted here: a fresh process gets
		// the images and the start in one go), or started one its journal
		// lost (polled, never started again); the dossier itself may be gone.
		t.resumed = false
		started, err := p.clearProcesses(ctx, t.st.dossier)
		switch {
		case assure.StatusCodeOf(err) == http.StatusNotFound:
			t.st.dossierLost()
			if err := p.createDossier(ctx, t); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("resume: read dossier: %w", err)
		case started != "":
			return p.journal(ctx, t.st.started(t.rec.ID, started))
		}
	}
	dossier := t.st.dossier
	req := assure.CreateProcessRequest{
		Provider:    assure.ProviderPictureID,
		ProcessType: t.rec.ProcessType,
		DocumentID:  t.rec.DocumentID,
		EventTags:   []string{p.opt.RunID},
	}
	pr, err := p.deps.API.CreateProcess(ctx, dossier, req, func(ctx context.Context) (*assure.ProcessResponse, error) {
		_, err := p.clearProcesses(ctx, dossier)
		return nil, err // cleared (or not): create anew
	})
	if err != nil {
		return fmt.Errorf("create process: %w", err)
	}
	t.created = pr.CreatedAt.Time
	return p.journal(ctx, t.st.processCreated(t.rec.ID, pr.ProcessID, pr.DocumentPages))
}

// clearProcesses deletes every process of a dossier that has not started,
// and returns the id of one that has (verification started: it must be
// polled, never replaced), if any.
func (p *Pipeline) clearProcesses(ctx context.Context, dossierID string) (started string, err error) {
	d, err := p.deps.API.GetDossier(ctx, dossierID)
	if err != nil {
		return "", err
	}
	for _, sp := range d.Processes {
		if sp.Status != assure.StatusPending {
			if started == "" {
				started = sp.ProcessID
			}
			continue
		}
		if err := p.deps.API.DeleteProcess(ctx, dossierID, sp.ProcessID); err != nil && assure.StatusCodeOf(err) != http.StatusNotFound {
			return started, err
		}
	}
	return started, nil
}

// upload sends the images the process needs and starts the verification.
// When the outcome of a start is unknown, the client reads the process back
// (startedAlready) before it sends the start again.
func (p *Pipeline) upload(ctx context.Context, t *record) error {
	imgs := assure.Images{Front: apiImage(t.images.Front)}
	switch {
	case t.st.pages >= 2 && t.images.Back == nil:
		p.skip(ctx, t, []source.Problem{{Code: source.CodeMissingBack, Role: source.RoleBack,
			Detail: fmt.Sprintf("record %s: document %d has two pages but the record has no back image", t.rec.ID, t.rec.DocumentID)}})
		return nil
	case t.st.pages >= 2:
		imgs.Back = apiImage(t.images.Back)
	}
	if t.rec.ProcessType != pictureid.ProcessDocument {
		imgs.Selfie = apiImage(t.images.Selfie)
	}
	dossier, process := t.st.dossier, t.st.process
	if err := p.deps.API.SetImages(ctx, dossier, process, imgs); err != nil {
		// 409: images set after the start, so an earlier start went through.
		if assure.StatusCodeOf(err) != http.StatusConflict {
			return fmt.Errorf("set images: %w", err)
		}
		if started, rerr := p.startedAlready(ctx, dossier, process); rerr != nil || started == nil {
			return fmt.Errorf("set images: %w", errors.Join(err, rerr))
		}
		return p.journal(ctx, t.st.started(t.rec.ID, process))
	}
	_, err := p.deps.API.StartVerification(ctx, dossier, process, func(ctx context.Context) (*assure.VerifyResponse, error) {
		return p.startedAlready(ctx, dossier, process)
	})
	switch {
	case assure.StatusCodeOf(err) == http.StatusConflict:
		// 409: already started (by an attempt whose answer was lost).
	case assure.IsOutcomeUnknown(err) && !fault.Fatal(err) && ctx.Err() == nil:
		// The start may have gone through and could not be read back: poll
		// it as started. Failing the record would delete its dossier and,
		// with it, a verification that may be paid for; polling finds the
		// outcome, or a timeout that keeps the dossier for a later attempt.
		p.log.Warn("start verification: outcome unknown; polling the process as started", "record_id", t.rec.ID,
			"dossier_id", dossier, "process_id", process, "error", err)
	case err != nil:
		return fmt.Errorf("start verification: %w", err)
	}
	return p.journal(ctx, t.st.started(t.rec.ID, process))
}

// startedAlready reads a process whose start (or a set images after it) may
// have gone through: started unless still pending. nil when not started.
func (p *Pipeline) startedAlready(ctx context.Context, dossierID, processID string) (*assure.VerifyResponse, error) {
	pr, err := p.deps.API.GetProcess(ctx, dossierID, processID)
	if err != nil {
		return nil, fmt.Errorf("reading the process back: %w", err)
	}
	if pr.Status == assure.StatusPending {
		return nil, nil
	}
	return &assure.VerifyResponse{ProcessID: pr.ProcessID, Status: pr.Status}, nil
}

// errorCode is the short code of a record-level failure.
func errorCode(err error) string {
	var ae *assure.APIError
	switch {
	case errors.As(err, &ae):
		return ae.Code()
	case assure.IsOutcomeUnknown(err):
		return "outcome_unknown"
	}
	var te *assure.TransportError
	if errors.As(err, &te) {
		return "transport"
	}
	return "error"
}

// retryableCode reports whether an error row's code (errorCode, or
// source_read) is of a failure that may pass another time: a transport
// error, 408, 429 past the retry budget, a 5xx, an outcome that stayed
// unknown, an archive read that failed. Any other (a 4xx for a bad image, an
// answer that did not decode) would fail the same way again.
func retryableCode(code string) bool {
	switch code {
	case "transport", "outcome_unknown", "source_read", "http_408", "http_429":
		return true
	}
	return strings.HasPrefix(code, "http_5")
}

func apiImage(img *source.Image) *assure.Image {
	if img == nil {
		return nil
	}
	return &assure.Image{Data: img.Bytes, ContentType: img.ContentType}
}

// CodeUnknownDocumentID is the skip reason of a record whose documentId the
// API's document-types list does not have.
const CodeUnknownDocumentID = "unknown_document_id"

// checkDocument checks the record's documentId against the API's list.
func (p *Pipeline) checkDocument(t *record) (source.Problem, bool) {
	return documentProblem(p.documents, &t.rec)
}

// documentProblem is the unknown_document_id problem of a record whose
// document id is not among documents (nil: not checked); false when there
// is one.
func documentProblem(documents map[int]bool, r *source.Record) (source.Problem, bool) {
	if documents == nil || r.DocumentID == 0 || documents[r.DocumentID] {
		return source.Problem{}, true
	}
	return source.Problem{Code: CodeUnknownDocumentID, Detail: fmt.Sprintf(
		"record %q (%s): document id %d is not in the API's %s document types", r.ID, r.Origin,
		r.DocumentID, assure.ProviderPictureID)}, false
}

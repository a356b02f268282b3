package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"reverify/internal/assure"
	"reverify/internal/report"
	"reverify/internal/source"
)

// submitLoop takes records until the lister is done or Stop is called, and
// runs each through its submit steps. Started tasks go to the scheduler;
// tasks that ended early (skipped, error) go to the writer.
func (p *Pipeline) submitLoop(ctx context.Context, records <-chan *task, started, rows chan<- *task) error {
	for {
		var t *task
		var ok bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t, ok = <-records:
			if !ok {
				return nil
			}
		}
		if p.stopped() && t.from == stepLoad {
			// Not yet begun: left for the next run.
			p.interrupted.Add(1)
			continue
		}
		if err := p.submit(ctx, t); err != nil {
			return err
		}
		next := started
		if t.row.Outcome != "" { // ended early: skipped or error
			next = rows
		}
		if err := sendTask(ctx, next, t); err != nil {
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

// submit runs one task from its current step up to a started verification.
// It returns a fatal error only; a record that ends early (skipped, error)
// has its outcome set in its row.
func (p *Pipeline) submit(ctx context.Context, t *task) error {
	ctx = withStats(ctx, &t.stats)
	log := p.log.With("record_id", t.rec.ID)

	if t.from == stepLoad {
		imgs, problems, err := p.load(ctx, t)
		if err != nil {
			if fatal(err) {
				return err
			}
			p.fail(t, "source_read", err)
			log.Warn("images could not be read", "error", err)
			return nil
		}
		setImageColumns(&t.row, imgs)
		if pr, ok := p.checkDocument(t); !ok {
			problems = append(problems, pr)
		}
		if len(problems) > 0 {
			p.skip(t, problems)
			return nil
		}
		t.images = imgs
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
		from step
		run  func(context.Context, *task) error
	}{
		{stepLoad, p.createDossier},
		{stepCreateProcess, p.createProcess},
		{stepUpload, p.upload},
	}
	for _, s := range steps {
		if t.from > s.from {
			continue
		}
		if err := s.run(ctx, t); err != nil {
			if fatal(err) {
				return err
			}
			if errors.Is(err, errSkipped) {
				return nil
			}
			p.fail(t, errorCode(err), err)
			log.Warn("record failed", "dossier_id", t.dossierID, "process_id", t.processID, "error_code", t.row.ErrorCode)
			p.deleteDossierQuietly(ctx, t)
			return nil
		}
	}
	if t.startedAt.IsZero() {
		t.startedAt = p.opt.Now()
	}
	if p.opt.Poll.Deadline > 0 {
		t.deadline = t.startedAt.Add(p.opt.Poll.Deadline)
	}
	log.Debug("verification started", "dossier_id", t.dossierID, "process_id", t.processID)
	return nil
}

// errSkipped ends a task whose row was set to skipped during submission.
var errSkipped = errors.New("skipped")

// load fetches and checks the record's images, retrying infrastructure
// failures.
func (p *Pipeline) load(ctx context.Context, t *task) (*source.Images, []source.Problem, error) {
	var imgs *source.Images
	var problems []source.Problem
	err := p.retryStep(ctx, func(ctx context.Context) error {
		var err error
		imgs, problems, err = p.deps.Archive.Load(ctx, t.rec)
		return err
	}, func(err error) bool { return errors.Is(err, source.ErrRetry) })
	return imgs, problems, err
}

// createDossier creates the record's dossier. When the outcome of the call is
// unknown, the dossier is looked up by its externalReference before trying
// again, so a record never leaves a second dossier behind.
func (p *Pipeline) createDossier(ctx context.Context, t *task) error {
	err := p.retryStep(ctx, func(ctx context.Context) error {
		if t.dossierID == "" {
			d, err := p.deps.API.CreateDossier(ctx, t.externalReference())
			if assure.IsOutcomeUnknown(err) {
				id, ferr := p.findDossier(ctx, t.externalReference())
				if ferr != nil {
					return fmt.Errorf("%w; looking it up: %v", err, ferr)
				}
				if id == "" {
					return err // not created: retry
				}
				d, err = &assure.Dossier{DossierID: id}, nil
			}
			if err != nil {
				return fmt.Errorf("create dossier: %w", err)
			}
			t.dossierID = d.DossierID
		}
		return nil
	}, retryableAPI)
	if err != nil {
		return err
	}
	t.row.DossierID = report.NonEmpty(t.dossierID)
	return p.journal(ctx, Entry{Type: EntryDossier, Record: t.rec.ID, Dossier: t.dossierID})
}

// findDossier looks for a live dossier with the reference among the API
// client's most recent dossiers.
func (p *Pipeline) findDossier(ctx context.Context, ref string) (string, error) {
	list, err := p.deps.API.ListDossiers(ctx)
	if err != nil {
		return "", err
	}
	for _, d := range list {
		if d.ExternalReference == ref {
			return d.DossierID, nil
		}
	}
	return "", nil
}

// createProcess creates the PictureID process. When the outcome is unknown,
// any process the call may have left in the dossier is deleted before the
// next try: only a process whose creation answer was read is used, because
// that answer says how many pages to upload.
func (p *Pipeline) createProcess(ctx context.Context, t *task) error {
	req := assure.CreateProcessRequest{
		Provider:    assure.ProviderPictureID,
		ProcessType: t.rec.ProcessType,
		DocumentID:  t.rec.DocumentID,
		EventTags:   []string{p.opt.RunID},
	}
	if t.from == stepCreateProcess {
		// Resumed: an earlier attempt may have created a process it did not
		// journal, or created one it did not start (deleted here: a fresh
		// process gets the images and the start in one go), or started one
		// its journal lost (polled, never started again); the dossier itself
		// may be gone.
		started, err := p.clearProcesses(ctx, t.dossierID)
		switch {
		case assure.StatusCodeOf(err) == http.StatusNotFound:
			t.dossierID = ""
			if err := p.createDossier(ctx, t); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("resume: read dossier: %w", err)
		case started != "":
			t.processID, t.started, t.from = started, true, stepPoll
			t.row.ProcessID = report.NonEmpty(t.processID)
			return p.journal(ctx, Entry{Type: EntryStarted, Record: t.rec.ID, Dossier: t.dossierID, Process: t.processID})
		}
	}
	err := p.retryStep(ctx, func(ctx context.Context) error {
		pr, err := p.deps.API.CreateProcess(ctx, t.dossierID, req)
		if assure.IsOutcomeUnknown(err) {
			if _, cerr := p.clearProcesses(ctx, t.dossierID); cerr != nil {
				return fmt.Errorf("%w; clearing the dossier: %v", err, cerr)
			}
			return err
		}
		if err != nil {
			return fmt.Errorf("create process: %w", err)
		}
		t.processID, t.pages = pr.ProcessID, pr.DocumentPages
		return nil
	}, retryableAPI)
	if err != nil {
		return err
	}
	t.row.ProcessID = report.NonEmpty(t.processID)
	return p.journal(ctx, Entry{Type: EntryProcess, Record: t.rec.ID, Dossier: t.dossierID, Process: t.processID, Pages: t.pages})
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
// A start whose outcome is unknown is resolved by reading the process: any
// status but pending means it started.
func (p *Pipeline) upload(ctx context.Context, t *task) error {
	if t.images == nil {
		// Resumed at this step: the images are needed again.
		imgs, problems, err := p.load(ctx, t)
		if err != nil {
			return fmt.Errorf("read images: %w", err)
		}
		if len(problems) > 0 {
			p.skip(t, problems)
			p.deleteDossierQuietly(ctx, t)
			return errSkipped
		}
		t.images = imgs
		setImageColumns(&t.row, imgs)
	}
	imgs := assure.Images{Front: apiImage(t.images.Front)}
	switch {
	case t.pages >= 2 && t.images.Back == nil:
		p.skip(t, []source.Problem{{Code: source.CodeMissingBack, Role: source.RoleBack,
			Detail: fmt.Sprintf("record %s: document %d has two pages but the record has no back image", t.rec.ID, t.rec.DocumentID)}})
		p.deleteDossierQuietly(ctx, t)
		return errSkipped
	case t.pages >= 2:
		imgs.Back = apiImage(t.images.Back)
	}
	if t.rec.ProcessType != assure.ProcessTypeDocument {
		imgs.Selfie = apiImage(t.images.Selfie)
	}
	err := p.retryStep(ctx, func(ctx context.Context) error {
		if err := p.deps.API.SetImages(ctx, t.dossierID, t.processID, imgs); err != nil {
			if assure.StatusCodeOf(err) == http.StatusConflict {
				// Set after start: an earlier start went through.
				return p.confirmStarted(ctx, t, err)
			}
			return fmt.Errorf("set images: %w", err)
		}
		return nil
	}, retryableAPI)
	if err != nil {
		return err
	}
	if t.started {
		return nil
	}
	err = p.retryStep(ctx, func(ctx context.Context) error {
		_, err := p.deps.API.StartVerification(ctx, t.dossierID, t.processID)
		switch {
		case err == nil:
			t.started = true
			return nil
		case assure.IsOutcomeUnknown(err), assure.StatusCodeOf(err) == http.StatusConflict:
			return p.confirmStarted(ctx, t, err)
		}
		return fmt.Errorf("start verification: %w", err)
	}, retryableAPI)
	if err != nil {
		return err
	}
	return p.journal(ctx, Entry{Type: EntryStarted, Record: t.rec.ID, Dossier: t.dossierID, Process: t.processID})
}

// confirmStarted reads the process after a start (or set images) whose
// outcome is unknown: started unless still pending.
func (p *Pipeline) confirmStarted(ctx context.Context, t *task, cause error) error {
	pr, err := p.deps.API.GetProcess(ctx, t.dossierID, t.processID)
	if err != nil {
		return fmt.Errorf("%w; reading the process back: %v", cause, err)
	}
	if pr.Status == assure.StatusPending {
		return cause // not started: the caller may try again
	}
	t.started = true
	return nil
}

// retryStep runs fn until it succeeds, fails in a way retry does not accept,
// or the step's attempts are used up. Backoff is exponential with full
// jitter; a Retry-After the client handed back is waited first.
func (p *Pipeline) retryStep(ctx context.Context, fn func(context.Context) error, retry func(error) bool) error {
	var err error
	for n := 1; ; n++ {
		err = fn(ctx)
		if err == nil || ctx.Err() != nil || !retry(err) || n >= p.opt.Step.Attempts {
			if ctx.Err() != nil && err != nil && !isCtxErr(err) {
				return fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			return err
		}
		d := p.opt.Step.BaseDelay << (n - 1)
		if d > p.opt.Step.MaxDelay || d <= 0 {
			d = p.opt.Step.MaxDelay
		}
		d = rand.N(d + 1)
		if ra, ok := assure.RetryAfterOf(err); ok && ra > d {
			d = ra
		}
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
}

// retryableAPI accepts retryable API failures, outcome-unknown ones included
// (each step reads the state back before repeating).
func retryableAPI(err error) bool { return assure.ClassOf(err) == assure.Retryable }

// fatal reports whether err must end the whole run.
func fatal(err error) bool {
	var je *journalError
	return assure.ClassOf(err) == assure.Fatal || errors.Is(err, source.ErrAbort) || errors.As(err, &je) || isCtxErr(err)
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

// skip ends a task as skipped with every problem found.
func (p *Pipeline) skip(t *task, problems []source.Problem) {
	t.row.Outcome = report.OutcomeSkipped
	t.row.SkipReasons = nil
	var details []string
	for _, pr := range problems {
		t.row.SkipReasons = append(t.row.SkipReasons, pr.Code)
		details = append(details, pr.Detail)
	}
	t.row.ErrorMessage = report.NonEmpty(strings.Join(details, "; "))
	finishRow(&t.row)
	p.log.Debug("record skipped", "record_id", t.rec.ID, "reasons", t.row.SkipReasons)
}

// fail ends a task as error.
func (p *Pipeline) fail(t *task, code string, err error) {
	t.row.Outcome = report.OutcomeError
	t.row.ErrorCode = code
	t.row.ErrorMessage = report.NonEmpty(err.Error())
	finishRow(&t.row)
}

func apiImage(img *source.Image) *assure.Image {
	if img == nil {
		return nil
	}
	return &assure.Image{Data: img.Bytes, ContentType: img.ContentType}
}

// setImageColumns records the images' digests. The row gets copies: a
// pointer into the Image would keep its bytes in memory for as long as the
// row lives (polling, the writer's buffer), not just while uploading.
func setImageColumns(row *report.Row, imgs *source.Images) {
	digest := func(img *source.Image) *string {
		if img == nil {
			return nil
		}
		if img.SHA256 != "" {
			return new(img.SHA256)
		}
		sum := sha256.Sum256(img.Bytes)
		return new(hex.EncodeToString(sum[:]))
	}
	row.FrontSHA256 = digest(imgs.Front)
	row.BackSHA256 = digest(imgs.Back)
	row.SelfieSHA256 = digest(imgs.Selfie)
}

// CodeUnknownDocumentID is the skip reason of a record whose documentId the
// API's document-types list does not have.
const CodeUnknownDocumentID = "unknown_document_id"

// checkDocument checks the record's documentId against the API's list.
func (p *Pipeline) checkDocument(t *task) (source.Problem, bool) {
	if p.documents == nil || t.rec.DocumentID == 0 || p.documents[t.rec.DocumentID] {
		return source.Problem{}, true
	}
	return source.Problem{Code: CodeUnknownDocumentID, Detail: fmt.Sprintf(
		"record %q (%s): document id %d is not in the API's %s document types", t.rec.ID, t.rec.Origin,
		t.rec.DocumentID, assure.ProviderPictureID)}, false
}

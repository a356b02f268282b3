package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
)

// Errors of Cancel.
var (
	ErrNotFound = errors.New("emulator: process not found")
	ErrConflict = errors.New("emulator: process already final")
)

// base is the process's answer without the outcome, under p.mu.
func (p *process) base() assure.Process {
	return assure.Process{
		ProcessID: p.id, Provider: assure.ProviderPictureID, ProcessType: p.processType,
		Status: assure.StatusPending, CreatedAt: assure.NewTime(p.createdAt), UpdatedAt: assure.NewTime(p.updatedAt),
	}
}

// processView is the process as GET process answers it now; false when the
// process was deleted. A process due for its final status gets its outcome
// computed here, once. It fails only when the outcome cannot be computed
// (a spilled image that cannot be read back).
func (e *Emulator) processView(p *process) (assure.Process, bool, error) {
	for {
		now := e.clock.emulated()
		p.mu.Lock()
		if p.deleted {
			p.mu.Unlock()
			return assure.Process{}, false, nil
		}
		v := p.base()
		switch {
		case !p.canceledAt.IsZero():
			v.Status, v.UpdatedAt = assure.StatusCanceled, assure.NewTime(p.canceledAt)
		case !p.started:
			// pending
		case now.Before(p.dueAt()):
			v.Status = assure.StatusProcessing
		case p.final != nil:
			v = *p.final
		default:
			p.mu.Unlock()
			if err := e.finish(p); err != nil {
				return assure.Process{}, true, err
			}
			continue
		}
		p.mu.Unlock()
		return v, true, nil
	}
}

// finish computes and caches the final answer of a started process, once
// (again after a failure). The images cannot change after start, so the
// work runs outside p.mu. Then, with an image directory, the images leave
// memory for files: only get image, download and cache misses read them.
func (e *Emulator) finish(p *process) error {
	p.finishing.Lock()
	defer p.finishing.Unlock()
	p.mu.Lock()
	if p.final != nil {
		p.mu.Unlock()
		return nil
	}
	in := finalInput{
		base: p.base(), images: p.images, firstUpload: p.firstUpload,
		startedAt: p.startedAt, dueAt: p.dueAt(), country: p.country,
	}
	p.mu.Unlock()
	final, err := e.computeFinal(in)
	if err != nil {
		return fmt.Errorf("outcome of process %s: %w", p.id, err)
	}
	p.mu.Lock()
	p.final = &final
	p.mu.Unlock()
	if err := e.images.store.spill(in.images); err != nil {
		e.log.LogAttrs(context.Background(), slog.LevelWarn, "images kept in memory",
			slog.String("process", p.id), slog.String("error", err.Error()))
	}
	return nil
}

// createProcess serves POST /dossiers/{dossierId}/processes.
func (e *Emulator) createProcess(w http.ResponseWriter, r *http.Request, p params) error {
	d, ok := e.store.dossier(p.dossierID)
	if !ok {
		return notFound(detailDossierNotFound)
	}
	var req assure.CreateProcessRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	switch req.Provider {
	case "":
		return badRequest("The field 'provider' is required.")
	case assure.ProviderPictureID:
	default:
		return badRequest("Provider '%s' is not supported.", req.Provider)
	}
	if req.ProcessType == "" {
		req.ProcessType = pictureid.ProcessDocumentSelfie
	}
	if req.ProcessType != pictureid.ProcessDocument && req.ProcessType != pictureid.ProcessDocumentSelfie {
		return badRequest("Process type '%s' is not supported by provider %s.", req.ProcessType, req.Provider)
	}
	if req.DocumentID == 0 {
		return badRequest("The field 'documentId' is required for provider %s.", req.Provider)
	}
	doc, ok := DocumentType(req.DocumentID)
	if !ok {
		return badRequest("Unknown documentId %d for provider %s.", req.DocumentID, req.Provider)
	}
	now := e.clock.emulated()
	proc := &process{
		id: uuid.NewString(), dossierID: d.id, processType: req.ProcessType, documentID: doc.ID,
		pages: doc.Pages, country: doc.Country, createdAt: now, updatedAt: now,
	}
	if !e.store.addProcess(d, proc, now) {
		return notFound(detailDossierNotFound)
	}
	e.counters.add(func(c *Counters) { c.ProcessesCreated++ })
	writeJSON(w, http.StatusCreated, assure.ProcessResponse{
		ProcessID: proc.id, Provider: assure.ProviderPictureID, ProcessType: proc.processType,
		Status: assure.StatusPending, Authorization: randomToken(24), DocumentPages: proc.pages,
		CreatedAt: assure.NewTime(now), UpdatedAt: assure.NewTime(now),
	})
	return nil
}

// getProcess serves GET /dossiers/{dossierId}/processes/{processId}.
func (e *Emulator) getProcess(w http.ResponseWriter, _ *http.Request, p params) error {
	proc, aerr := e.store.process(p.dossierID, p.processID)
	if aerr != nil {
		return aerr
	}
	v, ok, err := e.processView(proc)
	switch {
	case err != nil:
		return err
	case !ok:
		return notFound(detailProcessNotFound)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// requiredDepictions are the images start verification needs.
func requiredDepictions(processType string, pages int) []string {
	req := []string{assure.DepictionFront}
	if pages == 2 {
		req = append(req, assure.DepictionBack)
	}
	if processType == pictureid.ProcessDocumentSelfie {
		req = append(req, assure.DepictionSelfie)
	}
	return req
}

// startVerification serves POST /dossiers/{dossierId}/processes/{processId}.
func (e *Emulator) startVerification(w http.ResponseWriter, r *http.Request, p params) error {
	proc, aerr := e.store.process(p.dossierID, p.processID)
	if aerr != nil {
		return aerr
	}
	e.counters.startRequest(proc.id)
	var body map[string]json.RawMessage
	if err := readJSON(r, &body); err != nil {
		return err
	}
	now := e.clock.emulated()
	proc.mu.Lock()
	if proc.deleted {
		proc.mu.Unlock()
		return notFound(detailProcessNotFound)
	}
	if proc.started || !proc.canceledAt.IsZero() {
		proc.mu.Unlock()
		return conflict()
	}
	var missing []string
	for _, dep := range requiredDepictions(proc.processType, proc.pages) {
		if _, ok := proc.images[dep]; !ok {
			missing = append(missing, dep)
		}
	}
	if len(missing) > 0 {
		proc.mu.Unlock()
		return badRequest("Missing images for verification: %s.", strings.Join(missing, ", "))
	}
	proc.started = true
	proc.startedAt = now
	proc.latency = DrawLatency(e.cfg.Processing, e.cfg.Seed, proc.id)
	proc.updatedAt = now
	proc.mu.Unlock()
	e.counters.add(func(c *Counters) { c.VerificationsStarted++ })
	// The final answer is computed now (it is shown only once due): the
	// images cannot change after the start, and the work (decoding them)
	// is spread over the starts instead of falling on whichever request
	// first sees many processes due — a GET /processes page finishing
	// dozens at once outlived a client's request timeout on a loaded
	// machine. Should it fail (an image that cannot be read back), the
	// first read after the due time tries again.
	if err := e.finish(proc); err != nil {
		e.log.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelError, "outcome not computed at start",
			slog.String("error", err.Error()))
	}
	writeJSON(w, http.StatusOK, assure.VerifyResponse{ProcessID: proc.id, Status: assure.StatusProcessing})
	return nil
}

// deleteProcess serves DELETE /dossiers/{dossierId}/processes/{processId}.
func (e *Emulator) deleteProcess(w http.ResponseWriter, _ *http.Request, p params) error {
	if aerr := e.store.deleteProcess(p.dossierID, p.processID, e.clock.emulated()); aerr != nil {
		return aerr
	}
	e.counters.add(func(c *Counters) { c.ProcessesDeleted++ })
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Cancel moves a pending or processing process to canceled, the status the
// real API gives when the end user cancels (never produced on its own by
// direct upload). It fails with ErrNotFound or, for a final process,
// ErrConflict.
func (e *Emulator) Cancel(processID string) (assure.Process, error) {
	proc, ok := e.store.processByID(processID)
	if !ok {
		return assure.Process{}, fmt.Errorf("cancel %s: %w", processID, ErrNotFound)
	}
	now := e.clock.emulated()
	proc.mu.Lock()
	switch {
	case proc.deleted:
		proc.mu.Unlock()
		return assure.Process{}, fmt.Errorf("cancel %s: %w", processID, ErrNotFound)
	case !proc.canceledAt.IsZero() || (proc.started && !now.Before(proc.dueAt())):
		proc.mu.Unlock()
		return assure.Process{}, fmt.Errorf("cancel %s: %w", processID, ErrConflict)
	}
	proc.canceledAt = now
	proc.updatedAt = now
	proc.mu.Unlock()
	v, ok, err := e.processView(proc)
	switch {
	case err != nil:
		return assure.Process{}, fmt.Errorf("cancel %s: %w", processID, err)
	case !ok:
		return assure.Process{}, fmt.Errorf("cancel %s: %w", processID, ErrNotFound)
	}
	return v, nil
}

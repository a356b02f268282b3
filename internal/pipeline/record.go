package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/journal"
	"reverify/internal/report"
	"reverify/internal/source"
)

// record is one archive record on its way through the stages: the record as
// listed, its state at the API, and what its row will be made from. A record
// is owned by one stage at a time (handed over through channels), so it needs
// no lock. Its row is made once, by row(), when it reaches the writer.
type record struct {
	rec source.Record
	st  state
	// resumed: an earlier attempt worked on this record, so its dossier may
	// hold processes that attempt did not journal.
	resumed bool

	effort  recordStats    // the record's API calls, retries and polls
	digests journal.Images // SHA-256 of the images, once read
	images  *source.Images // the image bytes: held only while uploading
	hasSlot bool           // holds an in-flight slot (Pipeline.slots)
	zipURI  string         // the stored full-result zip, if any
	// journaled is the journal's mark after the record's final entry: its
	// dossier is deleted once the journal is on storage up to it.
	journaled uint64

	submitted time.Time // first paid call
	startedAt time.Time // verification started
	deadline  time.Time // timeout when still not final

	// Polling (scheduler).
	nextPoll     time.Time
	pollInterval time.Duration
	heapIndex    int
	// created is the process's creation time as the API gave it (its
	// clock; zero for a process an earlier attempt created): what the bulk
	// status list (GET /processes) filters on. watched: the scheduler finds
	// the record final in that list rather than by polling it.
	created time.Time
	watched bool

	// interrupted: left unfinished by a stop; the next attempt resumes it.
	interrupted bool
}

// step is where a record's API work stands: what exists at the API.
type step int

const (
	stepNew     step = iota // nothing yet: the images are to be fetched and checked
	stepDossier             // the dossier exists
	stepProcess             // the process exists, not started
	stepStarted             // the verification started: polled, never started again
	stepEnded               // the outcome is known (state.end)
)

func (s step) String() string {
	return [...]string{"new", "dossier", "process", "started", "ended"}[s]
}

// state is what a record has at the API and, once it ended, how. Only its
// transitions below change it; each transition that the journal must know
// of returns the entry to write.
type state struct {
	step        step
	dossier     string
	process     string
	pages       int  // document pages, from the process's creation answer
	dossierGone bool // deleted, or known not to exist
	end         *ending
}

// ending is how a record ended: a final process, or one of reverify's own
// outcomes (skipped, error, timeout) with its reasons.
type ending struct {
	outcome string
	process *assure.Process // the final process (outcome is its status)
	code    string          // error code (error, timeout)
	message string          // the details
	skips   []string        // skip reasons (skipped)
	at      time.Time       // when the outcome was seen
}

func (s *state) ended() bool { return s.step == stepEnded }

func (s *state) dossierCreated(recordID, dossierID string) journal.Entry {
	s.step, s.dossier, s.dossierGone = stepDossier, dossierID, false
	return journal.Entry{Type: journal.TypeDossier, Record: recordID, Dossier: dossierID}
}

func (s *state) processCreated(recordID, processID string, pages int) journal.Entry {
	s.step, s.process, s.pages = stepProcess, processID, pages
	return journal.Entry{Type: journal.TypeProcess, Record: recordID, Dossier: s.dossier, Process: processID, Pages: pages}
}

// started: processID's verification started (it may be another process
// than the one created, when a resume finds a started one in the dossier).
func (s *state) started(recordID, processID string) journal.Entry {
	s.step, s.process = stepStarted, processID
	return journal.Entry{Type: journal.TypeStarted, Record: recordID, Dossier: s.dossier, Process: processID}
}

// dossierLost: a resumed record's dossier is gone; it starts over.
func (s *state) dossierLost() { *s = state{} }

func (s *state) dossierDeleted(recordID string) journal.Entry {
	s.dossierGone = true
	return journal.Entry{Type: journal.TypeDeleted, Record: recordID, Dossier: s.dossier}
}

func (s *state) finish(p *assure.Process, at time.Time) {
	s.step = stepEnded
	s.end = &ending{outcome: string(p.Status), process: p, at: at}
}

func (s *state) skip(problems []source.Problem, at time.Time) {
	e := &ending{outcome: report.OutcomeSkipped, at: at}
	details := make([]string, 0, len(problems))
	for _, pr := range problems {
		e.skips = append(e.skips, pr.Code)
		details = append(details, pr.Detail)
	}
	e.message = strings.Join(details, "; ")
	s.step, s.end = stepEnded, e
}

func (s *state) fail(code string, err error, at time.Time) {
	s.step, s.end = stepEnded, &ending{outcome: report.OutcomeError, code: code, message: err.Error(), at: at}
}

func (s *state) timeout(deadline time.Duration, at time.Time) {
	s.step, s.end = stepEnded, &ending{outcome: report.OutcomeTimeout, code: "deadline", at: at,
		message: fmt.Sprintf("no final status within %s of the start; the process is kept for a later run", deadline)}
}

// final is the journal's final entry of an ended record: what its row is
// made from besides the record itself.
func (t *record) final() journal.Entry {
	e := t.st.end
	f := &journal.Final{Outcome: e.outcome, ErrorCode: e.code, ErrorMessage: e.message, Images: t.digests,
		Effort:      journal.Effort{Calls: t.effort.calls.Load(), Retries: t.effort.retries.Load(), Polls: t.effort.polls.Load()},
		SubmittedAt: t.submitted, CompletedAt: e.at, ResultZip: t.zipURI}
	if e.process != nil {
		f.Process = e.process.Raw
	}
	return journal.Entry{Type: journal.TypeFinal, Record: t.rec.ID, Dossier: t.st.dossier, Process: t.st.process, Final: f}
}

// resume sets a record to go on where earlier attempts left it.
func (t *record) resume(r *journal.Record) {
	if r.Deleted && r.Final == nil {
		// Ended during submission (its dossier deleted) without a durable
		// row, and never started: begin again.
		return
	}
	t.resumed = true
	t.st = state{dossier: r.Dossier, process: r.Process, pages: r.Pages, dossierGone: r.Deleted}
	if f := r.Final; f != nil && t.restore(f) {
		return
	}
	switch {
	case r.Started:
		t.st.step = stepStarted
	case r.Dossier != "":
		// A process created but not started is not reused: it is deleted and
		// another created, so that the images are uploaded and the
		// verification started in one fresh transaction. (The API fails a
		// verification started too long after its first image upload —
		// "Transaction time expired." — and a resume may come hours later.) A
		// process that did start is found and polled instead.
		t.st.step = stepDossier
	default:
		t.st, t.resumed = state{}, false
	}
}

// restore ends a record as its journaled final entry says. It reports false
// when the entry cannot be used (a process answer that does not decode): the
// record is then polled again.
func (t *record) restore(f *journal.Final) bool {
	e := &ending{outcome: f.Outcome, code: f.ErrorCode, message: f.ErrorMessage, at: f.CompletedAt}
	if len(f.Process) > 0 {
		p, err := assure.DecodeProcess(f.Process)
		if err != nil || string(p.Status) != f.Outcome {
			return false
		}
		e.process = p
	}
	t.st.step, t.st.end = stepEnded, e
	t.digests, t.submitted, t.zipURI = f.Images, f.SubmittedAt, f.ResultZip
	t.effort.calls.Store(f.Effort.Calls)
	t.effort.retries.Store(f.Effort.Retries)
	t.effort.polls.Store(f.Effort.Polls)
	return true
}

// setImages keeps the images for the upload and their digests for the row.
func (t *record) setImages(imgs *source.Images) {
	t.images = imgs
	t.digests = journal.Images{Front: digest(imgs.Front), Back: digest(imgs.Back), Selfie: digest(imgs.Selfie)}
}

// digest is an image's SHA-256 (hex), "" when absent. Keeping it keeps
// nothing of the image itself in memory.
func digest(img *source.Image) string {
	switch {
	case img == nil:
		return ""
	case img.SHA256 != "":
		return img.SHA256
	}
	sum := sha256.Sum256(img.Bytes)
	return hex.EncodeToString(sum[:])
}

package pipeline

import (
	"context"
	"strings"
	"time"

	"reverify/internal/report"
)

// The journal records each record's progress so that a run killed at any
// instant can be resumed without losing a result or paying twice. Format
// (version 1, documented in README): JSON Lines, one Entry per line, written
// per attempt below the run shard's folder.

// JournalVersion is the entry format version; readers refuse others.
const JournalVersion = 1

// EntryType names what happened.
type EntryType string

// Entry types, in the order they happen to a record.
const (
	// EntryRun opens an attempt: its id and the run's start (the earliest
	// attempt's start is where reconciliation looks for processes).
	EntryRun EntryType = "run"
	// EntryDossier: the record's dossier exists (id).
	EntryDossier EntryType = "dossier"
	// EntryProcess: its process exists (id, pages), not yet started.
	EntryProcess EntryType = "process"
	// EntryStarted: verification was started; from here on the record is
	// paid for and is polled, never started again.
	EntryStarted EntryType = "started"
	// EntryFinal: the record's row is complete (it holds the row), written
	// before the dossier is deleted.
	EntryFinal EntryType = "final"
	// EntryDeleted: the dossier was deleted.
	EntryDeleted EntryType = "deleted"
	// EntryCommitted: these records' rows are in a committed Parquet part.
	EntryCommitted EntryType = "committed"
)

// Entry is one journal line.
type Entry struct {
	V       int       `json:"v"`
	Type    EntryType `json:"t"`
	Time    time.Time `json:"ts"`
	Record  string    `json:"rec,omitempty"`
	Dossier string    `json:"dossier,omitempty"`
	Process string    `json:"process,omitempty"`
	Pages   int       `json:"pages,omitempty"`
	// Row is the finished row (EntryFinal).
	Row *report.Row `json:"row,omitempty"`
	// Records and Part (EntryCommitted).
	Records []string `json:"recs,omitempty"`
	Part    string   `json:"part,omitempty"`
	// Attempt and RunStart (EntryRun).
	Attempt  string    `json:"attempt,omitempty"`
	RunStart time.Time `json:"run_start,omitzero"`
}

// Journal stores entries. Append with durable set returns once the entry
// would survive a crash of this process (or, where the store cannot do that
// cheaply, as documented by the implementation).
type Journal interface {
	Append(ctx context.Context, e Entry, durable bool) error
}

// JournalSyncer is implemented by journals whose durable appends may
// return before the entry is on storage (StoreJournal on an object store,
// which checkpoints every few seconds). Sync returns once every entry
// appended so far is on storage.
type JournalSyncer interface {
	Sync(ctx context.Context) error
}

type nopJournal struct{}

func (nopJournal) Append(context.Context, Entry, bool) error { return nil }

// syncJournal puts every entry appended so far on storage, on any store. It
// precedes each step that destroys the API's copy of a record's state
// (deleting its dossier): reconciliation cannot recover what the journal
// lost once the API has forgotten it too.
func (p *Pipeline) syncJournal(ctx context.Context) error {
	s, ok := p.deps.Journal.(JournalSyncer)
	if !ok {
		return nil
	}
	if err := s.Sync(ctx); err != nil {
		return &journalError{err: err}
	}
	return nil
}

// journal appends an entry for the pipeline. Every entry that precedes a
// paid or destructive step is durable.
func (p *Pipeline) journal(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = p.opt.Now().UTC()
	}
	durable := e.Type != EntryDeleted && e.Type != EntryCommitted
	if err := p.deps.Journal.Append(ctx, e, durable); err != nil {
		return &journalError{err: err}
	}
	return nil
}

// journalError is fatal: a run that cannot journal cannot promise anything.
type journalError struct{ err error }

func (e *journalError) Error() string {
	if msg := e.err.Error(); strings.HasPrefix(msg, "journal: ") {
		return msg // StoreJournal's errors say so already
	}
	return "journal: " + e.err.Error()
}
func (e *journalError) Unwrap() error { return e.err }

// RecordState is what the journal (and the reconciliation) know of a record
// from earlier attempts.
type RecordState struct {
	Dossier string
	Process string
	Pages   int
	Started bool
	// Row is the record's finished row when it was final but its row may not
	// be in a committed part.
	Row     *report.Row
	Deleted bool
	// Committed: a committed part holds the record's row.
	Committed bool
}

// ResumeState is what earlier attempts of a run shard left.
type ResumeState struct {
	// RunStart is the start of the run's first attempt.
	RunStart time.Time
	Records  map[string]*RecordState
	// Attempts counts earlier attempts found.
	Attempts int
}

func (r *ResumeState) lookup(id string) *RecordState {
	if r == nil {
		return nil
	}
	return r.Records[id]
}

// applyResume sets a task to continue where an earlier attempt stopped.
func (p *Pipeline) applyResume(t *task, st *RecordState) {
	if st.Deleted && st.Row == nil {
		// Ended during submission (its dossier deleted) without a durable
		// row, and never started: begin again.
		return
	}
	t.dossierID, t.processID, t.pages = st.Dossier, st.Process, st.Pages
	t.dossierGone = st.Deleted
	t.row.DossierID = report.NonEmpty(st.Dossier)
	t.row.ProcessID = report.NonEmpty(st.Process)
	switch {
	case st.Row != nil:
		t.row = *st.Row
	case st.Started:
		t.from, t.started = stepPoll, true
	case st.Dossier != "":
		// A process created but not started is not reused: the next attempt
		// deletes it and creates another, so that the images are uploaded
		// and the verification started in one fresh transaction. (The API
		// fails a verification started too long after its first image
		// upload — "Transaction time expired." — and a resume may come hours
		// later.) A process that did start is found and polled instead.
		t.from = stepCreateProcess
	}
}

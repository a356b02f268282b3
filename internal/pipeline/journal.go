package pipeline

import (
	"context"

	"reverify/internal/journal"
)

type nopJournal struct{}

func (nopJournal) Append(context.Context, journal.Entry) error { return nil }
func (nopJournal) Sync(context.Context) error                  { return nil }

// journal appends an entry of a record's state transition, stamped with the
// pipeline's clock. The journal's errors end the run (fault.Abort).
func (p *Pipeline) journal(ctx context.Context, e journal.Entry) error {
	if e.Time.IsZero() {
		e.Time = p.opt.Now().UTC()
	}
	return p.deps.Journal.Append(ctx, e)
}

// syncJournal puts every entry appended so far on storage, on any store. It
// precedes each step that destroys the API's copy of a record's state
// (deleting its dossier): reconciliation cannot recover what the journal
// lost once the API has forgotten it too.
func (p *Pipeline) syncJournal(ctx context.Context) error { return p.deps.Journal.Sync(ctx) }

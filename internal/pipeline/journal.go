package pipeline

import (
	"context"
	"net/http"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/journal"
	"reverify/internal/report"
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

// logDossier appends to the dossier log (Deps.Dossiers): a creation or a
// deletion, stamped with the pipeline's clock. Its errors end the run like
// the journal's: evidence that cannot be written is not evidence.
func (p *Pipeline) logDossier(ctx context.Context, e journal.Entry) error {
	if e.Time.IsZero() {
		e.Time = p.opt.Now().UTC()
	}
	return p.deps.Dossiers.Append(ctx, e)
}

// OpenDossierLog opens an attempt's dossier log (report.DossierLogPrefix),
// written like the journal: appended and synced locally, checkpoints on S3.
func OpenDossierLog(ctx context.Context, out blob.Store, runID string, shard, count int, attempt string) (*journal.Writer, error) {
	return journal.Open(ctx, out, report.DossierLogPrefix(runID, shard, count), attempt, 0)
}

// DossierCounts reads dossier logs: the dossiers created, deleted (the API
// answered 2xx or 404) and left. logs are read whole; extra (the run's
// cleanup log) only adds deletions of dossiers the logs created. A dossier
// whose creation a killed attempt did not get on storage but whose deletion
// a later one logged counts as created.
func DossierCounts(ctx context.Context, out blob.Store, logs []string, extra ...string) (report.DossierCounts, error) {
	created, deleted := map[string]bool{}, map[string]bool{}
	read := func(prefix string, all bool) error {
		return journal.Each(ctx, out, prefix, func(_ string, e journal.Entry) error {
			switch {
			case e.Dossier == "":
			case e.Type == journal.TypeDossier && all:
				created[e.Dossier] = true
			case e.Type == journal.TypeDeleted && (e.Status/100 == 2 || e.Status == http.StatusNotFound):
				if all {
					created[e.Dossier] = true
				}
				deleted[e.Dossier] = true
			}
			return nil
		})
	}
	for _, prefix := range logs {
		if err := read(prefix, true); err != nil {
			return report.DossierCounts{}, err
		}
	}
	for _, prefix := range extra {
		if err := read(prefix, false); err != nil {
			return report.DossierCounts{}, err
		}
	}
	var c report.DossierCounts
	for d := range created {
		c.Created++
		if deleted[d] {
			c.Deleted++
		}
	}
	c.Left = c.Created - c.Deleted
	return c, nil
}

// DeletionEntry is the dossier log's entry of a deletion: the dossier, when,
// and what the API answered (no personal data).
func DeletionEntry(recordID, dossierID string, d assure.Deletion, at time.Time) journal.Entry {
	return journal.Entry{Type: journal.TypeDeleted, Time: at.UTC(), Record: recordID, Dossier: dossierID,
		Status: d.Status, TraceID: d.TraceID}
}

// syncJournal puts every entry appended so far on storage, on any store. It
// precedes each step that destroys the API's copy of a record's state
// (deleting its dossier): reconciliation cannot recover what the journal
// lost once the API has forgotten it too.
func (p *Pipeline) syncJournal(ctx context.Context) error { return p.deps.Journal.Sync(ctx) }

package pipeline

import (
	"context"
	"net/http"
	"slices"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/journal"
	"reverify/internal/report"
)

type nopJournal struct{}

func (nopJournal) Append(context.Context, journal.Entry) error { return nil }
func (nopJournal) Sync(context.Context) error                  { return nil }
func (nopJournal) Mark() uint64                                { return 0 }
func (nopJournal) Await(context.Context, uint64) error         { return nil }

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
	return journal.OpenLog(ctx, out, report.DossierLogPrefix(runID, shard, count), attempt, 0)
}

// DossierCounts reads dossier logs: the dossiers created, deleted (the API
// answered 2xx or 404) and left. logs are read whole; extra (the run's
// cleanup log) only adds deletions of dossiers the logs created. A dossier
// whose creation a killed attempt did not get on storage but whose deletion
// a later one logged counts as created.
//
// The dossiers are kept as 64-bit hashes of their ids in sorted slices,
// 16 bytes per dossier (a creation and a deletion: 16 MB for a million): the counts are
// exact unless two of the run's ids share a hash, a chance of about n²/2⁶⁵
// (3·10⁻⁸ for a million), and then off by one.
func DossierCounts(ctx context.Context, out blob.Store, logs []string, extra ...string) (report.DossierCounts, error) {
	// created: the logs' creations; deleted: their deletions, each a
	// creation too; cleaned: the extra logs' deletions.
	var created, deleted, cleaned []uint64
	read := func(prefix string, all bool) error {
		return journal.Each(ctx, out, prefix, func(_ string, e journal.Entry) error {
			switch {
			case e.Dossier == "":
			case e.Type == journal.TypeDossier && all:
				created = append(created, report.IDHash(e.Dossier))
			case e.Type == journal.TypeDeleted && (e.Status/100 == 2 || e.Status == http.StatusNotFound):
				if all {
					deleted = append(deleted, report.IDHash(e.Dossier))
				} else {
					cleaned = append(cleaned, report.IDHash(e.Dossier))
				}
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
	created, deleted, cleaned = sortedSet(created), sortedSet(deleted), sortedSet(cleaned)
	var c report.DossierCounts
	// Created: created ∪ deleted. Deleted: deleted, and the cleaned ones
	// the logs created.
	c.Created = int64(len(created) + len(deleted))
	for _, h := range deleted {
		if _, ok := slices.BinarySearch(created, h); ok {
			c.Created--
		}
	}
	c.Deleted = int64(len(deleted))
	for _, h := range cleaned {
		_, made := slices.BinarySearch(created, h)
		_, gone := slices.BinarySearch(deleted, h)
		if made && !gone {
			c.Deleted++
		}
	}
	c.Left = c.Created - c.Deleted
	return c, nil
}

// sortedSet sorts s and drops its repeats, in place.
func sortedSet(s []uint64) []uint64 {
	slices.Sort(s)
	return slices.Compact(s)
}

// DeletionEntry is the dossier log's entry of a deletion: the dossier, when,
// and what the API answered (no personal data).
func DeletionEntry(recordID, dossierID string, d assure.Deletion, at time.Time) journal.Entry {
	return journal.Entry{Type: journal.TypeDeleted, Time: at.UTC(), Record: recordID, Dossier: dossierID,
		Status: d.Status, TraceID: d.TraceID}
}

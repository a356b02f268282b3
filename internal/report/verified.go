package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"reverify/internal/blob"
)

// verifiedCols is the projection of Row that VerifiedSince reads.
type verifiedCols struct {
	RecordID    string     `parquet:"record_id"`
	Outcome     string     `parquet:"outcome"`
	CompletedAt *time.Time `parquet:"completed_at,optional,timestamp(millisecond)"`
}

// Verified is the set of record ids that have a final row (an outcome of the
// API) completed at or after a time, in the runs of an output: sorted 64-bit
// hashes, 8 bytes a record (a record wrongly taken for verified needs two
// ids sharing a hash, a chance of about n²/2⁶⁵).
type Verified struct{ hashes []uint64 }

// Has reports whether id has such a row.
func (v *Verified) Has(id string) bool {
	if v == nil {
		return false
	}
	_, ok := slices.BinarySearch(v.hashes, IDHash(id))
	return ok
}

// Len is the number of records in the set.
func (v *Verified) Len() int { return len(v.hashes) }

// VerifiedSince reads every part of every run below the output store but
// run except (the run being resumed: its own rows are its resume's) and
// returns the records with a final row completed at or after since.
func VerifiedSince(ctx context.Context, store blob.Store, since time.Time, except string) (*Verified, error) {
	parts, err := ListParts(ctx, store, RunsPrefix)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var hashes []uint64
	for _, p := range parts {
		if p.RunID == except {
			continue
		}
		err := readPartAs(ctx, store, p.Key, func(rows []verifiedCols) error {
			for i := range rows {
				r := &rows[i]
				if !FinalOutcome(r.Outcome) || r.CompletedAt == nil || r.CompletedAt.Before(since) {
					continue
				}
				hashes = append(hashes, IDHash(r.RecordID))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	slices.Sort(hashes)
	return &Verified{hashes: slices.Compact(hashes)}, nil
}

package report

import (
	"context"
	"fmt"

	"reverify/internal/blob"
)

// Changed is a row whose outcome moved from the manifest's previous outcome
// (outcome_changed true): ids and codes only, no personal value.
type Changed struct {
	RunID    string `json:"run_id"`
	Shard    int    `json:"shard"`
	Shards   int    `json:"shard_count"`
	RecordID string `json:"record_id"`
	Previous string `json:"previous_outcome"`
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason,omitempty"`
}

// changedCols is the projection of Row that EachChanged reads.
type changedCols struct {
	RecordID        string  `parquet:"record_id"`
	Outcome         string  `parquet:"outcome"`
	Reason          string  `parquet:"reason"`
	OutcomeChanged  *bool   `parquet:"outcome_changed,optional"`
	PreviousOutcome *string `parquet:"previous_outcome,optional"`
}

// EachChanged calls fn for every row whose outcome changed, in the parts of
// one run (runID) or of every run (runID ""), part by part in key order:
// streaming, nothing per row kept. ErrNoOutput when there is no part.
func EachChanged(ctx context.Context, store blob.Store, runID string, fn func(Changed) error) error {
	prefix := RunsPrefix
	if runID != "" {
		if err := ValidateRunID(runID); err != nil {
			return err
		}
		prefix = RunPrefix(runID)
	}
	parts, err := ListParts(ctx, store, prefix)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s: %w", store.KeyURI(prefix), ErrNoOutput)
	}
	for _, p := range parts {
		err := readPartAs(ctx, store, p.Key, func(rows []changedCols) error {
			for i := range rows {
				r := &rows[i]
				if r.OutcomeChanged == nil || !*r.OutcomeChanged || r.PreviousOutcome == nil {
					continue
				}
				c := Changed{RunID: p.RunID, Shard: p.Shard, Shards: p.ShardCount, RecordID: r.RecordID,
					Previous: *r.PreviousOutcome, Outcome: r.Outcome, Reason: r.Reason}
				if err := fn(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

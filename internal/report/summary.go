package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"reverify/internal/blob"
)

// AllShards is Summary.Shard for a summary that merges every shard of a run.
const AllShards = -1

// Summary describes one run shard (_summary.json) or, merged by Summarize, a
// whole run. It has two parts, flattened into one JSON object: Totals,
// computed from the rows, and RunStats, set by the pipeline. Both grow by
// adding fields; existing JSON names are stable.
type Summary struct {
	RunID      string `json:"run_id"`
	Shard      int    `json:"shard"` // AllShards (-1) when merged over the run's shards
	ShardCount int    `json:"shard_count"`
	// Shards lists the shards found, in a summary merged by Summarize.
	Shards []int `json:"shards,omitempty"`
	Totals
	RunStats
}

// Totals are computed from rows (Totals.Add).
type Totals struct {
	// Records is the number of rows.
	Records int64 `json:"records"`
	// Outcomes counts rows per outcome.
	Outcomes map[string]int64 `json:"outcomes"`
	// Reasons counts rows per outcome and non-empty reason:
	// reasons[outcome][reason].
	Reasons map[string]map[string]int64 `json:"reasons"`
	// OutcomeChanged counts rows whose outcome differs from the manifest's
	// previous outcome; OutcomeCompared counts rows that had one.
	OutcomeChanged  int64 `json:"outcome_changed"`
	OutcomeCompared int64 `json:"outcome_compared"`
	// Transitions counts the rows with a previous outcome by that previous
	// outcome and the outcome now: transitions[previous][outcome]. The
	// previous outcome is trimmed and lower-cased (OutcomeChanged compares
	// case-insensitively too). Counts only, like every field here.
	Transitions map[string]map[string]int64 `json:"transitions,omitempty"`
	// TransitionReasons are the reasons behind the changed cells of
	// Transitions (rows whose outcome_changed is true):
	// transition_reasons[previous][outcome][reason], NoReason for a row
	// without one. The counts of a cell's reasons sum to the cell's.
	TransitionReasons map[string]map[string]map[string]int64 `json:"transition_reasons,omitempty"`
	APICalls          int64                                  `json:"api_calls"`
	Retries           int64                                  `json:"retries"`
	Polls             int64                                  `json:"polls"`
	// DryRunRecords counts rows written by a dry run (against the emulator).
	DryRunRecords int64 `json:"dry_run_records"`
	// DryRun is true when every row is from a dry run.
	DryRun bool `json:"dry_run"`
	// FirstSubmittedAt and LastCompletedAt bound the rows' API work.
	FirstSubmittedAt *time.Time `json:"first_submitted_at,omitempty"`
	LastCompletedAt  *time.Time `json:"last_completed_at,omitempty"`
	// Parts is the number of Parquet parts the rows came from; Attempts the
	// number of distinct attempts that wrote them (more than one after a
	// resume). Set by the Writer and by Summarize.
	Parts    int `json:"parts"`
	Attempts int `json:"attempts,omitempty"`
	// DuplicateRecords counts rows whose record_id already had a row in the
	// same run shard (Summarize only; 0 when every record has one row).
	DuplicateRecords int64 `json:"duplicate_records"`
}

// RunStats are set by the pipeline for _summary.json: facts about the attempt
// that the rows cannot tell.
type RunStats struct {
	// Attempt is the id of the attempt that wrote _summary.json last.
	Attempt    string     `json:"attempt,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// DurationS is FinishedAt-StartedAt in seconds; RecordsPerS is the
	// records finished per second of it. Summarize fills both in for a
	// merged run (over the span of all shards).
	DurationS   float64 `json:"duration_s,omitempty"`
	RecordsPerS float64 `json:"records_per_s,omitempty"`
	// ExitCode is the process exit code of the attempt; Interrupted is true
	// when a signal or the time budget stopped it.
	ExitCode    *int `json:"exit_code,omitempty"`
	Interrupted bool `json:"interrupted,omitempty"`
	// ExitCodes counts shards per exit code in a merged summary.
	ExitCodes map[int]int `json:"exit_codes,omitempty"`
	// Listed is the number of records the attempt found in its shard.
	Listed *int64 `json:"listed,omitempty"`
	// PersonalData is the output.personal_data policy the rows were written
	// under (omit, hash, include; fixed per run by its definition), and
	// HashKeyID the key id of the hash policy (privacy.KeyID): hashes of two
	// runs join only when their key ids are equal. A merged summary keeps
	// each when every shard agrees, else says "mixed".
	PersonalData string `json:"personal_data,omitempty"`
	HashKeyID    string `json:"hash_key_id,omitempty"`
	// Dossiers counts the run shard's dossiers over every attempt, from its
	// dossier log (DossierLogPrefix) and the run's cleanup log.
	Dossiers *DossierCounts `json:"dossiers,omitempty"`
	// Extra holds further pipeline facts without a field: numbers, strings,
	// and api_calls_by_endpoint (endpoint → HTTP status, "0" a transport
	// failure → attempts).
	Extra map[string]any `json:"extra,omitempty"`
	// History lists every attempt of the run shard, oldest first: each
	// attempt carries the history of the _summary.json it replaces.
	History []AttemptStats `json:"history,omitempty"`
}

// DossierCounts are the dossiers a run (shard) created at the API, those
// whose deletion the API confirmed (2xx, or 404: gone), and those left:
// kept on purpose (timeouts, to be polled again; output.keep_dossiers) or
// not deleted (see `batch cleanup --list`).
type DossierCounts struct {
	Created int64 `json:"created"`
	Deleted int64 `json:"deleted"`
	Left    int64 `json:"left"`
}

// Add adds o to c.
func (c *DossierCounts) Add(o DossierCounts) {
	c.Created += o.Created
	c.Deleted += o.Deleted
	c.Left += o.Left
}

// AttemptStats describes one attempt of a run shard.
type AttemptStats struct {
	Attempt    string     `json:"attempt"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// ExitCode is the attempt's exit code.
	ExitCode int `json:"exit_code"`
	// Records is the number of rows the attempt committed.
	Records     int64 `json:"records"`
	Interrupted bool  `json:"interrupted,omitempty"`
}

// Add counts one row.
func (t *Totals) Add(r *Row) {
	if t.Outcomes == nil {
		t.Outcomes = map[string]int64{}
	}
	if t.Reasons == nil {
		t.Reasons = map[string]map[string]int64{}
	}
	t.Records++
	t.Outcomes[r.Outcome]++
	if r.Reason != "" {
		m := t.Reasons[r.Outcome]
		if m == nil {
			m = map[string]int64{}
			t.Reasons[r.Outcome] = m
		}
		m[r.Reason]++
	}
	if r.OutcomeChanged != nil {
		t.OutcomeCompared++
		if *r.OutcomeChanged {
			t.OutcomeChanged++
		}
	}
	if prev := TransitionKey(r.PreviousOutcome); prev != "" {
		if t.Transitions == nil {
			t.Transitions = map[string]map[string]int64{}
		}
		addCount(t.Transitions, prev, r.Outcome, 1)
		if r.OutcomeChanged != nil && *r.OutcomeChanged {
			reason := r.Reason
			if reason == "" {
				reason = NoReason
			}
			t.addTransitionReason(prev, r.Outcome, reason, 1)
		}
	}
	t.APICalls += int64(r.APICalls)
	t.Retries += int64(r.Retries)
	t.Polls += int64(r.Polls)
	if r.DryRun {
		t.DryRunRecords++
	}
	t.DryRun = t.DryRunRecords == t.Records
	t.FirstSubmittedAt = minTime(t.FirstSubmittedAt, r.SubmittedAt)
	t.LastCompletedAt = maxTime(t.LastCompletedAt, r.CompletedAt)
}

// Incomplete counts rows whose outcome is skipped, error or timeout.
func (t *Totals) Incomplete() int64 {
	return t.Outcomes[OutcomeSkipped] + t.Outcomes[OutcomeError] + t.Outcomes[OutcomeTimeout]
}

// merge adds o's counts to t (Parts and Attempts included).
func (t *Totals) merge(o *Totals) {
	if t.Outcomes == nil {
		t.Outcomes = map[string]int64{}
	}
	if t.Reasons == nil {
		t.Reasons = map[string]map[string]int64{}
	}
	t.Records += o.Records
	for k, v := range o.Outcomes {
		t.Outcomes[k] += v
	}
	for oc, m := range o.Reasons {
		tm := t.Reasons[oc]
		if tm == nil {
			tm = map[string]int64{}
			t.Reasons[oc] = tm
		}
		for k, v := range m {
			tm[k] += v
		}
	}
	t.OutcomeChanged += o.OutcomeChanged
	t.OutcomeCompared += o.OutcomeCompared
	for prev, m := range o.Transitions {
		if t.Transitions == nil {
			t.Transitions = map[string]map[string]int64{}
		}
		for oc, v := range m {
			addCount(t.Transitions, prev, oc, v)
		}
	}
	for prev, m := range o.TransitionReasons {
		for oc, reasons := range m {
			for reason, v := range reasons {
				t.addTransitionReason(prev, oc, reason, v)
			}
		}
	}
	t.APICalls += o.APICalls
	t.Retries += o.Retries
	t.Polls += o.Polls
	t.DryRunRecords += o.DryRunRecords
	t.DryRun = t.Records > 0 && t.DryRunRecords == t.Records
	t.FirstSubmittedAt = minTime(t.FirstSubmittedAt, o.FirstSubmittedAt)
	t.LastCompletedAt = maxTime(t.LastCompletedAt, o.LastCompletedAt)
	t.Parts += o.Parts
	t.Attempts += o.Attempts
	t.DuplicateRecords += o.DuplicateRecords
}

// clone returns a deep copy.
func (t Totals) clone() Totals {
	c := t
	c.Outcomes = maps.Clone(t.Outcomes)
	c.Reasons = make(map[string]map[string]int64, len(t.Reasons))
	for k, m := range t.Reasons {
		c.Reasons[k] = maps.Clone(m)
	}
	if t.Transitions != nil {
		c.Transitions = make(map[string]map[string]int64, len(t.Transitions))
		for k, m := range t.Transitions {
			c.Transitions[k] = maps.Clone(m)
		}
	}
	if t.TransitionReasons != nil {
		c.TransitionReasons = make(map[string]map[string]map[string]int64, len(t.TransitionReasons))
		for prev, m := range t.TransitionReasons {
			cm := make(map[string]map[string]int64, len(m))
			for oc, reasons := range m {
				cm[oc] = maps.Clone(reasons)
			}
			c.TransitionReasons[prev] = cm
		}
	}
	if c.Outcomes == nil {
		c.Outcomes = map[string]int64{}
	}
	return c
}

// NoReason is the key of TransitionReasons for rows without a reason.
const NoReason = "(no reason)"

// addTransitionReason adds n to TransitionReasons[prev][outcome][reason].
func (t *Totals) addTransitionReason(prev, outcome, reason string, n int64) {
	if t.TransitionReasons == nil {
		t.TransitionReasons = map[string]map[string]map[string]int64{}
	}
	m := t.TransitionReasons[prev]
	if m == nil {
		m = map[string]map[string]int64{}
		t.TransitionReasons[prev] = m
	}
	addCount(m, outcome, reason, n)
}

// TransitionKey is the key of a previous outcome in Totals.Transitions:
// trimmed and lower-cased; "" when there is none.
func TransitionKey(previous *string) string {
	if previous == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(*previous))
}

// addCount adds n to m[a][b].
func addCount[K comparable](m map[K]map[string]int64, a K, b string, n int64) {
	inner := m[a]
	if inner == nil {
		inner = map[string]int64{}
		m[a] = inner
	}
	inner[b] += n
}

func minTime(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.Before(*a)) {
		return b
	}
	return a
}

func maxTime(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// SetTimes sets StartedAt, FinishedAt, DurationS and RecordsPerS (from
// records) for an attempt that ran from start to end.
func (s *RunStats) SetTimes(start, end time.Time, records int64) {
	s.StartedAt = Timestamp(start)
	s.FinishedAt = Timestamp(end)
	s.DurationS, s.RecordsPerS = 0, 0
	if s.StartedAt != nil && s.FinishedAt != nil && s.FinishedAt.After(*s.StartedAt) {
		d := s.FinishedAt.Sub(*s.StartedAt).Seconds()
		s.DurationS = d
		s.RecordsPerS = float64(records) / d
	}
}

// WriteSummary writes s as the _summary.json of its run shard, atomically,
// replacing an earlier attempt's.
func WriteSummary(ctx context.Context, store blob.Store, s Summary) error {
	if err := ValidateRunID(s.RunID); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := validateShard(s.Shard, s.ShardCount); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if s.Outcomes == nil {
		s.Outcomes = map[string]int64{}
	}
	if s.Reasons == nil {
		s.Reasons = map[string]map[string]int64{}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	key := SummaryKey(s.RunID, s.Shard, s.ShardCount)
	if err := store.Put(ctx, key, append(b, '\n')); err != nil {
		return fmt.Errorf("write summary %s: %w", store.KeyURI(key), err)
	}
	return nil
}

// maxSummaryBytes caps a _summary.json read back.
const maxSummaryBytes = 16 << 20

// ReadSummary reads the _summary.json of a run shard; blob.ErrNotFound when
// there is none.
func ReadSummary(ctx context.Context, store blob.Store, runID string, shard, count int) (Summary, error) {
	if err := ValidateRunID(runID); err != nil {
		return Summary{}, fmt.Errorf("read summary: %w", err)
	}
	if err := validateShard(shard, count); err != nil {
		return Summary{}, fmt.Errorf("read summary: %w", err)
	}
	return readSummaryKey(ctx, store, SummaryKey(runID, shard, count))
}

func readSummaryKey(ctx context.Context, store blob.Store, key string) (Summary, error) {
	b, err := store.Get(ctx, key, maxSummaryBytes)
	if err != nil {
		return Summary{}, fmt.Errorf("read summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Summary{}, fmt.Errorf("read summary %s: %w", store.KeyURI(key), err)
	}
	return s, nil
}

// ErrNoOutput means an output root holds no Parquet parts (for the run asked
// for).
var ErrNoOutput = errors.New("no report output")

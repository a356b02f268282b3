package report

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"

	"reverify/internal/blob"

	"github.com/parquet-go/parquet-go"
)

// Summarize computes one Summary per run found below the output root, sorted
// by run id: Totals from the rows of every part, RunStats from the shards'
// _summary.json files when present. A run with a single shard present gets
// that shard's summary; a run with several gets a merged one (Shard
// AllShards, Shards listing them). A root with neither parts nor summaries
// gives ErrNoOutput.
func Summarize(ctx context.Context, store blob.Store) ([]Summary, error) {
	return summarize(ctx, store, RunsPrefix, nil)
}

// SummarizeRun is Summarize for one run.
func SummarizeRun(ctx context.Context, store blob.Store, runID string) (Summary, error) {
	if err := ValidateRunID(runID); err != nil {
		return Summary{}, err
	}
	sums, err := summarize(ctx, store, RunPrefix(runID), nil)
	if err != nil {
		return Summary{}, err
	}
	return sums[0], nil
}

// ShardTotals computes the totals of every committed row of one run shard,
// whichever attempt wrote it (empty totals when it has none), and describes
// its parts for the evidence manifest (ManifestParts), in the same reading.
func ShardTotals(ctx context.Context, store blob.Store, runID string, shard, count int) (Totals, []ManifestPart, error) {
	if err := ValidateRunID(runID); err != nil {
		return Totals{}, nil, err
	}
	parts := []ManifestPart{}
	sums, err := summarize(ctx, store, ShardPrefix(runID, shard, count), &parts)
	if errors.Is(err, ErrNoOutput) {
		return Totals{Outcomes: map[string]int64{}, Reasons: map[string]map[string]int64{}}, parts, nil
	}
	if err != nil {
		return Totals{}, nil, err
	}
	return sums[0].Totals, parts, nil
}

type shardID struct{ shard, count int }

// runAcc accumulates one run.
type runAcc struct {
	id        string
	totals    Totals
	attempts  map[string]struct{}
	shards    map[shardID]struct{}
	summaries map[shardID]Summary
}

// summarize reads the parts and summaries below prefix; described, when set,
// receives each part's description (manifestPart), in key order.
func summarize(ctx context.Context, store blob.Store, prefix string, described *[]ManifestPart) ([]Summary, error) {
	runs := map[string]*runAcc{}
	acc := func(id string) *runAcc {
		a := runs[id]
		if a == nil {
			a = &runAcc{id: id, attempts: map[string]struct{}{}, shards: map[shardID]struct{}{},
				summaries: map[shardID]Summary{}}
			runs[id] = a
		}
		return a
	}
	parts, summaryKeys, err := listOutput(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 && len(summaryKeys) == 0 {
		return nil, fmt.Errorf("%s: %w", store.KeyURI(prefix), ErrNoOutput)
	}

	// Parts come in key order, so the parts of a shard are consecutive: the
	// record IDs for duplicate detection are kept per shard only, as sorted
	// 64-bit hashes (8 bytes a row, not a set of the IDs: 8 MB for a
	// million rows; exact unless two of the shard's IDs share a hash, a
	// chance of about n²/2⁶⁵).
	slices.SortFunc(parts, func(a, b PartInfo) int { return strings.Compare(a.Key, b.Key) })
	var ids []uint64
	var idsShard string
	var idsRun *runAcc
	countRepeats := func() {
		if idsRun != nil {
			idsRun.totals.DuplicateRecords += repeats(ids)
		}
		ids = ids[:0]
	}
	for _, p := range parts {
		a := acc(p.RunID)
		sid := shardID{p.Shard, p.ShardCount}
		a.shards[sid] = struct{}{}
		a.attempts[p.Attempt] = struct{}{}
		a.totals.Parts++
		if dir := ShardPrefix(p.RunID, p.Shard, p.ShardCount); dir != idsShard {
			countRepeats()
			idsShard, idsRun = dir, a
		}
		mp, err := openPart(ctx, store, p.Key, described != nil, func(f *parquet.File, uri string) error {
			return readFileAs(ctx, f, uri, func(rows []summaryCols) error {
				for i := range rows {
					r := rows[i].row()
					a.totals.Add(&r)
					ids = append(ids, IDHash(r.RecordID))
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
		if described != nil {
			*described = append(*described, mp)
		}
	}
	countRepeats()
	for _, key := range summaryKeys {
		runID, shard, count, _ := parseSummaryKey(key)
		s, err := readSummaryKey(ctx, store, key)
		if err != nil {
			return nil, err
		}
		a := acc(runID)
		sid := shardID{shard, count}
		a.shards[sid] = struct{}{}
		a.summaries[sid] = s
	}

	out := make([]Summary, 0, len(runs))
	for _, id := range slices.Sorted(maps.Keys(runs)) {
		out = append(out, runs[id].summary())
	}
	return out, nil
}

// listOutput lists the parts and the _summary.json keys below prefix, in
// the store's order (a missing local root lists nothing).
func listOutput(ctx context.Context, store blob.Store, prefix string) (parts []PartInfo, summaryKeys []string, err error) {
	err = store.List(ctx, prefix, func(o blob.Object) error {
		if p, ok := ParsePartKey(o.Key); ok && isPartKey(o.Key) {
			parts = append(parts, p)
		} else if _, _, _, ok := parseSummaryKey(o.Key); ok {
			summaryKeys = append(summaryKeys, o.Key)
		}
		return nil
	})
	if err != nil && !missingLocalRoot(err) {
		return nil, nil, fmt.Errorf("list %s: %w", store.KeyURI(prefix), err)
	}
	return parts, summaryKeys, nil
}

// repeats sorts hashes and counts those equal to the one before: the rows
// whose record ID an earlier row of the shard had.
func repeats(hashes []uint64) int64 {
	slices.Sort(hashes)
	var n int64
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			n++
		}
	}
	return n
}

// IDHash is the 64-bit FNV-1a hash of an id (a record's, a dossier's): the
// sorted sets of hashes that count repeats and look ids up in bounded
// memory.
func IDHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// summary builds the run's Summary.
func (a *runAcc) summary() Summary {
	t := a.totals.clone()
	t.Attempts = len(a.attempts)
	if t.Reasons == nil {
		t.Reasons = map[string]map[string]int64{}
	}
	s := Summary{RunID: a.id, Totals: t}
	ids := slices.SortedFunc(maps.Keys(a.shards), func(x, y shardID) int {
		if x.count != y.count {
			return x.count - y.count
		}
		return x.shard - y.shard
	})
	for _, sid := range ids {
		s.ShardCount = max(s.ShardCount, sid.count)
	}
	if len(ids) == 1 {
		s.Shard = ids[0].shard
		if st, ok := a.summaries[ids[0]]; ok {
			s.RunStats = st.RunStats
		}
		return s
	}
	s.Shard = AllShards
	for _, sid := range ids {
		s.Shards = append(s.Shards, sid.shard)
	}
	s.RunStats = mergeStats(a.summaries, s.Records)
	return s
}

// mergeStats merges the run stats of several shards: the span from the
// first start to the last finish, exit codes counted, interrupted if any
// shard was, the exit code kept only when every shard with a summary agrees.
func mergeStats(sums map[shardID]Summary, records int64) RunStats {
	var m RunStats
	if len(sums) == 0 {
		return m
	}
	m.ExitCodes = map[int]int{}
	var listed int64
	allListed := true
	first := true
	for _, s := range sums {
		st := s.RunStats
		if first {
			m.PersonalData, m.HashKeyID, first = st.PersonalData, st.HashKeyID, false
		}
		m.PersonalData = agreed(m.PersonalData, st.PersonalData)
		m.HashKeyID = agreed(m.HashKeyID, st.HashKeyID)
		m.StartedAt = minTime(m.StartedAt, st.StartedAt)
		m.FinishedAt = maxTime(m.FinishedAt, st.FinishedAt)
		m.Interrupted = m.Interrupted || st.Interrupted
		if st.ExitCode != nil {
			m.ExitCodes[*st.ExitCode]++
		}
		if st.Listed != nil {
			listed += *st.Listed
		} else {
			allListed = false
		}
	}
	if len(m.ExitCodes) == 1 {
		for code, n := range m.ExitCodes {
			if n == len(sums) {
				m.ExitCode = new(code)
			}
		}
	}
	if len(m.ExitCodes) == 0 {
		m.ExitCodes = nil
	}
	if allListed {
		m.Listed = &listed
	}
	if m.StartedAt != nil && m.FinishedAt != nil && m.FinishedAt.After(*m.StartedAt) {
		m.DurationS = m.FinishedAt.Sub(*m.StartedAt).Seconds()
		m.RecordsPerS = float64(records) / m.DurationS
	}
	return m
}

// agreed is a when b is the same, else "mixed".
func agreed(a, b string) string {
	if a == b {
		return a
	}
	return "mixed"
}

// summaryCols is the projection of Row that Totals need: Summarize decodes
// only these columns (not names, JSON, lists).
type summaryCols struct {
	RecordID       string `parquet:"record_id"`
	Outcome        string `parquet:"outcome"`
	Reason         string `parquet:"reason"`
	OutcomeChanged *bool  `parquet:"outcome_changed,optional"`
	// PreviousOutcome feeds Totals.Transitions.
	PreviousOutcome *string    `parquet:"previous_outcome,optional"`
	APICalls        int32      `parquet:"api_calls"`
	Retries         int32      `parquet:"retries"`
	Polls           int32      `parquet:"polls"`
	SubmittedAt     *time.Time `parquet:"submitted_at,optional,timestamp(millisecond)"`
	CompletedAt     *time.Time `parquet:"completed_at,optional,timestamp(millisecond)"`
	DryRun          bool       `parquet:"dry_run"`
}

func (c *summaryCols) row() Row {
	return Row{RecordID: c.RecordID, Outcome: c.Outcome, Reason: c.Reason, OutcomeChanged: c.OutcomeChanged,
		PreviousOutcome: c.PreviousOutcome, APICalls: c.APICalls, Retries: c.Retries, Polls: c.Polls, SubmittedAt: c.SubmittedAt,
		CompletedAt: c.CompletedAt, DryRun: c.DryRun}
}

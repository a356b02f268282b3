package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

// outcomeRow is a row with an outcome, a reason and effort counts.
func outcomeRow(id, outcome, reason string, calls int32) Row {
	return Row{RecordID: id, Outcome: outcome, Reason: reason, APICalls: calls, Retries: 1, Polls: 2, DryRun: true}
}

// writeRun writes rows as one attempt of a run shard.
func writeRun(t *testing.T, st blob.Store, runID string, shard, count int, attempt string, rs ...Row) Totals {
	t.Helper()
	ctx := context.Background()
	w, err := NewWriter(st, WriterConfig{RunID: runID, Shard: shard, ShardCount: count, Attempt: attempt, MaxRowsPerPart: 3})
	require.NoError(t, err)
	require.NoError(t, w.Write(ctx, rs...))
	require.NoError(t, w.Close(ctx))
	return w.Totals()
}

func TestTotalsAdd(t *testing.T) {
	var tot Totals
	for _, r := range []Row{
		outcomeRow("a", OutcomeAccepted, "", 9),
		outcomeRow("b", OutcomeRejected, "NotUnderage", 9),
		outcomeRow("c", OutcomeRejected, "NotUnderage", 9),
		outcomeRow("d", OutcomeRejected, "ImageQuality", 9),
		outcomeRow("e", OutcomeSkipped, "corrupt", 0),
		outcomeRow("f", OutcomeTimeout, "deadline", 30),
	} {
		if r.RecordID == "b" {
			r.PreviousOutcome, r.OutcomeChanged = new("accepted"), new(true)
			r.SubmittedAt = new(t0.Add(time.Minute))
			r.CompletedAt = new(t0.Add(3 * time.Minute))
		}
		if r.RecordID == "a" {
			r.PreviousOutcome, r.OutcomeChanged = new("accepted"), new(false)
			r.SubmittedAt = new(t0)
			r.CompletedAt = new(t0.Add(2 * time.Minute))
			r.DryRun = false
		}
		tot.Add(&r)
	}
	assert.Equal(t, int64(6), tot.Records)
	assert.Equal(t, map[string]int64{"accepted": 1, "rejected": 3, "skipped": 1, "timeout": 1}, tot.Outcomes)
	assert.Equal(t, map[string]map[string]int64{
		"rejected": {"NotUnderage": 2, "ImageQuality": 1},
		"skipped":  {"corrupt": 1},
		"timeout":  {"deadline": 1},
	}, tot.Reasons)
	assert.Equal(t, int64(66), tot.APICalls)
	assert.Equal(t, int64(6), tot.Retries)
	assert.Equal(t, int64(12), tot.Polls)
	assert.Equal(t, int64(1), tot.OutcomeChanged)
	assert.Equal(t, int64(2), tot.OutcomeCompared)
	assert.Equal(t, int64(5), tot.DryRunRecords)
	assert.False(t, tot.DryRun, "one row was not a dry run")
	assert.Equal(t, int64(2), tot.Incomplete())
	assert.Equal(t, t0, *tot.FirstSubmittedAt)
	assert.Equal(t, t0.Add(3*time.Minute), *tot.LastCompletedAt)
}

func TestSummarizeRunsShardsAndStats(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)

	// Run "alpha": shards 0 and 1 of 3, shard 0 written by two attempts
	// (a resume) with one record written twice.
	writeRun(t, st, "alpha", 0, 3, "a1",
		outcomeRow("r1", OutcomeAccepted, "", 9),
		outcomeRow("r2", OutcomeRejected, "ImageQuality", 9),
		outcomeRow("r3", OutcomeRejected, "ImageQuality", 9),
		outcomeRow("r4", OutcomeError, "http_400", 3))
	writeRun(t, st, "alpha", 0, 3, "a2",
		outcomeRow("r4", OutcomeInconclusive, "NonExpired", 9))
	writeRun(t, st, "alpha", 1, 3, "a1",
		outcomeRow("r5", OutcomeAccepted, "", 9),
		outcomeRow("r1", OutcomeAccepted, "", 9)) // same id in another shard: no duplicate
	// Run "beta": one shard, with a summary.json.
	beta := writeRun(t, st, "beta", 0, 1, "b1", outcomeRow("x", OutcomeSkipped, "too_small", 0))

	start := t0
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "alpha", Shard: 0, ShardCount: 3,
		RunStats: RunStats{StartedAt: new(start), FinishedAt: new(start.Add(10 * time.Second)), ExitCode: new(3), Listed: new(int64(4))}}))
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "alpha", Shard: 1, ShardCount: 3,
		RunStats: RunStats{StartedAt: new(start.Add(5 * time.Second)), FinishedAt: new(start.Add(20 * time.Second)), ExitCode: new(0), Interrupted: true, Listed: new(int64(2))}}))
	// An empty shard: a summary and no parts.
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "alpha", Shard: 2, ShardCount: 3,
		RunStats: RunStats{ExitCode: new(0), Listed: new(int64(0))}}))
	betaStats := RunStats{Attempt: "b1", ExitCode: new(3), Extra: map[string]any{"note": "x"}}
	betaStats.SetTimes(start, start.Add(4*time.Second), beta.Records)
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "beta", Shard: 0, ShardCount: 1, Totals: beta, RunStats: betaStats}))
	// Not parts: ignored.
	require.NoError(t, st.Put(ctx, "runs/alpha/shard-0-of-3/journal.jsonl", []byte("{}")))
	require.NoError(t, st.Put(ctx, "other/stuff.parquet", []byte("not parquet")))

	sums, err := Summarize(ctx, st)
	require.NoError(t, err)
	require.Len(t, sums, 2)

	a := sums[0]
	assert.Equal(t, "alpha", a.RunID)
	assert.Equal(t, AllShards, a.Shard)
	assert.Equal(t, 3, a.ShardCount)
	assert.Equal(t, []int{0, 1, 2}, a.Shards)
	assert.Equal(t, int64(7), a.Records)
	assert.Equal(t, map[string]int64{"accepted": 3, "rejected": 2, "error": 1, "inconclusive": 1}, a.Outcomes)
	assert.Equal(t, int64(1), a.DuplicateRecords)
	assert.Equal(t, 4, a.Parts) // shard 0: 2 parts (a1, 3 rows per part) + 1 (a2); shard 1: 1
	assert.Equal(t, 2, a.Attempts)
	assert.Equal(t, int64(57), a.APICalls)
	assert.Nil(t, a.ExitCode, "shards disagree")
	assert.Equal(t, map[int]int{0: 2, 3: 1}, a.ExitCodes)
	assert.True(t, a.Interrupted)
	assert.Equal(t, start, *a.StartedAt)
	assert.Equal(t, start.Add(20*time.Second), *a.FinishedAt)
	assert.InDelta(t, 20.0, a.DurationS, 1e-9)
	assert.InDelta(t, 7.0/20, a.RecordsPerS, 1e-9)
	assert.Equal(t, int64(6), *a.Listed)

	b := sums[1]
	assert.Equal(t, "beta", b.RunID)
	assert.Equal(t, 0, b.Shard)
	assert.Equal(t, 1, b.ShardCount)
	assert.Nil(t, b.Shards)
	assert.Equal(t, int64(1), b.Records)
	assert.Equal(t, betaStats, b.RunStats)
	assert.InDelta(t, 0.25, b.RecordsPerS, 1e-9)

	one, err := SummarizeRun(ctx, st, "beta")
	require.NoError(t, err)
	assert.Equal(t, b, one)
	_, err = SummarizeRun(ctx, st, "gamma")
	assert.ErrorIs(t, err, ErrNoOutput)
}

func TestSummarizeEmptyOrMissingOutput(t *testing.T) {
	ctx := context.Background()
	missing, err := blob.NewLocal(filepath.Join(t.TempDir(), "nothing-here"))
	require.NoError(t, err)
	_, err = Summarize(ctx, missing)
	assert.ErrorIs(t, err, ErrNoOutput)
	assert.Contains(t, err.Error(), "nothing-here")

	empty := localStore(t)
	require.NoError(t, empty.Put(ctx, "readme.txt", []byte("x")))
	_, err = Summarize(ctx, empty)
	assert.ErrorIs(t, err, ErrNoOutput)
	err = Read(ctx, empty, func(Row) error { return nil })
	assert.ErrorIs(t, err, ErrNoOutput)
}

func TestReadRejectsACorruptPartNamingIt(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	key := "runs/r/shard-0-of-1/part-00000-x.parquet"
	require.NoError(t, st.Put(ctx, key, []byte("PAR1 this is not parquet")))
	err := Read(ctx, st, func(Row) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), st.KeyURI(key))
}

func TestReadStopsOnCallbackError(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	writeRun(t, st, "r", 0, 1, "a", rows("x", 10)...)
	n := 0
	stop := assert.AnError
	err := Read(ctx, st, func(Row) error {
		n++
		if n == 4 {
			return stop
		}
		return nil
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 4, n)
}

func TestCommittedRecordsIsPerShard(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	writeRun(t, st, "r", 0, 2, "a", rows("s0", 5)...)
	writeRun(t, st, "r", 1, 2, "a", rows("s1", 2)...)
	writeRun(t, st, "r", 0, 4, "a", rows("other-count", 2)...)
	writeRun(t, st, "r2", 0, 2, "a", rows("other-run", 2)...)

	ids, err := CommittedRecords(ctx, st, "r", 0, 2)
	require.NoError(t, err)
	want := map[string]struct{}{}
	for _, id := range recordIDs(rows("s0", 5)) {
		want[id] = struct{}{}
	}
	assert.Equal(t, want, ids)

	_, err = CommittedRecords(ctx, st, "bad/id", 0, 2)
	assert.Error(t, err)
	_, err = CommittedRecords(ctx, st, "r", 2, 2)
	assert.Error(t, err)
}

func TestSummaryJSON(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	tot := writeRun(t, st, "r", 1, 2, "att", outcomeRow("a", OutcomeAccepted, "", 9), outcomeRow("b", OutcomeRejected, "NotUnderage", 7))
	stats := RunStats{Attempt: "att", ExitCode: new(0)}
	stats.SetTimes(t0, t0.Add(2*time.Second), tot.Records)
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "r", Shard: 1, ShardCount: 2, Totals: tot, RunStats: stats}))

	b, err := os.ReadFile(filepath.Join(st.Root(), "runs", "r", "shard-1-of-2", "_summary.json"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	// The documented flat field names.
	for _, k := range []string{"run_id", "shard", "shard_count", "records", "outcomes", "reasons", "api_calls",
		"retries", "polls", "dry_run", "parts", "started_at", "finished_at", "duration_s", "records_per_s",
		"exit_code", "attempt"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, "2026-11-27T01:02:03.456Z", m["started_at"])
	assert.Equal(t, 1.0, m["records_per_s"])

	got, err := ReadSummary(ctx, st, "r", 1, 2)
	require.NoError(t, err)
	assert.Equal(t, Summary{RunID: "r", Shard: 1, ShardCount: 2, Totals: tot, RunStats: stats}, got)

	_, err = ReadSummary(ctx, st, "r", 0, 2)
	assert.ErrorIs(t, err, blob.ErrNotFound)
	assert.Error(t, WriteSummary(ctx, st, Summary{RunID: "", ShardCount: 1}))
	assert.Error(t, WriteSummary(ctx, st, Summary{RunID: "r", Shard: AllShards, ShardCount: 2}))
}

func TestRenderTableGolden(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	var rs []Row
	add := func(n int, outcome, reason string) {
		for range n {
			rs = append(rs, outcomeRow("", outcome, reason, 5))
		}
	}
	add(980, OutcomeAccepted, "")
	add(80, OutcomeRejected, "ImageQuality")
	add(30, OutcomeRejected, "NotUnderage")
	add(10, OutcomeRejected, "SimilarityLevel")
	add(60, OutcomeInconclusive, "NonExpired")
	add(30, OutcomeInconclusive, "NotBlackAndWhite")
	add(4, OutcomeFailed, "")
	add(20, OutcomeSkipped, "corrupt")
	add(5, OutcomeSkipped, "too_small")
	add(3, OutcomeSkipped, "missing_front")
	add(2, OutcomeSkipped, "unsupported_format")
	add(8, OutcomeError, "http_400")
	add(2, OutcomeTimeout, "")
	for i := range rs {
		rs[i].RecordID = "rec-" + Thousands(int64(i))
		if i%4 == 0 {
			prev := OutcomeAccepted
			if i%12 == 0 {
				prev = " Rejected" // counted as rejected, as outcome_changed compares
			}
			rs[i].PreviousOutcome = new(prev)
			rs[i].OutcomeChanged = OutcomeChanged(prev, rs[i].Outcome)
		}
	}
	w, err := NewWriter(st, WriterConfig{RunID: "nightly-2026-11-27", ShardCount: 1, Attempt: "a"})
	require.NoError(t, err)
	require.NoError(t, w.Write(ctx, rs...))
	require.NoError(t, w.Close(ctx))
	stats := RunStats{ExitCode: new(3)}
	stats.SetTimes(t0, t0.Add(20*time.Minute+34*time.Second), int64(len(rs)))
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "nightly-2026-11-27", ShardCount: 1, Totals: w.Totals(), RunStats: stats}))

	// A second run, merged over shards with one missing.
	writeRun(t, st, "zeta", 0, 3, "a", outcomeRow("a", OutcomeAccepted, "", 9))
	writeRun(t, st, "zeta", 2, 3, "a", outcomeRow("b", OutcomeAccepted, "", 9))

	sums, err := Summarize(ctx, st)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, RenderTables(&buf, sums))
	want := `run nightly-2026-11-27  shard 0 of 1  DRY RUN (bundled emulator)
records 1,234  parts 1  api calls 6,170 (5.00/record)  retries 1,234  polls 2,468
started 2026-11-27T01:02:03Z  finished 2026-11-27T01:22:37Z  duration 20m34s  1.00 records/s  exit code 3
outcome changed 136 of 309 compared with the previous outcome

outcome       count   share  top reasons
accepted        980   79.4%
rejected        120    9.7%  ImageQuality 80, NotUnderage 30, SimilarityLevel 10
inconclusive     90    7.3%  NonExpired 60, NotBlackAndWhite 30
failed            4    0.3%
skipped          30    2.4%  corrupt 20, too_small 5, missing_front 3, +1 more
error             8    0.6%  http_400 8
timeout           2    0.2%
total         1,234  100.0%

previous outcome (rows) -> outcome now (columns)
previous  accepted  rejected  inconclusive  failed  skipped  error  timeout  total
accepted   163 79%    20 10%         15 7%   1 <1%     5 2%  1 <1%    1 <1%    206
rejected    82 80%    10 10%          8 8%       0     2 2%  1 <1%        0    103
total      245 79%    30 10%         23 7%   1 <1%     7 2%  2 <1%    1 <1%    309

why outcomes changed (largest cells, top reasons)
rejected -> accepted      82
accepted -> rejected      20  ImageQuality 13, NotUnderage 6, SimilarityLevel 1
accepted -> inconclusive  15  NonExpired 10, NotBlackAndWhite 5
rejected -> inconclusive   8  NonExpired 5, NotBlackAndWhite 3
accepted -> skipped        5  corrupt 3, missing_front 1, too_small 1
rejected -> skipped        2  corrupt 2
accepted -> failed         1
accepted -> error          1  http_400 1
+2 more changed cells (batch report --json: transition_reasons)

run zeta  shards 2 of 3 present (missing 1)  DRY RUN (bundled emulator)
records 2  parts 2  api calls 18 (9.00/record)  retries 2  polls 4

outcome   count   share  top reasons
accepted      2  100.0%
total         2  100.0%
`
	assert.Equal(t, want, buf.String())
}

// TestProjectionsMatchRow: the column projections used for reading must
// name Row's columns with Row's types and tags.
func TestProjectionsMatchRow(t *testing.T) {
	row := reflect.TypeFor[Row]()
	for _, p := range []reflect.Type{reflect.TypeFor[summaryCols](), reflect.TypeFor[recordIDOnly](), reflect.TypeFor[changedCols](), reflect.TypeFor[verifiedCols]()} {
		for i := range p.NumField() {
			f := p.Field(i)
			rf, ok := row.FieldByName(f.Name)
			require.True(t, ok, "%s.%s", p.Name(), f.Name)
			assert.Equal(t, rf.Type, f.Type, "%s.%s", p.Name(), f.Name)
			want, _, _ := strings.Cut(rf.Tag.Get("parquet"), ",dict")
			got, _, _ := strings.Cut(f.Tag.Get("parquet"), ",dict")
			assert.Equal(t, want, got, "%s.%s", p.Name(), f.Name)
		}
	}
}

// Totals.Transitions counts rows by previous outcome (trimmed, lower-cased,
// as outcome_changed compares) and outcome now; rows without a previous
// outcome are not in it. Writer totals, merged totals, Summarize (from the
// Parquet rows) and _summary.json agree.
func TestTransitions(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	row := func(id, outcome string, prev *string) Row {
		r := outcomeRow(id, outcome, "", 5)
		if prev != nil {
			r.PreviousOutcome = prev
			r.OutcomeChanged = OutcomeChanged(*prev, outcome)
		}
		return r
	}
	shard0 := writeRun(t, st, "tr", 0, 2, "a",
		row("a", OutcomeAccepted, new("accepted")),
		row("b", OutcomeInconclusive, new("Accepted")),
		row("c", OutcomeRejected, new(" rejected ")),
		row("d", OutcomeAccepted, nil),
		row("e", OutcomeSkipped, new("   ")), // blank: no previous outcome
	)
	shard1 := writeRun(t, st, "tr", 1, 2, "a",
		row("f", OutcomeInconclusive, new("accepted")),
		row("g", OutcomeSkipped, new("accepted")),
		row("h", OutcomeRejected, new("approved")), // not an outcome: kept as given
	)
	assert.Equal(t, map[string]map[string]int64{
		"accepted": {"accepted": 1, "inconclusive": 1},
		"rejected": {"rejected": 1},
	}, shard0.Transitions)
	assert.Equal(t, int64(3), shard0.OutcomeCompared)

	want := map[string]map[string]int64{
		"accepted": {"accepted": 1, "inconclusive": 2, "skipped": 1},
		"rejected": {"rejected": 1},
		"approved": {"rejected": 1},
	}
	merged := shard0.clone()
	merged.merge(&shard1)
	assert.Equal(t, want, merged.Transitions)
	assert.Equal(t, int64(6), merged.OutcomeCompared)
	assert.Len(t, shard0.Transitions["accepted"], 2, "merge does not change its argument's source")
	c := merged.clone()
	c.Transitions["accepted"]["accepted"]++
	assert.Equal(t, int64(1), merged.Transitions["accepted"]["accepted"], "clone is deep")

	sum, err := SummarizeRun(ctx, st, "tr")
	require.NoError(t, err)
	assert.Equal(t, want, sum.Transitions, "read back from the rows")
	assert.Equal(t, merged.TransitionReasons, sum.TransitionReasons, "merged totals and the rows agree")
	var total int64
	for _, m := range sum.Transitions {
		for _, n := range m {
			total += n
		}
	}
	assert.Equal(t, sum.OutcomeCompared, total, "every compared row once")

	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "tr", Shard: 0, ShardCount: 2, Totals: shard0}))
	b, err := st.Get(ctx, SummaryKey("tr", 0, 2), 1<<20)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"transitions": {`)
	got, err := ReadSummary(ctx, st, "tr", 0, 2)
	require.NoError(t, err)
	assert.Equal(t, shard0.Transitions, got.Transitions)

	none := writeRun(t, st, "none", 0, 1, "a", row("x", OutcomeAccepted, nil))
	assert.Nil(t, none.Transitions)
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "none", ShardCount: 1, Totals: none}))
	b, err = st.Get(ctx, SummaryKey("none", 0, 1), 1<<20)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "transitions", "omitted when no row had a previous outcome")

	var buf bytes.Buffer
	require.NoError(t, RenderTable(&buf, sum))
	assert.Contains(t, buf.String(), `
previous outcome (rows) -> outcome now (columns)
previous  accepted  rejected  inconclusive  skipped  total
accepted     1 25%         0         2 50%    1 25%      4
rejected         0    1 100%             0        0      1
approved         0    1 100%             0        0      1
total        1 17%     2 33%         2 33%    1 17%      6

why outcomes changed (largest cells, top reasons)
accepted -> inconclusive  2
accepted -> skipped       1
approved -> rejected      1
`)
	// The reasons behind the changed cells: only rows whose outcome
	// changed, each once, the cell's count in all.
	assert.Equal(t, map[string]map[string]map[string]int64{
		"accepted": {"inconclusive": {NoReason: 2}, "skipped": {NoReason: 1}},
		"approved": {"rejected": {NoReason: 1}},
	}, sum.TransitionReasons)
	buf.Reset()
	require.NoError(t, RenderTable(&buf, Summary{RunID: "none", Totals: none}))
	assert.NotContains(t, buf.String(), "previous outcome (rows)")
}

// A transition table with many previous outcomes shows the known ones, then
// the most frequent others, and sums the rest in one row.
func TestTransitionTableCapsItsRows(t *testing.T) {
	tr := map[string]map[string]int64{"accepted": {"accepted": 5}}
	for i := range 12 {
		tr[fmt.Sprintf("code-%02d", i)] = map[string]int64{"rejected": int64(i + 1)}
	}
	out := transitionTable(tr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2+maxTransitionRows+1, out) // title, header, rows, total
	assert.True(t, strings.HasPrefix(lines[2], "accepted "), out)
	assert.True(t, strings.HasPrefix(lines[3], "code-11 "), "most frequent other first:\n%s", out)
	assert.Regexp(t, `^other \(4\)\s+0\s+10 100%\s+10$`, lines[len(lines)-2], out) // code-00..03: 1+2+3+4
	assert.Regexp(t, `^total\s+5 6%\s+78 94%\s+83$`, lines[len(lines)-1], out)
	assert.Empty(t, transitionTable(nil))
}

// After an interrupt the table says how many calls the attempt made in all,
// not only those of the rows it wrote (it said 78 where 254 were spent).
func TestTableCountsTheCallsOfAnInterruptedAttempt(t *testing.T) {
	s := Summary{RunID: "r", ShardCount: 1, Totals: Totals{Records: 10, APICalls: 78},
		RunStats: RunStats{Interrupted: true, Extra: map[string]any{"api_calls_total": int64(254)}}}
	var b strings.Builder
	require.NoError(t, RenderTable(&b, s))
	assert.Contains(t, b.String(), "api calls 78 (7.80/record), 254 made by the last attempt")
	s.Interrupted = false
	b.Reset()
	require.NoError(t, RenderTable(&b, s))
	assert.NotContains(t, b.String(), "made by the last attempt", "a finished attempt's extra calls are its tokens and lists")
}

// EachChanged hands over the rows whose outcome moved, with their run and
// shard, and nothing else; one run or all of them.
func TestEachChangedListsTheMovedRows(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	row := func(id, outcome, reason string, prev *string) Row {
		r := outcomeRow(id, outcome, reason, 5)
		if prev != nil {
			r.PreviousOutcome = prev
			r.OutcomeChanged = OutcomeChanged(*prev, outcome)
		}
		return r
	}
	writeRun(t, st, "one", 0, 2, "a",
		row("a", OutcomeAccepted, "", new("accepted")),
		row("b", OutcomeRejected, "NotUnderage", new("Accepted")),
		row("c", OutcomeAccepted, "", nil))
	writeRun(t, st, "one", 1, 2, "a", row("d", OutcomeSkipped, "corrupt", new("accepted")))
	writeRun(t, st, "two", 0, 1, "a", row("e", OutcomeAccepted, "", new("rejected")))

	var got []Changed
	collect := func(c Changed) error { got = append(got, c); return nil }
	require.NoError(t, EachChanged(ctx, st, "one", collect))
	assert.Equal(t, []Changed{
		{RunID: "one", Shard: 0, Shards: 2, RecordID: "b", Previous: "Accepted", Outcome: OutcomeRejected, Reason: "NotUnderage"},
		{RunID: "one", Shard: 1, Shards: 2, RecordID: "d", Previous: "accepted", Outcome: OutcomeSkipped, Reason: "corrupt"},
	}, got)
	got = nil
	require.NoError(t, EachChanged(ctx, st, "", collect))
	assert.Len(t, got, 3)
	assert.Equal(t, "e", got[2].RecordID)
	assert.ErrorIs(t, EachChanged(ctx, st, "three", collect), ErrNoOutput)
}

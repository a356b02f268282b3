package report

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

func writeAttempt(t *testing.T, st blob.Store, attempt string, rows ...Row) {
	t.Helper()
	w, err := NewWriter(st, WriterConfig{RunID: "run", ShardCount: 1, Attempt: attempt})
	require.NoError(t, err)
	require.NoError(t, w.Write(context.Background(), rows...))
	require.NoError(t, w.Close(context.Background()))
}

func outcomesOf(t *testing.T, st blob.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	require.NoError(t, ReadRun(context.Background(), st, "run", func(r Row) error {
		out[r.RecordID] = append(out[r.RecordID], r.Outcome)
		return nil
	}))
	return out
}

// Rows a later attempt wrote again supersede the earlier ones: the parts
// holding those are rewritten without them (or deleted), and one read gives
// one row per record. Rows of one attempt never supersede each other.
func TestSupersedeKeepsTheLatestRowOfEachRecord(t *testing.T) {
	ctx := context.Background()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	const a1, a2 = "a000001-20261201T000000Z-aaaaaaaa", "a000002-20261201T010000Z-bbbbbbbb"
	writeAttempt(t, st, a1,
		Row{RecordID: "A", Outcome: OutcomeTimeout, ErrorCode: "deadline", ProcessID: NonEmpty("p-a")},
		Row{RecordID: "B", Outcome: OutcomeAccepted},
		Row{RecordID: "C", Outcome: OutcomeError, ErrorCode: "transport"},
		Row{RecordID: "D", Outcome: OutcomeAccepted}, Row{RecordID: "D", Outcome: OutcomeSkipped, SkipReasons: []string{"duplicate_record"}})
	writeAttempt(t, st, "a000001-20261201T000000Z-cccccccc") // an attempt that wrote nothing
	writeAttempt(t, st, a2, Row{RecordID: "A", Outcome: OutcomeAccepted}, Row{RecordID: "C", Outcome: OutcomeRejected})
	before := outcomesOf(t, st)
	assert.Len(t, before["A"], 2)

	res, err := Supersede(ctx, st, "run", 0, 1, a2)
	require.NoError(t, err)
	assert.Equal(t, SupersedeResult{Rows: 2, Rewritten: 1}, res)
	// The rewritten part holds attempt 1's rows: it is attempt 1's, after
	// its other parts, and names the part it replaces.
	parts, err := ListParts(ctx, st, ShardPrefix("run", 0, 1))
	require.NoError(t, err)
	var rewritten []CommittedPart
	require.NoError(t, EachCommittedRow(ctx, st, "run", 0, 1, func(p CommittedPart, _ CommittedRow) error {
		if p.RewrittenFrom != "" && (len(rewritten) == 0 || rewritten[len(rewritten)-1].Key != p.Key) {
			rewritten = append(rewritten, p)
		}
		return nil
	}))
	require.Len(t, rewritten, 1)
	assert.Equal(t, a1, rewritten[0].Attempt)
	assert.Equal(t, 1, rewritten[0].Seq)
	assert.Equal(t, PartKey("run", 0, 1, 0, a1), rewritten[0].RewrittenFrom)
	assert.Len(t, parts, 2, "attempt 1's part replaced by its rewrite")
	after := outcomesOf(t, st)
	assert.Equal(t, map[string][]string{
		"A": {OutcomeAccepted}, "B": {OutcomeAccepted}, "C": {OutcomeRejected},
		"D": {OutcomeAccepted, OutcomeSkipped}, // one attempt's: both kept
	}, sorted(after))

	// Nothing left to do: a second call changes nothing.
	res, err = Supersede(ctx, st, "run", 0, 1, a2)
	require.NoError(t, err)
	assert.Zero(t, res)
}

// noDelete is a store whose deletions fail: a rewrite stops between its
// steps, as if killed there.
type noDelete struct{ blob.Store }

func (noDelete) Delete(context.Context, string) error { return errors.New("killed") }

// A crash between writing the rewritten part and deleting the old one leaves
// both; the next attempt's call deletes the old one, which the new names.
func TestSupersedeRepairsACrashBetweenItsSteps(t *testing.T) {
	ctx := context.Background()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	const a1, a2, a3 = "a000001-20261201T000000Z-aaaaaaaa", "a000002-20261201T010000Z-bbbbbbbb", "a000003-20261201T020000Z-cccccccc"
	writeAttempt(t, st, a1, Row{RecordID: "A", Outcome: OutcomeTimeout}, Row{RecordID: "B", Outcome: OutcomeAccepted})
	writeAttempt(t, st, a2, Row{RecordID: "A", Outcome: OutcomeAccepted})
	_, err = Supersede(ctx, noDelete{st}, "run", 0, 1, a2)
	require.ErrorContains(t, err, "killed")
	assert.Len(t, outcomesOf(t, st)["B"], 2, "the window: B twice")
	assert.Len(t, outcomesOf(t, st)["A"], 2, "and A's old row still there")

	res, err := Supersede(ctx, st, "run", 0, 1, a3)
	require.NoError(t, err)
	assert.Equal(t, SupersedeResult{Repaired: 1}, res, "the old part deleted; its rewrite has no superseded row")
	assert.Equal(t, map[string][]string{"A": {OutcomeAccepted}, "B": {OutcomeAccepted}}, outcomesOf(t, st))
}

func sorted(m map[string][]string) map[string][]string {
	for _, v := range m {
		sort.Strings(v)
	}
	return m
}

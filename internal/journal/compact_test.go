package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

// journalText is every journal object below prefix, concatenated.
func journalText(t *testing.T, store blob.Store) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, store.List(context.Background(), prefix, func(o blob.Object) error {
		data, err := store.Get(context.Background(), o.Key, 1<<30)
		if err != nil {
			return err
		}
		b.Write(data)
		return nil
	}))
	return b.String()
}

func personalFinal(name string) *Final {
	return &Final{Outcome: "accepted", Effort: Effort{Calls: 5, Polls: 1},
		Process: json.RawMessage(fmt.Sprintf(`{"status":"accepted","result":{"FirstName":%q}}`, name))}
}

func stores(t *testing.T) map[string]blob.Store {
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	other, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	return map[string]blob.Store{"appended": local, "checkpoints": objectOnly{other}}
}

// A final entry holds the person's data; once its row is committed it is
// taken out of the journal, and at the end of an attempt whose rows are all
// committed the journal holds none. A committed record that ended with the
// API's outcome needs nothing more of the journal (the parts say it is
// done): all its entries go. An error row's record keeps its ids, which
// reconciliation compares with the API's.
func TestCommittedResultsLeaveTheJournal(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			j, err := Begin(ctx, store, prefix, "a000001-x", time.Now(), time.Time{}, time.Hour)
			require.NoError(t, err)
			for _, id := range []string{"r1", "r2", "e1"} {
				require.NoError(t, j.Append(ctx, Entry{Type: TypeDossier, Record: id, Dossier: "d-" + id}))
				require.NoError(t, j.Append(ctx, Entry{Type: TypeStarted, Record: id, Dossier: "d-" + id, Process: "p-" + id}))
				f := personalFinal("NAME-" + id)
				if id == "e1" {
					f = &Final{Outcome: "error", ErrorCode: "outcome_unknown", ErrorMessage: "secret-e1"}
				}
				require.NoError(t, j.Append(ctx, Entry{Type: TypeFinal, Record: id, Final: f}))
				require.NoError(t, j.Append(ctx, Entry{Type: TypeDeleted, Record: id, Dossier: "d-" + id}))
				require.NoError(t, j.Sync(ctx))
			}
			assert.Contains(t, journalText(t, store), "NAME-r1", "kept until its row is committed")

			j.Committed("part-1", []string{"r1", "e1"})
			require.NoError(t, j.Sync(ctx))
			require.NoError(t, j.Compact(ctx))
			text := journalText(t, store)
			assert.NotContains(t, text, "NAME-r1", "committed: taken out")
			assert.NotContains(t, text, `"d-r1"`, "committed with the API's outcome: every entry taken out")
			assert.NotContains(t, text, `"r1"`, "committed with the API's outcome: not named any more")
			assert.Contains(t, text, "NAME-r2", "not committed: still needed")
			assert.Contains(t, text, `"dossier":"d-r2"`)
			assert.NotContains(t, text, "secret-e1", "an error row's final goes once committed")
			assert.Contains(t, text, `"process":"p-e1"`, "an error row's record keeps its ids")
			assert.NotContains(t, text, `"t":"committed"`, "committed entries go: the parts say the same")

			// Appends go on after the object they went to was rewritten.
			require.NoError(t, j.Append(ctx, Entry{Type: TypeFinal, Record: "r3", Final: personalFinal("NAME-r3")}))
			j.Committed("part-2", []string{"r2", "r3"})
			require.NoError(t, j.Close())
			text = journalText(t, store)
			for _, s := range []string{"NAME-", `"t":"final"`} {
				assert.NotContains(t, text, s, "the attempt's rows are committed: no result left")
			}

			st, err := Read(ctx, store, prefix)
			require.NoError(t, err)
			for _, id := range []string{"r1", "r2", "r3"} {
				assert.Nil(t, st.Records[id], "%s: the parts say it is committed", id)
			}
			require.NotNil(t, st.Records["e1"])
			assert.Equal(t, "p-e1", st.Records["e1"].Process, "what reconciliation compares")
			assert.True(t, st.Records["e1"].Started)
			assert.Empty(t, st.PendingFinals())
			assert.Equal(t, 1, st.Attempts, "the run entry stays")
		})
	}
}

// An attempt killed before its rows were committed (or before its compactor
// ran) leaves results behind. The next attempt takes out those whose rows
// are committed, at once, and the rest once it has committed their rows;
// a line the crash cut (perhaps part of a result) goes too.
func TestALaterAttemptTakesOutWhatAKilledOneLeft(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var lines []string
			for _, e := range []Entry{
				{Type: TypeRun, Attempt: "a000001-x", RunStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
				{Type: TypeDossier, Record: "done", Dossier: "d-done"},
				{Type: TypeFinal, Record: "done", Final: personalFinal("NAME-done")},
				{Type: TypeCommitted, Records: []string{"done"}, Part: "part-1"},
				{Type: TypeDossier, Record: "open", Dossier: "d-open"},
				{Type: TypeFinal, Record: "open", Final: personalFinal("NAME-open")},
			} {
				e.V = Version
				b, err := encode(e)
				require.NoError(t, err)
				lines = append(lines, string(b))
			}
			killed := strings.Join(lines, "\n") + "\n" + `{"v":2,"t":"final","rec":"cut","final":{"process":{"FirstName":"NAME-cut`
			require.NoError(t, store.Put(ctx, prefix+"a000001-x/00000001.jsonl", []byte(killed)))

			st, err := Read(ctx, store, prefix)
			require.NoError(t, err)
			assert.Equal(t, []string{prefix + "a000001-x/00000001.jsonl"}, st.FinalObjects)
			assert.Equal(t, []string{"open"}, st.PendingFinals())

			j, err := Begin(ctx, store, prefix, "a000002-y", time.Now(), st.RunStart, time.Hour)
			require.NoError(t, err)
			j.Adopt(st.FinalObjects, st.PendingFinals())
			require.NoError(t, j.Compact(ctx))
			text := journalText(t, store)
			assert.NotContains(t, text, "NAME-done")
			assert.NotContains(t, text, "NAME-cut")
			assert.Contains(t, text, "NAME-open", "its row is written from it by this attempt")

			j.Committed("part-2", []string{"open"})
			require.NoError(t, j.Close())
			assert.NotContains(t, journalText(t, store), "NAME-")
			st, err = Read(ctx, store, prefix)
			require.NoError(t, err)
			// An earlier attempt's record keeps its ids (this attempt did not
			// finish it); that it is committed, the parts say.
			assert.Equal(t, "d-done", st.Records["done"].Dossier)
			// Its row was made from the earlier attempt's final: that attempt's
			// ids of it stay, its final goes.
			assert.Equal(t, "d-open", st.Records["open"].Dossier)
			assert.Nil(t, st.Records["open"].Final)
			assert.NotContains(t, journalText(t, store), `"t":"committed"`)
			assert.Equal(t, 2, st.Attempts)
		})
	}
}

// Appends, syncs and commits from many goroutines while the compactor
// rewrites: nothing is lost, and no result is left at the end. Every record
// here is committed with the API's outcome: nothing of it is left, and the
// attempt's objects were merged down to a few.
func TestCompactionBesideConcurrentAppends(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			j, err := Begin(ctx, store, prefix, "a000001-x", time.Now(), time.Time{}, 5*time.Millisecond)
			require.NoError(t, err)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 40 {
						id := fmt.Sprintf("g%d-%d", g, i)
						assert.NoError(t, j.Append(ctx, Entry{Type: TypeDossier, Record: id, Dossier: "d-" + id}))
						assert.NoError(t, j.Append(ctx, Entry{Type: TypeFinal, Record: id, Final: personalFinal("NAME-" + id)}))
						if i%3 == 0 {
							assert.NoError(t, j.Sync(ctx))
						}
						j.Committed("part", []string{id})
					}
				}()
			}
			wg.Wait()
			require.NoError(t, j.Close())
			assert.NotContains(t, journalText(t, store), "NAME-")
			st, err := Read(ctx, store, prefix)
			require.NoError(t, err)
			assert.Empty(t, st.Records)
			assert.Equal(t, 1, st.Attempts)
			n := 0
			require.NoError(t, store.List(ctx, prefix, func(blob.Object) error { n++; return nil }))
			assert.LessOrEqual(t, n, mergeAbove+1, "objects left")
		})
	}
}

// An attempt's objects are merged once more than mergeAbove are sealed, so
// that a resume reads a few objects, not one per checkpoint. A crash after
// the merged object is written and before the others are deleted leaves
// both: the fold is the same.
func TestMergedObjectsFoldTheSame(t *testing.T) {
	ctx := context.Background()
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	store := objectOnly{local}
	j, err := Begin(ctx, store, prefix, "a000001-x", time.Now(), time.Time{}, time.Hour)
	require.NoError(t, err)
	// The compactor, kicked by every final and by Committed, would merge
	// and delete objects while this test lists and reads them: hold its
	// passes off until the journal's objects are taken as they were.
	j.passMu.Lock()
	const n = 3 * mergeAbove
	var ids []string
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		ids = append(ids, id)
		f := personalFinal("NAME-" + id)
		if i%2 == 0 {
			f = &Final{Outcome: "error", ErrorCode: "outcome_unknown"}
		}
		require.NoError(t, j.Append(ctx, Entry{Type: TypeDossier, Record: id, Dossier: "d-" + id}))
		require.NoError(t, j.Append(ctx, Entry{Type: TypeStarted, Record: id, Dossier: "d-" + id, Process: "p-" + id}))
		require.NoError(t, j.Append(ctx, Entry{Type: TypeFinal, Record: id, Final: f}))
		require.NoError(t, j.Sync(ctx)) // an object per record
	}
	// One record not committed: its entries stay, final included.
	j.Committed("part-1", ids[:n-1])
	require.NoError(t, j.Sync(ctx))
	before := map[string][]byte{}
	require.NoError(t, store.List(ctx, prefix, func(o blob.Object) error {
		b, err := store.Get(ctx, o.Key, 1<<20)
		before[o.Key] = b
		return err
	}))
	require.Greater(t, len(before), mergeAbove+1)
	j.passMu.Unlock()
	require.NoError(t, j.Compact(ctx))

	after := map[string]bool{}
	require.NoError(t, store.List(ctx, prefix, func(o blob.Object) error { after[o.Key] = true; return nil }))
	assert.LessOrEqual(t, len(after), 2, "merged")
	st, err := Read(ctx, store, prefix)
	require.NoError(t, err)
	last := ids[n-1]
	for i, id := range ids {
		r := st.Records[id]
		switch {
		case id == last:
			require.NotNil(t, r, id)
			assert.False(t, r.Committed)
			require.NotNil(t, r.Final, "not committed: its final is needed")
		case i%2 == 0:
			require.NotNil(t, r, id)
			assert.Equal(t, "p-"+id, r.Process, "an error row's record keeps its ids")
			assert.Nil(t, r.Final)
		default:
			assert.Nil(t, r, "%s: committed with the API's outcome: nothing left", id)
		}
	}
	assert.NotContains(t, journalText(t, store), "NAME-r0")

	// The crash between the merge and the deletions: the older objects are
	// back beside the merged one.
	for key, b := range before {
		if !after[key] {
			require.NoError(t, store.Put(ctx, key, b))
		}
	}
	twice, err := Read(ctx, store, prefix)
	require.NoError(t, err)
	for id, r := range st.Records {
		// The restored objects are those from before the pass (a real
		// crash leaves them as the pass rewrote them), so they still hold
		// committed entries and the finals of committed records: what the
		// resume's parts mark committed, and clear, anyway.
		a, b := *r, *twice.Records[id]
		if id != last {
			a.Committed, b.Committed, a.Final, b.Final = false, false, nil, nil
		}
		assert.Equal(t, a, b, id)
	}
	assert.Equal(t, st.Attempts, twice.Attempts)
	assert.Equal(t, st.RunStart, twice.RunStart)
	require.NoError(t, j.Close())
}

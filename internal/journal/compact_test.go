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
// committed the journal holds none. What a resume needs stays.
func TestCommittedResultsLeaveTheJournal(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			j, err := Begin(ctx, store, prefix, "a000001-x", time.Now(), time.Time{}, time.Hour)
			require.NoError(t, err)
			for _, id := range []string{"r1", "r2"} {
				require.NoError(t, j.Append(ctx, Entry{Type: TypeDossier, Record: id, Dossier: "d-" + id}))
				require.NoError(t, j.Append(ctx, Entry{Type: TypeStarted, Record: id, Dossier: "d-" + id, Process: "p-" + id}))
				require.NoError(t, j.Append(ctx, Entry{Type: TypeFinal, Record: id, Final: personalFinal("NAME-" + id)}))
				require.NoError(t, j.Sync(ctx))
			}
			assert.Contains(t, journalText(t, store), "NAME-r1", "kept until its row is committed")

			j.Committed("part-1", []string{"r1"})
			require.NoError(t, j.Compact(ctx))
			text := journalText(t, store)
			assert.NotContains(t, text, "NAME-r1", "committed: taken out")
			assert.Contains(t, text, "NAME-r2", "not committed: still needed")
			assert.Contains(t, text, `"dossier":"d-r1"`, "the ids stay")

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
				assert.True(t, st.Records[id].Committed, id)
			}
			assert.Equal(t, "p-r1", st.Records["r1"].Process)
			assert.True(t, st.Records["r1"].Started)
			assert.Empty(t, st.PendingFinals())
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
			assert.True(t, st.Records["done"].Committed)
			assert.True(t, st.Records["open"].Committed)
			assert.Equal(t, "d-open", st.Records["open"].Dossier)
			assert.Equal(t, 2, st.Attempts)
		})
	}
}

// Appends, syncs and commits from many goroutines while the compactor
// rewrites: nothing is lost, and no result is left at the end.
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
			assert.Len(t, st.Records, 8*40)
			for id, r := range st.Records {
				assert.True(t, r.Committed, id)
				assert.Equal(t, "d-"+id, r.Dossier)
			}
		})
	}
}

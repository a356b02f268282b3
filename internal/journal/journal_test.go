package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/fault"
	"reverify/internal/report"
)

const prefix = "runs/run/shard-0-of-1/journal/"

func TestJournalFoldsEntries(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	final := &Final{Outcome: "accepted", Process: json.RawMessage(`{"processId":"p-c","status":"accepted"}`),
		Effort: Effort{Calls: 5, Polls: 1}}
	entries := [][]Entry{
		{ // first attempt
			{Type: TypeRun, Attempt: "20260101T000000Z-aaaa", RunStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Type: TypeDossier, Record: "a", Dossier: "d-a"},
			{Type: TypeDossier, Record: "b", Dossier: "d-b"},
			{Type: TypeProcess, Record: "b", Dossier: "d-b", Process: "p-b", Pages: 2},
			{Type: TypeDossier, Record: "c", Dossier: "d-c"},
			{Type: TypeProcess, Record: "c", Dossier: "d-c", Process: "p-c", Pages: 1},
			{Type: TypeStarted, Record: "c", Dossier: "d-c", Process: "p-c"},
			{Type: TypeFinal, Record: "c", Final: final},
			{Type: TypeDeleted, Record: "c", Dossier: "d-c"},
			{Type: TypeDossier, Record: "d", Dossier: "d-d"},
			{Type: TypeStarted, Record: "d", Dossier: "d-d", Process: "p-d"},
			{Type: TypeFinal, Record: "d", Final: &Final{Outcome: "rejected"}},
			{Type: TypeCommitted, Records: []string{"d"}},
			{Type: TypeDossier, Record: "e", Dossier: "d-e"},
			{Type: TypeFinal, Record: "e", Final: &Final{Outcome: "error", ErrorCode: "http_503"}},
			{Type: TypeDeleted, Record: "e", Dossier: "d-e"},
			{Type: TypeCommitted, Records: []string{"e"}},
			{Type: TypeDossier, Record: "f", Dossier: "d-f"},
			{Type: TypeStarted, Record: "f", Dossier: "d-f", Process: "p-f"},
			{Type: TypeFinal, Record: "f", Final: &Final{Outcome: "timeout"}},
			{Type: TypeCommitted, Records: []string{"f"}},
		},
		{ // second attempt
			{Type: TypeRun, Attempt: "20260102T000000Z-bbbb", RunStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			{Type: TypeStarted, Record: "b", Dossier: "d-b", Process: "p-b"},
			// e redriven: a new dossier; f's timeout polled again to its end.
			{Type: TypeDossier, Record: "e", Dossier: "d-e2"},
			{Type: TypeFinal, Record: "f", Final: final},
			{Type: TypeDeleted, Record: "f", Dossier: "d-f"},
			// g: taken up from the API's lists (the first attempt's entries
			// of it were lost): its final entry is all there is, and it
			// names the dossier to delete.
			{Type: TypeFinal, Record: "g", Dossier: "d-g", Process: "p-g", Final: final},
		},
	}
	// Written as the objects are, not through a Writer: its compaction
	// would take out what the fold is tested on.
	for i, es := range entries {
		var b strings.Builder
		for _, e := range es {
			e.V, e.Time = Version, time.Date(2026, 1, i+1, 0, 0, 0, 0, time.UTC)
			line, err := encode(e)
			require.NoError(t, err)
			b.Write(line)
			b.WriteByte('\n')
		}
		require.NoError(t, store.Put(ctx, segmentKey(prefix+fmt.Sprintf("2026010%dT000000Z-x", i+1)+"/", 1), []byte(b.String())))
	}
	// A line cut short by a crash is skipped.
	require.NoError(t, store.Put(ctx, prefix+"20260103T000000Z-y.jsonl", []byte(`{"v":2,"t":"dossier","rec":"z","dos`)))

	st, err := Read(ctx, store, prefix)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Attempts)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), st.RunStart)
	first, second := "20260101T000000Z-x", "20260102T000000Z-x" // the attempts' object names
	assert.Equal(t, &Record{Dossier: "d-a", Attempt: first}, st.Records["a"])
	assert.Equal(t, &Record{Dossier: "d-b", Process: "p-b", Pages: 2, Started: true, Attempt: second}, st.Records["b"])
	assert.Equal(t, &Record{Dossier: "d-c", Process: "p-c", Pages: 1, Started: true, Final: final, Deleted: true, Attempt: first}, st.Records["c"])
	assert.True(t, st.Records["d"].Committed)
	// Taken up again by the second attempt after the first committed their
	// rows: no longer committed, with what the second attempt did.
	assert.Equal(t, &Record{Dossier: "d-e2", Attempt: second}, st.Records["e"])
	assert.Equal(t, &Record{Dossier: "d-f", Process: "p-f", Started: true, Final: final, Deleted: true, Attempt: second}, st.Records["f"])
	assert.Equal(t, &Record{Dossier: "d-g", Process: "p-g", Final: final, Attempt: second}, st.Records["g"])
	assert.Nil(t, st.Records["d"].Final, "a committed record's outcome is not kept in memory")
	assert.NotContains(t, st.Records, "z")

	// An unknown version is refused, not guessed at, and says what to do.
	require.NoError(t, store.Put(ctx, prefix+"20260104T000000Z-z.jsonl", []byte(`{"v":9,"t":"run"}`+"\n")))
	_, err = Read(ctx, store, prefix)
	assert.ErrorContains(t, err, "format version 9")
	assert.ErrorContains(t, err, "start a new run id")
	assert.Equal(t, fault.Abort, fault.Of(err))
}

// Every line names its fields explicitly: the format is the documented one
// (docs/journal.md), not Go's field names.
func TestEntriesHaveTheDocumentedShape(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	line, err := json.Marshal(Entry{V: Version, Type: TypeFinal, Time: at, Record: "r", Dossier: "d", Process: "p",
		Final: &Final{Outcome: "timeout", ErrorCode: "deadline", ErrorMessage: "no final status",
			Images: Images{Front: "f0"}, Effort: Effort{Calls: 4, Retries: 1, Polls: 9},
			SubmittedAt: at, CompletedAt: at.Add(time.Minute)}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":2,"t":"final","ts":"2026-12-01T10:00:00Z","rec":"r","dossier":"d","process":"p",
		"final":{"outcome":"timeout","error_code":"deadline","error_message":"no final status",
		"images":{"front":"f0"},"effort":{"calls":4,"retries":1,"polls":9},
		"submitted_at":"2026-12-01T10:00:00Z","completed_at":"2026-12-01T10:01:00Z"}}`, string(line))
	line, err = json.Marshal(Entry{V: Version, Type: TypeCommitted, Time: at, Records: []string{"a", "b"}, Part: "file:///p"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":2,"t":"committed","ts":"2026-12-01T10:00:00Z","recs":["a","b"],"part":"file:///p"}`, string(line))
}

// Attempts restarted within one second (a crash loop, a quick retry) are
// folded in the order they ran. With ids that sorted by start second and a
// random suffix, the later attempt's final entry and deletion could be
// folded before the earlier attempt's dossier entry, which reset the record:
// the resumed run polled a process whose dossier was gone and wrote an
// http_404 error row instead of the paid result (found by the e2e crash
// loop).
func TestJournalFoldsAttemptsOfOneSecondInRunOrder(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 8, 38, 13, 0, time.UTC)
	final := &Final{Outcome: "accepted"}
	for i := 0; i < 20; i++ { // random suffixes: each order of them
		store, err := blob.NewLocal(t.TempDir())
		require.NoError(t, err)
		attempts := [][]Entry{
			{
				{Type: TypeDossier, Record: "r", Dossier: "d"},
				{Type: TypeProcess, Record: "r", Dossier: "d", Process: "p", Pages: 1},
				{Type: TypeStarted, Record: "r", Dossier: "d", Process: "p"},
			},
			{
				{Type: TypeFinal, Record: "r", Dossier: "d", Process: "p", Final: final},
				{Type: TypeDeleted, Record: "r", Dossier: "d"},
			},
		}
		for n, es := range attempts {
			id := report.AttemptID(n+1, now) // the same second
			j, err := Begin(ctx, store, prefix, id, now, now, 0)
			require.NoError(t, err)
			for _, e := range es {
				require.NoError(t, j.Append(ctx, e))
			}
			require.NoError(t, j.Close())
		}
		st, err := Read(ctx, store, prefix)
		require.NoError(t, err)
		require.Equal(t, 2, st.Attempts)
		r := st.Records["r"]
		require.NotNil(t, r.Final, "the second attempt's final entry survives the fold")
		assert.True(t, r.Deleted)
	}
	// Older ids (no attempt number) sort before numbered ones.
	assert.Less(t, report.NewAttemptID(now.Add(time.Hour)), report.AttemptID(1, now))
	assert.Less(t, report.AttemptID(9, now), report.AttemptID(10, now))
}

// objectOnly hides the local folder's blob.Appender: the journal writes
// checkpoint objects, as on S3.
type objectOnly struct{ blob.Store }

func TestJournalOnObjectStoreCheckpoints(t *testing.T) {
	ctx := context.Background()
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	store := objectOnly{local}
	j, err := Open(ctx, store, prefix, "20260101T000000Z-a", time.Hour)
	require.NoError(t, err)
	require.NoError(t, j.Append(ctx, Entry{Type: TypeDossier, Record: "a", Dossier: "d"}))
	require.NoError(t, j.Sync(ctx)) // a checkpoint now, not at the interval
	require.NoError(t, j.Append(ctx, Entry{Type: TypeStarted, Record: "a", Dossier: "d", Process: "p"}))
	require.NoError(t, j.Close())
	var keys []string
	require.NoError(t, store.List(ctx, prefix, func(o blob.Object) error {
		keys = append(keys, o.Key)
		return nil
	}))
	assert.Len(t, keys, 2, "one checkpoint object per interval with entries")
	st, err := Read(ctx, store, prefix)
	require.NoError(t, err)
	assert.True(t, st.Records["a"].Started)
}

// Await waits for the periodic checkpoint instead of asking for one: however
// many records wait, the entries go out in one write (here the one Close
// makes, the interval being an hour).
func TestAwaitWaitsForTheNextCheckpoint(t *testing.T) {
	ctx := context.Background()
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	store := objectOnly{local}
	j, err := Open(ctx, store, prefix, "20260101T000000Z-a", time.Hour)
	require.NoError(t, err)
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		id := fmt.Sprintf("r%02d", i)
		require.NoError(t, j.Append(ctx, Entry{Type: TypeFinal, Record: id, Dossier: "d" + id, Final: &Final{Outcome: "accepted"}}))
		mark := j.Mark()
		go func() { errs <- j.Await(ctx, mark) }()
	}
	// A waiter whose context ends stops waiting.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, j.Await(cctx, j.Mark()), context.Canceled)

	require.NoError(t, j.Close())
	for range n {
		require.NoError(t, <-errs)
	}
	var keys []string
	require.NoError(t, store.List(ctx, prefix, func(o blob.Object) error {
		keys = append(keys, o.Key)
		return nil
	}))
	assert.Len(t, keys, 1, "the waiters asked for no checkpoint of their own")
	// What is on storage is returned at once; a closed journal fails later waits.
	require.NoError(t, j.Await(ctx, n))
	assert.Equal(t, fault.Abort, fault.Of(j.Await(ctx, n+1)))
}

// On a store that appends, a durable entry is on storage when Append
// returns; a deletion or a commit need not be.
func TestDurableEntriesAreSyncedBeforeAppendReturns(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	j, err := Open(ctx, store, prefix, "a1", 0)
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.Append(ctx, Entry{Type: TypeStarted, Record: "r", Dossier: "d", Process: "p"}))
	st, err := Read(ctx, store, prefix)
	require.NoError(t, err)
	assert.True(t, st.Records["r"].Started, "read back while the journal is still open")
	assert.True(t, Entry{Type: TypeFinal}.Durable())
	assert.False(t, Entry{Type: TypeDeleted}.Durable())
	assert.False(t, Entry{Type: TypeCommitted}.Durable())

	// A broken journal fails every later append: fault.Abort.
	require.NoError(t, j.Close())
	err = j.Append(ctx, Entry{Type: TypeDossier, Record: "x"})
	require.Error(t, err)
	assert.Equal(t, fault.Abort, fault.Of(err))
}

func TestAttemptOfAJournalObject(t *testing.T) {
	assert.Equal(t, "a000002-20260101T000000Z-ab", attemptOf(prefix, prefix+"a000002-20260101T000000Z-ab.jsonl"), "appended")
	assert.Equal(t, "a000002-20260101T000000Z-ab", attemptOf(prefix, prefix+"a000002-20260101T000000Z-ab/00000003.jsonl"), "checkpoint")
}

// Committed records of which nothing else is known are kept as hashes, and
// still answer Lookup and Record.
func TestStateKeepsCommittedRecordsCompactly(t *testing.T) {
	st := NewState()
	st.Record("journaled").Process = "p"
	for i := range 3*mergeTail + 7 {
		st.MarkCommitted(fmt.Sprintf("r%07d", i))
		if i%1000 == 0 {
			assert.True(t, st.Lookup(fmt.Sprintf("r%07d", i)).Committed, "looked up between adds")
		}
	}
	st.MarkCommitted("journaled")
	st.MarkCommitted("r0000005") // twice
	assert.Len(t, st.Records, 1, "only the journaled record has an entry")
	for _, id := range []string{"r0000000", "r0000005", fmt.Sprintf("r%07d", 3*mergeTail+6)} {
		require.NotNil(t, st.Lookup(id), id)
		assert.True(t, st.Lookup(id).Committed, id)
		assert.True(t, st.Record(id).Committed, "an entry made for it says committed: %s", id)
	}
	assert.Nil(t, st.Lookup("r9999999"))
	assert.False(t, st.Record("new").Committed)
	assert.True(t, st.Lookup("journaled").Committed)
	assert.Equal(t, "p", st.Lookup("journaled").Process)
}

// A log kept whole (the dossier log) keeps nothing per record in memory:
// the compaction state a journal keeps for each record's entries until its
// row is committed would grow with every record of a run, as it never is.
// Every entry stays on storage.
func TestLogKeptWholeTracksNothingPerRecord(t *testing.T) {
	ctx := context.Background()
	for _, whole := range []bool{false, true} {
		store, err := blob.NewLocal(t.TempDir())
		require.NoError(t, err)
		open := Open
		if whole {
			open = OpenLog
		}
		j, err := open(ctx, store, prefix, "a1", 0)
		require.NoError(t, err)
		const n = 500
		ids := make([]string, n)
		for i := range n {
			ids[i] = fmt.Sprintf("r%03d", i)
			require.NoError(t, j.Append(ctx, Entry{Type: TypeDossier, Record: ids[i], Dossier: "d" + ids[i]}))
			require.NoError(t, j.Append(ctx, Entry{Type: TypeDeleted, Record: ids[i], Dossier: "d" + ids[i], Status: 204}))
		}
		require.NoError(t, j.Sync(ctx))
		j.mu.Lock()
		named := 0
		for _, recs := range j.holds {
			named += len(recs)
		}
		j.mu.Unlock()
		if whole {
			assert.Zero(t, named, "a log kept whole names no record in memory")
		} else {
			assert.Equal(t, 2*n, named, "a journal knows which object names each record, to compact it")
		}
		j.Committed("part-1", ids)
		require.NoError(t, j.Close())
		if !whole {
			continue
		}
		lines := 0
		require.NoError(t, store.List(ctx, prefix, func(o blob.Object) error {
			b, err := store.Get(ctx, o.Key, 1<<20)
			require.NoError(t, err)
			lines += strings.Count(string(b), "\n")
			return nil
		}))
		assert.Equal(t, 2*n+1, lines, "every entry, and the committed one, stays in the log")
	}
}

// Forget lets go of every record once the attempt no longer looks them up.
func TestStateForgetsItsRecords(t *testing.T) {
	st := NewState()
	st.MarkCommitted("a")         // the compact set
	st.Record("b").Started = true // a record entry
	require.NotNil(t, st.Lookup("a"))
	require.NotNil(t, st.Lookup("b"))
	st.Forget()
	assert.Nil(t, st.Lookup("a"))
	assert.Nil(t, st.Lookup("b"))
	assert.Empty(t, st.done.sorted)
	var none *State
	none.Forget() // a run without an earlier attempt may hold none
}

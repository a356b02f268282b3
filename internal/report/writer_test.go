package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

func rows(prefix string, n int) []Row {
	out := make([]Row, n)
	for i := range out {
		out[i] = Row{RecordID: fmt.Sprintf("%s-%04d", prefix, i), Outcome: OutcomeAccepted}
	}
	return out
}

func recordIDs(rs []Row) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RecordID
	}
	return out
}

func TestWriterRollsByRowCount(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	var c commits
	w := newTestWriter(t, st, WriterConfig{RunID: "r", Shard: 2, ShardCount: 3, Attempt: "att",
		MaxRowsPerPart: 1000, RowGroupRows: 500, OnCommit: c.OnCommit})
	in := rows("x", 2500)
	// Written in uneven slices, so parts fill across calls.
	for _, n := range []int{1, 998, 2, 1499} {
		require.NoError(t, w.Write(ctx, in[:n]...))
		in = in[n:]
	}
	require.Empty(t, in)
	assert.Equal(t, 500, w.Pending())
	require.NoError(t, w.Close(ctx))

	want := []string{
		"runs/r/shard-2-of-3/part-00000-att.parquet",
		"runs/r/shard-2-of-3/part-00001-att.parquet",
		"runs/r/shard-2-of-3/part-00002-att.parquet",
	}
	assert.Equal(t, want, keys(t, st))
	require.Len(t, c.parts, 3)
	for i, k := range want {
		assert.Equal(t, st.KeyURI(k), c.parts[i])
	}
	assert.Len(t, c.ids[0], 1000)
	assert.Len(t, c.ids[1], 1000)
	assert.Len(t, c.ids[2], 500)
	assert.Equal(t, recordIDs(rows("x", 2500)), c.all(), "OnCommit reports exactly the rows, in order")
	assert.Equal(t, recordIDs(rows("x", 2500)), recordIDs(readAll(t, st)))

	tot := w.Totals()
	assert.Equal(t, int64(2500), tot.Records)
	assert.Equal(t, 3, tot.Parts)
}

func TestWriterRollsByAge(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	clk := newClock()
	var c commits
	w := newTestWriter(t, st, WriterConfig{MaxPartAge: time.Minute, Now: clk.Now, OnCommit: c.OnCommit})

	_, ok := w.Deadline()
	assert.False(t, ok, "no part, no deadline")
	require.NoError(t, w.Write(ctx, rows("a", 2)...))
	d, ok := w.Deadline()
	require.True(t, ok)
	assert.Equal(t, t0.Add(time.Minute), d)

	clk.Advance(59 * time.Second)
	require.NoError(t, w.Write(ctx, rows("b", 1)...))
	require.NoError(t, w.FlushIfDue(ctx))
	assert.Empty(t, c.parts, "younger than MaxPartAge: not committed")
	assert.Empty(t, keys(t, st))

	clk.Advance(time.Second)
	require.NoError(t, w.Write(ctx, rows("c", 1)...))
	require.Len(t, c.parts, 1, "a part as old as MaxPartAge commits at the next write")
	assert.Equal(t, []string{"a-0000", "a-0001", "b-0000", "c-0000"}, c.ids[0])
	assert.Equal(t, 0, w.Pending())

	// The next part starts with the next row; FlushIfDue commits it when due.
	clk.Advance(10 * time.Second)
	require.NoError(t, w.Write(ctx, rows("d", 1)...))
	clk.Advance(59 * time.Second)
	require.NoError(t, w.FlushIfDue(ctx))
	assert.Len(t, c.parts, 1)
	clk.Advance(time.Second)
	require.NoError(t, w.FlushIfDue(ctx))
	require.Len(t, c.parts, 2)
	assert.Equal(t, []string{"d-0000"}, c.ids[1])

	// Nothing pending: Flush, FlushIfDue and Close write no empty part.
	clk.Advance(time.Hour)
	require.NoError(t, w.FlushIfDue(ctx))
	require.NoError(t, w.Flush(ctx))
	require.NoError(t, w.Close(ctx))
	assert.Len(t, c.parts, 2)
	assert.Len(t, keys(t, st), 2)
}

func TestWriterPartAppearsOnlyWhenCommitted(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	var c commits
	// Small row groups, so bytes reach the temporary file before commit.
	w := newTestWriter(t, st, WriterConfig{RowGroupRows: 100, OnCommit: c.OnCommit})
	require.NoError(t, w.Write(ctx, rows("x", 1100)...))

	assert.Empty(t, keys(t, st), "no object is visible before commit")
	tmp := tempFiles(t, st)
	require.Len(t, tmp, 1, "the part is being streamed to a temporary file")
	fi, err := os.Stat(tmp[0])
	require.NoError(t, err)
	assert.Positive(t, fi.Size())
	err = Read(ctx, st, func(Row) error { return nil })
	assert.ErrorIs(t, err, ErrNoOutput)

	require.NoError(t, w.Flush(ctx))
	assert.Len(t, keys(t, st), 1)
	assert.Empty(t, tempFiles(t, st))
	assert.Len(t, readAll(t, st), 1100)
}

func TestWriterAbortLeavesNothing(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	var c commits
	w := newTestWriter(t, st, WriterConfig{MaxRowsPerPart: 100, RowGroupRows: 50, OnCommit: c.OnCommit})
	require.NoError(t, w.Write(ctx, rows("x", 150)...)) // one part committed, 50 rows pending
	require.NoError(t, w.Abort())

	assert.Len(t, keys(t, st), 1, "the committed part stays")
	assert.Empty(t, tempFiles(t, st), "the pending part left no temporary file")
	assert.Equal(t, recordIDs(rows("x", 100)), c.all())
	assert.Len(t, readAll(t, st), 100)

	assert.ErrorContains(t, w.Write(ctx, rows("y", 1)...), "closed")
	assert.NoError(t, w.Abort())
}

func TestWriterEmptyRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := newTestWriter(t, st, WriterConfig{})
	require.NoError(t, w.Write(ctx))
	require.NoError(t, w.Close(ctx))
	assert.Empty(t, keys(t, st))
	require.NoError(t, w.Close(ctx), "closing twice is fine")
	_, err := CommittedRecords(ctx, st, "run-1", 0, 1)
	require.NoError(t, err, "an output nobody wrote to has no committed records")
}

func TestWriterResumedAttemptNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	for _, att := range []string{"first", "second"} {
		w := newTestWriter(t, st, WriterConfig{RunID: "nightly", Attempt: att})
		require.NoError(t, w.Write(ctx, rows(att, 3)...))
		require.NoError(t, w.Close(ctx))
	}
	assert.Equal(t, []string{
		"runs/nightly/shard-0-of-1/part-00000-first.parquet",
		"runs/nightly/shard-0-of-1/part-00000-second.parquet",
	}, keys(t, st))
	ids, err := CommittedRecords(ctx, st, "nightly", 0, 1)
	require.NoError(t, err)
	assert.Len(t, ids, 6)
}

func TestWriterGeneratesAttemptIDs(t *testing.T) {
	st := localStore(t)
	a, err := NewWriter(st, WriterConfig{RunID: "r", ShardCount: 1, Now: newClock().Now})
	require.NoError(t, err)
	b, err := NewWriter(st, WriterConfig{RunID: "r", ShardCount: 1, Now: newClock().Now})
	require.NoError(t, err)
	assert.Regexp(t, `^20261127T010203Z-[0-9a-f]{8}$`, a.Attempt())
	assert.NotEqual(t, a.Attempt(), b.Attempt(), "same second, different attempts")
}

func TestWriterRejectsBadConfigAndRows(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	for _, cfg := range []WriterConfig{
		{RunID: "", ShardCount: 1},
		{RunID: "a/b", ShardCount: 1},
		{RunID: "ok", ShardCount: 0},
		{RunID: "ok", Shard: 3, ShardCount: 3},
		{RunID: "ok", Shard: -1, ShardCount: 3},
		{RunID: "ok", ShardCount: 1, Attempt: "x y"},
	} {
		_, err := NewWriter(st, cfg)
		assert.Error(t, err, "%+v", cfg)
	}

	w := newTestWriter(t, st, WriterConfig{RunID: "r", Shard: 1, ShardCount: 2})
	good := Row{RecordID: "ok", Outcome: OutcomeAccepted}
	for name, bad := range map[string]Row{
		"no record id":    {Outcome: OutcomeAccepted},
		"unknown outcome": {RecordID: "x", Outcome: "ACCEPTED"},
		"no outcome":      {RecordID: "x"},
		"other run":       {RecordID: "x", Outcome: OutcomeAccepted, RunID: "s"},
		"other shard":     {RecordID: "x", Outcome: OutcomeAccepted, Shard: 0, ShardCount: 2},
		"other count":     {RecordID: "x", Outcome: OutcomeAccepted, Shard: 1, ShardCount: 3},
		"shard no count":  {RecordID: "x", Outcome: OutcomeAccepted, Shard: 1},
	} {
		err := w.Write(ctx, good, bad)
		assert.Error(t, err, name)
	}
	assert.Equal(t, 0, w.Pending(), "an invalid row fails the call before any row is written")
	// The writer is still usable after a rejected row.
	require.NoError(t, w.Write(ctx, good, Row{RecordID: "y", Outcome: OutcomeError, RunID: "r", Shard: 1, ShardCount: 2}))
	require.NoError(t, w.Close(ctx))
	got := readAll(t, st)
	require.Len(t, got, 2)
	assert.Equal(t, "r", got[0].RunID)
	assert.Equal(t, int32(1), got[0].Shard)
	assert.Equal(t, int32(2), got[0].ShardCount)
}

func TestRunIDValidation(t *testing.T) {
	for _, ok := range []string{"a", "nightly-2026-11-27", "R_1.2", "x" + string(make([]byte, 0))} {
		assert.NoError(t, ValidateRunID(ok), ok)
	}
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for _, bad := range []string{"", ".hidden", "..", "a/b", "a b", "a:b", "ø", "a\\b", string(long), "run*"} {
		err := ValidateRunID(bad)
		assert.Error(t, err, bad)
		if err != nil {
			assert.Contains(t, err.Error(), "run id")
		}
	}
	assert.NoError(t, ValidateRunID(string(long[:128])))
}

func TestWriterUnwritableOutputIsAnErrorNamingTheURI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o644))
	st, err := blob.NewLocal(blocker) // the root is a regular file
	require.NoError(t, err)
	var c commits
	w := newTestWriter(t, st, WriterConfig{OnCommit: c.OnCommit})
	err = w.Write(ctx, rows("x", 1)...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), st.KeyURI("runs/run-1/shard-0-of-1/part-00000-a1.parquet"))
	// The error is sticky.
	assert.Equal(t, err, w.Write(ctx, rows("y", 1)...))
	assert.Equal(t, err, w.Close(ctx))
	assert.Empty(t, c.parts)
}

func TestWriterCancelledContext(t *testing.T) {
	st := localStore(t)
	w := newTestWriter(t, st, WriterConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, w.Write(ctx, rows("x", 1)...), context.Canceled)
	require.NoError(t, w.Write(context.Background(), rows("x", 1)...), "a call refused for its ctx does not break the writer")
	require.NoError(t, w.Close(context.Background()))
	assert.Len(t, readAll(t, st), 1)
}

// tempFiles lists the temporary files of unfinished writes below a local
// store (blob listings hide them).
func tempFiles(t *testing.T, st *blob.Local) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(st.Root(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Base(p)[0] == '.' {
			out = append(out, p)
		}
		return nil
	})
	if !os.IsNotExist(err) {
		require.NoError(t, err)
	}
	return out
}

// stuckStore is a store whose streamed writes block until the ctx given to
// Create ends, like an S3 upload that makes no progress.
type stuckStore struct {
	blob.Store
	aborted chan struct{}
}

func (s *stuckStore) Create(ctx context.Context, key string) (blob.Writer, error) {
	return &stuckWriter{ctx: ctx, aborted: s.aborted}, nil
}

type stuckWriter struct {
	ctx     context.Context
	aborted chan struct{}
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	<-w.ctx.Done()
	return 0, fmt.Errorf("upload: %w", w.ctx.Err())
}

func (w *stuckWriter) Close() error {
	<-w.ctx.Done()
	return fmt.Errorf("upload: %w", w.ctx.Err())
}

func (w *stuckWriter) Abort() error { close(w.aborted); return nil }

func TestWriterCtxEndingDuringCommitCancelsThePart(t *testing.T) {
	st := &stuckStore{Store: localStore(t), aborted: make(chan struct{})}
	var c commits
	w := newTestWriter(t, st, WriterConfig{OnCommit: c.OnCommit})
	// The row is only buffered: the ctx of this Write ending later must not
	// cancel the part.
	wctx, wcancel := context.WithCancel(context.Background())
	require.NoError(t, w.Write(wctx, rows("x", 1)...))
	wcancel()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := w.Close(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "part-00000-a1.parquet")
	select {
	case <-st.aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the part was not aborted")
	}
	assert.Empty(t, c.parts)
	assert.Equal(t, err, w.Flush(context.Background()), "the writer is broken")
}

func TestWriterCallWithEndedCtxChangesNothing(t *testing.T) {
	st := localStore(t)
	w := newTestWriter(t, st, WriterConfig{})
	require.NoError(t, w.Write(context.Background(), rows("x", 3)...))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, w.Flush(done), context.Canceled)
	assert.ErrorIs(t, w.FlushIfDue(done), context.Canceled)
	assert.ErrorIs(t, w.Close(done), context.Canceled)
	assert.Equal(t, 3, w.Pending())
	require.NoError(t, w.Close(context.Background()), "retried with a live ctx")
	assert.Len(t, readAll(t, st), 3)
}

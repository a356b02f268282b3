package report

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/fakes3"
)

// s3Store is a store on an in-process gofakes3 server.
func s3Store(t *testing.T) blob.Store {
	t.Helper()
	return fakes3.Start(t, "bucket").Store(t, "bucket", "reports/out")
}

// TestS3MultipartPart writes a part larger than transfermanager's 16 MiB
// multipart threshold through S3, streamed in small row groups, and reads it
// back. Under the race detector (tenfold slower) the part is kept below the
// threshold: the streaming and concurrency are the same, the multipart
// upload is covered by the normal run.
func TestS3MultipartPart(t *testing.T) {
	n, minSize := 1500, int64(16<<20)
	if raceEnabled {
		n, minSize = 150, 1<<20
	}
	ctx := context.Background()
	st := s3Store(t)
	var c commits
	w := newTestWriter(t, st, WriterConfig{RunID: "big", RowGroupRows: 100, OnCommit: c.OnCommit})

	// Random base64 does not compress much: 1,500 rows × 16 KiB ≈ 18 MiB
	// of zstd Parquet.
	rng := rand.NewChaCha8([32]byte{1})
	raw := make([]byte, 12<<10)
	in := make([]Row, n)
	for i := range in {
		_, _ = rng.Read(raw)
		in[i] = minimalRow(i)
		in[i].ErrorMessage = new(base64.StdEncoding.EncodeToString(raw))
	}
	require.NoError(t, w.Write(ctx, in...))
	assert.Empty(t, keys(t, st), "nothing visible before commit")
	require.NoError(t, w.Close(ctx))

	key := "runs/big/shard-0-of-1/part-00000-a1.parquet"
	o, err := st.Stat(ctx, key)
	require.NoError(t, err)
	assert.Greater(t, o.Size, minSize, "the part is above the multipart threshold (except under -race)")
	assert.Equal(t, []string{st.KeyURI(key)}, c.parts)
	assert.Equal(t, "s3://bucket/reports/out/"+key, c.parts[0])

	got := readAll(t, st)
	require.Len(t, got, len(in))
	for i := range in {
		require.Equal(t, in[i].RecordID, got[i].RecordID)
		require.Equal(t, *in[i].ErrorMessage, *got[i].ErrorMessage)
	}
	ids, err := CommittedRecords(ctx, st, "big", 0, 1)
	require.NoError(t, err)
	assert.Len(t, ids, len(in))
}

func TestS3RoundTripAbortAndSummary(t *testing.T) {
	ctx := context.Background()
	st := s3Store(t)

	w := newTestWriter(t, st, WriterConfig{RunID: "s3run", Shard: 1, ShardCount: 2, MaxRowsPerPart: 2})
	in := []Row{fullRow(1), fullRow(2), fullRow(3)}
	for i := range in {
		in[i].RunID, in[i].Shard, in[i].ShardCount = "", 0, 0
	}
	require.NoError(t, w.Write(ctx, in...)) // one part of 2 committed, 1 row pending
	require.NoError(t, w.Abort())
	assert.Equal(t, []string{"runs/s3run/shard-1-of-2/part-00000-a1.parquet"}, keys(t, st),
		"the aborted part left no object")

	got := readAll(t, st)
	require.Len(t, got, 2)
	for i := range got {
		want := in[i]
		want.RunID, want.Shard, want.ShardCount = "s3run", 1, 2
		assert.Equal(t, want, got[i])
	}

	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "s3run", Shard: 1, ShardCount: 2,
		Totals: w.Totals(), RunStats: RunStats{ExitCode: new(5), Interrupted: true}}))
	sums, err := Summarize(ctx, st)
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, int64(2), sums[0].Records)
	assert.Equal(t, 1, sums[0].Shard)
	assert.Equal(t, 5, *sums[0].ExitCode)
	assert.True(t, sums[0].Interrupted)
}

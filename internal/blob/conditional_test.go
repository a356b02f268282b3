package blob_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/s3server"
)

// Of many writers creating one key at once, exactly one succeeds; the others
// get ErrExists: on a local folder (hard link) and on S3 (If-None-Match:
// *, enforced by versitygw like AWS).
func TestPutIfAbsentHasOneWinner(t *testing.T) {
	ctx := context.Background()
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	srv := s3server.Start(t)
	st, err := blob.NewOpener(srv.Options()).Open(ctx, "s3://"+srv.NewBucket(t)+"/prefix")
	require.NoError(t, err)
	for name, store := range map[string]blob.Store{"local": local, "s3": st} {
		t.Run(name, func(t *testing.T) {
			ex, ok := store.(blob.Exclusive)
			require.True(t, ok)
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := ex.PutIfAbsent(ctx, "runs/r/_definition.json", []byte{byte('a' + i)})
					if err == nil {
						wins.Add(1)
						return
					}
					assert.ErrorIs(t, err, blob.ErrExists)
				}()
			}
			wg.Wait()
			assert.EqualValues(t, 1, wins.Load())
			b, err := store.Get(ctx, "runs/r/_definition.json", 0)
			require.NoError(t, err)
			assert.Len(t, b, 1)
		})
	}
}

// S3 objects carry versions (ETags) that writes and deletes can be
// conditional on: the lease of a run shard needs exactly that.
func TestVersionedWritesOnS3(t *testing.T) {
	ctx := context.Background()
	srv := s3server.Start(t)
	st, err := blob.NewOpener(srv.Options()).Open(ctx, "s3://"+srv.NewBucket(t))
	require.NoError(t, err)
	v, ok := st.(blob.Versioned)
	require.True(t, ok)
	v1, err := v.PutIfAbsentVersion(ctx, "lease", []byte("one"))
	require.NoError(t, err)
	_, err = v.PutIfAbsentVersion(ctx, "lease", []byte("two"))
	require.ErrorIs(t, err, blob.ErrExists)
	b, ver, err := v.GetVersion(ctx, "lease", 0)
	require.NoError(t, err)
	assert.Equal(t, "one", string(b))
	assert.Equal(t, v1, ver)
	v2, err := v.PutIfVersion(ctx, "lease", []byte("three"), v1)
	require.NoError(t, err)
	_, err = v.PutIfVersion(ctx, "lease", []byte("four"), v1)
	require.ErrorIs(t, err, blob.ErrChanged, "a stale version")
	require.ErrorIs(t, v.DeleteIfVersion(ctx, "lease", v1), blob.ErrChanged)
	require.NoError(t, v.DeleteIfVersion(ctx, "lease", v2))
	_, err = v.PutIfVersion(ctx, "lease", []byte("five"), v2)
	require.ErrorIs(t, err, blob.ErrChanged, "gone")
}

// A local lock is held by one holder at a time and tells who holds it.
func TestLocalLock(t *testing.T) {
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	release, err := local.Lock("runs/r/shard-0-of-1/_lock", []byte(`{"pid":1}`))
	require.NoError(t, err)
	_, err = local.Lock("runs/r/shard-0-of-1/_lock", []byte(`{"pid":2}`))
	require.ErrorIs(t, err, blob.ErrLocked)
	info, err := local.LockInfo("runs/r/shard-0-of-1/_lock")
	require.NoError(t, err)
	assert.JSONEq(t, `{"pid":1}`, string(info))
	require.NoError(t, release())
	release, err = local.Lock("runs/r/shard-0-of-1/_lock", []byte(`{"pid":3}`))
	require.NoError(t, err)
	require.NoError(t, release())
}

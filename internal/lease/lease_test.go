package lease

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/fault"
	"reverify/internal/testutil/s3server"
)

const key = "runs/r/shard-0-of-1/_lease"

func holder(pid int) Holder {
	return Holder{Host: "test-host", PID: pid, Since: time.Now().UTC()}
}

// On a local output the lease is an OS lock: a second holder is refused at
// once, told who holds it; released, it can be taken again.
func TestLocalLease(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	a, err := Acquire(ctx, store, key, holder(1), time.Second, nil)
	require.NoError(t, err)
	refused, err := Acquire(ctx, store, key, holder(2), time.Second, nil)
	require.ErrorIs(t, err, ErrHeld)
	assert.Nil(t, refused)
	assert.Equal(t, fault.Abort, fault.Of(err))
	assert.Contains(t, err.Error(), "host test-host, pid 1")
	require.NoError(t, a.Release(ctx))
	b, err := Acquire(ctx, store, key, holder(3), time.Second, nil)
	require.NoError(t, err)
	require.NoError(t, b.Release(ctx))
}

func s3Store(t *testing.T) blob.Store {
	srv := s3server.Start(t)
	st, err := blob.NewOpener(srv.Options()).Open(context.Background(), "s3://"+srv.NewBucket(t)+"/out")
	require.NoError(t, err)
	return st
}

// On S3 a live holder keeps its lease by renewing it: a second attempt
// waits, sees the renewal and is refused, naming the holder and its expiry.
func TestS3LeaseOfALiveHolderIsRefused(t *testing.T) {
	ctx := context.Background()
	store := s3Store(t)
	const ttl = 900 * time.Millisecond
	a, err := Acquire(ctx, store, key, holder(1), ttl, nil)
	require.NoError(t, err)
	defer a.Release(ctx)
	began := time.Now()
	_, err = Acquire(ctx, store, key, holder(2), ttl, nil)
	require.ErrorIs(t, err, ErrHeld)
	assert.Contains(t, err.Error(), "pid 1")
	assert.Contains(t, err.Error(), "unless renewed")
	assert.Less(t, time.Since(began), 2*ttl, "refused at the first renewal seen")
	select {
	case <-a.Lost():
		t.Fatal("the live holder lost its lease")
	default:
	}
}

// A holder killed with its lease (no release, no renewals) is taken over
// once the lease runs out: the next attempt waits at most about one period.
func TestS3LeaseOfAKilledHolderRunsOut(t *testing.T) {
	ctx := context.Background()
	store := s3Store(t)
	const ttl = time.Second
	a, err := Acquire(ctx, store, key, holder(1), ttl, nil)
	require.NoError(t, err)
	close(a.stop) // killed: it renews no more and releases nothing
	<-a.done
	began := time.Now()
	b, err := Acquire(ctx, store, key, holder(2), ttl, nil)
	require.NoError(t, err)
	took := time.Since(began)
	assert.Less(t, took, 2*ttl+time.Second, "at most about one period")
	t.Logf("taken over after %s", took.Round(time.Millisecond))
	require.NoError(t, b.Release(ctx))
	_, err = store.Stat(ctx, key)
	assert.ErrorIs(t, err, blob.ErrNotFound, "released")
}

// A holder whose lease was taken (it was paused past the expiry) learns it
// at its next renewal: Lost closes, Err says so.
func TestS3LeaseTakenIsLost(t *testing.T) {
	ctx := context.Background()
	store := s3Store(t)
	a, err := Acquire(ctx, store, key, holder(1), 600*time.Millisecond, nil)
	require.NoError(t, err)
	require.NoError(t, store.Put(ctx, key, []byte(`{"host":"elsewhere","pid":9}`))) // another took it
	select {
	case <-a.Lost():
	case <-time.After(3 * time.Second):
		t.Fatal("the lease was taken and the holder did not notice")
	}
	require.ErrorIs(t, a.Err(), ErrLost)
	require.NoError(t, a.Release(ctx))
	b, err := store.Get(ctx, key, 0)
	require.NoError(t, err)
	assert.Contains(t, string(b), "elsewhere", "releasing a lost lease leaves the new holder's")
}

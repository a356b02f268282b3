package blob

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stores returns a fresh local store and a fresh gofakes3-backed S3 store.
func stores(t *testing.T) map[string]Store {
	t.Helper()
	ctx := context.Background()
	local, err := NewLocal(t.TempDir())
	require.NoError(t, err)

	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	require.NoError(t, backend.CreateBucket("bucket"))
	client, err := NewS3Client(ctx, S3Options{Region: "us-east-1", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "key", SecretAccessKey: "secret"})
	require.NoError(t, err)
	return map[string]Store{"local": local, "s3": NewS3(client, "bucket", "root/prefix", false)}
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, st.Put(ctx, "a/1.txt", []byte("one")))
			require.NoError(t, st.Put(ctx, "a/2.txt", []byte("two!")))
			require.NoError(t, st.Put(ctx, "b/c/3.txt", []byte("three")))
			require.NoError(t, st.Put(ctx, "ab/4.txt", []byte("4")))

			var keys []string
			require.NoError(t, st.List(ctx, "", func(o Object) error { keys = append(keys, o.Key); return nil }))
			assert.ElementsMatch(t, []string{"a/1.txt", "a/2.txt", "ab/4.txt", "b/c/3.txt"}, keys)

			keys = nil
			require.NoError(t, st.List(ctx, "a/", func(o Object) error { keys = append(keys, o.Key); return nil }))
			assert.Equal(t, []string{"a/1.txt", "a/2.txt"}, keys)

			keys = nil
			require.NoError(t, st.List(ctx, "a", func(o Object) error { keys = append(keys, o.Key); return nil }))
			assert.ElementsMatch(t, []string{"a/1.txt", "a/2.txt", "ab/4.txt"}, keys, "a prefix may end inside a name")

			o, err := st.Stat(ctx, "a/2.txt")
			require.NoError(t, err)
			assert.Equal(t, int64(4), o.Size)

			b, err := st.Get(ctx, "a/2.txt", 0)
			require.NoError(t, err)
			assert.Equal(t, "two!", string(b))
			b, err = st.Get(ctx, "a/2.txt", 4)
			require.NoError(t, err)
			assert.Equal(t, "two!", string(b))
			_, err = st.Get(ctx, "a/2.txt", 3)
			assert.ErrorIs(t, err, ErrTooLarge)

			_, err = st.Get(ctx, "missing.txt", 0)
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = st.Stat(ctx, "missing.txt")
			assert.ErrorIs(t, err, ErrNotFound)

			_, err = st.Get(ctx, "../escape", 0)
			assert.Error(t, err)

			// A streamed write appears only at Close; Abort leaves nothing.
			w, err := st.Create(ctx, "stream/big.bin")
			require.NoError(t, err)
			payload := bytes.Repeat([]byte("0123456789"), 100_000)
			_, err = w.Write(payload)
			require.NoError(t, err)
			_, err = st.Stat(ctx, "stream/big.bin")
			assert.ErrorIs(t, err, ErrNotFound, "object visible before Close")
			require.NoError(t, w.Close())
			got, err := st.Get(ctx, "stream/big.bin", 0)
			require.NoError(t, err)
			assert.Equal(t, payload, got)

			w, err = st.Create(ctx, "stream/aborted.bin")
			require.NoError(t, err)
			_, err = w.Write([]byte("partial"))
			require.NoError(t, err)
			require.NoError(t, w.Abort())
			_, err = st.Stat(ctx, "stream/aborted.bin")
			assert.ErrorIs(t, err, ErrNotFound)
			keys = nil
			require.NoError(t, st.List(ctx, "stream/", func(o Object) error { keys = append(keys, o.Key); return nil }))
			assert.Equal(t, []string{"stream/big.bin"}, keys, "no temporary leftovers are listed")

			require.NoError(t, st.Delete(ctx, "a/1.txt"))
			require.NoError(t, st.Delete(ctx, "a/1.txt"), "deleting a missing object is fine")
			_, err = st.Stat(ctx, "a/1.txt")
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}
}

func TestListManyPages(t *testing.T) {
	ctx := context.Background()
	st := stores(t)["s3"]
	for i := 0; i < 2500; i++ {
		require.NoError(t, st.Put(ctx, fmt.Sprintf("rec-%05d/front.jpg", i), []byte("x")))
	}
	n := 0
	prev := ""
	require.NoError(t, st.List(ctx, "", func(o Object) error {
		assert.Greater(t, o.Key, prev)
		prev = o.Key
		n++
		return nil
	}))
	assert.Equal(t, 2500, n)
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Location{
		"s3://bucket":             {Scheme: "s3", Bucket: "bucket"},
		"s3://bucket/":            {Scheme: "s3", Bucket: "bucket"},
		"s3://bucket/a/b/":        {Scheme: "s3", Bucket: "bucket", Path: "a/b"},
		"file:///tmp/x":           {Scheme: "file", Path: "/tmp/x"},
		"file://localhost/tmp/x/": {Scheme: "file", Path: "/tmp/x"},
		"/var/data/../archive":    {Scheme: "file", Path: "/var/archive"},
	} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "s3://", "s3:///x", "http://host/x", "file://host/x", "s3://b/a//c"} {
		_, err := Parse(bad)
		assert.Error(t, err, bad)
	}
	loc, _ := Parse("s3://b/p")
	assert.Equal(t, "s3://b/p/k/x.jpg", loc.Join("k/x.jpg").String())
}

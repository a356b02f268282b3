package blob

import (
	"reverify/internal/fault"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	nosync, err := NewLocal(t.TempDir())
	require.NoError(t, err)
	return map[string]Store{"local": local, "local-nosync": nosync.NoSync(), "s3": NewS3(client, "bucket", "root/prefix", false)}
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
			_, err = st.Open(ctx, "missing.txt")
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = st.Open(ctx, "a")
			assert.ErrorIs(t, err, ErrNotFound, "a folder (or a prefix) is not an object")

			rc, err := st.Open(ctx, "b/c/3.txt")
			require.NoError(t, err)
			first := make([]byte, 2)
			_, err = io.ReadFull(rc, first)
			require.NoError(t, err)
			rest, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, "three", string(first)+string(rest))
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

// Both stores list keys in the same order (S3's byte-wise key order), so an
// archive is read identically from a folder and from a bucket.
func TestListOrderSameForBothStores(t *testing.T) {
	ctx := context.Background()
	keys := []string{"a/x", "a-b/x", "a.txt", "a/b/c", "a/b-c", "a0", "B/x", "a/b/c2", "ab", "a/ä", "a/z/z/z"}
	got := map[string][]string{}
	for name, st := range stores(t) {
		for _, k := range keys {
			require.NoError(t, st.Put(ctx, k, []byte(k)))
		}
		require.NoError(t, st.List(ctx, "", func(o Object) error {
			got[name] = append(got[name], o.Key)
			return nil
		}))
	}
	want := []string{"B/x", "a-b/x", "a.txt", "a/b-c", "a/b/c", "a/b/c2", "a/x", "a/z/z/z", "a/ä", "a0", "ab"}
	assert.Equal(t, want, got["s3"])
	assert.Equal(t, want, got["local"])
}

func TestLocalListMissingRoot(t *testing.T) {
	st, err := NewLocal(filepath.Join(t.TempDir(), "nope"))
	require.NoError(t, err)
	err = st.List(context.Background(), "", func(Object) error { return nil })
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "nope")
}

func TestLocalListLinksAndTempFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "r", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r", "front.jpg"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r", tempPrefix+"back.jpg.123"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, "r", "front.jpg"), filepath.Join(dir, "r", "link.jpg")))
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "r", "dangling.jpg")))
	require.NoError(t, os.Symlink(dir, filepath.Join(dir, "r", "sub", "loop")))
	st, err := NewLocal(dir)
	require.NoError(t, err)
	var objs []Object
	require.NoError(t, st.List(context.Background(), "", func(o Object) error { objs = append(objs, o); return nil }))
	assert.Equal(t, []Object{{Key: "r/front.jpg", Size: 1}, {Key: "r/link.jpg", Size: 1}}, objs,
		"links to files are listed; dangling links, links to folders and temporary files are not")
}

// Local URIs round-trip through Parse, whatever characters the file names hold.
func TestFileURIRoundTrip(t *testing.T) {
	for _, p := range []string{"/data/rec 1/front.jpg", "/data/100%/x#1?.png", "/data/%41"} {
		loc := Location{Scheme: "file", Path: p}
		back, err := Parse(loc.String())
		require.NoError(t, err, p)
		assert.Equal(t, loc, back, p)
	}
}

// The store's errors say what to do about them (package fault): temporary
// failures are Retry, access denied Abort, the rest is the caller's call.
func TestErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	statusSrv := func(code int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	get := func(endpoint string) error {
		c, err := NewS3Client(ctx, S3Options{Region: "us-east-1", Endpoint: endpoint, PathStyle: true,
			AccessKeyID: "k", SecretAccessKey: "s", MaxAttempts: 2})
		require.NoError(t, err)
		_, err = NewS3(c, "bucket", "", false).Get(ctx, "key", 0)
		require.Error(t, err)
		return err
	}

	err := get(statusSrv(http.StatusServiceUnavailable, "<Error><Code>SlowDown</Code><Message>slow down</Message></Error>"))
	assert.Equal(t, fault.Retry, fault.Of(err), "503 after retries: %v", err)
	err = get(statusSrv(http.StatusInternalServerError, "<Error><Code>InternalError</Code></Error>"))
	assert.Equal(t, fault.Retry, fault.Of(err), "500: %v", err)

	err = get(statusSrv(http.StatusForbidden, "<Error><Code>AccessDenied</Code></Error>"))
	assert.ErrorIs(t, err, ErrAccessDenied)
	assert.Equal(t, fault.Abort, fault.Of(err), "403: %v", err)
	err = get(statusSrv(http.StatusNotFound, "<Error><Code>NoSuchKey</Code></Error>"))
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, fault.Record, fault.Of(err))
	err = get(statusSrv(http.StatusBadRequest, "<Error><Code>InvalidArgument</Code></Error>"))
	assert.Equal(t, fault.Record, fault.Of(err), "400: %v", err)

	// Nothing listens on a closed listener's port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	err = get("http://" + addr)
	assert.Equal(t, fault.Retry, fault.Of(err), "connection refused: %v", err)

	assert.False(t, transient(nil))
	assert.False(t, transient(context.Canceled))
	assert.False(t, transient(fmt.Errorf("x: %w", ErrTooLarge)))
	assert.False(t, transient(errors.New("some client error")))
	assert.True(t, transient(fmt.Errorf("read: %w", io.ErrUnexpectedEOF)))
	assert.Equal(t, fault.Retry, fault.Of(classify(fmt.Errorf("read: %w", io.ErrUnexpectedEOF))))
}

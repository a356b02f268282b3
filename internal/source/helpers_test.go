package source

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/fakes3"
	"reverify/internal/testutil/s3server"
	"reverify/internal/testutil/testimage"
)

// backend is an archive root in one kind of store, with a fast way to put
// objects below it.
type backend struct {
	name   string
	root   string // archive root URI (or plain path)
	opener *blob.Opener
	put    func(t testing.TB, key string, data []byte) // key relative to root
	uri    func(key string) string                     // full URI of a key below root
	// realAuth: the server checks signatures (versitygw); gofakes3 accepts anything.
	realAuth bool
	s3opts   blob.S3Options
	bucket   string
}

// sub returns a backend rooted at root/name, so suite cases do not see each
// other's objects.
func (b *backend) sub(name string) *backend {
	out := *b
	out.root = strings.TrimSuffix(b.root, "/") + "/" + name
	out.put = func(t testing.TB, key string, data []byte) { b.put(t, name+"/"+key, data) }
	out.uri = func(key string) string { return b.uri(name + "/" + key) }
	return &out
}

func localBackend(t testing.TB) *backend {
	dir := filepath.Join(t.TempDir(), "archive")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return &backend{
		name:   "local",
		root:   dir, // a plain path
		opener: blob.NewOpener(blob.S3Options{}),
		put: func(t testing.TB, key string, data []byte) {
			p := filepath.Join(dir, filepath.FromSlash(key))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, data, 0o644))
		},
		uri: func(key string) string { return "file://" + dir + "/" + key },
	}
}

// gofakes3Backend is an in-process S3 server; objects are put straight into
// its memory backend.
func gofakes3Backend(t testing.TB) *backend {
	srv := fakes3.Start(t, "archive")
	opts := srv.Options()
	opts.MaxAttempts = 1
	const prefix = "exports/2026"
	return &backend{
		name:   "gofakes3",
		root:   "s3://archive/" + prefix,
		opener: blob.NewOpener(opts),
		put: func(t testing.TB, key string, data []byte) {
			srv.Put(t, "archive", prefix+"/"+key, data)
		},
		uri:    func(key string) string { return "s3://archive/" + prefix + "/" + key },
		s3opts: opts,
		bucket: "archive",
	}
}

// versitygwBackend is the real S3 server; objects are written as files into
// its bucket folder when known, else through the API.
func versitygwBackend(t testing.TB) *backend {
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	opts := srv.Options()
	const prefix = "archive"
	b := &backend{
		name:     "versitygw",
		root:     "s3://" + bucket + "/" + prefix,
		opener:   blob.NewOpener(opts),
		uri:      func(key string) string { return "s3://" + bucket + "/" + prefix + "/" + key },
		realAuth: true,
		s3opts:   opts,
		bucket:   bucket,
	}
	if dir := srv.BucketDir(bucket); dir != "" {
		b.put = func(t testing.TB, key string, data []byte) {
			p := filepath.Join(dir, prefix, filepath.FromSlash(key))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, data, 0o644))
		}
		return b
	}
	client, err := blob.NewS3Client(context.Background(), opts)
	require.NoError(t, err)
	b.put = func(t testing.TB, key string, data []byte) {
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
			Key: aws.String(prefix + "/" + key), Body: bytes.NewReader(data)})
		require.NoError(t, err)
	}
	return b
}

// Test images.

func testPicture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	return img
}

func jpegBytes(t testing.TB, w, h int) []byte { return testimage.JPEGAt(t, testPicture(w, h), 70) }

func pngBytes(t testing.TB, w, h int) []byte { return testimage.PNG(t, testPicture(w, h)) }

func gifBytes(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	require.NoError(t, gif.Encode(&buf, testPicture(w, h), nil))
	return buf.Bytes()
}

// pdfBytes is a tiny PDF document (to be renamed .jpg).
var pdfBytes = []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

// codes lists the problem codes in order.
func codes(ps []Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

// collect lists every record of an archive.
func collect(t testing.TB, a *Archive) []Record {
	t.Helper()
	var recs []Record
	require.NoError(t, a.Records(context.Background(), func(r Record) error {
		recs = append(recs, r)
		return nil
	}))
	return recs
}

// requireCountMatches checks that Count, reading keys or lines only, counts
// what Records hands over, and with a filter the records it keeps.
func requireCountMatches(t testing.TB, a *Archive, recs []Record) {
	t.Helper()
	n, err := a.Count(context.Background(), nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, len(recs), n, "Count agrees with Records")
	keep := func(id string) bool { return len(id)%2 == 0 }
	want := 0
	for _, r := range recs {
		if keep(r.ID) {
			want++
		}
	}
	n, err = a.Count(context.Background(), keep, nil)
	require.NoError(t, err)
	require.EqualValues(t, want, n, "Count keeps what keep keeps")
}

func byID(recs []Record) map[string]Record {
	m := map[string]Record{}
	for _, r := range recs {
		if _, dup := m[r.ID]; !dup {
			m[r.ID] = r
		}
	}
	return m
}

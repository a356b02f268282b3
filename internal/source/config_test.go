package source

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/pictureid"
)

func TestConfigDefaults(t *testing.T) {
	cfg, root, manifest, err := Config{Archive: "s3://bucket/archive/"}.validate()
	require.NoError(t, err)
	assert.Equal(t, blob.Location{Scheme: "s3", Bucket: "bucket", Path: "archive"}, root)
	assert.Nil(t, manifest)
	assert.Equal(t, pictureid.ProcessDocumentSelfie, cfg.DefaultProcessType)
	assert.Equal(t, DefaultRecordDepth, cfg.RecordDepth)
	assert.Equal(t, Limits{MaxImageBytes: 4 << 20, MaxPixels: 25_000_000, MinWidth: 300, MinHeight: 200}, cfg.Limits)

	// Without an archive, the manifest's folder is the root.
	cfg, root, manifest, err = Config{Manifest: "s3://bucket/lists/m.CSV", DefaultProcessType: "DOCUMENT"}.validate()
	require.NoError(t, err)
	assert.Equal(t, "s3://bucket/lists", root.String())
	assert.Equal(t, "s3://bucket/lists", cfg.Archive)
	assert.Equal(t, "s3://bucket/lists/m.CSV", manifest.String())
	assert.Equal(t, FormatCSV, cfg.ManifestFormat)
	assert.Equal(t, pictureid.ProcessDocument, cfg.DefaultProcessType)

	cfg, root, _, err = Config{Manifest: "/data/list.ndjson"}.validate()
	require.NoError(t, err)
	assert.Equal(t, "file:///data", root.String())
	assert.Equal(t, FormatJSONL, cfg.ManifestFormat)

	cfg, _, _, err = Config{Manifest: "s3://b/export.txt", ManifestFormat: "JSONL"}.validate()
	require.NoError(t, err)
	assert.Equal(t, FormatJSONL, cfg.ManifestFormat)
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "archive: missing"},
		{Config{Archive: "http://x/y"}, "archive: "},
		{Config{Archive: "s3://"}, "archive: "},
		{Config{Archive: "/a", Manifest: "s3:///x.csv"}, "manifest: "},
		{Config{Archive: "/a", Manifest: "/a/m.txt"}, "manifest_format: cannot tell the format"},
		{Config{Archive: "/a", Manifest: "/a/m.csv", ManifestFormat: "xml"}, "manifest_format"},
		{Config{Archive: "/a", ManifestFormat: "csv"}, "manifest_format: set without a manifest"},
		{Config{Archive: "/a", DefaultProcessType: "video"}, `default_process_type: "video"`},
		{Config{Archive: "/a", DefaultDocumentID: -1}, "default_document_id"},
		{Config{Archive: "/a", RecordDepth: -2}, "record_depth"},
		{Config{Archive: "/a", RecordDepth: 99}, "record_depth"},
		{Config{Archive: "/a", Limits: Limits{MaxImageBytes: -1}}, "limits.max_image_bytes"},
		{Config{Archive: "/a", Limits: Limits{MinWidth: -1}}, "limits.min_width"},
	} {
		_, _, _, err := c.cfg.validate()
		require.Error(t, err, "%+v", c.cfg)
		assert.Contains(t, err.Error(), c.want)
	}

	_, err := Open(context.Background(), blob.NewOpener(blob.S3Options{}), Config{Archive: "/a", DefaultProcessType: "x"})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = Open(context.Background(), nil, Config{Archive: "/a"})
	assert.ErrorIs(t, err, ErrConfig)
}

// Without a default document ID, records that give none are skipped.
func TestMissingDocumentID(t *testing.T) {
	ctx := context.Background()
	b := localBackend(t)
	b.put(t, "a/front.jpg", jpegBytes(t, 400, 300))
	b.put(t, "a/selfie.jpg", jpegBytes(t, 400, 300))
	b.put(t, "b/front.jpg", jpegBytes(t, 400, 300))
	b.put(t, "b/selfie.jpg", jpegBytes(t, 400, 300))
	b.put(t, "b/meta.json", []byte(`{"documentId": 12}`))
	a, err := Open(ctx, b.opener, Config{Archive: b.root})
	require.NoError(t, err)
	recs := collect(t, a)
	require.Len(t, recs, 2)
	assert.Equal(t, []string{CodeMissingDocumentID}, codes(recs[0].Problems))
	assert.Contains(t, recs[0].Problems[0].Detail, "no meta.json")
	assert.Empty(t, recs[1].Problems)
	assert.Equal(t, 12, recs[1].DocumentID)
}

func TestImageURI(t *testing.T) {
	a := &Archive{root: blob.Location{Scheme: "s3", Bucket: "b", Path: "root"}}
	for in, want := range map[string]string{
		"rec/front.jpg":             "s3://b/root/rec/front.jpg",
		"./rec/front.jpg":           "s3://b/root/rec/front.jpg",
		"s3://other/x/y.png":        "s3://other/x/y.png",
		"file:///data/x.jpg":        "file:///data/x.jpg",
		"rec/with space/#1%20.jpg":  "s3://b/root/rec/with space/#1%20.jpg",
		"s3://other/deep/er/k.jpeg": "s3://other/deep/er/k.jpeg",
	} {
		got, err := a.imageURI(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"/abs/x.jpg":        "absolute path",
		"../x.jpg":          `invalid path segment ".."`,
		"a//b.jpg":          `invalid path segment ""`,
		"s3://bucket":       "names a bucket, not an object",
		"https://h/x.jpg":   "unsupported scheme",
		"s3:///x.jpg":       "missing bucket",
		"file://host/x.jp":  "empty host",
		"s3://b/a/../x.jpg": `invalid path segment ".."`,
	} {
		_, err := a.imageURI(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
}

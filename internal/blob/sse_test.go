package blob_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/s3server"
)

// Every object an S3 store writes asks for the configured server-side
// encryption, checked on the requests as they reach the server (versitygw
// behind a recording proxy, see s3server.Recording): whole objects (reports,
// summaries, journal checkpoints: Put), streamed ones (Parquet parts, result
// zips: Create, one PutObject when small, a multipart upload when large) and
// conditional ones (run definition, lease: PutIfAbsent, PutIfVersion). A
// multipart upload asks at CreateMultipartUpload; its UploadPart and
// CompleteMultipartUpload requests take no SSE-S3/KMS headers (S3 refuses
// them there) and the parts are encrypted as their upload says. With no sse
// configured, no write carries the headers.
func TestS3WritesAskForServerSideEncryption(t *testing.T) {
	ctx := context.Background()
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	proxied, rec := srv.Recording(t)
	const keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, tc := range []struct{ name, sse, kmsKeyID string }{
		{"none", blob.SSENone, ""},
		{"AES256", blob.SSEAES256, ""},
		{"aws:kms with the default key", blob.SSEKMS, ""},
		{"aws:kms with a key", blob.SSEKMS, keyARN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			opts := proxied.Options()
			opts.SSE, opts.KMSKeyID = tc.sse, tc.kmsKeyID
			st, err := blob.NewOpener(opts).Open(ctx, "s3://"+bucket+"/"+t.Name())
			require.NoError(t, err)
			v, ok := st.(blob.Versioned)
			require.True(t, ok)

			// What a run writes, by every write method of the store.
			require.NoError(t, st.Put(ctx, "runs/r/shard-0-of-1/_summary.json", []byte("{}")))
			small := []byte("PAR1 rows PAR1")
			write(t, st, "runs/r/shard-0-of-1/part-0001.parquet", small)
			large := bytes.Repeat([]byte("0123456789abcdef"), 17<<20/16) // over the 16 MiB multipart threshold
			write(t, st, "runs/r/shard-0-of-1/results/rec-1.zip", large)
			require.NoError(t, v.PutIfAbsent(ctx, "runs/r/_definition.json", []byte(`{"v":1}`)))
			require.ErrorIs(t, v.PutIfAbsent(ctx, "runs/r/_definition.json", []byte(`{"v":2}`)), blob.ErrExists)
			ver, err := v.PutIfAbsentVersion(ctx, "runs/r/shard-0-of-1/_lease", []byte("holder 1"))
			require.NoError(t, err)
			_, err = v.PutIfVersion(ctx, "runs/r/shard-0-of-1/_lease", []byte("holder 1 renewed"), ver)
			require.NoError(t, err)

			// The server took them all.
			for key, want := range map[string][]byte{
				"runs/r/shard-0-of-1/part-0001.parquet": small,
				"runs/r/shard-0-of-1/results/rec-1.zip": large,
				"runs/r/_definition.json":               []byte(`{"v":1}`),
				"runs/r/shard-0-of-1/_lease":            []byte("holder 1 renewed"),
				"runs/r/shard-0-of-1/_summary.json":     []byte("{}"),
			} {
				got, err := st.Get(ctx, key, 0)
				require.NoError(t, err, key)
				assert.True(t, bytes.Equal(want, got), "%s read back", key)
			}

			kinds := map[string]int{}
			uploads := map[string]bool{} // ids of the uploads that asked for tc.sse
			for _, w := range rec.Writes() {
				kinds[w.Kind]++
				assert.Contains(t, []int{http.StatusOK, http.StatusPreconditionFailed}, w.Status,
					"%s %s: the server refused it", w.Kind, w.Key)
				switch w.Kind {
				case s3server.KindPut, s3server.KindCopy, s3server.KindCreateUpload:
					assert.Equal(t, tc.sse, w.SSE, "%s %s: %s", w.Kind, w.Key, s3server.HeaderSSE)
					assert.Equal(t, tc.kmsKeyID, w.KMSKeyID, "%s %s: %s", w.Kind, w.Key, s3server.HeaderKMSKeyID)
					if w.Kind == s3server.KindCreateUpload && w.SSE == tc.sse && w.KMSKeyID == tc.kmsKeyID {
						uploads[w.UploadID] = true
					}
				case s3server.KindUploadPart, s3server.KindCompleteUpload:
					assert.True(t, uploads[w.UploadID], "%s %s: of an upload that did not ask for the encryption", w.Kind, w.Key)
					assert.Empty(t, w.SSE, "%s %s", w.Kind, w.Key)
					assert.Empty(t, w.KMSKeyID, "%s %s", w.Kind, w.Key)
				}
			}
			assert.Equal(t, map[string]int{
				s3server.KindPut:            6, // summary, small part, definition twice, lease twice
				s3server.KindCreateUpload:   1,
				s3server.KindUploadPart:     3, // 8 + 8 + 1 MiB
				s3server.KindCompleteUpload: 1,
			}, kinds, "every write was recorded")
		})
	}
}

func write(t *testing.T, st blob.Store, key string, data []byte) {
	t.Helper()
	w, err := st.Create(context.Background(), key)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
}

// Settings S3 would refuse at the first write are refused when the store is
// opened, naming them.
func TestS3EncryptionSettingsAreChecked(t *testing.T) {
	ctx := context.Background()
	for _, bad := range []blob.S3Options{
		{SSE: "aes256"},
		{SSE: "aws:kms:dsse"},
		{SSE: blob.SSEAES256, KMSKeyID: "alias/reports"},
		{KMSKeyID: "alias/reports"},
	} {
		assert.Error(t, bad.CheckEncryption(), "%+v", bad)
		_, err := blob.NewOpener(bad).Open(ctx, "s3://bucket/prefix")
		if assert.Error(t, err, "%+v", bad) {
			assert.Contains(t, err.Error(), "s3://bucket/prefix")
		}
	}
	for _, good := range []blob.S3Options{{}, {SSE: blob.SSEAES256}, {SSE: blob.SSEKMS}, {SSE: blob.SSEKMS, KMSKeyID: "alias/reports"}} {
		assert.NoError(t, good.CheckEncryption(), "%+v", good)
		_, err := blob.NewOpener(good).Open(ctx, "s3://bucket/prefix")
		assert.NoError(t, err, "%+v", good)
	}
}

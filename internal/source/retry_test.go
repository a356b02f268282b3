package source

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/fakes3"
)

// flakyS3 is gofakes3 behind a switch that makes every request fail with
// the given status.
type flakyS3 struct {
	srv    *fakes3.Server
	opener *blob.Opener
	status atomic.Int32 // 0: pass through
	code   atomic.Value // S3 error code of the failure
	only   atomic.Value // when not "": fail only requests whose path ends so
}

func newFlakyS3(t *testing.T) *flakyS3 {
	f := &flakyS3{}
	f.srv = fakes3.StartWith(t, func(fake http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			only, _ := f.only.Load().(string)
			if st := int(f.status.Load()); st != 0 && strings.HasSuffix(r.URL.Path, only) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(st)
				if r.Method != http.MethodHead {
					_, _ = w.Write([]byte("<Error><Code>" + f.code.Load().(string) + "</Code><Message>injected</Message></Error>"))
				}
				return
			}
			fake.ServeHTTP(w, r)
		})
	}, "bucket")
	opts := f.srv.Options()
	opts.MaxAttempts = 1
	f.opener = blob.NewOpener(opts)
	return f
}

func (f *flakyS3) fail(status int, code string) {
	f.code.Store(code)
	f.status.Store(int32(status))
}

func (f *flakyS3) put(t *testing.T, key string, data []byte) {
	f.srv.Put(t, "bucket", key, data)
}

// Temporary failures (5xx, throttling) are ErrRetry; access denied and other
// client errors are ErrAbort; the context's error comes back as is.
func TestErrorClasses(t *testing.T) {
	ctx := context.Background()
	f := newFlakyS3(t)
	f.put(t, "arch/r1/front.jpg", jpegBytes(t, 400, 300))
	f.put(t, "arch/r1/selfie.jpg", jpegBytes(t, 400, 300))
	f.put(t, "arch/m.csv", []byte("record_id,front,selfie\nr1,r1/front.jpg,r1/selfie.jpg\n"))

	f.fail(http.StatusServiceUnavailable, "SlowDown")
	_, err := Open(ctx, f.opener, Config{Archive: "s3://bucket/arch"})
	require.ErrorIs(t, err, ErrRetry)
	assert.False(t, errors.Is(err, ErrAbort))
	assert.Contains(t, err.Error(), "s3://bucket/arch")

	f.fail(0, "")
	a, err := Open(ctx, f.opener, Config{Archive: "s3://bucket/arch", DefaultDocumentID: 1})
	require.NoError(t, err)
	recs := collect(t, a)
	require.Len(t, recs, 1)

	for _, c := range []struct {
		status int
		code   string
		class  error
	}{
		{http.StatusInternalServerError, "InternalError", ErrRetry},
		{http.StatusServiceUnavailable, "SlowDown", ErrRetry},
		{http.StatusForbidden, "AccessDenied", ErrAbort},
		{http.StatusBadRequest, "InvalidArgument", ErrAbort},
	} {
		f.fail(c.status, c.code)
		imgs, problems, err := a.Load(ctx, recs[0])
		require.ErrorIs(t, err, c.class, c.code)
		assert.Nil(t, imgs)
		assert.Nil(t, problems)
		assert.Contains(t, err.Error(), `record r1`)

		err = a.Records(ctx, func(Record) error { return nil })
		require.ErrorIs(t, err, c.class, c.code)
	}
	f.fail(http.StatusForbidden, "AccessDenied")
	_, _, err = a.Load(ctx, recs[0])
	require.ErrorIs(t, err, blob.ErrAccessDenied)
	assert.Contains(t, err.Error(), "access denied")

	// Manifest archives classify the same way.
	f.fail(http.StatusServiceUnavailable, "SlowDown")
	_, err = Open(ctx, f.opener, Config{Manifest: "s3://bucket/arch/m.csv"})
	require.ErrorIs(t, err, ErrRetry)
	f.fail(http.StatusForbidden, "AccessDenied")
	_, err = Open(ctx, f.opener, Config{Manifest: "s3://bucket/arch/m.csv"})
	require.ErrorIs(t, err, ErrAbort)
	require.ErrorIs(t, err, blob.ErrAccessDenied)

	f.fail(0, "")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = a.Load(canceled, recs[0])
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, ErrRetry) || errors.Is(err, ErrAbort))
	err = a.Records(canceled, func(Record) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, ErrRetry) || errors.Is(err, ErrAbort), err)
}

// A failure while reading meta.json during the listing stops the listing
// with a classified error; an oversized meta.json is a bad_metadata problem.
func TestMetaReadFailure(t *testing.T) {
	ctx := context.Background()
	f := newFlakyS3(t)
	f.put(t, "arch/r1/front.jpg", []byte("x"))
	f.put(t, "arch/r1/meta.json", []byte(`{"documentId":1}`))
	a, err := Open(ctx, f.opener, Config{Archive: "s3://bucket/arch"})
	require.NoError(t, err)
	recs := collect(t, a)
	require.Len(t, recs, 1)
	assert.Equal(t, 1, recs[0].DocumentID)

	f.only.Store("/meta.json")
	f.fail(http.StatusInternalServerError, "InternalError")
	err = a.Records(ctx, func(Record) error { return nil })
	require.ErrorIs(t, err, ErrRetry)
	assert.Contains(t, err.Error(), "meta.json")
	f.fail(http.StatusForbidden, "AccessDenied")
	err = a.Records(ctx, func(Record) error { return nil })
	require.ErrorIs(t, err, ErrAbort)
	f.fail(0, "")

	f.put(t, "arch/r1/meta.json", bytes.Repeat([]byte(" "), maxMetaBytes+1))
	recs = collect(t, a)
	require.Equal(t, []string{CodeBadMetadata, CodeMissingDocumentID}, codes(recs[0].Problems))
	assert.Contains(t, recs[0].Problems[0].Detail, "larger than 64 KiB")
}

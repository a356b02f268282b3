// Package fakes3 runs an in-process S3 server for tests: gofakes3 on an
// in-memory backend, behind a loopback httptest server that stops when the
// test ends. It checks no signature, so any credentials do. For a real
// S3-compatible server use internal/testutil/s3server.
//
// internal/blob's own tests cannot use it (this package imports blob).
package fakes3

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

// Region is the region Options names.
const Region = "us-east-1"

// Server is a running fake S3 server.
type Server struct {
	URL     string         // endpoint, http://127.0.0.1:port
	Backend *s3mem.Backend // its objects, to read or write around the API
}

// Start starts a server with the given buckets.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	return StartWith(t, nil, buckets...)
}

// StartWith is Start with the server's handler wrapped by wrap (nil: none),
// e.g. to inject failures.
func StartWith(t testing.TB, wrap func(http.Handler) http.Handler, buckets ...string) *Server {
	t.Helper()
	mem := s3mem.New()
	h := gofakes3.New(mem).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, b := range buckets {
		require.NoError(t, mem.CreateBucket(b))
	}
	return &Server{URL: srv.URL, Backend: mem}
}

// Options returns blob options that reach the server: path-style, Region,
// static credentials and the SDK's default retries (set MaxAttempts for
// fewer).
func (s *Server) Options() blob.S3Options {
	return blob.S3Options{Region: Region, Endpoint: s.URL, PathStyle: true,
		AccessKeyID: "key", SecretAccessKey: "secret"}
}

// Store returns a store on bucket below prefix, through an S3 client with
// Options.
func (s *Server) Store(t testing.TB, bucket, prefix string) *blob.S3 {
	t.Helper()
	client, err := blob.NewS3Client(context.Background(), s.Options())
	require.NoError(t, err)
	return blob.NewS3(client, bucket, prefix, false)
}

// Put writes an object straight into the backend, around the API.
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	_, err := s.Backend.PutObject(bucket, key, nil, bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
}

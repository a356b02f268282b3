package s3server

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Headers of S3 server-side encryption (SSE-S3 and SSE-KMS) a recorder
// notes on each request.
const (
	HeaderSSE      = "X-Amz-Server-Side-Encryption"
	HeaderKMSKeyID = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
)

// Kinds of recorded requests that write to an object.
const (
	KindPut            = "PutObject"               // PUT /bucket/key
	KindCopy           = "CopyObject"              // PUT /bucket/key with x-amz-copy-source
	KindCreateUpload   = "CreateMultipartUpload"   // POST /bucket/key?uploads
	KindUploadPart     = "UploadPart"              // PUT /bucket/key?partNumber=N&uploadId=U
	KindCompleteUpload = "CompleteMultipartUpload" // POST /bucket/key?uploadId=U
)

// Write is one request that wrote to an object, as it reached the server.
type Write struct {
	Kind     string // one of the Kind constants
	Key      string // /bucket/key
	UploadID string // of a multipart upload's requests
	SSE      string // x-amz-server-side-encryption, "" when not sent
	KMSKeyID string // x-amz-server-side-encryption-aws-kms-key-id
	Status   int    // the server's answer
}

// Recorder notes every object write that goes through it to a server.
type Recorder struct {
	mu     sync.Mutex
	writes []Write
}

// Writes returns the writes recorded so far, in the order they were
// answered.
func (r *Recorder) Writes() []Write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Write(nil), r.writes...)
}

// Reset forgets the writes recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = nil
}

// Recording returns a server that reaches s through a recording reverse
// proxy on a loopback port (stopped when the test ends), and its recorder.
//
// The proxy forwards every request unchanged: the SSE headers are signed
// (SigV4 signs every x-amz-* header), so it could not strip them without
// breaking the signature. versitygw (posix backend) accepts them: it takes
// no notice of SSE-S3/SSE-KMS headers, neither refusing aws:kms nor
// encrypting, so what a test can check is what was sent.
func (s *Server) Recording(t testing.TB) (*Server, *Recorder) {
	t.Helper()
	target, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatalf("recording proxy: endpoint %q: %v", s.Endpoint, err)
	}
	rec := &Recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The Host header stays the proxy's: it is signed too.
	proxy.ModifyResponse = func(resp *http.Response) error {
		w, ok := writeOf(resp.Request)
		if !ok {
			return nil
		}
		w.Status = resp.StatusCode
		if w.Kind == KindCreateUpload && resp.StatusCode == http.StatusOK {
			// The upload's id is in the answer; its parts name it.
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("recording proxy: read CreateMultipartUpload answer: %w", err)
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			var out struct {
				UploadID string `xml:"UploadId"`
			}
			if err := xml.Unmarshal(body, &out); err != nil {
				return fmt.Errorf("recording proxy: CreateMultipartUpload answer: %w", err)
			}
			w.UploadID = out.UploadID
		}
		rec.mu.Lock()
		rec.writes = append(rec.writes, w)
		rec.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	out := *s
	out.Endpoint = srv.URL
	return &out, rec
}

// writeOf classifies a request to the server (path-style: /bucket/key)
// as an object write, or not (reads, deletes, bucket requests).
func writeOf(r *http.Request) (Write, bool) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket == "" || key == "" {
		return Write{}, false
	}
	q := r.URL.Query()
	q.Del("x-id") // the SDK names the operation there (?x-id=PutObject)
	w := Write{Key: "/" + bucket + "/" + key, UploadID: q.Get("uploadId"),
		SSE: r.Header.Get(HeaderSSE), KMSKeyID: r.Header.Get(HeaderKMSKeyID)}
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		w.Kind = KindUploadPart
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		w.Kind = KindCopy
	case r.Method == http.MethodPut && len(q) == 0:
		w.Kind = KindPut
	case r.Method == http.MethodPost && q.Has("uploads"):
		w.Kind = KindCreateUpload
	case r.Method == http.MethodPost && q.Has("uploadId"):
		w.Kind = KindCompleteUpload
	default:
		return Write{}, false // tagging, ACLs, deletes, reads
	}
	return w, true
}

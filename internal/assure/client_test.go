package assure

import (
	"reverify/internal/fault"
	"reverify/internal/pictureid"

	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These unit tests drive the client's retry, token and error logic with small
// scripted HTTP servers. The contract tests (contract_test.go) run the same
// client against the emulator.

type recorder struct {
	mu       sync.Mutex
	attempts []Attempt
}

func (r *recorder) Observe(_ context.Context, a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

func (r *recorder) count(ep Endpoint) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.attempts {
		if a.Endpoint == ep {
			n++
		}
	}
	return n
}

// scripted serves a token endpoint and hands every /assure request to api.
type scripted struct {
	tokens    atomic.Int32
	expiresIn int
	tokenDown atomic.Bool // the token endpoint answers 503
	api       func(w http.ResponseWriter, r *http.Request, token string)
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" && s.tokenDown.Load() {
		writeErr(w, r, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	if r.URL.Path == "/token" {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "id" || secret != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "signicat-api" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request"}`)
			return
		}
		n := s.tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		exp := s.expiresIn
		if exp == 0 {
			exp = 600
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, exp)
		return
	}
	s.api(w, r, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
}

func newTestClient(t *testing.T, h http.Handler, obs Observer) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/assure", TokenURL: srv.URL + "/token", ClientID: "id",
		ClientSecret: "secret", Observer: obs,
		Retry: RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	require.NoError(t, err)
	return c
}

func writeErr(w http.ResponseWriter, r *http.Request, status int, title string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Instance: r.URL.Path, Method: r.Method, Status: status,
		Type: "base:client-problem", Title: title, Detail: "detail of " + title, TraceID: "0123456789abcdef0123456789abcdef"})
}

func TestTokenIsCachedAndSentAsBearer(t *testing.T) {
	var seen sync.Map
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		seen.Store(tok, true)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"dossierId":"d1","createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z"}`)
	}}
	rec := &recorder{}
	c := newTestClient(t, s, rec)
	for i := 0; i < 5; i++ {
		d, err := c.CreateDossier(context.Background(), "run/rec", nil)
		require.NoError(t, err)
		assert.Equal(t, "d1", d.DossierID)
	}
	assert.EqualValues(t, 1, s.tokens.Load(), "one token for five calls")
	_, ok := seen.Load("tok-1")
	assert.True(t, ok)
	assert.Equal(t, 1, rec.count(EndpointToken))
	assert.Equal(t, 5, rec.count(EndpointCreateDossier))
	assert.Len(t, rec.attempts, 6, "the observer sees every attempt, token included")
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	s := &scripted{expiresIn: 1, api: func(w http.ResponseWriter, r *http.Request, tok string) {
		w.WriteHeader(http.StatusNoContent)
	}}
	c := newTestClient(t, s, nil)
	require.NoError(t, c.DeleteDossier(context.Background(), "d"))
	time.Sleep(1100 * time.Millisecond)
	require.NoError(t, c.DeleteDossier(context.Background(), "d"))
	assert.EqualValues(t, 2, s.tokens.Load())
}

// A failing token endpoint does not stop calls while the cached token still
// works: its renewal is tried once per call (no retries holding the call up)
// and the old token used. Once it has expired the fetch is retried under the
// policy, and after api.token_timeout without a token every call fails with
// fault.Abort, naming the token URL.
func TestTokenEndpointFailures(t *testing.T) {
	s := &scripted{expiresIn: 2, api: func(w http.ResponseWriter, r *http.Request, tok string) {
		w.WriteHeader(http.StatusNoContent)
	}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/assure", TokenURL: srv.URL + "/token", ClientID: "id", ClientSecret: "secret",
		TokenTimeout: 1500 * time.Millisecond,
		Retry:        RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 300 * time.Millisecond}})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, c.Authenticate(ctx))
	assert.Zero(t, c.Waits().TokenFailingSince)

	s.tokenDown.Store(true)
	time.Sleep(1700 * time.Millisecond) // past the renewal time (2 s − 2 s/5), before the expiry
	began := time.Now()
	require.NoError(t, c.DeleteDossier(ctx, "d"), "the old token still works")
	assert.Less(t, time.Since(began), 200*time.Millisecond, "one renewal attempt, not a retried fetch")
	assert.False(t, c.Waits().TokenFailingSince.IsZero(), "the failure shows in Waits")

	time.Sleep(500 * time.Millisecond) // expired now
	err = c.DeleteDossier(ctx, "d")
	require.Error(t, err)
	assert.Equal(t, fault.Retry, fault.Of(err), "not yet api.token_timeout: %v", err)
	time.Sleep(time.Second)
	err = c.DeleteDossier(ctx, "d")
	require.Error(t, err)
	assert.Equal(t, fault.Abort, fault.Of(err), "%v", err)
	assert.Contains(t, err.Error(), "no access token from "+srv.URL+"/token")
	assert.Contains(t, err.Error(), "api.token_timeout")

	s.tokenDown.Store(false)
	require.NoError(t, c.DeleteDossier(ctx, "d"), "a token again: calls go on")
	assert.Zero(t, c.Waits().TokenFailingSince)
}

// Authenticate reports an unreachable token endpoint at once.
func TestAuthenticateFailsFastWhenTheTokenEndpointIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := New(Config{BaseURL: "http://" + dead + "/assure", TokenURL: "http://" + dead + "/token", ClientID: "id", ClientSecret: "secret",
		Retry: RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}})
	require.NoError(t, err)
	began := time.Now()
	err = c.Authenticate(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.Contains(t, err.Error(), "token: giving up after 4 attempts")
}

func TestWrongCredentialsAreFatal(t *testing.T) {
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) { t.Error("API reached") }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, TokenURL: srv.URL + "/token", ClientID: "id", ClientSecret: "wrong"})
	require.NoError(t, err)
	_, err = c.GetDossier(context.Background(), "d")
	require.Error(t, err)
	assert.Equal(t, fault.Abort, fault.Of(err))
	assert.Contains(t, err.Error(), "invalid_client")
	assert.NotContains(t, err.Error(), "wrong", "the secret never appears in errors")
}

func Test401RefreshesOnceThenFatal(t *testing.T) {
	var calls atomic.Int32
	var refuseAll atomic.Bool
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		calls.Add(1)
		if tok == "tok-1" || refuseAll.Load() { // the first token is refused, the second accepted
			writeErr(w, r, http.StatusUnauthorized, "The signature of the JWT could not be validated because the key was not found.")
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"processId":"p1","provider":"signicatpictureid","status":"pending","documentPages":2}`)
	}}
	c := newTestClient(t, s, nil)
	p, err := c.CreateProcess(context.Background(), "d1", CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 136}, nil)
	require.NoError(t, err, "a 401 is never applied: even create is repeated after a refresh")
	assert.Equal(t, 2, p.DocumentPages)
	assert.EqualValues(t, 2, s.tokens.Load())
	assert.EqualValues(t, 2, calls.Load())

	// Every token refused: one refresh, then a fatal error.
	refuseAll.Store(true)
	calls.Store(0)
	_, err = c.GetProcess(context.Background(), "d1", "p1")
	require.Error(t, err)
	assert.Equal(t, fault.Abort, fault.Of(err))
	assert.EqualValues(t, 2, calls.Load())
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.AfterTokenRefresh)
}

func Test403IsFatal(t *testing.T) {
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		writeErr(w, r, http.StatusForbidden, "Forbidden")
	}}
	c := newTestClient(t, s, nil)
	_, err := c.GetDossier(context.Background(), "d")
	assert.Equal(t, fault.Abort, fault.Of(err))
}

func Test429HonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first time.Time
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			writeErr(w, r, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		assert.GreaterOrEqual(t, time.Since(first), 900*time.Millisecond, "Retry-After honoured")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"dossierId":"d9"}`)
	}}
	rec := &recorder{}
	c := newTestClient(t, s, rec)
	d, err := c.CreateDossier(context.Background(), "x", nil)
	require.NoError(t, err, "a 429 was not applied: even create is repeated")
	assert.Equal(t, "d9", d.DossierID)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var saw bool
	for _, a := range rec.attempts {
		if a.StatusCode == 429 {
			saw = true
			assert.Equal(t, time.Second, a.RetryAfter, "the observer learns the Retry-After")
		}
	}
	assert.True(t, saw)
}

// A Retry-After longer than MaxPause pauses every call for
// MaxPause only, and the call goes on retrying within its budget.
func TestLongRetryAfterIsCappedAndThePauseIsShared(t *testing.T) {
	var firstGet, lastGet, otherAt atomic.Int64
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/dossiers/other") {
			otherAt.Store(time.Now().UnixNano())
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"dossierId":"other"}`)
			return
		}
		now := time.Now().UnixNano()
		firstGet.CompareAndSwap(0, now)
		lastGet.Store(now)
		w.Header().Set("Retry-After", "120")
		writeErr(w, r, http.StatusTooManyRequests, "Too Many Requests")
	}}
	var pausedAt atomic.Int64
	obs := observerFunc(func(a Attempt) {
		if a.Paused {
			pausedAt.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	const pause = 100 * time.Millisecond
	c, err := New(Config{BaseURL: srv.URL + "/assure", TokenURL: srv.URL + "/token", ClientID: "id", ClientSecret: "secret",
		Observer: obs, Retry: RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
			MaxPause: pause, MaxElapsed: 700 * time.Millisecond}})
	require.NoError(t, err)
	start := time.Now()
	errc := make(chan error, 1)
	go func() { _, err := c.GetProcess(context.Background(), "d", "p"); errc <- err }()
	// Another call, made once the first 429 paused the client, waits for
	// the pause too: its request arrives after the pause ends.
	require.Eventually(t, func() bool { return pausedAt.Load() != 0 }, 5*time.Second, time.Millisecond)
	_, err = c.GetDossier(context.Background(), "other")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Duration(otherAt.Load()-pausedAt.Load()), pause*9/10, "the pause holds every call")

	err = <-errc
	require.Error(t, err)
	elapsed := time.Since(start)
	assert.Less(t, elapsed, 3*time.Second, "within the budget (700 ms), not the Retry-After (120 s)")
	assert.GreaterOrEqual(t, elapsed, 500*time.Millisecond, "retried until the budget was nearly spent")
	assert.Equal(t, fault.Retry, fault.Of(err))
	assert.Contains(t, err.Error(), "giving up after")
	ra, ok := RetryAfterOf(err)
	assert.True(t, ok)
	assert.Equal(t, 120*time.Second, ra)
	spread := time.Duration(lastGet.Load() - firstGet.Load())
	assert.GreaterOrEqual(t, spread, 400*time.Millisecond, "429s are retried past MaxAttempts, paced by the pause")
}

// observerFunc is an Observer of one function.
type observerFunc func(Attempt)

func (f observerFunc) Observe(_ context.Context, a Attempt) { f(a) }

func Test5xxRetriedForReadsButOutcomeUnknownForCreates(t *testing.T) {
	var calls atomic.Int32
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		if calls.Add(1) <= 2 {
			writeErr(w, r, http.StatusBadGateway, "Bad Gateway")
			return
		}
		fmt.Fprint(w, `{"processId":"p","provider":"signicatpictureid","status":"processing"}`)
	}}
	c := newTestClient(t, s, nil)
	p, err := c.GetProcess(context.Background(), "d", "p")
	require.NoError(t, err)
	assert.Equal(t, StatusProcessing, p.Status)
	assert.EqualValues(t, 3, calls.Load())

	calls.Store(0)
	_, err = c.StartVerification(context.Background(), "d", "p", nil)
	require.Error(t, err)
	assert.True(t, IsOutcomeUnknown(err), "a 5xx on start may have been applied: %v", err)
	assert.EqualValues(t, 1, calls.Load(), "start is never repeated by the client")
	assert.Equal(t, fault.Retry, fault.Of(err))
	assert.Equal(t, 502, StatusCodeOf(err))
}

func TestRetriesAreBounded(t *testing.T) {
	var calls atomic.Int32
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		calls.Add(1)
		writeErr(w, r, http.StatusServiceUnavailable, "Service Unavailable")
	}}
	c := newTestClient(t, s, nil)
	err := c.DeleteDossier(context.Background(), "d")
	require.Error(t, err)
	assert.EqualValues(t, 4, calls.Load(), "default MaxAttempts")
	assert.Contains(t, err.Error(), "giving up after 4 attempts")
	assert.Equal(t, fault.Retry, fault.Of(err))
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	var calls atomic.Int32
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		calls.Add(1)
		if r.Method == http.MethodGet {
			writeErr(w, r, http.StatusNotFound, "Not Found")
			return
		}
		writeErr(w, r, http.StatusBadRequest, "Bad Request")
	}}
	c := newTestClient(t, s, nil)
	_, err := c.GetDossier(context.Background(), "gone")
	assert.Equal(t, fault.Record, fault.Of(err))
	assert.Equal(t, 404, StatusCodeOf(err))
	assert.Contains(t, err.Error(), "detail of Not Found")
	assert.Contains(t, err.Error(), "traceId 0123456789abcdef0123456789abcdef")
	_, err = c.CreateProcess(context.Background(), "d", CreateProcessRequest{DocumentID: 1}, nil)
	assert.Equal(t, fault.Record, fault.Of(err))
	assert.False(t, IsOutcomeUnknown(err))
	assert.EqualValues(t, 2, calls.Load())
}

// hijackAndReset closes the connection with RST after reading the request.
func hijackAndReset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

func TestConnectionResetAndTruncatedBody(t *testing.T) {
	var calls atomic.Int32
	var truncate atomic.Bool
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		if calls.Add(1) == 1 {
			if !truncate.Load() {
				hijackAndReset(w)
				return
			}
			w.Header().Set("Content-Length", "200")
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"dossierId":"d`)
			panic(http.ErrAbortHandler)
		}
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		fmt.Fprint(w, `{"dossierId":"d2","processId":"p","status":"pending"}`)
	}}
	c := newTestClient(t, s, nil)

	_, err := c.GetDossier(context.Background(), "d")
	require.NoError(t, err, "a reset read is retried")
	assert.EqualValues(t, 2, calls.Load())

	calls.Store(0)
	_, err = c.CreateDossier(context.Background(), "x", nil)
	require.Error(t, err)
	assert.True(t, IsOutcomeUnknown(err), "%v", err)
	assert.EqualValues(t, 1, calls.Load())

	truncate.Store(true)
	calls.Store(0)
	_, err = c.CreateDossier(context.Background(), "x", nil)
	require.Error(t, err)
	assert.True(t, IsOutcomeUnknown(err), "a 201 cut short was applied but unread: %v", err)
	assert.EqualValues(t, 1, calls.Load())

	calls.Store(0)
	_, err = c.GetProcess(context.Background(), "d", "p")
	require.NoError(t, err, "a truncated read is retried")
	assert.EqualValues(t, 2, calls.Load())
}

func TestConnectionRefusedIsSafeToRepeat(t *testing.T) {
	// Token from a live server, API on a port where nothing listens.
	s := &scripted{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	l.Close()
	c, err := New(Config{BaseURL: "http://" + dead + "/assure", TokenURL: srv.URL + "/token", ClientID: "id",
		ClientSecret: "secret", Retry: RetryPolicy{BaseDelay: time.Millisecond, MaxAttempts: 3}})
	require.NoError(t, err)
	_, err = c.CreateDossier(context.Background(), "x", nil)
	require.Error(t, err)
	assert.False(t, IsOutcomeUnknown(err), "nothing was sent: %v", err)
	assert.Contains(t, err.Error(), "giving up after 3 attempts")
	assert.Equal(t, fault.Retry, fault.Of(err))
}

func TestContextCancelStopsWaiting(t *testing.T) {
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		w.Header().Set("Retry-After", "20")
		writeErr(w, r, http.StatusTooManyRequests, "Too Many Requests")
	}}
	c := newTestClient(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel) // while the call waits out the pause
	start := time.Now()
	_, err := c.GetDossier(ctx, "d")
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, fault.Abort, fault.Of(err))
}

func TestSetImagesBody(t *testing.T) {
	front := make([]byte, 100_000)
	copy(front, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	for i := 4; i < len(front); i++ {
		front[i] = byte(i * 7)
	}
	selfie := append([]byte("\x89PNG\r\n\x1a\n"), []byte("rest-of-png")...)
	var got map[string]string
	var contentLength int64
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		contentLength = r.ContentLength
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		assert.EqualValues(t, len(b), r.ContentLength, "exact Content-Length")
		require.NoError(t, json.Unmarshal(b, &got))
		w.WriteHeader(http.StatusCreated)
	}}
	c := newTestClient(t, s, nil)
	err := c.SetImages(context.Background(), "d", "p", Images{Front: &Image{Data: front}, Selfie: &Image{Data: selfie, ContentType: "image/png"}})
	require.NoError(t, err)
	assert.Greater(t, contentLength, int64(133_000))
	require.Len(t, got, 2)
	assert.Equal(t, "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(front), got["front"])
	assert.Equal(t, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(selfie), got["selfie"])

	err = c.SetImages(context.Background(), "d", "p", Images{Front: &Image{Data: []byte("%PDF-1.4")}})
	require.Error(t, err, "not an image: refused before sending")
	err = c.SetImages(context.Background(), "d", "p", Images{})
	require.Error(t, err)
}

func TestBase64ReaderMatchesEncoder(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 3071, 3072, 3073, 10_000} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*31 + 7)
		}
		got, err := io.ReadAll(&base64Reader{src: src})
		require.NoError(t, err)
		assert.Equal(t, base64.StdEncoding.EncodeToString(src), string(got), "n=%d", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 3*time.Second, parseRetryAfter("3", now))
	assert.Equal(t, time.Duration(0), parseRetryAfter("0", now))
	assert.Equal(t, time.Duration(0), parseRetryAfter("soon", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for n := 1; n < 10; n++ {
		for i := 0; i < 50; i++ {
			d := p.Backoff(n)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, min(time.Second, 100*time.Millisecond<<(n-1)))
		}
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{ClientID: "a"})
	var ce *ConfigError
	assert.True(t, errors.As(err, &ce))
	_, err = New(Config{ClientID: "a", ClientSecret: "b", BaseURL: "ftp://x"})
	assert.ErrorContains(t, err, "base URL")
	c, err := New(Config{ClientID: "a", ClientSecret: "b"})
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.base)
}

// A throttling storm longer than MaxAttempts is waited out (until MaxElapsed),
// for creates too: a 429 was not applied.
func TestThrottlingIsWaitedOutBeyondMaxAttempts(t *testing.T) {
	var calls atomic.Int32
	s := &scripted{api: func(w http.ResponseWriter, r *http.Request, tok string) {
		if calls.Add(1) <= 10 {
			writeErr(w, r, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"dossierId":"d"}`)
	}}
	c := newTestClient(t, s, nil)
	d, err := c.CreateDossier(context.Background(), "x", nil)
	require.NoError(t, err)
	assert.Equal(t, "d", d.DossierID)
	assert.EqualValues(t, 11, calls.Load())

	// MaxElapsed still bounds it.
	calls.Store(-1000)
	c2, err := New(Config{BaseURL: c.base, TokenURL: strings.Replace(c.base, "/assure", "/token", 1), ClientID: "id", ClientSecret: "secret",
		Retry: RetryPolicy{BaseDelay: 5 * time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 50 * time.Millisecond}})
	require.NoError(t, err)
	_, err = c2.CreateDossier(context.Background(), "x", nil)
	require.Error(t, err)
	assert.Equal(t, 429, StatusCodeOf(err))
	assert.False(t, IsOutcomeUnknown(err))
}

package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/specimen"
	"reverify/internal/testutil/fakeclock"
	"reverify/internal/testutil/testimage"
)

// newFakeClock returns a settable clock for the emulator's real clock,
// at 2026-03-01 12:00 UTC.
func newFakeClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// env is an emulator behind a real loopback server.
type env struct {
	t      testing.TB
	emu    *Emulator
	srv    *httptest.Server
	clock  *fakeclock.Clock // nil with the real clock
	client *http.Client
	token  string
	mu     sync.Mutex
	// tokenAt is the fake time the token was fetched: do refreshes it
	// before it expires when a test advances the clock.
	tokenAt time.Time
}

// newEnv starts an emulator with a fake clock (scale 1 unless mutate says
// otherwise) and fetches a token.
func newEnv(t testing.TB, mutate func(*Config)) *env {
	t.Helper()
	clk := newFakeClock()
	e := startEnv(t, mutate, WithClock(clk.Now))
	e.clock = clk
	e.tokenAt = clk.Now()
	return e
}

// newRealEnv uses the real clock.
func newRealEnv(t testing.TB, mutate func(*Config)) *env {
	t.Helper()
	return startEnv(t, mutate)
}

func startEnv(t testing.TB, mutate func(*Config), opts ...Option) *env {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	emu, err := New(cfg, opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	e := &env{t: t, emu: emu, srv: srv, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	t.Cleanup(tr.CloseIdleConnections)
	e.token = e.fetchToken()
	return e
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

func (r resp) errBody(t testing.TB) assure.ErrorBody {
	t.Helper()
	var b assure.ErrorBody
	r.json(t, &b)
	return b
}

func (e *env) fetchToken() string {
	e.t.Helper()
	r := e.tokenRequest(DefaultClientID, DefaultClientSecret, "grant_type=client_credentials&scope=signicat-api")
	if r.code != http.StatusOK {
		// A test config with other credentials fetches its own token.
		return ""
	}
	var tok assure.TokenResponse
	r.json(e.t, &tok)
	return tok.AccessToken
}

func (e *env) tokenRequest(id, secret, form string) resp {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+tokenPath, strings.NewReader(form))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" || secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{code: res.StatusCode, header: res.Header, body: b}
}

// do calls the API with the env's token. body may be nil, a string or a
// value encoded as JSON.
func (e *env) do(method, path string, body any) resp {
	e.t.Helper()
	return e.doAuth(method, path, body, "Bearer "+e.currentToken())
}

func (e *env) currentToken() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clock != nil && e.clock.Now().Sub(e.tokenAt) > 5*time.Minute {
		e.token, e.tokenAt = e.fetchToken(), e.clock.Now()
	}
	return e.token
}

func (e *env) doAuth(method, path string, body any, auth string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return e.send(req)
}

func (e *env) createDossier() string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/assure/dossiers", map[string]string{"externalReference": "ref-1"})
	require.Equal(e.t, http.StatusCreated, r.code, "%s", r.body)
	var d assure.Dossier
	r.json(e.t, &d)
	return d.DossierID
}

func (e *env) createProcess(dossierID, processType string, documentID int) assure.ProcessResponse {
	e.t.Helper()
	r := e.do(http.MethodPost, "/assure/dossiers/"+dossierID+"/processes",
		assure.CreateProcessRequest{Provider: assure.ProviderPictureID, ProcessType: processType, DocumentID: documentID})
	require.Equal(e.t, http.StatusCreated, r.code, "%s", r.body)
	var p assure.ProcessResponse
	r.json(e.t, &p)
	return p
}

func procPath(dossierID, processID string) string {
	return "/assure/dossiers/" + dossierID + "/processes/" + processID
}

func (e *env) setImages(dossierID, processID string, imgs map[string][]byte) resp {
	e.t.Helper()
	body := map[string]string{}
	for k, v := range imgs {
		body[k] = dataURL(v)
	}
	return e.do(http.MethodPost, procPath(dossierID, processID)+"/images", body)
}

func (e *env) start(dossierID, processID string) resp {
	e.t.Helper()
	return e.do(http.MethodPost, procPath(dossierID, processID), "{}")
}

func (e *env) getProcess(dossierID, processID string) assure.Process {
	e.t.Helper()
	r := e.do(http.MethodGet, procPath(dossierID, processID), nil)
	require.Equal(e.t, http.StatusOK, r.code, "%s", r.body)
	var p assure.Process
	r.json(e.t, &p)
	return p
}

// flow runs create dossier → process → images → start, and returns the ids.
func (e *env) flow(processType string, documentID int, imgs map[string][]byte) (string, string) {
	e.t.Helper()
	d := e.createDossier()
	p := e.createProcess(d, processType, documentID)
	r := e.setImages(d, p.ProcessID, imgs)
	require.Equal(e.t, http.StatusCreated, r.code, "%s", r.body)
	r = e.start(d, p.ProcessID)
	require.Equal(e.t, http.StatusOK, r.code, "%s", r.body)
	return d, p.ProcessID
}

// final runs a flow and advances the fake clock past the longest latency.
func (e *env) final(processType string, documentID int, imgs map[string][]byte) (assure.Process, resp) {
	e.t.Helper()
	d, p := e.flow(processType, documentID, imgs)
	e.clock.Advance(e.emu.cfg.Processing.Max + time.Second)
	r := e.do(http.MethodGet, procPath(d, p), nil)
	require.Equal(e.t, http.StatusOK, r.code, "%s", r.body)
	var v assure.Process
	r.json(e.t, &v)
	require.True(e.t, v.Status.Final(), "status %s", v.Status)
	return v, r
}

func dataURL(img []byte) string {
	mime := "image/jpeg"
	if bytes.HasPrefix(img, []byte("\x89PNG")) {
		mime = "image/png"
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(img)
}

// holder is the specimen data of a valid adult's unexpired passport (137).
func holder() specimen.Data { return testimage.Holder("2031-08-30") }

package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/specimen"
)

// fakeClock is a settable real clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an emulator behind a real loopback server.
type env struct {
	t      testing.TB
	emu    *Emulator
	srv    *httptest.Server
	clock  *fakeClock // nil with the real clock
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

// colorImage is a colourful gradient (never black and white).
func colorImage(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*255/w) + seed, uint8(y*255/h) + 2*seed, 200 - seed, 255})
		}
	}
	return img
}

// greyImage is a grey gradient with a drawn rectangle.
func greyImage(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{uint8((x + y) * 255 / (w + h))})
		}
	}
	draw.Draw(img, image.Rect(w/4, h/4, w/2, h/2), image.NewUniform(color.Gray{30}), image.Point{}, draw.Src)
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}))
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func embed(t testing.TB, img []byte, d specimen.Data) []byte {
	t.Helper()
	out, err := specimen.Embed(img, d)
	require.NoError(t, err)
	return out
}

// holder is the specimen data of a valid adult's unexpired passport (137).
func holder() specimen.Data {
	return specimen.Data{
		Role: specimen.RoleFront, PersonID: "person-1", DocumentID: 137, DocumentType: "passport",
		FirstName: "WILLEKE LISELOTTE", LastName: "DE BRUIJN", DateOfBirth: "1965-03-10", Gender: "F",
		Nationality: "NLD", IssuingCountry: "NLD", DocumentNumber: "SPECI2021",
		DateOfIssue: "2021-08-31", DateOfExpiry: "2031-08-30", PersonalIdentificationNumber: "999999990",
	}
}

func selfieOf(personID string, lookalike bool) specimen.Data {
	return specimen.Data{Role: specimen.RoleSelfie, PersonID: personID, Lookalike: lookalike}
}

// frontJPEG is a colourful front image carrying d.
func frontJPEG(t testing.TB, d specimen.Data) []byte {
	return embed(t, encodeJPEG(t, colorImage(160, 100, 0)), d)
}

func selfieJPEG(t testing.TB, d specimen.Data) []byte {
	return embed(t, encodeJPEG(t, colorImage(90, 120, 40)), d)
}

// flatten maps a JSON document to its field paths and value types; array
// items share the path `name[]`.
func flatten(t testing.TB, doc []byte) map[string]string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			out[prefix] = "object"
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, c)
			}
		case []any:
			out[prefix] = "array"
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		case string:
			out[prefix] = "string"
		case float64:
			out[prefix] = "number"
		case bool:
			out[prefix] = "bool"
		case nil:
			out[prefix] = "null"
		}
	}
	walk("", v)
	delete(out, "")
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

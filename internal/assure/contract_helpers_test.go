package assure_test

import (
	"reverify/internal/fault"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/specimen"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

// Helpers of the contract tests (contract_test.go): the real client against
// the real emulator over a loopback HTTP server.

// maxAttempts is the client's attempt budget per call in these tests.
const maxAttempts = 4

// testTimeScale runs the emulated clock 1000× faster than the wall clock:
// processing latencies of 5–120 emulated seconds take 5–120 ms.
const testTimeScale = 0.001

// shiftClock is the emulator's "real" clock: the wall clock plus an offset a
// test can advance, to expire a token or a transaction at once.
type shiftClock struct{ offset atomic.Int64 }

func (c *shiftClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *shiftClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// setClock is a clock that stands still until a test sets it.
type setClock struct{ unixNano atomic.Int64 }

func (c *setClock) Now() time.Time { return time.Unix(0, c.unixNano.Load()).UTC() }

func (c *setClock) Set(t time.Time) { c.unixNano.Store(t.UnixNano()) }

// attemptLog is an assure.Observer that records every attempt. An optional
// hook sees each attempt as it ends (before the client decides to retry).
type attemptLog struct {
	mu       sync.Mutex
	attempts []assure.Attempt
	hook     func(assure.Attempt)
}

func (l *attemptLog) Observe(_ context.Context, a assure.Attempt) {
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(a)
	}
}

func (l *attemptLog) setHook(f func(assure.Attempt)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hook = f
}

// of returns the attempts at ep, in order.
func (l *attemptLog) of(ep assure.Endpoint) []assure.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []assure.Attempt
	for _, a := range l.attempts {
		if a.Endpoint == ep {
			out = append(out, a)
		}
	}
	return out
}

// all returns every attempt, in order.
func (l *attemptLog) all() []assure.Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]assure.Attempt(nil), l.attempts...)
}

func (l *attemptLog) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = nil
}

// harness is an emulator behind a loopback server and a client of it.
type harness struct {
	t      *testing.T
	emu    *emulator.Emulator
	cfg    emulator.Config
	srv    *httptest.Server
	clock  *shiftClock
	log    *attemptLog
	client *assure.Client
}

// newHarness starts an emulator (DefaultConfig at testTimeScale, changed by
// mutate) on the shift clock and returns it with a client.
func newHarness(t *testing.T, mutate func(*emulator.Config)) *harness {
	t.Helper()
	cfg := emulator.DefaultConfig()
	cfg.TimeScale = testTimeScale
	// The default 15 emulated minutes between upload and start are 0.9 s of
	// wall time at this scale, which a loaded machine under -race might
	// take; one emulated hour leaves 3.6 s. The expiry test sets 15 minutes.
	cfg.TransactionExpiry = time.Hour
	if mutate != nil {
		mutate(&cfg)
	}
	clk := &shiftClock{}
	emu, err := emulator.New(cfg, emulator.WithClock(clk.Now))
	require.NoError(t, err)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	h := &harness{t: t, emu: emu, cfg: cfg, srv: srv, clock: clk, log: &attemptLog{}}
	h.client = h.newClient(nil)
	return h
}

func (h *harness) tokenURL() string { return h.srv.URL + "/auth/open/connect/token" }
func (h *harness) baseURL() string  { return h.srv.URL + "/assure" }

// newClient returns a client of the emulator with fast retries, reporting to
// h.log; mutate may change its config.
func (h *harness) newClient(mutate func(*assure.Config)) *assure.Client {
	h.t.Helper()
	hc := assure.NewHTTPClient()
	h.t.Cleanup(hc.CloseIdleConnections)
	cfg := assure.Config{
		BaseURL:      h.baseURL(),
		TokenURL:     h.tokenURL(),
		ClientID:     h.cfg.ClientID,
		ClientSecret: h.cfg.ClientSecret,
		HTTPClient:   hc,
		// Generous: a loaded 2-core machine under -race; never reached.
		RequestTimeout: 30 * time.Second,
		Retry: assure.RetryPolicy{MaxAttempts: maxAttempts, BaseDelay: time.Millisecond,
			MaxDelay: 10 * time.Millisecond, MaxPause: time.Second},
		Observer: h.log,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := assure.New(cfg)
	require.NoError(h.t, err)
	return c
}

// inject sets one fault spec on one endpoint (fault seed 1).
func (h *harness) inject(ep assure.Endpoint, spec emulator.FaultSpec) {
	h.t.Helper()
	require.NoError(h.t, h.emu.SetFaults(emulator.Faults{Seed: 1, Endpoints: map[assure.Endpoint]emulator.FaultSpec{ep: spec}}))
}

// noFaults removes every fault.
func (h *harness) noFaults() {
	h.t.Helper()
	require.NoError(h.t, h.emu.SetFaults(emulator.Faults{Seed: 1}))
}

// liftFaultsAfter removes every fault as soon as the client has seen n failed
// attempts at ep: the next attempt gets a clean answer. Which requests fail
// is then fixed by the test, not by a draw.
func (h *harness) liftFaultsAfter(ep assure.Endpoint, n int) {
	var failed atomic.Int32
	h.log.setHook(func(a assure.Attempt) {
		if a.Endpoint == ep && a.Err != nil && int(failed.Add(1)) == n {
			_ = h.emu.SetFaults(emulator.Faults{Seed: 1})
		}
	})
}

// requests is the emulator's count of answers at ep by status.
func (h *harness) requests(ep assure.Endpoint) map[string]int64 {
	return h.emu.Counters().Requests[string(ep)]
}

// total sums the emulator's answers at ep.
func (h *harness) total(ep assure.Endpoint) int64 {
	var n int64
	for _, v := range h.requests(ep) {
		n += v
	}
	return n
}

// cancel calls the emulator's admin cancel endpoint over HTTP.
func (h *harness) cancel(processID string) {
	h.t.Helper()
	res, err := http.Post(h.srv.URL+"/_emulator/processes/"+processID+"/cancel", "application/json", nil)
	require.NoError(h.t, err)
	defer res.Body.Close()
	require.Equal(h.t, http.StatusOK, res.StatusCode)
}

// flow creates a dossier and a process, uploads imgs and starts the
// verification with h.client.
func (h *harness) flow(ref, processType string, documentID int, imgs assure.Images) (dossierID string, pr *assure.ProcessResponse) {
	h.t.Helper()
	ctx := context.Background()
	d, err := h.client.CreateDossier(ctx, ref, nil)
	require.NoError(h.t, err)
	pr, err = h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: processType, DocumentID: documentID}, nil)
	require.NoError(h.t, err)
	require.NoError(h.t, h.client.SetImages(ctx, d.DossierID, pr.ProcessID, imgs))
	v, err := h.client.StartVerification(ctx, d.DossierID, pr.ProcessID, nil)
	require.NoError(h.t, err)
	require.Equal(h.t, assure.StatusProcessing, v.Status)
	require.Equal(h.t, pr.ProcessID, v.ProcessID)
	return d.DossierID, pr
}

// final runs a flow and polls the process until it is final.
func (h *harness) final(ref, processType string, documentID int, imgs assure.Images) (string, *assure.Process) {
	h.t.Helper()
	d, pr := h.flow(ref, processType, documentID, imgs)
	p, err := awaitFinal(context.Background(), h.client, d, pr.ProcessID)
	require.NoError(h.t, err)
	return d, p
}

// awaitFinal polls a process until its status is final. Retryable errors
// (the client already retried) are polled through; others end the wait.
// Safe in any goroutine.
func awaitFinal(ctx context.Context, c *assure.Client, dossierID, processID string) (*assure.Process, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		p, err := c.GetProcess(ctx, dossierID, processID)
		switch {
		case err != nil && fault.Of(err) != fault.Retry:
			return nil, err
		case err == nil && p.Status.Final():
			return p, nil
		case err == nil && p.Status != assure.StatusProcessing:
			return nil, fmt.Errorf("process %s: status %s while waiting for a final status", processID, p.Status)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("process %s: not final after 30 s (last error %v)", processID, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// --- images -------------------------------------------------------------

// day formats a date as the specimen data does.
func day(t time.Time) string { return t.UTC().Format(specimen.DateLayout) }

// seedHolder is the holder of the seed's examples (testdata/seed), with a
// document valid for five more years so that the outcome does not depend on
// the day the tests run.
func seedHolder() specimen.Data { return testimage.Holder(day(time.Now().AddDate(5, 0, 0))) }

func img(b []byte) *assure.Image { return &assure.Image{Data: b} }

// --- answers --------------------------------------------------------------

// seedExample reads one of the seed's process examples (testdata/seed).
func seedExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "seed", name+".json"))
	require.NoError(t, err)
	return b
}

// assertDecodesExactly checks that the client's typed model holds every field
// of the answer: Raw decodes with no unknown field and encodes back to the
// same JSON.
func assertDecodesExactly(t testing.TB, p *assure.Process) {
	t.Helper()
	require.NotEmpty(t, p.Raw, "Process.Raw holds the answer")
	dec := json.NewDecoder(bytes.NewReader(p.Raw))
	dec.DisallowUnknownFields()
	var strict assure.Process
	require.NoError(t, dec.Decode(&strict), "every field has a place in assure.Process: %s", p.Raw)
	again, err := json.Marshal(strict)
	require.NoError(t, err)
	assert.JSONEq(t, string(p.Raw), string(again), "decoding and encoding keeps every value")
}

// assertSeedShape checks that the answer has exactly the field paths and
// value types of the seed's example.
func assertSeedShape(t testing.TB, seedName string, p *assure.Process) {
	t.Helper()
	want := inspect.FieldPaths(t, seedExample(t, seedName))
	have := inspect.FieldPaths(t, p.Raw)
	assert.Equal(t, inspect.SortedKeys(want), inspect.SortedKeys(have), "field paths differ from %s: %s", seedName, p.Raw)
	assert.Equal(t, want, have, "value types differ from %s", seedName)
}

// seedProcess decodes a seed example.
func seedProcess(t testing.TB, name string) assure.Process {
	t.Helper()
	var p assure.Process
	require.NoError(t, json.Unmarshal(seedExample(t, name), &p))
	return p
}

// apiError asserts err is an *assure.APIError and returns it.
func apiError(t testing.TB, err error) *assure.APIError {
	t.Helper()
	require.Error(t, err)
	var ae *assure.APIError
	require.True(t, errors.As(err, &ae), "want *assure.APIError, got %T: %v", err, err)
	return ae
}

// assertProblem checks a StandardException answer as the client reports it.
func assertProblem(t testing.TB, err error, class fault.Kind, status int, title, detail string) {
	t.Helper()
	ae := apiError(t, err)
	assert.Equal(t, class, fault.Of(err), "%v", err)
	assert.Equal(t, status, ae.StatusCode)
	assert.Equal(t, status, assure.StatusCodeOf(err))
	assert.False(t, assure.IsOutcomeUnknown(err), "%v", err)
	assert.Equal(t, title, ae.Body.Title)
	assert.Equal(t, status, ae.Body.Status)
	assert.Regexp(t, `^[0-9a-f]{32}$`, ae.Body.TraceID)
	if detail != "" {
		assert.Equal(t, detail, ae.Body.Detail)
	}
	assert.Contains(t, err.Error(), fmt.Sprintf("HTTP %d", status))
	assert.Contains(t, err.Error(), title)
	assert.Contains(t, err.Error(), ae.Body.Detail)
}

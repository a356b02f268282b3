package emulator

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/testimage"
)

// plainClient is a client that does not reuse connections, so that net/http
// never retries a request on its own after a reset.
func plainClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// raw sends a request with the env's token through c and returns the
// response (body unread) or the error.
func (e *env) raw(c *http.Client, method, path, body string) (*http.Response, error) {
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+e.currentToken())
	req.Header.Set("Content-Type", "application/json")
	return c.Do(req)
}

func faultsOn(ep assure.Endpoint, spec FaultSpec) func(*Config) {
	return func(c *Config) { c.Faults = Faults{Seed: 3, Endpoints: map[assure.Endpoint]FaultSpec{ep: spec}} }
}

func TestFaultServerError(t *testing.T) {
	e := newEnv(t, faultsOn(assure.EndpointCreateDossier, FaultSpec{ServerError: 1}))
	codes := map[int]bool{}
	for range 30 {
		r := e.do(http.MethodPost, "/assure/dossiers", nil)
		require.Contains(t, []int{500, 502, 503}, r.code)
		codes[r.code] = true
		assertProblem(t, r, r.code, "/assure/dossiers", "POST", "", "")
	}
	assert.Len(t, codes, 3, "500, 502 and 503 all occur")
	c := e.emu.Counters()
	assert.Zero(t, c.DossiersCreated, "state unchanged")
	assert.Equal(t, int64(30), c.Faults[FaultKindServerError])
	n := int64(0)
	for code, k := range c.Requests["createDossier"] {
		assert.Contains(t, []string{"500", "502", "503"}, code)
		n += k
	}
	assert.Equal(t, int64(30), n)
	// Other endpoints are untouched.
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/assure/dossiers", nil).code)
}

func TestFaultTooManyRequests(t *testing.T) {
	for _, c := range []struct {
		scale float64
		want  string
	}{{1, "3"}, {0.5, "2"}, {0.001, "0"}} {
		e := newEnv(t, func(cfg *Config) {
			cfg.TimeScale = c.scale
			faultsOn(assure.EndpointToken, FaultSpec{TooManyRequests: 1, RetryAfter: 3 * time.Second})(cfg)
		})
		r := e.tokenRequest(DefaultClientID, DefaultClientSecret, "grant_type=client_credentials&scope=signicat-api")
		assertProblem(t, r, 429, tokenPath, "POST", "Too Many Requests", "")
		assert.Equal(t, c.want, r.header.Get("Retry-After"), "scale %v", c.scale)
		assert.Zero(t, e.emu.Counters().TokensIssued)
		assert.Equal(t, int64(2), e.emu.Counters().Faults[FaultKindTooManyRequests])
	}
}

func TestFaultResetBeforeAndAfterHandler(t *testing.T) {
	e := newEnv(t, faultsOn(assure.EndpointCreateDossier, FaultSpec{Reset: 1}))
	c := plainClient()
	for i := range 4 {
		_, err := e.raw(c, http.MethodPost, "/assure/dossiers", `{"externalReference":"x"}`)
		require.Error(t, err, "request %d", i)
		assert.Contains(t, err.Error(), "connection reset", "request %d", i)
	}
	k := e.emu.Counters()
	assert.Equal(t, int64(2), k.Faults[FaultKindResetBeforeHandler])
	assert.Equal(t, int64(2), k.Faults[FaultKindResetAfterHandler])
	assert.Equal(t, int64(2), k.DossiersCreated, "the resets after the handler created dossiers the client never heard of")
	assert.Equal(t, int64(4), k.Requests["createDossier"]["reset"])
	var list []assure.Dossier
	e.do(http.MethodGet, "/assure/dossiers", nil).json(t, &list)
	assert.Len(t, list, 2)
}

// TestFaultResetAfterStart is the case that matters for "outcome unknown":
// the start went through although the client saw a reset.
func TestFaultResetAfterStart(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocument, 137)
	require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}).code)
	// The first reset of an endpoint is before the handler, the second after.
	require.NoError(t, e.emu.SetFaults(Faults{Endpoints: map[assure.Endpoint]FaultSpec{assure.EndpointStartVerification: {Reset: 1}}}))
	_, err := e.raw(plainClient(), http.MethodPost, procPath(d, p.ProcessID), "{}")
	require.ErrorContains(t, err, "connection reset")
	assert.Equal(t, assure.StatusPending, e.getProcess(d, p.ProcessID).Status, "reset before the handler")
	_, err = e.raw(plainClient(), http.MethodPost, procPath(d, p.ProcessID), "{}")
	require.ErrorContains(t, err, "connection reset")
	assert.Equal(t, assure.StatusProcessing, e.getProcess(d, p.ProcessID).Status, "reset after the handler")
	assert.Equal(t, int64(1), e.emu.Counters().StartRequests[p.ProcessID])
}

func TestFaultTruncate(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Faults = Faults{Endpoints: map[assure.Endpoint]FaultSpec{
			assure.EndpointCreateDossier: {Truncate: 1},
			assure.EndpointDeleteDossier: {Truncate: 1},
		}}
	})
	c := plainClient()
	res, err := e.raw(c, http.MethodPost, "/assure/dossiers", `{"externalReference":"truncated"}`)
	require.NoError(t, err, "headers arrive")
	assert.Equal(t, http.StatusCreated, res.StatusCode)
	assert.Positive(t, res.ContentLength)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Less(t, int64(len(body)), res.ContentLength)
	// The handler ran: the dossier exists.
	var list []assure.Dossier
	e.do(http.MethodGet, "/assure/dossiers", nil).json(t, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "truncated", list[0].ExternalReference)

	// An empty (204) answer loses half of its header block.
	_, err = e.raw(c, http.MethodDelete, "/assure/dossiers/"+list[0].DossierID, "")
	require.Error(t, err)
	assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "EOF"), "%v", err)
	k := e.emu.Counters()
	assert.Equal(t, int64(2), k.Faults[FaultKindTruncate])
	assert.Equal(t, int64(1), k.DossiersDeleted)
	assert.Equal(t, int64(1), k.Requests["createDossier"]["201"])
	assert.Equal(t, int64(1), k.Requests["deleteDossier"]["204"])
}

func TestFaultLatencyIsScaled(t *testing.T) {
	e := newRealEnv(t, func(c *Config) {
		c.TimeScale = 0.5
		faultsOn(assure.EndpointListDossiers, FaultSpec{Latency: FaultLatency{Probability: 1, Min: 300 * time.Millisecond}})(c)
	})
	began := time.Now()
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/assure/dossiers", nil).code)
	el := time.Since(began)
	assert.GreaterOrEqual(t, el, 150*time.Millisecond)
	assert.Less(t, el, 3*time.Second)
	assert.Equal(t, int64(1), e.emu.Counters().Faults[FaultKindLatency])
}

// faultSequence is the status of n calls to GET /dossiers.
func faultSequence(t *testing.T, e *env, n int) []int {
	var out []int
	for range n {
		out = append(out, e.do(http.MethodGet, "/assure/dossiers", nil).code)
	}
	return out
}

func TestFaultSequenceIsDeterministic(t *testing.T) {
	mut := func(seed int64) func(*Config) {
		return func(c *Config) {
			c.Faults = Faults{Seed: seed, Default: FaultSpec{ServerError: 0.2, TooManyRequests: 0.2}}
		}
	}
	a := faultSequence(t, newEnv(t, mut(5)), 60)
	e := newEnv(t, mut(5))
	b := faultSequence(t, e, 60)
	other := faultSequence(t, newEnv(t, mut(6)), 60)
	assert.Equal(t, a, b, "same seed, same sequence")
	assert.NotEqual(t, a, other, "another seed, another sequence")
	faulted := 0
	for _, c := range a {
		if c != 200 {
			faulted++
		}
	}
	assert.InDelta(t, 24, faulted, 14, "about 40%% of 60 requests faulted: %v", a)
	// Reset restarts the sequence.
	e.emu.Reset()
	assert.Equal(t, a, faultSequence(t, e, 60))
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.RateLimit = RateLimit{RequestsPerSecond: 2, Burst: 3, RetryAfter: 2 * time.Second}
	})
	// newEnv's token request took one token.
	for range 2 {
		assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/assure/dossiers", nil).code)
	}
	r := e.do(http.MethodGet, "/assure/dossiers", nil)
	assertProblem(t, r, 429, "/assure/dossiers", "GET", "Too Many Requests", "")
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	e.clock.Advance(500 * time.Millisecond)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/assure/dossiers", nil).code)
	assert.Equal(t, http.StatusTooManyRequests, e.do(http.MethodGet, "/assure/dossiers", nil).code)
	assert.Equal(t, int64(2), e.emu.Counters().Faults[FaultKindRateLimited])
	// Admin endpoints are never limited.
	assert.Equal(t, http.StatusOK, e.doAuth(http.MethodGet, "/_emulator/counters", nil, "").code)
}

func TestFaultPlanDistribution(t *testing.T) {
	s := newFaultState(Faults{Seed: 9, Default: FaultSpec{ServerError: 0.1, TooManyRequests: 0.1, Reset: 0.1, Truncate: 0.1,
		Latency: FaultLatency{Probability: 0.5, Min: time.Second, Max: 2 * time.Second}}})
	const n = 10000
	kinds := map[faultKind]int{}
	lat := 0
	for range n {
		p := s.plan(assure.EndpointGetProcess)
		kinds[p.kind]++
		if p.latency > 0 {
			lat++
			require.GreaterOrEqual(t, p.latency, time.Second)
			require.LessOrEqual(t, p.latency, 2*time.Second)
		}
	}
	for _, k := range []faultKind{faultServerError, faultTooManyRequests, faultTruncate} {
		assert.InDelta(t, 0.1, float64(kinds[k])/n, 0.02, "kind %d", k)
	}
	assert.InDelta(t, 0.1, float64(kinds[faultResetBefore]+kinds[faultResetAfter])/n, 0.02)
	assert.InDelta(t, kinds[faultResetBefore], kinds[faultResetAfter], 1, "resets alternate")
	assert.InDelta(t, 0.6, float64(kinds[faultNone])/n, 0.03)
	assert.InDelta(t, 0.5, float64(lat)/n, 0.03)
	// Unknown endpoints never fault.
	assert.Equal(t, faultPlan{}, s.plan("nope"))
}

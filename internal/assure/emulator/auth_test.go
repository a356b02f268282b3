package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/testutil/inspect"
)

func TestTokenIssuesJWT(t *testing.T) {
	e := newEnv(t, nil)
	r := e.tokenRequest(DefaultClientID, DefaultClientSecret, "grant_type=client_credentials&scope=signicat-api")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	var tok assure.TokenResponse
	r.json(t, &tok)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, 600, tok.ExpiresIn)
	assert.Equal(t, "signicat-api", tok.Scope)

	parts := strings.Split(tok.AccessToken, ".")
	require.Len(t, parts, 3)
	var hdr map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &hdr))
	assert.Equal(t, "HS256", hdr["alg"])
	assert.Equal(t, "JWT", hdr["typ"])
	var claims map[string]any
	raw, err = base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &claims))
	assert.Equal(t, DefaultClientID, claims["client_id"])
	assert.Equal(t, "signicat-api", claims["scope"])
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	assert.Equal(t, float64(e.clock.Now().Unix()), iat)
	assert.Equal(t, float64(600), exp-iat)
	assert.Equal(t, int64(2), e.emu.Counters().TokensIssued, "newEnv fetched one")
}

func TestTokenErrors(t *testing.T) {
	e := newEnv(t, nil)
	const good = "grant_type=client_credentials&scope=signicat-api"
	cases := []struct {
		name, id, secret, form string
		code                   int
		oauthErr               string
	}{
		{"wrong secret", DefaultClientID, "nope", good, 401, "invalid_client"},
		{"wrong id", "someone", DefaultClientSecret, good, 401, "invalid_client"},
		{"no credentials", "", "", good, 401, "invalid_client"},
		{"bad grant", DefaultClientID, DefaultClientSecret, "grant_type=password&scope=signicat-api", 400, "unsupported_grant_type"},
		{"missing grant", DefaultClientID, DefaultClientSecret, "scope=signicat-api", 400, "unsupported_grant_type"},
		{"bad scope", DefaultClientID, DefaultClientSecret, "grant_type=client_credentials&scope=openid", 400, "invalid_scope"},
		{"extra scope", DefaultClientID, DefaultClientSecret, "grant_type=client_credentials&scope=signicat-api+openid", 400, "invalid_scope"},
		{"missing scope", DefaultClientID, DefaultClientSecret, "grant_type=client_credentials", 400, "invalid_scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.tokenRequest(c.id, c.secret, c.form)
			assert.Equal(t, c.code, r.code, "%s", r.body)
			assert.JSONEq(t, `{"error":"`+c.oauthErr+`"}`, string(r.body))
		})
	}
	t.Run("not a form", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+tokenPath, strings.NewReader(`{"grant_type":"client_credentials"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
		r := e.send(req)
		assert.Equal(t, http.StatusBadRequest, r.code)
		assert.Contains(t, string(r.body), `"error":"invalid_request"`)
	})
	t.Run("GET is 405", func(t *testing.T) {
		r := e.doAuth(http.MethodGet, tokenPath, nil, "")
		assert.Equal(t, http.StatusMethodNotAllowed, r.code)
		assert.Equal(t, "POST", r.header.Get("Allow"))
	})
	t.Run("secrets with special characters are form-decoded", func(t *testing.T) {
		e2 := newEnv(t, func(c *Config) { c.ClientID, c.ClientSecret = "id:with space", "s3cr3t/+=&" })
		r := e2.tokenRequest("id:with space", "s3cr3t/+=&", good)
		assert.Equal(t, http.StatusOK, r.code, "%s", r.body)
	})
}

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// assertProblem checks the StandardException body of an error answer.
func assertProblem(t *testing.T, r resp, code int, path, method, title, detail string) {
	t.Helper()
	require.Equal(t, code, r.code, "%s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	var m map[string]any
	r.json(t, &m)
	assert.ElementsMatch(t, []string{"instance", "method", "status", "type", "title", "detail", "traceId"}, inspect.SortedKeys(m))
	b := r.errBody(t)
	assert.Equal(t, path, b.Instance)
	assert.Equal(t, method, b.Method)
	assert.Equal(t, code, b.Status)
	if code >= 500 {
		assert.Equal(t, "base:server-problem", b.Type)
	} else {
		assert.Equal(t, "base:client-problem", b.Type)
	}
	if title != "" {
		assert.Equal(t, title, b.Title)
	}
	if detail != "" {
		assert.Equal(t, detail, b.Detail)
	}
	assert.Regexp(t, traceIDPattern, b.TraceID)
}

func TestBearerChecks(t *testing.T) {
	e := newEnv(t, nil)
	const path = "/assure/dossiers/"
	for name, auth := range map[string]string{"missing": "", "basic": "Basic Zm9vOmJhcg==", "empty bearer": "Bearer "} {
		t.Run(name, func(t *testing.T) {
			r := e.doAuth(http.MethodPost, path, nil, auth)
			assertProblem(t, r, 401, path, "POST", "Malformed Authorization header.", "Please provide a valid Bearer authentication.")
			assert.NotEmpty(t, r.header.Get("WWW-Authenticate"))
		})
	}
	t.Run("garbage token", func(t *testing.T) {
		r := e.doAuth(http.MethodPost, path, nil, "Bearer abc.def.ghi")
		assertProblem(t, r, 401, path, "POST", "The signature of the JWT could not be validated because the key was not found.", "")
	})
	t.Run("token of another key", func(t *testing.T) {
		other := newEnv(t, func(c *Config) { c.Seed = 99 })
		r := e.doAuth(http.MethodPost, path, nil, "Bearer "+other.token)
		assertProblem(t, r, 401, path, "POST", "The signature of the JWT could not be validated because the key was not found.", "")
	})
	t.Run("tampered claims", func(t *testing.T) {
		parts := strings.Split(e.token, ".")
		claims := base64.RawURLEncoding.EncodeToString([]byte(`{"client_id":"x","exp":9999999999}`))
		r := e.doAuth(http.MethodGet, "/assure/dossiers", nil, "Bearer "+parts[0]+"."+claims+"."+parts[2])
		assert.Equal(t, http.StatusUnauthorized, r.code)
	})
	t.Run("lower-case scheme accepted", func(t *testing.T) {
		r := e.doAuth(http.MethodGet, "/assure/dossiers", nil, "bearer "+e.token)
		assert.Equal(t, http.StatusOK, r.code)
	})
	t.Run("expired after token_ttl of real time", func(t *testing.T) {
		tok := e.fetchToken()
		e.clock.Advance(599 * time.Second)
		assert.Equal(t, http.StatusOK, e.doAuth(http.MethodGet, "/assure/dossiers", nil, "Bearer "+tok).code)
		e.clock.Advance(time.Second)
		r := e.doAuth(http.MethodGet, "/assure/dossiers", nil, "Bearer "+tok)
		assertProblem(t, r, 401, "/assure/dossiers", "GET", "The JWT has expired.", "")
	})
	t.Run("unknown assure route needs a token first", func(t *testing.T) {
		r := e.doAuth(http.MethodGet, "/assure/nothing/here", nil, "")
		assert.Equal(t, http.StatusUnauthorized, r.code)
	})
}

func TestTokensSurviveResetAndTimeScale(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TimeScale = 0.001 })
	tok := e.token
	e.emu.Reset()
	assert.Equal(t, http.StatusOK, e.doAuth(http.MethodGet, "/assure/dossiers", nil, "Bearer "+tok).code)
	// Token lifetime is real time: 10 real minutes are 10,000 emulated ones.
	e.clock.Advance(599 * time.Second)
	assert.Equal(t, http.StatusOK, e.doAuth(http.MethodGet, "/assure/dossiers", nil, "Bearer "+tok).code)
	e.clock.Advance(2 * time.Second)
	assert.Equal(t, http.StatusUnauthorized, e.doAuth(http.MethodGet, "/assure/dossiers", nil, "Bearer "+tok).code)
}

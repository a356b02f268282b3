package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"reverify/internal/assure"
)

// Scope is the only OAuth2 scope of Signicat's APIs.
const Scope = "signicat-api"

// Titles of the bearer-check 401s.
const (
	titleMalformedAuth = "Malformed Authorization header."
	titleBadSignature  = "The signature of the JWT could not be validated because the key was not found."
	titleTokenExpired  = "The JWT has expired."
	detailBearer       = "Please provide a valid Bearer authentication."
)

var (
	errBadSignature = errors.New("bad JWT signature")
	errExpired      = errors.New("JWT expired")
)

// issuer signs and checks HS256 JWT access tokens. The key is derived from
// the client secret and the seed, so tokens survive Reset but a token signed
// for another configuration is refused.
type issuer struct {
	key      []byte
	kid      string
	clientID string
	secret   string
	ttl      time.Duration

	// checked maps tokens whose signature verified to their expiry (Unix
	// seconds): the check of a token seen before is a map lookup.
	mu      sync.Mutex
	checked map[string]int64
}

// maxCheckedTokens bounds issuer.checked (a client holds one token at a
// time, a new one every few minutes); when full it starts over.
const maxCheckedTokens = 1024

func newIssuer(cfg Config) *issuer {
	m := hmac.New(sha256.New, []byte(cfg.ClientSecret))
	fmt.Fprintf(m, "reverify-emulator/jwt-key/%d", cfg.Seed)
	key := m.Sum(nil)
	kidSum := sha256.Sum256(key)
	return &issuer{key: key, kid: hex.EncodeToString(kidSum[:8]), clientID: cfg.ClientID, secret: cfg.ClientSecret, ttl: cfg.TokenTTL,
		checked: map[string]int64{}}
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss      string `json:"iss"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	Jti      string `json:"jti"`
}

// issue returns a signed token valid for the issuer's TTL from now (real time).
func (s *issuer) issue(now time.Time) (string, error) {
	h, err := json.Marshal(jwtHeader{Alg: "HS256", Typ: "JWT", Kid: s.kid})
	if err != nil {
		return "", fmt.Errorf("encode JWT header: %w", err)
	}
	c, err := json.Marshal(jwtClaims{
		Iss: "reverify-emulator", ClientID: s.clientID, Scope: Scope,
		Iat: now.Unix(), Nbf: now.Unix(), Exp: ceilUnix(now.Add(s.ttl)), Jti: randomToken(8),
	})
	if err != nil {
		return "", fmt.Errorf("encode JWT claims: %w", err)
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return signing + "." + base64.RawURLEncoding.EncodeToString(s.sign(signing)), nil
}

// ceilUnix is t in whole seconds rounded up: with exp rounded down, a token
// issued late in a second would expire up to a second before the expires_in
// the token endpoint answers.
func ceilUnix(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

func (s *issuer) sign(signing string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// verify checks the token's signature and expiry (real time).
func (s *issuer) verify(token string, now time.Time) error {
	s.mu.Lock()
	exp, ok := s.checked[token]
	s.mu.Unlock()
	if !ok {
		var err error
		if exp, err = s.verifySignature(token); err != nil {
			return err
		}
		s.mu.Lock()
		if len(s.checked) >= maxCheckedTokens {
			clear(s.checked)
		}
		s.checked[token] = exp
		s.mu.Unlock()
	}
	if now.Unix() >= exp {
		return errExpired
	}
	return nil
}

// verifySignature checks the token's signature and header and returns its
// expiry.
func (s *issuer) verifySignature(token string) (int64, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, errBadSignature
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.sign(parts[0]+"."+parts[1])) {
		return 0, errBadSignature
	}
	var h jwtHeader
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(raw, &h) != nil || h.Alg != "HS256" {
		return 0, errBadSignature
	}
	var c jwtClaims
	if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(raw, &c) != nil {
		return 0, errBadSignature
	}
	return c.Exp, nil
}

// checkBearer answers nil when the request carries a valid access token.
func (e *Emulator) checkBearer(r *http.Request) *apiError {
	unauthorized := func(title, detail, code string) *apiError {
		h := http.Header{}
		h.Set("WWW-Authenticate", `Bearer error="`+code+`"`)
		return &apiError{status: http.StatusUnauthorized, title: title, detail: detail, header: h}
	}
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return unauthorized(titleMalformedAuth, detailBearer, "invalid_request")
	}
	switch err := e.issuer.verify(token, e.clock.real()); {
	case errors.Is(err, errExpired):
		return unauthorized(titleTokenExpired, "The access token has expired; request a new one.", "invalid_token")
	case err != nil:
		return unauthorized(titleBadSignature, detailBearer, "invalid_token")
	}
	return nil
}

// token serves POST /auth/open/connect/token (client_credentials grant,
// client_secret_basic).
func (e *Emulator) token(w http.ResponseWriter, r *http.Request, _ params) error {
	oauthError := func(status int, code, desc string) error {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="signicat"`)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, assure.ErrorBody{OAuthError: code, OAuthDescription: desc})
		return nil
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding.
		id, secret = formUnescape(id), formUnescape(secret)
	}
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(e.issuer.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(e.issuer.secret)) != 1 {
		return oauthError(http.StatusUnauthorized, "invalid_client", "")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return oauthError(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "malformed form body")
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "")
	}
	if scopes := strings.Fields(r.PostForm.Get("scope")); len(scopes) != 1 || scopes[0] != Scope {
		return oauthError(http.StatusBadRequest, "invalid_scope", "")
	}
	tok, err := e.issuer.issue(e.clock.real())
	if err != nil {
		return fmt.Errorf("issue token: %w", err)
	}
	e.counters.add(func(c *Counters) { c.TokensIssued++ })
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, assure.TokenResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(e.issuer.ttl / time.Second), Scope: Scope,
	})
	return nil
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

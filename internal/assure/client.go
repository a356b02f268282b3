package assure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the real API.
const (
	DefaultBaseURL  = "https://api.signicat.com/assure"
	DefaultTokenURL = "https://api.signicat.com/auth/open/connect/token"
	DefaultScope    = "signicat-api"
)

// Config configures a Client.
type Config struct {
	// BaseURL of the Assure API, without trailing slash (DefaultBaseURL).
	BaseURL string
	// TokenURL of the OAuth2 token endpoint (DefaultTokenURL).
	TokenURL string
	// ClientID and ClientSecret of the Signicat API client.
	ClientID     string
	ClientSecret string
	// Scope requested with the token (DefaultScope).
	Scope string
	// HTTPClient sends the requests; nil gives a client tuned for many
	// concurrent requests to one host.
	HTTPClient *http.Client
	// RequestTimeout bounds one HTTP attempt (default 2 minutes).
	RequestTimeout time.Duration
	// TokenRenewBefore renews a cached token this long before it expires
	// (default 60 s, or a fifth of a shorter lifetime).
	TokenRenewBefore time.Duration
	// Retry governs the client's own retries of idempotent calls.
	Retry RetryPolicy
	// Observer, when set, is told about every HTTP attempt and may delay
	// attempts (rate limiting).
	Observer Observer
}

// RetryPolicy bounds the client's own retries. The client retries only calls
// whose repetition is harmless: idempotent endpoints, and any call whose
// request certainly did not reach the server (connection refused, 429, 401
// before a token refresh).
type RetryPolicy struct {
	// MaxAttempts per call, first attempt included (default 4; 1 disables
	// retries). 429 answers do not use it up: they are retried until
	// MaxElapsed.
	MaxAttempts int
	// BaseDelay of the exponential backoff (default 250 ms).
	BaseDelay time.Duration
	// MaxDelay caps one backoff delay (default 10 s).
	MaxDelay time.Duration
	// MaxRetryAfter caps how long a server's Retry-After is honoured inside one
	// call (default 30 s); a longer Retry-After ends the call with the error so
	// the caller can pause everyone.
	MaxRetryAfter time.Duration
	// MaxElapsed bounds the whole call including waits (default 2 minutes).
	MaxElapsed time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 30 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	return p
}

// Backoff returns the full-jitter delay before retry number n (1 = first
// retry): uniform in [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (p RetryPolicy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	if d > p.MaxDelay {
		d = p.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Observer sees every HTTP attempt the client makes, token requests and
// retries included. Implementations must be safe for concurrent use.
type Observer interface {
	// Wait is called before each attempt and may block (a rate limiter). An
	// error ends the call with that error.
	Wait(ctx context.Context, ep Endpoint) error
	// Done is called after each attempt, with the call's context.
	Done(ctx context.Context, a Attempt)
}

// Attempt describes one HTTP attempt. It never carries tokens, secrets,
// bodies or image bytes.
type Attempt struct {
	Endpoint Endpoint
	Method   string
	// StatusCode is 0 when no HTTP answer was read.
	StatusCode int
	Latency    time.Duration
	// Number of this attempt within its call (1-based).
	Number int
	// Err is nil for a successful answer.
	Err error
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

// Client calls the Assure API. It is safe for concurrent use.
type Client struct {
	base     string
	http     *http.Client
	tokens   *tokenCache
	retry    RetryPolicy
	obs      Observer
	reqLimit time.Duration
}

// New validates cfg and returns a client. It makes no request.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	for name, u := range map[string]string{"base URL": cfg.BaseURL, "token URL": cfg.TokenURL} {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, &ConfigError{Msg: fmt.Sprintf("%s %q is not an http(s) URL", name, u)}
		}
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, &ConfigError{Msg: "client id and client secret are required (SIGNICAT_CLIENT_ID, SIGNICAT_CLIENT_SECRET)"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Minute
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		http:     cfg.HTTPClient,
		retry:    cfg.Retry.withDefaults(),
		obs:      cfg.Observer,
		reqLimit: cfg.RequestTimeout,
	}
	c.tokens = newTokenCache(cfg, c)
	return c, nil
}

// NewHTTPClient returns an http.Client tuned for many concurrent requests to
// one host: a large idle pool, bounded dial/TLS/header timeouts.
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr}
}

type nopObserver struct{}

func (nopObserver) Wait(context.Context, Endpoint) error { return nil }
func (nopObserver) Done(context.Context, Attempt)        {}

// request describes one API call.
type request struct {
	ep     Endpoint
	method string
	path   string // below the base URL, already escaped
	query  url.Values
	// body returns a fresh body for each attempt, with its length (nil: no body).
	body func() (io.Reader, int64)
	// accept lists the success status codes.
	accept []int
	// maxBody caps the response body read (default 4 MiB).
	maxBody int64
	// contentType of the request body.
	contentType string
	// decode, when set, reads a successful answer's body (except 204). A
	// failure counts as a broken answer: retried for idempotent endpoints,
	// "outcome unknown" for the others.
	decode func([]byte) error
	// goneIsDone (deletes): a 404 on a repeat after an attempt that may have
	// been applied means that attempt deleted the resource: success.
	goneIsDone bool
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func jsonBody(v any) (func() (io.Reader, int64), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func() (io.Reader, int64) { return bytes.NewReader(b), int64(len(b)) }, nil
}

// do runs a call with the client's retry rules, token handling and observer.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	start := time.Now()
	refreshed := false
	mayHaveApplied := false // an earlier attempt of this call may have been applied
	for n := 1; ; n++ {
		tok, err := c.tokens.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, sent, err := c.attempt(ctx, r, tok, n)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", r.ep, ctx.Err())
		}
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if r.goneIsDone && mayHaveApplied && isAPI && ae.StatusCode == http.StatusNotFound {
			return &response{status: http.StatusNoContent, header: http.Header{}}, nil
		}
		// A 401 means this token was refused before anything happened:
		// refresh it once and repeat, whatever the endpoint.
		if isAPI && ae.StatusCode == http.StatusUnauthorized {
			if !refreshed {
				refreshed = true
				c.tokens.invalidate(tok)
				n-- // the refused attempt does not count against the budget
				continue
			}
			ae.AfterTokenRefresh = true
		}
		if ClassOf(err) != Retryable {
			return nil, err
		}
		// Repeating is harmless for idempotent endpoints, and for any
		// request the server certainly did not act on.
		throttled := isAPI && ae.StatusCode == http.StatusTooManyRequests
		if !r.ep.Idempotent() && sent && !throttled {
			return nil, &OutcomeUnknownError{Endpoint: r.ep, Err: err}
		}
		if sent && !throttled {
			mayHaveApplied = true
		}
		wait := c.retry.Backoff(n)
		if ra, ok := RetryAfterOf(err); ok {
			if ra > c.retry.MaxRetryAfter {
				return nil, err // let the caller pause everyone
			}
			wait = ra
		}
		// A 429 says "later", not "broken": it is retried for as long as the
		// call may take, not only MaxAttempts times, so that a throttling
		// storm slows the run down instead of failing its records.
		if (n >= c.retry.MaxAttempts && !throttled) || time.Since(start)+wait > c.retry.MaxElapsed {
			return nil, fmt.Errorf("%s: giving up after %d attempts: %w", r.ep, n, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w", r.ep, err)
		}
	}
}

// attempt sends one HTTP request. sent reports whether the request may have
// reached the server.
func (c *Client) attempt(ctx context.Context, r request, token string, n int) (resp *response, sent bool, err error) {
	if err := c.obs.Wait(ctx, r.ep); err != nil {
		return nil, false, err
	}
	began := time.Now()
	status := 0
	var retryAfter time.Duration
	defer func() {
		c.obs.Done(ctx, Attempt{Endpoint: r.ep, Method: r.method, StatusCode: status, Latency: time.Since(began),
			Number: n, Err: err, RetryAfter: retryAfter})
	}()

	actx, cancel := context.WithTimeout(ctx, c.reqLimit)
	defer cancel()
	wrote := false
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote = true },
	})
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	var length int64
	if r.body != nil {
		body, length = r.body()
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return nil, false, &ConfigError{Msg: fmt.Sprintf("%s: build request: %v", r.ep, err)}
	}
	if r.body != nil {
		req.ContentLength = length
		req.GetBody = func() (io.ReadCloser, error) { b, _ := r.body(); return io.NopCloser(b), nil }
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)

	hr, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, wrote, ctx.Err()
		}
		return nil, wrote || !notSent(err), &TransportError{Endpoint: r.ep, Sent: wrote || !notSent(err), Err: err}
	}
	defer hr.Body.Close()
	status = hr.StatusCode
	retryAfter = parseRetryAfter(hr.Header.Get("Retry-After"), time.Now())

	max := r.maxBody
	if max <= 0 {
		max = 4 << 20
	}
	data, rerr := io.ReadAll(io.LimitReader(hr.Body, max+1))
	if rerr != nil {
		if ctx.Err() != nil {
			return nil, true, ctx.Err()
		}
		return nil, true, &TransportError{Endpoint: r.ep, Sent: true, Err: fmt.Errorf("read %d answer: %w", hr.StatusCode, rerr)}
	}
	if int64(len(data)) > max {
		return nil, true, &TransportError{Endpoint: r.ep, Sent: true, Err: fmt.Errorf("answer larger than %d bytes", max)}
	}
	for _, ok := range r.accept {
		if hr.StatusCode != ok {
			continue
		}
		if r.decode != nil && hr.StatusCode != http.StatusNoContent {
			if err := r.decode(data); err != nil {
				return nil, true, &TransportError{Endpoint: r.ep, Sent: true, Err: fmt.Errorf("decode %d answer: %w", hr.StatusCode, err)}
			}
		}
		return &response{status: hr.StatusCode, header: hr.Header, body: data}, true, nil
	}
	return nil, true, newAPIError(r, hr.StatusCode, data, retryAfter)
}

func newAPIError(r request, status int, data []byte, retryAfter time.Duration) *APIError {
	e := &APIError{Endpoint: r.ep, Method: r.method, StatusCode: status, RetryAfter: retryAfter}
	if len(data) > 0 && json.Unmarshal(data, &e.Body) != nil {
		e.Body = ErrorBody{}
	}
	if e.Body.Title == "" && e.Body.Detail == "" && e.Body.OAuthError == "" {
		raw := strings.TrimSpace(string(data))
		if len(raw) > 200 {
			raw = raw[:200] + "…"
		}
		if raw == "" {
			raw = http.StatusText(status)
		}
		e.RawBody = raw
	}
	return e
}

// parseRetryAfter reads delta-seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// callJSON runs r and decodes a successful JSON answer into a new T (nil for
// a 204 answer).
func callJSON[T any](ctx context.Context, c *Client, r request) (*T, *response, error) {
	var out *T
	r.decode = func(b []byte) error {
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
		out = v
		return nil
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	return out, resp, nil
}

func pathEscape(parts ...string) (string, error) {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			return "", errors.New("empty path parameter")
		}
		b.WriteString("/")
		b.WriteString(url.PathEscape(p))
	}
	return b.String(), nil
}

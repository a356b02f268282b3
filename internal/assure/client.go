package assure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"

	"reverify/internal/fault"
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
	// Rate is the requests per second that every call of the client shares,
	// token requests and retries included (0: no limit); Burst is the
	// bucket's size (default 1).
	Rate  float64
	Burst int
	// Adaptive, when its Max is set, replaces the fixed Rate with one that
	// adapts to the API's answers, within (0, Max].
	Adaptive AdaptiveRate
	// Logger, when set, hears of the adaptive rate's changes (at debug).
	Logger *slog.Logger
	// RequestTimeout bounds one HTTP attempt (default 30 s; never more
	// than what is left of the call's Retry.MaxElapsed).
	RequestTimeout time.Duration
	// TokenRenewBefore renews a cached token this long before it expires
	// (default 60 s, or a fifth of a shorter lifetime).
	TokenRenewBefore time.Duration
	// TokenTimeout: once no token could be had for this long, every call
	// fails with fault.Abort (default 5 minutes; a failing renewal of a token
	// not yet expired does not count).
	TokenTimeout time.Duration
	// Retry bounds every call: attempts, backoff, pauses, elapsed time.
	Retry RetryPolicy
	// Observer, when set, is told about every HTTP attempt.
	Observer Observer
}

// Observer sees every HTTP attempt the client makes, token requests and
// retries included. Implementations must be safe for concurrent use and must
// not block.
type Observer interface {
	// Observe is called after each attempt, with the call's context.
	Observe(ctx context.Context, a Attempt)
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
	// Paused is set when this answer paused every call of the client (a 429
	// with Retry-After that extended the pause).
	Paused bool
}

// Client calls the Assure API. It is safe for concurrent use. It owns the
// whole call policy: the shared rate bucket, Retry-After pauses, retries with
// backoff and jitter, the elapsed budget of every call, and the
// classification of errors (fault.Of).
type Client struct {
	base     string
	http     *http.Client
	tokens   *tokenCache
	retry    RetryPolicy
	limit    *limiter
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
	if cfg.Rate < 0 {
		return nil, &ConfigError{Msg: fmt.Sprintf("rate %g is negative", cfg.Rate)}
	}
	limit := newLimiter(cfg.Rate, cfg.Burst)
	if cfg.Adaptive.Max != 0 {
		var err error
		if limit, err = newAdaptiveLimiter(cfg.Adaptive, cfg.Burst, cfg.Logger); err != nil {
			return nil, err
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.TokenTimeout <= 0 {
		cfg.TokenTimeout = 5 * time.Minute
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		http:     cfg.HTTPClient,
		retry:    cfg.Retry.WithDefaults(),
		limit:    limit,
		obs:      cfg.Observer,
		reqLimit: cfg.RequestTimeout,
	}
	c.tokens = newTokenCache(cfg, c)
	return c, nil
}

// Policy returns the retry policy in force (defaults filled in).
func (c *Client) Policy() RetryPolicy { return c.retry }

// Authenticate obtains an access token (or finds the cached one valid): a
// run asks for one before it takes any record, so that refused credentials
// or an unreachable token endpoint stop it at once.
func (c *Client) Authenticate(ctx context.Context) error {
	_, err := c.tokens.get(ctx, time.Time{})
	return err
}

// Waits is what the client is waiting for, for progress displays.
type Waits struct {
	// PausedUntil is the end of a Retry-After pause of every call (zero:
	// none, or over).
	PausedUntil time.Time
	// TokenFailingSince is when the token endpoint began failing (zero: it
	// is not).
	TokenFailingSince time.Time
	// Rate is the request rate in force (Client.Rate).
	Rate float64
}

// Waits returns what the client is waiting for now.
func (c *Client) Waits() Waits {
	s := Waits{Rate: c.limit.current()}
	if until := c.limit.pausedTill(); time.Now().Before(until) {
		s.PausedUntil = until
	}
	if ns := c.tokens.failingSince.Load(); ns != 0 {
		s.TokenFailingSince = time.Unix(0, ns)
	}
	return s
}

// Rate is the request rate in force, requests per second: the fixed rate,
// or an adaptive rate's current value (0: no limit).
func (c *Client) Rate() float64 { return c.limit.current() }

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

func (nopObserver) Observe(context.Context, Attempt) {}

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
	// readBack, for a call that is not idempotent, settles an attempt whose
	// outcome is unknown (see ReadBack). nil: such an attempt ends the call
	// with an OutcomeUnknownError.
	readBack func(ctx context.Context) (applied bool, err error)
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
	// traceID is the API's traceId of an error answer taken as success (a
	// delete's 404 after a send whose answer was lost).
	traceID string
}

func jsonBody(v any) (func() (io.Reader, int64), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func() (io.Reader, int64) { return bytes.NewReader(b), int64(len(b)) }, nil
}

// ReadBack settles an attempt of a call that is not idempotent (create
// dossier, create process, start verification) whose outcome is unknown: it
// reads the API's state and returns the call's result when the attempt was
// applied, or nil when it was not, so that the client may send the call
// again. It runs within the call's budget; an error from it ends the call
// with an OutcomeUnknownError. Reading back is the caller's: only the caller
// knows how to recognise what its call would have made.
type ReadBack[T any] func(ctx context.Context) (*T, error)

// readBackInto adapts a ReadBack to the request's form, keeping its result.
func readBackInto[T any](rb ReadBack[T], found **T) func(context.Context) (bool, error) {
	if rb == nil {
		return nil
	}
	return func(ctx context.Context) (bool, error) {
		v, err := rb(ctx)
		*found = v
		return v != nil, err
	}
}

// errReadBackApplied is do's answer when a read-back found the call applied:
// the result is the read-back's, not an HTTP answer.
var errReadBackApplied = errors.New("applied, as read back")

// do runs one call under the client's policy (see RetryPolicy): every
// attempt waits for the shared bucket, then a token, then is sent; failures
// are classified, and retried with backoff, within the call's budget. The
// budget bounds the waits and when an attempt may start, not an attempt
// under way: an attempt that is out ends by RequestTimeout, so that a
// request the API may be acting on is not cut short by the budget.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	start := time.Now()
	deadline := start.Add(c.retry.MaxElapsed)
	wctx, cancel := context.WithDeadline(ctx, deadline) // the waits
	defer cancel()
	refreshed := false
	mayHaveApplied := false // an earlier attempt of this call may have been applied
	var last error          // the last failed attempt's error
	for n := 1; ; n++ {
		if err := c.limit.wait(wctx); err != nil {
			return nil, c.ended(ctx, r.ep, n-1, start, last, err)
		}
		tok, err := c.tokens.get(ctx, deadline)
		if err != nil {
			// The token fetch is a call of its own, retried under the same
			// policy: its failure ends this call.
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", r.ep, ctx.Err())
			}
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
			return &response{status: http.StatusNotFound, header: http.Header{}, traceID: ae.Body.TraceID}, nil
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
		if fault.Of(err) != fault.Retry {
			return nil, err
		}
		// Repeating is harmless for idempotent endpoints, and for any
		// request the server certainly did not act on; any other is read
		// back first.
		throttled := isAPI && ae.StatusCode == http.StatusTooManyRequests
		if !r.ep.Idempotent() && sent && !throttled {
			if r.readBack == nil {
				return nil, &OutcomeUnknownError{Endpoint: r.ep, Err: err}
			}
			applied, rerr := c.readBack(ctx, r, err)
			switch {
			case rerr != nil:
				return nil, &OutcomeUnknownError{Endpoint: r.ep, Err: fmt.Errorf("%w; reading the state back: %v", err, rerr)}
			case applied:
				return nil, errReadBackApplied
			}
			// Not applied: send it again, within the same budget.
		}
		if sent && !throttled {
			mayHaveApplied = true
		}
		last = err
		if err := c.backoff(ctx, wctx, r.ep, n, start, err); err != nil {
			return nil, err
		}
	}
}

// readBack settles an attempt of a non-idempotent call whose outcome is
// unknown. An attempt that got no answer at all (a timeout, a connection
// reset after sending) may still be on its way — held by a proxy, queued at
// the API — so the state is read only once it can no longer be in flight:
// request_timeout plus a margin (InFlightMargin) after the attempt ended. An
// attempt answered with an error (a 5xx) was over when the answer came. The
// read-back has a budget of its own, one request timeout (and its
// margin), also when the call's budget is spent: an unknown outcome is
// settled whenever it can be, and the call only then decides whether to
// send again (within its budget) or give up.
func (c *Client) readBack(ctx context.Context, r request, err error) (bool, error) {
	var te *TransportError
	if errors.As(err, &te) && te.Status == 0 {
		if serr := sleep(ctx, c.reqLimit+InFlightMargin(c.reqLimit)); serr != nil {
			return false, serr
		}
	}
	rctx, cancel := context.WithTimeout(ctx, c.reqLimit+InFlightMargin(c.reqLimit))
	defer cancel()
	return r.readBack(rctx)
}

// backoff waits before the next attempt of a call whose attempt n failed
// with the retryable err, or returns the error that ends the call: its
// attempts are used up (429s do not count), or the wait would outlast its
// budget. A Retry-After has already paused the shared bucket (attempt); the
// next attempt waits for it there — or, when the pause was not shared (an
// adaptive rate's short Retry-After), here.
func (c *Client) backoff(ctx, wctx context.Context, ep Endpoint, n int, start time.Time, err error) error {
	throttled := StatusCodeOf(err) == http.StatusTooManyRequests
	if !throttled && n >= c.retry.MaxAttempts {
		return c.ended(ctx, ep, n, start, err, nil)
	}
	wait := c.retry.Backoff(n)
	if ra, ok := RetryAfterOf(err); ok {
		wait = min(ra, c.retry.MaxPause)
	}
	if dl, ok := wctx.Deadline(); ok && time.Until(dl) < wait {
		return c.ended(ctx, ep, n, start, err, nil)
	}
	if ra, ok := RetryAfterOf(err); ok && c.limit.sharesPause(ra) {
		return nil // the shared pause holds the next attempt
	}
	if serr := sleep(wctx, wait); serr != nil {
		return c.ended(ctx, ep, n, start, err, serr)
	}
	return nil
}

// ended is the error of a call that ends without success after n attempts:
// the caller's context ended (cause), or the call's policy gave up on err.
// A call that gave up is worth trying again later (fault.Retry).
func (c *Client) ended(ctx context.Context, ep Endpoint, n int, start time.Time, err, cause error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", ep, ctx.Err())
	}
	elapsed := time.Since(start).Round(time.Millisecond)
	if err == nil {
		return fault.Mark(fault.Retry, fmt.Errorf("%s: no attempt could be sent within %s (api.retry.max_elapsed): %w",
			ep, c.retry.MaxElapsed, cause))
	}
	return fault.Mark(fault.Retry, fmt.Errorf("%s: giving up after %d attempts in %s: %w", ep, n, elapsed, err))
}

// observe reports an attempt to the observer; a 429 answer with Retry-After
// first pauses the shared bucket, capped at MaxPause, and every answer
// informs an adaptive rate.
func (c *Client) observe(ctx context.Context, a Attempt) {
	if a.StatusCode == http.StatusTooManyRequests && a.RetryAfter > 0 && c.limit.sharesPause(a.RetryAfter) {
		a.Paused = c.limit.pause(min(a.RetryAfter, c.retry.MaxPause))
	}
	c.limit.feedback(a)
	c.obs.Observe(ctx, a)
}

// attempt sends one HTTP request. sent reports whether the request may have
// reached the server.
func (c *Client) attempt(ctx context.Context, r request, token string, n int) (resp *response, sent bool, err error) {
	began := time.Now()
	status := 0
	var retryAfter time.Duration
	defer func() {
		c.observe(ctx, Attempt{Endpoint: r.ep, Method: r.method, StatusCode: status, Latency: time.Since(began),
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
		return nil, true, &TransportError{Endpoint: r.ep, Sent: true, Status: hr.StatusCode, Err: fmt.Errorf("read %d answer: %w", hr.StatusCode, rerr)}
	}
	if int64(len(data)) > max {
		return nil, true, &TransportError{Endpoint: r.ep, Sent: true, Status: hr.StatusCode, Err: fmt.Errorf("answer larger than %d bytes", max)}
	}
	for _, ok := range r.accept {
		if hr.StatusCode != ok {
			continue
		}
		if r.decode != nil && hr.StatusCode != http.StatusNoContent {
			if err := r.decode(data); err != nil {
				return nil, true, &TransportError{Endpoint: r.ep, Sent: true, Status: hr.StatusCode, Err: fmt.Errorf("decode %d answer: %w", hr.StatusCode, err)}
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

// callJSON runs r and decodes a successful JSON answer into a new T (nil for
// a 204 answer, and for a call its read-back found applied: the caller has
// the read-back's result).
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
	if err == errReadBackApplied {
		return nil, nil, nil
	}
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

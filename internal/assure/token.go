package assure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"reverify/internal/fault"
)

// tokenCache fetches OAuth2 client-credentials tokens (HTTP Basic client
// authentication, form body, scope signicat-api) with
// golang.org/x/oauth2/clientcredentials, caches one, renews it before it
// expires, and drops it when the API refuses it. One fetch at a time: callers
// that find no valid token wait for the fetch in progress.
type tokenCache struct {
	cfg         clientcredentials.Config
	httpClient  *http.Client
	renewBefore time.Duration
	timeout     time.Duration // how long no token may be had before every call is refused
	owner       *Client       // its policy, bucket and observer

	mu      sync.Mutex
	token   *oauth2.Token
	renewAt time.Time

	// failingSince is when the token endpoint began failing (Unix ns; 0:
	// it is not). Read without mu (Client.Waits).
	failingSince atomic.Int64
}

func newTokenCache(cfg Config, owner *Client) *tokenCache {
	return &tokenCache{
		cfg: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       []string{cfg.Scope},
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		httpClient:  cfg.HTTPClient,
		renewBefore: cfg.TokenRenewBefore,
		timeout:     cfg.TokenTimeout,
		owner:       owner,
	}
}

// get returns a valid access token, fetching one when needed, within the
// budget of the call that needs it (by its deadline). A token due for
// renewal but not yet expired is renewed with one attempt, and used on when
// that fails: a failing token endpoint does not hold calls up while the
// token still works. Without a valid token the fetch is retried under the
// client's policy; once none could be had for the client's TokenTimeout,
// every call fails with fault.Abort: the run cannot go on.
func (t *tokenCache) get(ctx context.Context, deadline time.Time) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.token != nil && now.Before(t.renewAt) {
		return t.token.AccessToken, nil
	}
	if old := t.token; old != nil && !old.Expiry.IsZero() && now.Before(old.Expiry) {
		tok, err := t.renewOnce(ctx, deadline)
		if err != nil {
			if ctx.Err() != nil {
				return "", err
			}
			t.failingSince.CompareAndSwap(0, now.UnixNano())
			t.renewAt = now.Add(min(5*time.Second, old.Expiry.Sub(now)/2)) // try again soon
			return old.AccessToken, nil
		}
		t.keep(tok)
		return tok.AccessToken, nil
	}
	tok, err := t.fetch(ctx, deadline)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		now = time.Now()
		t.failingSince.CompareAndSwap(0, now.UnixNano())
		if since := time.Unix(0, t.failingSince.Load()); t.timeout > 0 && now.Sub(since) >= t.timeout {
			return "", fault.Mark(fault.Abort, fmt.Errorf("token: no access token from %s for %s (api.token_timeout): %w",
				t.cfg.TokenURL, now.Sub(since).Round(time.Second), err))
		}
		return "", err
	}
	t.keep(tok)
	return tok.AccessToken, nil
}

// keep caches a new token.
func (t *tokenCache) keep(tok *oauth2.Token) {
	t.failingSince.Store(0)
	t.token = tok
	t.renewAt = renewTime(tok, t.renewBefore, time.Now())
}

// renewOnce asks for a new token once, through the shared bucket, within
// the deadline (if any) of the call that needs it.
func (t *tokenCache) renewOnce(ctx context.Context, deadline time.Time) (*oauth2.Token, error) {
	wctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if err := t.owner.limit.wait(wctx); err != nil {
		return nil, err
	}
	return t.fetchOnce(ctx, 1)
}

// invalidate drops the cached token if it is still the one the API refused
// (another caller may already have replaced it).
func (t *tokenCache) invalidate(refused string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != nil && t.token.AccessToken == refused {
		t.token = nil
	}
}

// renewTime is when a token should be replaced: renewBefore (default 60 s,
// at most a fifth of the lifetime) before it expires. A token without expiry
// is kept until refused.
func renewTime(tok *oauth2.Token, renewBefore time.Duration, now time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return now.Add(100 * 365 * 24 * time.Hour)
	}
	life := tok.Expiry.Sub(now)
	margin := renewBefore
	if margin <= 0 {
		margin = 60 * time.Second
	}
	if margin > life/5 {
		margin = life / 5
	}
	return tok.Expiry.Add(-margin)
}

// fetch asks the token endpoint for a token: a call of its own under the
// client's policy (the shared bucket, retries of transport errors, 429 and
// 5xx), within its own budget and the budget of the call that needs it
// (deadline). The token request is idempotent: repeating it only issues
// another token.
func (t *tokenCache) fetch(ctx context.Context, deadline time.Time) (*oauth2.Token, error) {
	c := t.owner
	start := time.Now()
	if own := start.Add(c.retry.MaxElapsed); deadline.IsZero() || own.Before(deadline) {
		deadline = own
	}
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last error
	for n := 1; ; n++ {
		if err := c.limit.wait(wctx); err != nil {
			return nil, c.ended(ctx, EndpointToken, n-1, start, last, err)
		}
		tok, err := t.fetchOnce(ctx, n)
		if err == nil {
			return tok, nil
		}
		if ctx.Err() != nil {
			return nil, c.ended(ctx, EndpointToken, n, start, err, ctx.Err())
		}
		if fault.Of(err) != fault.Retry {
			return nil, err
		}
		last = err
		if err := c.backoff(ctx, wctx, EndpointToken, n, start, err); err != nil {
			return nil, err
		}
	}
}

func (t *tokenCache) fetchOnce(ctx context.Context, n int) (tok *oauth2.Token, err error) {
	c := t.owner
	began := time.Now()
	status := 0
	var retryAfter time.Duration
	defer func() {
		c.observe(ctx, Attempt{Endpoint: EndpointToken, Method: http.MethodPost, StatusCode: status,
			Latency: time.Since(began), Number: n, Err: err, RetryAfter: retryAfter})
	}()
	actx, cancel := context.WithTimeout(ctx, c.reqLimit)
	defer cancel()
	actx = context.WithValue(actx, oauth2.HTTPClient, t.httpClient)
	tok, err = t.cfg.Token(actx)
	if err == nil {
		status = http.StatusOK
		if tok.AccessToken == "" {
			return nil, &APIError{Endpoint: EndpointToken, Method: http.MethodPost, StatusCode: status,
				RawBody: "token endpoint answered without an access_token"}
		}
		return tok, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status = re.Response.StatusCode
		retryAfter = parseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
		ae := &APIError{Endpoint: EndpointToken, Method: http.MethodPost, StatusCode: status, RetryAfter: retryAfter}
		if json.Unmarshal(re.Body, &ae.Body) != nil || (ae.Body.OAuthError == "" && ae.Body.Title == "") {
			ae.Body = ErrorBody{OAuthError: re.ErrorCode, OAuthDescription: re.ErrorDescription}
			if ae.Body.OAuthError == "" {
				ae.RawBody = truncate(string(re.Body), 200)
			}
		}
		return nil, ae
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, &TransportError{Endpoint: EndpointToken, Sent: !notSent(err), Err: err}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

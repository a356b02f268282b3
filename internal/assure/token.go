package assure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
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
	owner       *Client // for the observer and retry policy

	mu      sync.Mutex
	token   *oauth2.Token
	renewAt time.Time
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
		owner:       owner,
	}
}

// get returns a valid access token, fetching one when needed.
func (t *tokenCache) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != nil && time.Now().Before(t.renewAt) {
		return t.token.AccessToken, nil
	}
	tok, err := t.fetch(ctx)
	if err != nil {
		return "", err
	}
	t.token = tok
	t.renewAt = renewTime(tok, t.renewBefore, time.Now())
	return tok.AccessToken, nil
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

// fetch asks the token endpoint for a token, retrying transient failures
// (transport errors, 429, 5xx) with the client's policy. The token request
// is idempotent: repeating it only issues another token.
func (t *tokenCache) fetch(ctx context.Context) (*oauth2.Token, error) {
	c := t.owner
	start := time.Now()
	for n := 1; ; n++ {
		tok, err := t.fetchOnce(ctx, n)
		if err == nil {
			return tok, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("token: %w", ctx.Err())
		}
		if ClassOf(err) != Retryable {
			return nil, err
		}
		wait := c.retry.Backoff(n)
		if ra, ok := RetryAfterOf(err); ok {
			wait = min(ra, c.retry.MaxRetryAfter)
		}
		throttled := StatusCodeOf(err) == http.StatusTooManyRequests
		if (n >= c.retry.MaxAttempts && !throttled) || time.Since(start)+wait > c.retry.MaxElapsed {
			return nil, fmt.Errorf("token: giving up after %d attempts: %w", n, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
	}
}

func (t *tokenCache) fetchOnce(ctx context.Context, n int) (tok *oauth2.Token, err error) {
	obs := t.owner.obs
	if err := obs.Wait(ctx, EndpointToken); err != nil {
		return nil, err
	}
	began := time.Now()
	status := 0
	defer func() {
		obs.Done(ctx, Attempt{Endpoint: EndpointToken, Method: http.MethodPost, StatusCode: status,
			Latency: time.Since(began), Number: n, Err: err})
	}()
	actx, cancel := context.WithTimeout(ctx, t.owner.reqLimit)
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
		ae := &APIError{Endpoint: EndpointToken, Method: http.MethodPost, StatusCode: status,
			RetryAfter: parseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())}
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

package assure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Class says what the caller should do about a failed call.
type Class int

const (
	// Retryable: a transient failure (transport error, 408, 429, 5xx); the
	// same call may succeed later. For calls that are not idempotent, see
	// OutcomeUnknownError: the state must be read back before trying again.
	Retryable Class = iota + 1
	// Permanent: this request will not succeed as sent (other 4xx); give up
	// on this record.
	Permanent
	// Fatal: no request of this run will succeed (credentials refused after a
	// token refresh, 403, token endpoint refusing the client); abort the run.
	Fatal
	// Canceled: the caller's context ended.
	Canceled
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	case Fatal:
		return "fatal"
	case Canceled:
		return "canceled"
	}
	return "unknown"
}

// APIError is an HTTP error answer of the Assure API.
type APIError struct {
	Endpoint   Endpoint
	Method     string
	StatusCode int
	Body       ErrorBody
	// RawBody is the start of a body that did not decode as an error body.
	RawBody string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	// AfterTokenRefresh is set on a 401 that persisted after a fresh token.
	AfterTokenRefresh bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Endpoint, e.StatusCode)
	if t := e.Body.Title; t != "" {
		b.WriteString(": " + t)
	}
	if d := e.Body.Detail; d != "" && d != e.Body.Title {
		b.WriteString(": " + d)
	}
	if e.Body.OAuthError != "" {
		b.WriteString(": " + e.Body.OAuthError)
		if e.Body.OAuthDescription != "" {
			b.WriteString(" (" + e.Body.OAuthDescription + ")")
		}
	}
	for _, p := range e.Body.InvalidParams {
		fmt.Fprintf(&b, "; %s: %s", p.Name, p.Reason)
	}
	if e.Body.Title == "" && e.Body.Detail == "" && e.Body.OAuthError == "" && e.RawBody != "" {
		b.WriteString(": " + e.RawBody)
	}
	if e.Body.TraceID != "" {
		b.WriteString(" (traceId " + e.Body.TraceID + ")")
	}
	if e.AfterTokenRefresh {
		b.WriteString(" (after a token refresh: check the client id, secret and the API client's Assure permission)")
	}
	return b.String()
}

// Code is a short machine-readable code for reports: "http_404",
// "http_429" or the token endpoint's OAuth2 error.
func (e *APIError) Code() string {
	if e.Body.OAuthError != "" {
		return e.Body.OAuthError
	}
	return fmt.Sprintf("http_%d", e.StatusCode)
}

// Class implements the classification of API answers.
func (e *APIError) Class() Class {
	switch {
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode >= 500:
		return Retryable
	case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		return Fatal
	case e.Endpoint == EndpointToken && e.StatusCode >= 400:
		// invalid_client, unauthorized_client, invalid_scope: nothing will work.
		return Fatal
	}
	return Permanent
}

// OutcomeUnknownError is returned by CreateDossier, CreateProcess and
// StartVerification when the request may have reached the API but no
// answer was read (connection reset after sending, timeout, 5xx, truncated
// body). The client never repeats such a call: the caller must read the state
// back (get dossier / get process) before deciding to call again.
type OutcomeUnknownError struct {
	Endpoint Endpoint
	Err      error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s: outcome unknown (the request may have been applied; read the state back before retrying): %v", e.Endpoint, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// IsOutcomeUnknown reports whether err is (or wraps) an OutcomeUnknownError.
func IsOutcomeUnknown(err error) bool {
	var ou *OutcomeUnknownError
	return errors.As(err, &ou)
}

// TransportError is a failure below HTTP: connection refused or reset,
// timeout, truncated or undecodable body.
type TransportError struct {
	Endpoint Endpoint
	// Sent is false when the request certainly did not reach the server
	// (for example connection refused): repeating it is always safe.
	Sent bool
	Err  error
}

func (e *TransportError) Error() string { return fmt.Sprintf("%s: %v", e.Endpoint, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// ClassOf classifies any error returned by the client.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class()
	}
	var te *TransportError
	if errors.As(err, &te) {
		if errors.Is(err, context.Canceled) {
			return Canceled
		}
		return Retryable
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return Fatal
	}
	return Permanent
}

// RetryAfterOf returns the Retry-After the server asked for, if any.
func RetryAfterOf(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// StatusCodeOf returns the HTTP status of an API error, or 0.
func StatusCodeOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// ConfigError is a client misconfiguration.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return "assure client: " + e.Msg }

// notSent reports whether a transport error happened before the request could
// have reached the server.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

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

	"reverify/internal/fault"
)

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

// Fault classifies an API answer: 408, 429 and 5xx are temporary (Retry);
// 401 and 403, and any refusal of the token endpoint (invalid_client,
// unauthorized_client, invalid_scope), mean no request of the run will
// succeed (Abort); every other 4xx concerns this request only (Record). For
// calls that are not idempotent a temporary failure becomes an
// OutcomeUnknownError: the state is read back before trying again.
func (e *APIError) Fault() fault.Kind {
	switch {
	case e.StatusCode == http.StatusRequestTimeout, e.StatusCode == http.StatusTooManyRequests,
		e.StatusCode >= 500:
		return fault.Retry
	case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		return fault.Abort
	case e.Endpoint == EndpointToken && e.StatusCode >= 400:
		return fault.Abort
	}
	return fault.Record
}

// OutcomeUnknownError is returned by CreateDossier, CreateProcess and
// StartVerification when the request may have reached the API but no
// answer was read (connection reset after sending, timeout, 5xx, truncated
// body), and the caller's read-back could not settle it (or there was none).
// The client never repeats such a call blindly: it asks the caller's
// read-back first (see ReadBack). Its Kind is that of the failure it wraps.
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
	// Status is the HTTP status of an answer whose body was lost or did not
	// decode; 0 when no answer came at all (the request may still be on its
	// way).
	Status int
	Err    error
}

func (e *TransportError) Error() string { return fmt.Sprintf("%s: %v", e.Endpoint, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// Fault: a transport failure is temporary (Retry), unless it is the
// caller's context being canceled (Abort).
func (e *TransportError) Fault() fault.Kind {
	if errors.Is(e.Err, context.Canceled) {
		return fault.Abort
	}
	return fault.Retry
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

// Fault: a misconfigured client is a configuration error.
func (e *ConfigError) Fault() fault.Kind { return fault.Config }

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

package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"reverify/internal/assure"
)

// apiError is an error answered with the StandardException body.
type apiError struct {
	status int
	title  string
	detail string
	header http.Header // extra response headers (WWW-Authenticate, Allow)
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.title, e.detail) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Bad Request", detail: fmt.Sprintf(format, args...)}
}

func notFound(detail string) *apiError {
	return &apiError{status: http.StatusNotFound, title: "Not Found", detail: detail}
}

func conflict() *apiError {
	return &apiError{status: http.StatusConflict, title: "Conflict", detail: "Conflict found while processing the request."}
}

// Details of the documented 404s.
const (
	detailDossierNotFound = "Dossier not found."
	detailProcessNotFound = "The process was not found."
	detailImageNotFound   = "Image not found."
	detailRouteNotFound   = "The requested resource was not found."
)

// writeError answers err with the StandardException body.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	typ := "base:client-problem"
	if e.status >= 500 {
		typ = "base:server-problem"
	}
	title := e.title
	if title == "" {
		title = http.StatusText(e.status)
	}
	writeJSON(w, e.status, assure.ErrorBody{
		Instance: r.URL.Path,
		Method:   r.Method,
		Status:   e.status,
		Type:     typ,
		Title:    title,
		Detail:   e.detail,
		TraceID:  traceID(),
	})
}

// writeJSON answers v as JSON with an exact Content-Length. HTML escaping is
// off so that "Not black & white copy" is sent as written.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own types are encoded: this is a programming error.
		http.Error(w, "emulator: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// traceID is 32 random hex characters, like the API's.
func traceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// randomToken is an opaque random string (process authorization tokens).
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

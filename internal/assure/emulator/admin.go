package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"
)

// serveAdmin serves /_emulator/… (no bearer token, no faults, not counted):
//
//	POST /_emulator/reset                         drop all state and counters → 204
//	GET  /_emulator/counters                      Counters as JSON
//	GET  /_emulator/faults                        the fault configuration
//	PUT  /_emulator/faults                        replace it (JSON or YAML) → 200 with the new one
//	GET  /_emulator/config                        effective config, secret redacted
//	POST /_emulator/processes/{processId}/cancel  cancel a non-final process → 200 Process
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, adminPrefix), "/")
	route := func(method string, h func() error) {
		if r.Method != method {
			hd := http.Header{}
			hd.Set("Allow", method)
			writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, title: "Method Not Allowed",
				detail: "Request method '" + r.Method + "' is not supported.", header: hd})
			return
		}
		if err := h(); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = &apiError{status: http.StatusInternalServerError, detail: err.Error()}
			}
			writeError(w, r, ae)
		}
	}
	switch {
	case path == "reset":
		route(http.MethodPost, func() error {
			e.Reset()
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
	case path == "counters":
		route(http.MethodGet, func() error {
			writeJSON(w, http.StatusOK, e.Counters())
			return nil
		})
	case path == "config":
		route(http.MethodGet, func() error { return writeYAMLAsJSON(w, e.Config().redacted()) })
	case path == "faults" && r.Method == http.MethodGet:
		route(http.MethodGet, func() error { return writeYAMLAsJSON(w, e.Config().Faults) })
	case path == "faults":
		route(http.MethodPut, func() error {
			body, err := readBody(r)
			if err != nil {
				return err
			}
			f, err := ParseFaults(body)
			if err != nil {
				return badRequest("%v", err)
			}
			if err := e.SetFaults(f); err != nil {
				return badRequest("%v", err)
			}
			return writeYAMLAsJSON(w, e.Config().Faults)
		})
	case strings.HasPrefix(path, "processes/") && strings.HasSuffix(path, "/cancel"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "processes/"), "/cancel")
		route(http.MethodPost, func() error {
			v, err := e.Cancel(id)
			switch {
			case errors.Is(err, ErrNotFound):
				return notFound(detailProcessNotFound)
			case errors.Is(err, ErrConflict):
				return conflict()
			case err != nil:
				return err
			}
			writeJSON(w, http.StatusOK, v)
			return nil
		})
	default:
		writeError(w, r, notFound(detailRouteNotFound))
	}
}

// writeYAMLAsJSON answers v as JSON with its YAML keys and YAML scalars
// (durations as "25s"), so the admin endpoints show the config file's shape.
func writeYAMLAsJSON(w http.ResponseWriter, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode yaml: %w", err)
	}
	var generic any
	if err := yaml.Unmarshal(b, &generic); err != nil {
		return fmt.Errorf("decode yaml: %w", err)
	}
	writeJSON(w, http.StatusOK, generic)
	return nil
}

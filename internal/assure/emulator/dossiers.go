package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/google/uuid"

	"reverify/internal/assure"
)

// maxListedDossiers is how many dossiers GET /dossiers returns.
const maxListedDossiers = 100

// maxBodyPrealloc bounds the buffer allocated from a request's
// Content-Length before reading it.
const maxBodyPrealloc = 64 << 20

// readBody reads the whole request body (already size-limited).
func readBody(r *http.Request) ([]byte, error) { return readBodyInto(r, nil) }

// readBodyInto reads the whole request body into buf (reusing its capacity).
// A body of known length is read into one buffer of that size, not grown by
// doubling.
func readBodyInto(r *http.Request, buf []byte) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= maxBodyPrealloc && int64(cap(buf)) <= n {
		buf = make([]byte, 0, n+1)
	}
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	b, err := readFull(r.Body, buf[:0])
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest("Request body larger than %d bytes.", mbe.Limit)
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// readFull is io.ReadAll into b.
func readFull(r io.Reader, b []byte) ([]byte, error) {
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// readJSON decodes an optional JSON body into v: an empty body leaves v
// unchanged.
func readJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("Malformed JSON request body.")
	}
	return nil
}

func (d *dossier) view() assure.Dossier {
	d.mu.Lock()
	defer d.mu.Unlock()
	return assure.Dossier{DossierID: d.id, ExternalReference: d.externalRef, CreatedAt: assure.NewTime(d.createdAt), UpdatedAt: assure.NewTime(d.updatedAt)}
}

// createDossier serves POST /dossiers.
func (e *Emulator) createDossier(w http.ResponseWriter, r *http.Request, _ params) error {
	var req assure.CreateDossierRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	now := e.clock.emulated()
	d := &dossier{id: uuid.NewString(), externalRef: req.ExternalReference, createdAt: now, updatedAt: now}
	e.store.addDossier(d)
	e.counters.add(func(c *Counters) { c.DossiersCreated++ })
	writeJSON(w, http.StatusCreated, d.view())
	return nil
}

// listDossiers serves GET /dossiers: the last 100 dossiers, newest first.
func (e *Emulator) listDossiers(w http.ResponseWriter, _ *http.Request, _ params) error {
	ds := e.store.liveDossiers()
	sort.Slice(ds, func(i, j int) bool { return ds[i].seq > ds[j].seq })
	if len(ds) > maxListedDossiers {
		ds = ds[:maxListedDossiers]
	}
	out := make([]assure.Dossier, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.view())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getDossier serves GET /dossiers/{dossierId}.
func (e *Emulator) getDossier(w http.ResponseWriter, _ *http.Request, p params) error {
	d, ok := e.store.dossier(p.dossierID)
	if !ok {
		return notFound(detailDossierNotFound)
	}
	d.mu.Lock()
	procs := append([]*process(nil), d.processes...)
	d.mu.Unlock()
	resp := assure.DossierResponse{Dossier: d.view(), Processes: make([]assure.SlimProcess, 0, len(procs))}
	for _, q := range procs {
		v, ok, err := e.processView(q)
		switch {
		case err != nil:
			return err
		case !ok:
			continue // deleted meanwhile
		}
		resp.Processes = append(resp.Processes, assure.SlimProcess{
			ProcessID: v.ProcessID, Provider: v.Provider, ProcessType: v.ProcessType,
			Status: v.Status, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		})
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// deleteDossier serves DELETE /dossiers/{dossierId}: the dossier and all
// its processes (and their images) are dropped.
func (e *Emulator) deleteDossier(w http.ResponseWriter, _ *http.Request, p params) error {
	n, ok := e.store.deleteDossier(p.dossierID)
	if !ok {
		return notFound(detailDossierNotFound)
	}
	e.counters.add(func(c *Counters) {
		c.DossiersDeleted++
		c.ProcessesDeleted += int64(n)
	})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

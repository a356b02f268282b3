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

// readBody reads the whole request body (already size-limited).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest("Request body larger than %d bytes.", mbe.Limit)
		}
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
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
		v, ok := e.processView(q)
		if !ok {
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

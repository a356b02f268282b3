package emulator

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strconv"
	"time"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
)

// download serves GET .../processes/{processId}/download: 204 until the
// process is final, and for failed or canceled processes; otherwise a zip
// with front.jpg, back.jpg (two-page documents), selfie.jpg (documentSelfie)
// and result.json (the Process JSON). PNG uploads are re-encoded to JPEG.
func (e *Emulator) download(w http.ResponseWriter, _ *http.Request, p params) error {
	proc, aerr := e.store.process(p.dossierID, p.processID)
	if aerr != nil {
		return aerr
	}
	v, ok, err := e.processView(proc)
	switch {
	case err != nil:
		return err
	case !ok:
		return notFound(detailProcessNotFound)
	}
	switch v.Status {
	case assure.StatusAccepted, assure.StatusRejected, assure.StatusInconclusive:
	default:
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	proc.mu.Lock()
	images := proc.images // never mutated after start
	proc.mu.Unlock()
	now := e.clock.emulated()
	z, err := buildZip(v, images, e.images.store, now)
	if err != nil {
		if proc.isDeleted() {
			return notFound(detailProcessNotFound) // its spilled images went with it
		}
		return fmt.Errorf("download %s: %w", proc.id, err)
	}
	name := fmt.Sprintf("%s_%s_%s.zip", p.dossierID, proc.id, now.UTC().Format("20060102T150405"))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(z)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(z)
	return nil
}

// buildZip writes the result zip.
func buildZip(v assure.Process, images map[string]*storedImage, store *imageStore, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Images are stored (JPEG does not compress), result.json deflated.
	add := func(name string, data []byte, method uint16) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: now.UTC()})
		if err != nil {
			return fmt.Errorf("zip %s: %w", name, err)
		}
		if _, err := f.Write(data); err != nil {
			return fmt.Errorf("zip %s: %w", name, err)
		}
		return nil
	}
	for _, dep := range depictionOrder() {
		img, ok := images[dep]
		if !ok {
			continue
		}
		raw, err := store.bytes(img)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", dep, err)
		}
		data, err := asJPEG(upload{data: raw, mime: img.mime})
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", dep, err)
		}
		if err := add(dep+".jpg", data, zip.Store); err != nil {
			return nil, err
		}
	}
	var result bytes.Buffer
	enc := json.NewEncoder(&result)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode result.json: %w", err)
	}
	if err := add("result.json", result.Bytes(), zip.Deflate); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("close zip: %w", err)
	}
	return buf.Bytes(), nil
}

// asJPEG returns JPEG bytes: JPEG uploads as they are, PNG re-encoded.
func asJPEG(u upload) ([]byte, error) {
	if u.mime == pictureid.JPEG {
		return u.data, nil
	}
	img, _, err := image.Decode(bytes.NewReader(u.data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", u.mime, err)
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("encode JPEG: %w", err)
	}
	return out.Bytes(), nil
}

package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"net/http"
	"strconv"
	"strings"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
)

const msgBadDataURL = "Image encoded is in the wrong format. It must follow the dataURL format."

// setImagesBodyLimit is the largest set-images body read: three data URLs of
// images up to twice the image limit (so that an image just over the limit
// gets the precise error) plus slack.
func setImagesBodyLimit(maxImage int64) int64 {
	return 3*int64(base64.StdEncoding.EncodedLen(int(2*maxImage))) + 1<<20
}

// setImagesRequest is UploadImageRequest; nil fields are absent.
type setImagesRequest struct {
	Front  *string `json:"front"`
	Back   *string `json:"back"`
	Selfie *string `json:"selfie"`
}

// parseDataURL decodes `data:image/jpeg;base64,...` or
// `data:image/png;base64,...` and checks that the bytes are what the MIME
// type says, and that the image's header declares no more than maxPixels.
func parseDataURL(s string, maxBytes, maxPixels int64) (upload, *apiError) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return upload{}, badRequest(msgBadDataURL)
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return upload{}, badRequest(msgBadDataURL)
	}
	mime, enc, _ := strings.Cut(strings.ToLower(meta), ";")
	if enc != "base64" {
		return upload{}, badRequest(msgBadDataURL)
	}
	if mime != pictureid.JPEG && mime != pictureid.PNG {
		return upload{}, badRequest("Unsupported image type '%s'; use image/jpeg or image/png.", mime)
	}
	if int64(base64.StdEncoding.DecodedLen(len(payload))) > maxBytes+2 {
		return upload{}, badRequest("Image larger than %d bytes.", maxBytes)
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return upload{}, badRequest("Image is not valid base64: %v.", err)
	}
	if len(data) == 0 {
		return upload{}, badRequest("Image is empty.")
	}
	if int64(len(data)) > maxBytes {
		return upload{}, badRequest("Image larger than %d bytes.", maxBytes)
	}
	if sniff := pictureid.Sniff(data); sniff != mime {
		if sniff == "" {
			return upload{}, badRequest("Image content is neither JPEG nor PNG.")
		}
		return upload{}, badRequest("Image content is %s but the data URL declares %s.", sniff, mime)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return upload{}, badRequest("Image is %d×%d pixels, more than %d.", cfg.Width, cfg.Height, maxPixels)
	}
	return upload{data: data, mime: mime}, nil
}

// depictionAllowed answers the 400 for a depiction the process cannot have.
func (p *process) depictionAllowed(dep string) *apiError {
	switch dep {
	case assure.DepictionFront:
	case assure.DepictionBack:
		if p.pages < 2 {
			return badRequest("Document %d has one page: there is no back image.", p.documentID)
		}
	case assure.DepictionSelfie:
		if p.processType != pictureid.ProcessDocumentSelfie {
			return badRequest("Process type %s has no selfie.", p.processType)
		}
	default:
		return badRequest("Depiction '%s' is not provided by %s.", dep, assure.ProviderPictureID)
	}
	return nil
}

// setImages serves POST .../processes/{processId}/images.
func (e *Emulator) setImages(w http.ResponseWriter, r *http.Request, p params) error {
	proc, aerr := e.store.process(p.dossierID, p.processID)
	if aerr != nil {
		return aerr
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var req setImagesRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("Request body is required.")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return badRequest("Malformed JSON request body.")
	}
	fields := []struct {
		dep string
		v   *string
	}{{assure.DepictionFront, req.Front}, {assure.DepictionBack, req.Back}, {assure.DepictionSelfie, req.Selfie}}
	got := map[string]upload{}
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		if aerr := proc.depictionAllowed(f.dep); aerr != nil {
			return aerr
		}
		up, aerr := parseDataURL(*f.v, e.cfg.MaxImageBytes, e.cfg.MaxImagePixels)
		if aerr != nil {
			aerr.detail = f.dep + ": " + aerr.detail
			return aerr
		}
		got[f.dep] = up
	}
	if len(got) == 0 {
		return badRequest("No image in the request: send front, back or selfie.")
	}
	now := e.clock.emulated()
	proc.mu.Lock()
	switch {
	case proc.deleted:
		proc.mu.Unlock()
		return notFound(detailProcessNotFound)
	case proc.started || !proc.canceledAt.IsZero():
		proc.mu.Unlock()
		return conflict()
	}
	if proc.images == nil {
		proc.images = map[string]upload{}
	}
	for dep, up := range got {
		proc.images[dep] = up
	}
	if proc.firstUpload.IsZero() {
		proc.firstUpload = now
	}
	proc.updatedAt = now
	proc.mu.Unlock()
	e.counters.add(func(c *Counters) { c.ImagesUploaded += int64(len(got)) })
	w.WriteHeader(http.StatusCreated)
	return nil
}

// getImage serves GET .../processes/{processId}/images?depiction=….
func (e *Emulator) getImage(w http.ResponseWriter, r *http.Request, p params) error {
	proc, aerr := e.store.process(p.dossierID, p.processID)
	if aerr != nil {
		return aerr
	}
	dep := r.URL.Query().Get("depiction")
	if dep == "" {
		return badRequest("The query parameter 'depiction' is required.")
	}
	if aerr := proc.depictionAllowed(dep); aerr != nil {
		return aerr
	}
	proc.mu.Lock()
	deleted := proc.deleted
	img, ok := proc.images[dep]
	proc.mu.Unlock()
	switch {
	case deleted:
		return notFound(detailProcessNotFound)
	case !ok:
		return notFound(detailImageNotFound)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(img.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img.data)
	return nil
}

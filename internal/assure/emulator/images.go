package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"strconv"

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

// maxPooledBody is the largest set-images body buffer kept for reuse.
const maxPooledBody = 8 << 20

// setImagesRequest is UploadImageRequest; nil fields are absent.
type setImagesRequest struct {
	Front  *string `json:"front"`
	Back   *string `json:"back"`
	Selfie *string `json:"selfie"`
}

// parseDataURL decodes `data:image/jpeg;base64,...` or
// `data:image/png;base64,...` and checks that the bytes are what the MIME
// type says, and that the image's header declares no more than maxPixels.
func parseDataURL(s []byte, maxBytes, maxPixels int64) (upload, *apiError) {
	rest, ok := bytes.CutPrefix(s, []byte("data:"))
	if !ok {
		return upload{}, badRequest(msgBadDataURL)
	}
	meta, payload, ok := bytes.Cut(rest, []byte(","))
	if !ok {
		return upload{}, badRequest(msgBadDataURL)
	}
	mimeB, enc, _ := bytes.Cut(bytes.ToLower(meta), []byte(";"))
	if string(enc) != "base64" {
		return upload{}, badRequest(msgBadDataURL)
	}
	mime := string(mimeB)
	if mime != pictureid.JPEG && mime != pictureid.PNG {
		return upload{}, badRequest("Unsupported image type '%s'; use image/jpeg or image/png.", mime)
	}
	if int64(base64.StdEncoding.DecodedLen(len(payload))) > maxBytes+2 {
		return upload{}, badRequest("Image larger than %d bytes.", maxBytes)
	}
	data := make([]byte, base64.StdEncoding.DecodedLen(len(payload)))
	n, err := base64.StdEncoding.Decode(data, payload)
	if err != nil {
		return upload{}, badRequest("Image is not valid base64: %v.", err)
	}
	data = data[:n:n]
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
	// The body (mostly base64) is read into a reused buffer: nothing keeps
	// a reference to it after the request.
	bp, _ := e.bodies.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	body, err := readBodyInto(r, *bp)
	defer func() {
		if cap(body) <= maxPooledBody {
			*bp = body[:0]
			e.bodies.Put(bp)
		}
	}()
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("Request body is required.")
	}
	values, aerr := e.setImagesValues(body)
	if aerr != nil {
		return aerr
	}
	var got [3]*storedImage // by depictionOrder
	n := 0
	release := func() { e.images.store.release(got[:]...) }
	for i, dep := range depictionOrder() {
		v := values[i]
		if !v.present {
			continue
		}
		if aerr := proc.depictionAllowed(dep); aerr != nil {
			release()
			return aerr
		}
		img, aerr := e.storeImage(v)
		if aerr != nil {
			release()
			aerr.detail = dep + ": " + aerr.detail
			return aerr
		}
		got[i] = img
		n++
	}
	if n == 0 {
		return badRequest("No image in the request: send front, back or selfie.")
	}
	now := e.clock.emulated()
	proc.mu.Lock()
	switch {
	case proc.deleted:
		proc.mu.Unlock()
		release()
		return notFound(detailProcessNotFound)
	case proc.started || !proc.canceledAt.IsZero():
		proc.mu.Unlock()
		release()
		return conflict()
	}
	if proc.images == nil {
		proc.images = map[string]*storedImage{}
	}
	var replaced [3]*storedImage
	for i, dep := range depictionOrder() {
		if got[i] != nil {
			replaced[i] = proc.images[dep]
			proc.images[dep] = got[i]
		}
	}
	if proc.firstUpload.IsZero() {
		proc.firstUpload = now
	}
	proc.updatedAt = now
	proc.mu.Unlock()
	e.images.store.release(replaced[:]...)
	e.counters.add(func(c *Counters) { c.ImagesUploaded += int64(n) })
	w.WriteHeader(http.StatusCreated)
	return nil
}

// imageValue is one depiction's value in a set-images body.
type imageValue struct {
	present bool
	text    []byte // the data URL
	// fast: text is the JSON string's raw bytes, printable ASCII without
	// escapes (as sent), and digest is its SHA-256; known is set when a
	// data URL of that digest was accepted before (as that image).
	fast   bool
	digest uploadKey
	known  *imageKey
}

// setImagesValues reads the set-images body: the front, back and selfie
// values in depictionOrder. The common body (an object of those keys with
// string values of printable ASCII, no escapes) is scanned in place;
// anything else goes through encoding/json, with the same result.
func (e *Emulator) setImagesValues(body []byte) ([3]imageValue, *apiError) {
	if v, ok := e.scanSetImages(body); ok {
		return v, nil
	}
	var req setImagesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return [3]imageValue{}, badRequest("Malformed JSON request body.")
	}
	var v [3]imageValue
	for i, s := range []*string{req.Front, req.Back, req.Selfie} {
		if s != nil {
			v[i] = imageValue{present: true, text: []byte(*s)}
		}
	}
	return v, nil
}

// storeImage decodes and checks a data URL (unless the same text was
// accepted before) and returns its stored image, with one reference.
func (e *Emulator) storeImage(v imageValue) (*storedImage, *apiError) {
	if v.known != nil {
		if img := e.images.store.acquire(*v.known); img != nil {
			return img, nil
		}
		// Accepted before, its bytes since dropped: decode them again
		// (the checks pass as they did) without hashing them.
		up, aerr := parseDataURL(v.text, e.cfg.MaxImageBytes, e.cfg.MaxImagePixels)
		if aerr != nil {
			return nil, aerr
		}
		return e.images.store.add(*v.known, up.data, up.mime, true), nil
	}
	up, aerr := parseDataURL(v.text, e.cfg.MaxImageBytes, e.cfg.MaxImagePixels)
	if aerr != nil {
		return nil, aerr
	}
	key := imageKey(sha256.Sum256(up.data))
	if v.fast {
		e.images.rememberUpload(v.digest, key)
	}
	return e.images.store.add(key, up.data, up.mime, false), nil
}

// scanSetImages parses body when it is a JSON object whose keys are front,
// back or selfie and whose values are null or strings of printable ASCII
// without escapes (what every client sends): then the strings are their
// raw bytes, and the answer is what encoding/json would decode (the last of
// duplicate keys wins, null is absent). ok is false for anything else.
//
// A string is known safe without reading it byte by byte when the SHA-256
// of its raw bytes (up to the first quote) is that of a data URL accepted
// before, which was checked safe then; a string with an escaped quote ends,
// so read, in a backslash, which no safe string contains.
func (e *Emulator) scanSetImages(body []byte) (v [3]imageValue, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return v, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return v, skipSpace(body, i+1) == len(body)
	}
	for {
		// "key"
		if i >= len(body) || body[i] != '"' {
			return v, false
		}
		end := bytes.IndexByte(body[i+1:], '"')
		if end < 0 {
			return v, false
		}
		slot := -1
		switch string(body[i+1 : i+1+end]) {
		case assure.DepictionFront:
			slot = 0
		case assure.DepictionBack:
			slot = 1
		case assure.DepictionSelfie:
			slot = 2
		default:
			return v, false // unknown or case-folded keys: encoding/json decides
		}
		i = skipSpace(body, i+2+end)
		if i >= len(body) || body[i] != ':' {
			return v, false
		}
		i = skipSpace(body, i+1)
		// null or "value"
		switch {
		case bytes.HasPrefix(body[i:], []byte("null")):
			v[slot] = imageValue{}
			i += len("null")
		case i < len(body) && body[i] == '"':
			end := bytes.IndexByte(body[i+1:], '"')
			if end < 0 {
				return v, false
			}
			text := body[i+1 : i+1+end]
			val := imageValue{present: true, text: text, fast: true, digest: sha256.Sum256(text)}
			if img, known := e.images.upload(val.digest); known {
				val.known = &img
			} else if !printableASCII(text) {
				return v, false
			}
			v[slot] = val
			i += 2 + end
		default:
			return v, false
		}
		i = skipSpace(body, i)
		if i >= len(body) {
			return v, false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return v, skipSpace(body, i+1) == len(body)
		default:
			return v, false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// printableASCII reports whether b has only bytes 0x20..0x7E other than the
// backslash: a JSON string of such bytes decodes to itself.
func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E || c == '\\' {
			return false
		}
	}
	return true
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
	img, ok := proc.images[dep] // its bytes never change
	proc.mu.Unlock()
	switch {
	case deleted:
		return notFound(detailProcessNotFound)
	case !ok:
		return notFound(detailImageNotFound)
	}
	data, err := e.images.store.bytes(img)
	if err != nil {
		if proc.isDeleted() {
			return notFound(detailProcessNotFound) // its spilled image went with it
		}
		return fmt.Errorf("get image %s of %s: %w", dep, proc.id, err)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

package emulator

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/pictureid"
	"reverify/internal/testutil/testimage"
)

func TestSetAndGetImages(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocumentSelfie, 136)
	front1 := testimage.JPEG(t, testimage.Color(40, 30, 1))
	front2 := testimage.JPEG(t, testimage.Color(40, 30, 2))
	back := testimage.PNG(t, testimage.Color(40, 30, 3))
	selfie := testimage.JPEG(t, testimage.Color(30, 40, 4))

	r := e.setImages(d, p.ProcessID, map[string][]byte{"front": front1})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	assert.Empty(t, r.body)
	r = e.setImages(d, p.ProcessID, map[string][]byte{"front": front2, "back": back, "selfie": selfie})
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)

	for dep, want := range map[string][]byte{"front": front2, "back": back, "selfie": selfie} {
		r := e.do(http.MethodGet, procPath(d, p.ProcessID)+"/images?depiction="+dep, nil)
		require.Equal(t, http.StatusOK, r.code, dep)
		assert.Equal(t, "application/octet-stream", r.header.Get("Content-Type"))
		assert.True(t, bytes.Equal(want, r.body), "%s: last upload wins", dep)
	}
	assert.Equal(t, int64(4), e.emu.Counters().ImagesUploaded)
	// A null field is absent.
	r = e.do(http.MethodPost, procPath(d, p.ProcessID)+"/images", `{"front":null,"back":"`+dataURL(front1)+`"}`)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
}

func TestSetImagesErrors(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxImageBytes = 20000 })
	d := e.createDossier()
	doc1 := e.createProcess(d, pictureid.ProcessDocument, 137)
	jpg := testimage.JPEG(t, testimage.Color(40, 30, 1))
	png := testimage.PNG(t, testimage.Color(40, 30, 1))
	b64 := base64.StdEncoding.EncodeToString
	big := append(append([]byte{}, jpg...), bytes.Repeat([]byte{0}, 20001-len(jpg))...)
	cases := map[string]string{
		"malformed JSON":        `{"front":`,
		"not an object":         `["front"]`,
		"empty object":          `{}`,
		"empty body":            ``,
		"not a data URL":        `{"front":"` + b64(jpg) + `"}`,
		"no comma":              `{"front":"data:image/jpeg;base64"}`,
		"not base64 encoding":   `{"front":"data:image/jpeg,abc"}`,
		"gif":                   `{"front":"data:image/gif;base64,R0lGODlhAQABAAAAACw="}`,
		"bad base64":            `{"front":"data:image/jpeg;base64,/9j/4AAQ$$$"}`,
		"empty payload":         `{"front":"data:image/jpeg;base64,"}`,
		"png declared as jpeg":  `{"front":"data:image/jpeg;base64,` + b64(png) + `"}`,
		"jpeg declared as png":  `{"front":"data:image/png;base64,` + b64(jpg) + `"}`,
		"not an image":          `{"front":"data:image/jpeg;base64,` + b64([]byte("%PDF-1.7 hello")) + `"}`,
		"over max_image_bytes":  `{"front":"data:image/jpeg;base64,` + b64(big) + `"}`,
		"over max_image_pixels": `{"front":"data:image/jpeg;base64,` + b64(testimage.Claiming(t, jpg, 60000, 60000)) + `"}`,
		"back on 1 page":        `{"back":"` + dataURL(jpg) + `"}`,
		"selfie on document":    `{"selfie":"` + dataURL(jpg) + `"}`,
		"front string number":   `{"front":42}`,
	}
	path := procPath(d, doc1.ProcessID) + "/images"
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			assertProblem(t, e.do(http.MethodPost, path, body), 400, path, "POST", "Bad Request", "")
		})
	}
	t.Run("the pixel limit names the dimensions", func(t *testing.T) {
		r := e.do(http.MethodPost, path, `{"front":"`+dataURL(testimage.Claiming(t, jpg, 60000, 60000))+`"}`)
		assert.Contains(t, string(r.body), "60000×60000 pixels, more than 25000000")
	})
	t.Run("exactly max_image_bytes is fine", func(t *testing.T) {
		ok := big[:20000]
		assert.Equal(t, http.StatusCreated, e.do(http.MethodPost, path, `{"front":"`+dataURL(ok)+`"}`).code)
	})
	t.Run("huge body", func(t *testing.T) {
		huge := `{"front":"data:image/jpeg;base64,` + strings.Repeat("A", int(setImagesBodyLimit(20000))) + `"}`
		assert.Equal(t, http.StatusBadRequest, e.do(http.MethodPost, path, huge).code)
	})
	t.Run("unknown process", func(t *testing.T) {
		p := procPath(d, "nope") + "/images"
		assertProblem(t, e.do(http.MethodPost, p, `{"front":"`+dataURL(jpg)+`"}`), 404, p, "POST", "Not Found", "The process was not found.")
	})
	assert.Equal(t, int64(1), e.emu.Counters().ImagesUploaded)
}

func TestGetImageErrors(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocument, 137)
	base := procPath(d, p.ProcessID) + "/images"
	for q, code := range map[string]int{
		"":                    400,
		"?depiction=":         400,
		"?depiction=portrait": 400,
		"?depiction=side":     400,
		"?depiction=back":     400, // one-page document
		"?depiction=selfie":   400, // document process
		"?depiction=front":    404, // not uploaded yet
	} {
		t.Run(q, func(t *testing.T) {
			r := e.do(http.MethodGet, base+q, nil)
			assert.Equal(t, code, r.code, "%s", r.body)
			if code == 404 {
				assert.Equal(t, "Image not found.", r.errBody(t).Detail)
			}
		})
	}
	t.Run("back absent on two pages", func(t *testing.T) {
		p2 := e.createProcess(d, pictureid.ProcessDocument, 136)
		require.Equal(t, http.StatusCreated, e.setImages(d, p2.ProcessID, map[string][]byte{"front": testimage.JPEG(t, testimage.Color(9, 9, 0))}).code)
		assert.Equal(t, http.StatusNotFound, e.do(http.MethodGet, procPath(d, p2.ProcessID)+"/images?depiction=back", nil).code)
		assert.Equal(t, http.StatusOK, e.do(http.MethodGet, procPath(d, p2.ProcessID)+"/images?depiction=front", nil).code)
	})
}

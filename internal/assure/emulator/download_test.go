package emulator

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

func TestDownload(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocumentSelfie, 136)
	path := procPath(d, p.ProcessID) + "/download"

	r := e.do(http.MethodGet, path, nil)
	assert.Equal(t, http.StatusNoContent, r.code, "pending")
	front := testimage.FrontJPEG(t, holder())
	backPNG := testimage.PNG(t, testimage.Color(60, 40, 7))
	selfie := testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))
	require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": front, "back": backPNG, "selfie": selfie}).code)
	require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code)
	assert.Equal(t, http.StatusNoContent, e.do(http.MethodGet, path, nil).code, "processing")

	e.clock.Advance(3 * time.Minute)
	r = e.do(http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.code)
	assert.Equal(t, "application/zip", r.header.Get("Content-Type"))
	want := regexp.MustCompile(`^attachment; filename="` + d + `_` + p.ProcessID + `_\d{8}T\d{6}\.zip"$`)
	assert.Regexp(t, want, r.header.Get("Content-Disposition"))
	assert.Contains(t, r.header.Get("Content-Disposition"), e.emu.Now().Format("20060102T150405"))

	_, files := inspect.Unzip(t, r.body)
	assert.ElementsMatch(t, []string{"front.jpg", "back.jpg", "selfie.jpg", "result.json"}, inspect.SortedKeys(files))
	assert.Equal(t, front, files["front.jpg"], "JPEG kept as uploaded")
	assert.Equal(t, selfie, files["selfie.jpg"])
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(files["back.jpg"]))
	require.NoError(t, err, "PNG re-encoded as JPEG")
	assert.Equal(t, 60, cfg.Width)
	var res assure.Process
	require.NoError(t, json.Unmarshal(files["result.json"], &res))
	assert.Equal(t, e.getProcess(d, p.ProcessID), res)
	assert.Contains(t, string(files["result.json"]), "Not black & white copy")
}

func TestDownloadNoZipForFailedOrCanceled(t *testing.T) {
	e := newEnv(t, nil)
	// failed: unreadable front.
	corrupt := testimage.FrontJPEG(t, holder())
	corrupt = corrupt[:len(corrupt)*2/3]
	v, _ := e.final(pictureid.ProcessDocument, 137, map[string][]byte{"front": corrupt})
	require.Equal(t, assure.StatusFailed, v.Status)
	var dr []assure.Dossier
	e.do(http.MethodGet, "/assure/dossiers", nil).json(t, &dr)
	assert.Equal(t, http.StatusNoContent, e.do(http.MethodGet, procPath(dr[0].DossierID, v.ProcessID)+"/download", nil).code)

	// rejected still has a zip.
	d := holder()
	d.DocumentNumber = ""
	v, _ = e.final(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, d)})
	require.Equal(t, assure.StatusRejected, v.Status)
	e.do(http.MethodGet, "/assure/dossiers", nil).json(t, &dr)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, procPath(dr[0].DossierID, v.ProcessID)+"/download", nil).code)

	// canceled.
	ds := e.createDossier()
	p := e.createProcess(ds, pictureid.ProcessDocument, 137)
	_, err := e.emu.Cancel(p.ProcessID)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, e.do(http.MethodGet, procPath(ds, p.ProcessID)+"/download", nil).code)
}

package emulator

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

func TestAdminCountersAndReset(t *testing.T) {
	e := newEnv(t, nil)
	d, p := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, holder())})
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, procPath(d, p), nil).code)

	r := e.doAuth(http.MethodGet, "/_emulator/counters", nil, "")
	require.Equal(t, http.StatusOK, r.code)
	var c Counters
	r.json(t, &c)
	assert.Equal(t, int64(1), c.DossiersCreated)
	assert.Equal(t, int64(1), c.DossiersLive)
	assert.Equal(t, int64(1), c.ProcessesCreated)
	assert.Equal(t, int64(1), c.ProcessesDeleted)
	assert.Equal(t, int64(1), c.VerificationsStarted)
	assert.Equal(t, int64(1), c.MaxStartRequestsPerProcess)
	assert.Equal(t, map[string]int64{p: 1}, c.StartRequests)
	assert.Equal(t, int64(1), c.ImagesUploaded)
	assert.Equal(t, int64(1), c.TokensIssued)
	assert.Equal(t, map[string]map[string]int64{
		"token": {"200": 1}, "createDossier": {"201": 1}, "createProcess": {"201": 1},
		"setImages": {"201": 1}, "startVerification": {"200": 1}, "deleteProcess": {"204": 1},
	}, c.Requests, "admin calls are not counted")
	for _, k := range []string{"dossiers_created", "dossiers_deleted", "dossiers_live", "processes_created", "processes_deleted",
		"verifications_started", "start_requests_per_process", "max_start_requests_per_process", "images_uploaded",
		"tokens_issued", "requests", "faults_injected"} {
		assert.Contains(t, inspect.FieldPaths(t, r.body), k)
	}

	r = e.doAuth(http.MethodPost, "/_emulator/reset", nil, "")
	require.Equal(t, http.StatusNoContent, r.code)
	assert.Equal(t, http.StatusNotFound, e.do(http.MethodGet, "/assure/dossiers/"+d, nil).code, "state dropped, token still valid")
	c = e.emu.Counters()
	assert.Zero(t, c.DossiersCreated)
	assert.Empty(t, c.StartRequests)
	assert.Equal(t, map[string]map[string]int64{"getDossier": {"404": 1}}, c.Requests)
}

func TestAdminFaultsAndConfig(t *testing.T) {
	e := newEnv(t, nil)
	r := e.doAuth(http.MethodPut, "/_emulator/faults", `{"seed": 3, "endpoints": {"getDossiers": {"server_error": 1}}}`, "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	assert.Contains(t, string(r.body), `"server_error":1`)
	assert.GreaterOrEqual(t, e.do(http.MethodGet, "/assure/dossiers", nil).code, 500)

	r = e.doAuth(http.MethodPut, "/_emulator/faults", "default:\n  too_many_requests: 1\n  retry_after: 4s\n", "")
	require.Equal(t, http.StatusOK, r.code, "%s", r.body)
	r = e.do(http.MethodGet, "/assure/dossiers", nil)
	assert.Equal(t, http.StatusTooManyRequests, r.code, "replaced, not merged")
	assert.Equal(t, "4", r.header.Get("Retry-After"))

	r = e.doAuth(http.MethodGet, "/_emulator/faults", nil, "")
	require.Equal(t, http.StatusOK, r.code)
	assert.Contains(t, string(r.body), `"retry_after":"4s"`)

	for _, body := range []string{`{"default": {"reset": 7}}`, `{"nope": 1}`, ``} {
		r = e.doAuth(http.MethodPut, "/_emulator/faults", body, "")
		assertProblem(t, r, 400, "/_emulator/faults", "PUT", "Bad Request", "")
	}

	r = e.doAuth(http.MethodGet, "/_emulator/config", nil, "")
	require.Equal(t, http.StatusOK, r.code)
	assert.NotContains(t, string(r.body), DefaultClientSecret)
	var cfg map[string]any
	r.json(t, &cfg)
	assert.Equal(t, "REDACTED", cfg["client_secret"])
	assert.Equal(t, DefaultClientID, cfg["client_id"])
	assert.Equal(t, "10m0s", cfg["token_ttl"])
	assert.Equal(t, "25s", cfg["processing"].(map[string]any)["median"])
	assert.Equal(t, 1.0, cfg["faults"].(map[string]any)["default"].(map[string]any)["too_many_requests"], "current faults")

	assert.Equal(t, http.StatusNotFound, e.doAuth(http.MethodGet, "/_emulator/nothing", nil, "").code)
	assert.Equal(t, http.StatusMethodNotAllowed, e.doAuth(http.MethodGet, "/_emulator/reset", nil, "").code)
	assert.Equal(t, http.StatusMethodNotAllowed, e.doAuth(http.MethodPost, "/_emulator/faults", "{}", "").code)
}

func TestAdminCancel(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocument, 137)
	r := e.doAuth(http.MethodPost, "/_emulator/processes/"+p.ProcessID+"/cancel", nil, "")
	require.Equal(t, http.StatusOK, r.code)
	var v assure.Process
	r.json(t, &v)
	assert.Equal(t, assure.StatusCanceled, v.Status)
	assert.Equal(t, assure.StatusCanceled, e.getProcess(d, p.ProcessID).Status)
	assert.Equal(t, http.StatusConflict, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}).code)
	assert.Equal(t, http.StatusConflict, e.start(d, p.ProcessID).code)
	assert.Equal(t, http.StatusConflict, e.doAuth(http.MethodPost, "/_emulator/processes/"+p.ProcessID+"/cancel", nil, "").code)
	assert.Equal(t, http.StatusNotFound, e.doAuth(http.MethodPost, "/_emulator/processes/nope/cancel", nil, "").code)

	// A processing process can be canceled until it is due; a final one cannot.
	d2, p2 := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, holder())})
	_, err := e.emu.Cancel(p2)
	require.NoError(t, err)
	assert.Equal(t, assure.StatusCanceled, e.getProcess(d2, p2).Status)
	_, p3 := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, holder())})
	e.clock.Advance(3 * 60e9)
	_, err = e.emu.Cancel(p3)
	assert.ErrorIs(t, err, ErrConflict)
}

package emulator

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

var timestampPattern = regexp.MustCompile(`"createdAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","updatedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`)

func TestCreateDossier(t *testing.T) {
	e := newEnv(t, nil)
	for name, body := range map[string]any{"no body": nil, "empty object": "{}", "reference": `{"externalReference":"case-42"}`} {
		t.Run(name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/assure/dossiers", body)
			require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Regexp(t, timestampPattern, string(r.body))
			var d assure.Dossier
			r.json(t, &d)
			_, err := uuid.Parse(d.DossierID)
			assert.NoError(t, err)
			assert.Equal(t, e.clock.Now(), d.CreatedAt.Time)
			assert.Equal(t, d.CreatedAt, d.UpdatedAt)
			if name == "reference" {
				assert.Equal(t, "case-42", d.ExternalReference)
			}
		})
	}
	t.Run("malformed JSON", func(t *testing.T) {
		r := e.do(http.MethodPost, "/assure/dossiers", `{"externalReference":`)
		assertProblem(t, r, 400, "/assure/dossiers", "POST", "Bad Request", "")
	})
	t.Run("trailing slash", func(t *testing.T) {
		assert.Equal(t, http.StatusCreated, e.do(http.MethodPost, "/assure/dossiers/", nil).code)
	})
	assert.Equal(t, int64(4), e.emu.Counters().DossiersCreated)
}

func TestListDossiersNewestFirstLast100(t *testing.T) {
	e := newEnv(t, nil)
	var ids []string
	for range 105 {
		ids = append(ids, e.createDossier())
		e.clock.Advance(time.Second)
	}
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/assure/dossiers/"+ids[104], nil).code)
	r := e.do(http.MethodGet, "/assure/dossiers", nil)
	require.Equal(t, http.StatusOK, r.code)
	var list []assure.Dossier
	r.json(t, &list)
	require.Len(t, list, 100)
	assert.Equal(t, ids[103], list[0].DossierID, "newest live first")
	assert.Equal(t, ids[4], list[99].DossierID)
	for i := 1; i < len(list); i++ {
		assert.True(t, list[i-1].CreatedAt.After(list[i].CreatedAt.Time))
	}
}

func TestGetDossierListsProcesses(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p1 := e.createProcess(d, pictureid.ProcessDocument, 137)
	e.clock.Advance(time.Second)
	p2 := e.createProcess(d, "", 136)
	r := e.do(http.MethodGet, "/assure/dossiers/"+d, nil)
	require.Equal(t, http.StatusOK, r.code)
	var dr assure.DossierResponse
	r.json(t, &dr)
	assert.Equal(t, d, dr.DossierID)
	assert.Equal(t, "ref-1", dr.ExternalReference)
	require.Len(t, dr.Processes, 2)
	assert.Equal(t, assure.SlimProcess{ProcessID: p1.ProcessID, Provider: assure.ProviderPictureID, ProcessType: "document",
		Status: assure.StatusPending, CreatedAt: p1.CreatedAt, UpdatedAt: p1.UpdatedAt}, dr.Processes[0])
	assert.Equal(t, p2.ProcessID, dr.Processes[1].ProcessID)
	assert.Equal(t, "documentSelfie", dr.Processes[1].ProcessType)
	assert.Equal(t, e.clock.Now(), dr.UpdatedAt.Time, "adding a process updates the dossier")
	assert.Equal(t, []string{"createdAt", "dossierId", "externalReference", "processes", "processes[]",
		"processes[].createdAt", "processes[].processId", "processes[].processType", "processes[].provider",
		"processes[].status", "processes[].updatedAt", "updatedAt"}, inspect.SortedKeys(inspect.FieldPaths(t, r.body)))
}

func TestDeleteDossierCascades(t *testing.T) {
	e := newEnv(t, nil)
	front := testimage.FrontJPEG(t, holder())
	d, p := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": front})
	r := e.do(http.MethodDelete, "/assure/dossiers/"+d, nil)
	require.Equal(t, http.StatusNoContent, r.code)
	assert.Empty(t, r.body)
	assertProblem(t, e.do(http.MethodGet, "/assure/dossiers/"+d, nil), 404, "/assure/dossiers/"+d, "GET", "Not Found", "Dossier not found.")
	assertProblem(t, e.do(http.MethodDelete, "/assure/dossiers/"+d, nil), 404, "/assure/dossiers/"+d, "DELETE", "Not Found", "Dossier not found.")
	assert.Equal(t, http.StatusNotFound, e.do(http.MethodGet, procPath(d, p), nil).code)
	assert.Equal(t, http.StatusNotFound, e.do(http.MethodGet, procPath(d, p)+"/images?depiction=front", nil).code)
	assert.Equal(t, http.StatusNotFound, e.do(http.MethodPost, "/assure/dossiers/"+d+"/processes",
		assure.CreateProcessRequest{Provider: assure.ProviderPictureID, DocumentID: 137}).code)
	c := e.emu.Counters()
	assert.Equal(t, int64(1), c.DossiersDeleted)
	assert.Equal(t, int64(0), c.DossiersLive)
	assert.Equal(t, int64(1), c.ProcessesDeleted)
	// Images are dropped with the process.
	assert.Empty(t, e.emu.store.liveProcesses())
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	cases := []struct {
		method, path string
		code         int
		allow        string
	}{
		{http.MethodPut, "/assure/dossiers", 405, "POST, GET"},
		{http.MethodPatch, "/assure/dossiers/" + d, 405, "GET, DELETE"},
		{http.MethodGet, "/assure/dossiers/" + d + "/processes", 405, "POST"},
		{http.MethodPut, procPath(d, "x"), 405, "GET, POST, DELETE"},
		{http.MethodDelete, procPath(d, "x") + "/images", 405, "POST, GET"},
		{http.MethodPost, procPath(d, "x") + "/download", 405, "GET"},
		{http.MethodPost, "/assure/processes", 405, "GET"},
		{http.MethodGet, "/assure/nothing", 404, ""},
		{http.MethodGet, "/assure/dossiers/" + d + "/files", 404, ""},
		{http.MethodGet, "/assure/dossiers//processes", 404, ""},
		{http.MethodGet, "/", 404, ""},
		{http.MethodGet, "/assure", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := e.do(c.method, c.path, nil)
			title := "Not Found"
			if c.code == 405 {
				title = "Method Not Allowed"
			}
			assertProblem(t, r, c.code, c.path, c.method, title, "")
			assert.Equal(t, c.allow, r.header.Get("Allow"))
		})
	}
	assert.Positive(t, e.emu.Counters().Requests["unknown"]["404"])
}

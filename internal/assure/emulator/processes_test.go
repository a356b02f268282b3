package emulator

import (
	"net/http"
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

func TestCreateProcess(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	for _, dt := range DocumentTypes() {
		p := e.createProcess(d, "", dt.ID)
		_, err := uuid.Parse(p.ProcessID)
		assert.NoError(t, err)
		assert.Equal(t, assure.ProviderPictureID, p.Provider)
		assert.Equal(t, pictureid.ProcessDocumentSelfie, p.ProcessType, "default process type")
		assert.Equal(t, assure.StatusPending, p.Status)
		assert.Equal(t, dt.Pages, p.DocumentPages, "document %d", dt.ID)
		assert.NotEmpty(t, p.Authorization)
		assert.Equal(t, p.CreatedAt, p.UpdatedAt)
	}
	p := e.createProcess(d, pictureid.ProcessDocument, 137)
	assert.Equal(t, pictureid.ProcessDocument, p.ProcessType)
	assert.Equal(t, 1, p.DocumentPages)

	v := e.getProcess(d, p.ProcessID)
	assert.Equal(t, assure.Process{ProcessID: p.ProcessID, Provider: assure.ProviderPictureID, ProcessType: "document",
		Status: assure.StatusPending, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}, v)
	assert.Equal(t, int64(len(DocumentTypes())+1), e.emu.Counters().ProcessesCreated)
}

func TestCreateProcessErrors(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	path := "/assure/dossiers/" + d + "/processes"
	cases := map[string]any{
		"no body":          nil,
		"malformed":        `{"provider":`,
		"missing provider": `{"documentId":137}`,
		"other provider":   `{"provider":"onfido","documentId":137}`,
		"bad process type": `{"provider":"signicatpictureid","processType":"selfie","documentId":137}`,
		"no documentId":    `{"provider":"signicatpictureid","processType":"document"}`,
		"unknown document": `{"provider":"signicatpictureid","documentId":999}`,
		"documentId text":  `{"provider":"signicatpictureid","documentId":"137"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			assertProblem(t, e.do(http.MethodPost, path, body), 400, path, "POST", "Bad Request", "")
		})
	}
	t.Run("unknown dossier", func(t *testing.T) {
		p := "/assure/dossiers/" + uuid.NewString() + "/processes"
		assertProblem(t, e.do(http.MethodPost, p, `{"provider":"signicatpictureid","documentId":137}`), 404, p, "POST", "Not Found", "Dossier not found.")
	})
	assert.Zero(t, e.emu.Counters().ProcessesCreated)
}

func TestGetProcessNotFound(t *testing.T) {
	e := newEnv(t, nil)
	d1, d2 := e.createDossier(), e.createDossier()
	p := e.createProcess(d1, "", 137)
	path := procPath(d1, uuid.NewString())
	assertProblem(t, e.do(http.MethodGet, path, nil), 404, path, "GET", "Not Found", "The process was not found.")
	path = procPath(d2, p.ProcessID)
	assertProblem(t, e.do(http.MethodGet, path, nil), 404, path, "GET", "Not Found", "The process was not found.")
	path = procPath(uuid.NewString(), p.ProcessID)
	assertProblem(t, e.do(http.MethodGet, path, nil), 404, path, "GET", "Not Found", "Dossier not found.")
}

func TestStartVerification(t *testing.T) {
	e := newEnv(t, nil)
	front := testimage.FrontJPEG(t, holder())
	back := testimage.JPEG(t, testimage.Color(50, 30, 9))
	selfie := testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))
	cases := []struct {
		name    string
		typ     string
		doc     int
		imgs    map[string][]byte
		missing string
	}{
		{"no images", pictureid.ProcessDocument, 137, nil, "front"},
		{"back missing on two pages", pictureid.ProcessDocument, 136, map[string][]byte{"front": front}, "back"},
		{"selfie missing", pictureid.ProcessDocumentSelfie, 137, map[string][]byte{"front": front}, "selfie"},
		{"front missing", pictureid.ProcessDocumentSelfie, 136, map[string][]byte{"back": back, "selfie": selfie}, "front"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := e.createDossier()
			p := e.createProcess(d, c.typ, c.doc)
			if c.imgs != nil {
				require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, c.imgs).code)
			}
			r := e.start(d, p.ProcessID)
			assertProblem(t, r, 400, procPath(d, p.ProcessID), "POST", "Bad Request", "")
			assert.Contains(t, r.errBody(t).Detail, c.missing)
			assert.Equal(t, assure.StatusPending, e.getProcess(d, p.ProcessID).Status)
		})
	}
	t.Run("happy path then 409", func(t *testing.T) {
		d := e.createDossier()
		p := e.createProcess(d, pictureid.ProcessDocumentSelfie, 136)
		require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": front, "back": back, "selfie": selfie}).code)
		for _, body := range []any{nil, "{}"} {
			r := e.do(http.MethodPost, procPath(d, p.ProcessID), body)
			if body == nil {
				require.Equal(t, http.StatusOK, r.code, "%s", r.body)
				var vr assure.VerifyResponse
				r.json(t, &vr)
				assert.Equal(t, assure.VerifyResponse{ProcessID: p.ProcessID, Status: assure.StatusProcessing}, vr)
				assert.Equal(t, []string{"processId", "status"}, inspect.SortedKeys(inspect.FieldPaths(t, r.body)))
				continue
			}
			assertProblem(t, r, 409, procPath(d, p.ProcessID), "POST", "Conflict", "Conflict found while processing the request.")
		}
		c := e.emu.Counters()
		assert.Equal(t, int64(2), c.StartRequests[p.ProcessID])
		assert.Equal(t, int64(2), c.MaxStartRequestsPerProcess)
		assert.Equal(t, int64(1), c.VerificationsStarted)
	})
	t.Run("malformed body", func(t *testing.T) {
		d := e.createDossier()
		p := e.createProcess(d, pictureid.ProcessDocument, 137)
		r := e.do(http.MethodPost, procPath(d, p.ProcessID), "[")
		assert.Equal(t, http.StatusBadRequest, r.code)
	})
	t.Run("unknown process is 404 and not counted", func(t *testing.T) {
		d := e.createDossier()
		id := uuid.NewString()
		assert.Equal(t, http.StatusNotFound, e.start(d, id).code)
		assert.Zero(t, e.emu.Counters().StartRequests[id])
	})
}

func TestDeleteProcess(t *testing.T) {
	e := newEnv(t, nil)
	d, p := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, holder())})
	r := e.do(http.MethodDelete, procPath(d, p), nil)
	require.Equal(t, http.StatusNoContent, r.code)
	assert.Empty(t, r.body)
	assertProblem(t, e.do(http.MethodGet, procPath(d, p), nil), 404, procPath(d, p), "GET", "Not Found", "The process was not found.")
	assertProblem(t, e.do(http.MethodDelete, procPath(d, p), nil), 404, procPath(d, p), "DELETE", "Not Found", "The process was not found.")
	assert.Equal(t, http.StatusNotFound, e.do(http.MethodGet, procPath(d, p)+"/download", nil).code)
	var dr assure.DossierResponse
	e.do(http.MethodGet, "/assure/dossiers/"+d, nil).json(t, &dr)
	assert.Empty(t, dr.Processes)
	assert.Equal(t, int64(1), e.emu.Counters().ProcessesDeleted)
	// Deleting the dossier afterwards does not count the process twice.
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/assure/dossiers/"+d, nil).code)
	assert.Equal(t, int64(1), e.emu.Counters().ProcessesDeleted)
}

func TestStateMachine(t *testing.T) {
	e := newEnv(t, nil)
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocument, 137)
	e.clock.Advance(10 * time.Second)
	require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}).code)
	v := e.getProcess(d, p.ProcessID)
	assert.Equal(t, assure.StatusPending, v.Status)
	assert.Equal(t, e.clock.Now(), v.UpdatedAt.Time, "upload updates updatedAt")

	e.clock.Advance(5 * time.Second)
	startedAt := e.clock.Now()
	require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code)
	latency := DrawLatency(e.emu.cfg.Processing, e.emu.cfg.Seed, p.ProcessID)
	require.GreaterOrEqual(t, latency, 5*time.Second)

	v = e.getProcess(d, p.ProcessID)
	assert.Equal(t, assure.StatusProcessing, v.Status)
	assert.Equal(t, startedAt, v.UpdatedAt.Time)
	assert.Nil(t, v.ProviderSpecific)

	e.clock.Advance(latency - time.Millisecond)
	assert.Equal(t, assure.StatusProcessing, e.getProcess(d, p.ProcessID).Status)
	e.clock.Advance(time.Millisecond)
	v = e.getProcess(d, p.ProcessID)
	assert.Equal(t, assure.StatusAccepted, v.Status)
	assert.Equal(t, assure.NewTime(startedAt.Add(latency)), v.UpdatedAt)
	assert.Equal(t, p.CreatedAt, v.CreatedAt)

	// Cached: later reads give the same answer.
	e.clock.Advance(time.Hour)
	assert.Equal(t, v, e.getProcess(d, p.ProcessID))
	// Images cannot change after start.
	assertProblem(t, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}), 409,
		procPath(d, p.ProcessID)+"/images", "POST", "Conflict", "Conflict found while processing the request.")
}

func TestLatencyFromConfig(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Processing = Latency{Median: 40 * time.Second, Sigma: 0, Min: time.Second, Max: time.Minute}
	})
	d, p := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, holder())})
	e.clock.Advance(40*time.Second - time.Millisecond)
	assert.Equal(t, assure.StatusProcessing, e.getProcess(d, p).Status)
	e.clock.Advance(time.Millisecond)
	assert.Equal(t, assure.StatusAccepted, e.getProcess(d, p).Status)
}

// TestTimeScale: with time_scale 0.001 one real millisecond is one emulated
// second, for timestamps and processing latency alike.
func TestTimeScale(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.TimeScale = 0.001
		c.Processing = Latency{Median: 30 * time.Second, Min: time.Second, Max: time.Minute}
	})
	t0 := e.emu.Now()
	d, p := e.flow(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.FrontJPEG(t, holder())})
	e.clock.Advance(29 * time.Millisecond)
	v := e.getProcess(d, p)
	assert.Equal(t, assure.StatusProcessing, v.Status)
	e.clock.Advance(time.Millisecond)
	v = e.getProcess(d, p)
	assert.Equal(t, assure.StatusAccepted, v.Status)
	assert.Equal(t, assure.NewTime(t0.Add(30*time.Second)), v.UpdatedAt)
	e.clock.Advance(time.Second)
	assert.Equal(t, t0.Add(1030*time.Second), e.emu.Now())
}

func TestTransactionExpiry(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want assure.Status
	}{{15 * time.Minute, assure.StatusAccepted}, {15*time.Minute + time.Second, assure.StatusFailed}} {
		t.Run(c.wait.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			d := e.createDossier()
			p := e.createProcess(d, pictureid.ProcessDocumentSelfie, 137)
			require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}).code)
			e.clock.Advance(c.wait - time.Minute)
			// A later upload does not restart the transaction.
			require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))}).code)
			e.clock.Advance(time.Minute)
			require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code)
			e.clock.Advance(2 * time.Minute)
			v := e.getProcess(d, p.ProcessID)
			assert.Equal(t, c.want, v.Status)
			if c.want == assure.StatusFailed {
				assert.Equal(t, &assure.FailReason{Detail: "Transaction time expired."}, v.FailReason)
				assert.Equal(t, []string{"front", "selfie"}, v.Depictions)
			}
		})
	}
}

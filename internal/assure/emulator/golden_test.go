package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

// goldenCase produces the emulator's answer for the situation of one of the
// seed's examples (testdata/seed/*.json, copied verbatim from
// shared/seed/pictureid-service.txt).
type goldenCase struct {
	name string
	run  func(t *testing.T, e *env) []byte
}

func goldenCases() []goldenCase {
	final := func(processType string, front func(t *testing.T) []byte, selfie func(t *testing.T) []byte) func(t *testing.T, e *env) []byte {
		return func(t *testing.T, e *env) []byte {
			imgs := map[string][]byte{"front": front(t)}
			if selfie != nil {
				imgs["selfie"] = selfie(t)
			}
			_, r := e.final(processType, 137, imgs)
			return r.body
		}
	}
	front := func(mut func(d *specimen.Data)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			d := holder()
			if mut != nil {
				mut(&d)
			}
			return testimage.FrontJPEG(t, d)
		}
	}
	selfie := func(personID string, lookalike bool) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return testimage.SelfieJPEG(t, testimage.SelfieData(personID, lookalike)) }
	}
	return []goldenCase{
		{"accepted-document", final(pictureid.ProcessDocument, front(nil), nil)},
		{"accepted-documentSelfie", final(pictureid.ProcessDocumentSelfie, front(nil), selfie("person-1", false))},
		{"rejected-underage", final(pictureid.ProcessDocument, front(func(d *specimen.Data) { d.DateOfBirth = "2012-05-01" }), nil)},
		{"rejected-imagequality", final(pictureid.ProcessDocument, front(func(d *specimen.Data) { d.DocumentNumber = "" }), nil)},
		{"rejected-verylow", final(pictureid.ProcessDocumentSelfie, front(nil), selfie("person-2", false))},
		{"inconclusive-expired", final(pictureid.ProcessDocument, front(func(d *specimen.Data) { d.DateOfExpiry = "2024-01-31" }), nil)},
		{"inconclusive-medium", final(pictureid.ProcessDocumentSelfie, front(nil), selfie("person-2", true))},
		{"failed-expired", func(t *testing.T, e *env) []byte {
			d := e.createDossier()
			p := e.createProcess(d, pictureid.ProcessDocument, 137)
			require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}).code)
			e.clock.Advance(16 * time.Minute)
			require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code)
			e.clock.Advance(3 * time.Minute)
			r := e.do(http.MethodGet, procPath(d, p.ProcessID), nil)
			require.Equal(t, http.StatusOK, r.code)
			return r.body
		}},
		{"canceled", func(t *testing.T, e *env) []byte {
			d := e.createDossier()
			p := e.createProcess(d, pictureid.ProcessDocument, 137)
			r := e.doAuth(http.MethodPost, "/_emulator/processes/"+p.ProcessID+"/cancel", nil, "")
			require.Equal(t, http.StatusOK, r.code, "%s", r.body)
			r = e.do(http.MethodGet, procPath(d, p.ProcessID), nil)
			require.Equal(t, http.StatusOK, r.code)
			return r.body
		}},
	}
}

func TestGoldenShapesMatchSeed(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			seed, err := os.ReadFile(filepath.Join("testdata", "seed", c.name+".json"))
			require.NoError(t, err)
			e := newEnv(t, nil)
			got := c.run(t, e)

			want := inspect.FieldPaths(t, seed)
			have := inspect.FieldPaths(t, got)
			assert.Equal(t, inspect.SortedKeys(want), inspect.SortedKeys(have), "field paths differ\nemulator: %s", got)
			assert.Equal(t, want, have, "value types differ")

			// Same status, and the same reasons word for word.
			var ws, hs assure.Process
			require.NoError(t, json.Unmarshal(seed, &ws))
			require.NoError(t, json.Unmarshal(got, &hs))
			assert.Equal(t, ws.Status, hs.Status)
			assert.Equal(t, ws.ProcessType, hs.ProcessType)
			assert.Equal(t, ws.StatusReasons, hs.StatusReasons)
			assert.Equal(t, ws.FailReason, hs.FailReason)
			assert.Equal(t, ws.Depictions, hs.Depictions)
			if ws.ProviderSpecific != nil && ws.ProviderSpecific.Document.SecurityChecks != nil {
				assert.Equal(t, ws.ProviderSpecific.Document.SecurityChecks, hs.ProviderSpecific.Document.SecurityChecks)
			}
		})
	}
}

// TestSeedRoundTripsThroughModels guards the premise of the golden test: the
// shared wire types keep every field of the seed's examples.
func TestSeedRoundTripsThroughModels(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "seed", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 9)
	for _, f := range files {
		seed, err := os.ReadFile(f)
		require.NoError(t, err)
		var p assure.Process
		require.NoError(t, json.Unmarshal(seed, &p))
		again, err := json.Marshal(p)
		require.NoError(t, err)
		assert.Equal(t, inspect.FieldPaths(t, seed), inspect.FieldPaths(t, again), f)
	}
}

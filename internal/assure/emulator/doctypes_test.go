package emulator

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
)

func TestDocumentTypes(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(http.MethodGet, "/assure/signicatpictureid/document-types", nil)
	require.Equal(t, http.StatusOK, r.code)
	var list []assure.DocumentType
	r.json(t, &list)
	require.Len(t, list, 8)
	assert.Equal(t, assure.DocumentType{ID: 137, Country: "NLD", CountryName: "Netherlands", Type: "passport",
		Name: "Netherlands passport", ICAO: "TD3"}, list[0])
	pages := map[int]int{}
	for _, d := range DocumentTypes() {
		pages[d.ID] = d.Pages
	}
	assert.Equal(t, map[int]int{137: 1, 136: 2, 222: 1, 271: 2, 191: 2, 58: 2, 100: 1, 101: 2}, pages)
	assert.NotContains(t, string(r.body), "pages", "pages are internal")

	for _, p := range []string{"onfido", "signicatpaper", "signicatvideoid"} {
		r := e.do(http.MethodGet, "/assure/"+p+"/document-types", nil)
		assert.Equal(t, http.StatusNoContent, r.code, p)
		assert.Empty(t, r.body)
	}
	path := "/assure/acme/document-types"
	assertProblem(t, e.do(http.MethodGet, path, nil), 400, path, "GET", "Bad Request", "")

	d, ok := DocumentType(271)
	assert.True(t, ok)
	assert.Equal(t, "driversLicense", d.Type)
	_, ok = DocumentType(1)
	assert.False(t, ok)
}

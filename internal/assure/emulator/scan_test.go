package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanSeeds are set-images bodies; fast says whether the in-place scan
// takes them (otherwise encoding/json decides).
var scanSeeds = []struct {
	body string
	fast bool
}{
	{`{"front":"data:image/jpeg;base64,AAAA"}`, true},
	{` {"front" : "data:image/jpeg;base64,AAAA" ,` + "\n\t\r" + `"selfie":null} `, true},
	{`{"front":"a","back":"b","selfie":"c"}`, true},
	{`{"front":"a","front":null}`, true},
	{`{"front":null,"front":"b"}`, true},
	{`{}`, true},
	{` { } `, true},
	{`{"front":""}`, true},
	{`{"Front":"a"}`, false},
	{`{"other":"a"}`, false},
	{`{"front":"a\"b"}`, false},
	{`{"front":"a\\nb"}`, false},
	{`{"front":"a\/b"}`, false},
	{"{\"front\":\"a\nb\"}", false},
	{`{"front":"é"}`, false},
	{"{\"front\":\"\xff\"}", false},
	{`{"front":"a",}`, false},
	{`{"front":"a"} x`, false},
	{`{"front":"a"`, false},
	{`{"front"}`, false},
	{`{"front":1}`, false},
	{`{"front":nul}`, false},
	{`{"front":nullx}`, false},
	{`[]`, false},
	{`null`, false},
	{`{"front":"a"}{}`, false},
	{"\xef\xbb\xbf{}", false},
}

// checkScan asserts that when scanSetImages takes body, encoding/json
// decodes the same values from it.
func checkScan(t *testing.T, e *Emulator, body []byte) bool {
	t.Helper()
	v, ok := e.scanSetImages(body)
	if !ok {
		return false
	}
	var req setImagesRequest
	require.NoError(t, json.Unmarshal(body, &req), "the scan took a body encoding/json refuses: %q", body)
	for i, s := range []*string{req.Front, req.Back, req.Selfie} {
		assert.Equal(t, s != nil, v[i].present, "%q, %s", body, depictionOrder()[i])
		if s != nil {
			assert.Equal(t, *s, string(v[i].text), "%q, %s", body, depictionOrder()[i])
		}
	}
	return true
}

func TestScanSetImagesMatchesEncodingJSON(t *testing.T) {
	e, err := New(DefaultConfig())
	require.NoError(t, err)
	for _, s := range scanSeeds {
		assert.Equal(t, s.fast, checkScan(t, e, []byte(s.body)), "%q", s.body)
	}
	// A string accepted before is known by its digest, not read again; a
	// prefix of it up to an escaped quote is not known.
	known := `data:image/jpeg;base64,AAAA`
	e.images.rememberUpload(sha256.Sum256([]byte(known)), imageKey{})
	v, ok := e.scanSetImages([]byte(`{"front":"` + known + `"}`))
	require.True(t, ok)
	assert.NotNil(t, v[0].known)
	assert.False(t, checkScan(t, e, []byte(`{"front":"`+known+`\"x"}`)))
}

func FuzzScanSetImages(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s.body))
	}
	e, err := New(DefaultConfig())
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body []byte) { checkScan(t, e, body) })
}

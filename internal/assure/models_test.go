package assure

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every JSON example of the seed file decodes into Process with no field left
// over (DisallowUnknownFields) and encodes back to the same JSON: every field
// is kept, with its value.
func TestSeedExamplesDecodeExactly(t *testing.T) {
	files, err := filepath.Glob("testdata/seed/*.json")
	require.NoError(t, err)
	require.Len(t, files, 9, "the seed has nine process examples")
	statuses := map[Status]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var p Process
			require.NoError(t, dec.Decode(&p))
			assert.True(t, p.Status.Known(), "status %q", p.Status)
			statuses[p.Status] = true
			out, err := json.Marshal(p)
			require.NoError(t, err)
			assert.JSONEq(t, string(raw), string(out))
		})
	}
	for _, s := range []Status{StatusAccepted, StatusRejected, StatusInconclusive, StatusFailed, StatusCanceled} {
		assert.True(t, statuses[s], "an example of %s", s)
	}
}

func TestSeedExampleFields(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed/accepted-documentSelfie.json")
	require.NoError(t, err)
	var p Process
	require.NoError(t, json.Unmarshal(raw, &p))
	assert.Equal(t, StatusAccepted, p.Status)
	assert.True(t, p.Status.Final())
	assert.Equal(t, "SPECI2021", p.FinalResult.DocumentNumber)
	assert.Equal(t, "high", p.FinalResult.SimilarityScore)
	sc := p.ProviderSpecific.Document.SecurityChecks
	assert.Equal(t, "high", sc.SelfieAndDocumentMatch.SimilarityLevel)
	assert.Nil(t, sc.SelfieAndDocumentMatch.Result(), "no passed flag")
	assert.Equal(t, new(true), sc.SelfieAndDocumentMatch.MatchResult(), "its level")
	require.NotNil(t, sc.NonExpired.Result())
	assert.True(t, *sc.NonExpired.Result())
	assert.Nil(t, sc.SidesMatch)
	assert.Equal(t, Box{X: 187, Y: 456, Width: 376, Height: 539}, *p.ProviderSpecific.Document.Subject.Photo)
	assert.Equal(t, "SUCCESS", p.ProviderSpecific.Selfie.Status)
	assert.Equal(t, "2024-12-17T00:12:12Z", p.CreatedAt.Format(TimeLayout))

	raw, err = os.ReadFile("testdata/seed/rejected-notunderage.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &p))
	dataIntegrity := p.ProviderSpecific.Document.SecurityChecks.DataIntegrity.Result()
	require.NotNil(t, dataIntegrity)
	assert.False(t, *dataIntegrity, "passed:false is kept, not dropped")
	assert.Equal(t, []string{"front"}, p.Depictions)
	assert.Equal(t, "NotUnderage", p.StatusReasons[0].SubCategory)

	raw, err = os.ReadFile("testdata/seed/failed-expired.json")
	require.NoError(t, err)
	p = Process{}
	require.NoError(t, json.Unmarshal(raw, &p))
	assert.Equal(t, "Transaction time expired.", p.FailReason.Text())
}

func TestUnknownFieldsDoNotBreakDecoding(t *testing.T) {
	raw := `{"processId":"p","provider":"signicatpictureid","status":"accepted","brandNew":{"x":[1,2]},
	  "finalResult":{"firstName":"A","newField":true},
	  "providerSpecific":{"document":{"securityChecks":{"futureCheck":{"name":"x","passed":true},
	  "nonExpired":{"name":"n","passed":false,"score":0.3}}},"selfie":{"status":"SUCCESS","x":1,"y":2,"width":3,"height":4,"extra":1}},
	  "createdAt":"2024-11-14T12:27:01.123Z","updatedAt":"2024-11-14T12:27:01+01:00"}`
	var p Process
	require.NoError(t, json.Unmarshal([]byte(raw), &p))
	assert.Equal(t, "A", p.FinalResult.FirstName)
	assert.False(t, *p.ProviderSpecific.Document.SecurityChecks.NonExpired.Result())
	assert.Equal(t, 11, p.UpdatedAt.Hour(), "offsets are converted to UTC")
	out, err := json.Marshal(p.CreatedAt)
	require.NoError(t, err)
	assert.Equal(t, `"2024-11-14T12:27:01Z"`, string(out), "second precision, Z")
}

func TestStatusSets(t *testing.T) {
	for _, s := range []Status{StatusPending, StatusProcessing} {
		assert.False(t, s.Final())
		assert.True(t, s.Known())
	}
	assert.False(t, Status("cancelled").Known(), "the API spells it canceled")
}

package assure

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seedProcess(t *testing.T, file string) Process {
	t.Helper()
	raw, err := os.ReadFile("testdata/seed/" + file)
	require.NoError(t, err)
	var p Process
	require.NoError(t, json.Unmarshal(raw, &p))
	return p
}

// Every check the seed's answers report, by key: the checks' objects, the
// similarity level of selfieAndDocumentMatch (high passes, medium and
// veryLow fail), and the underage rejection's status reason (it has no
// notUnderage object).
func TestCheckResultsOfTheSeedAnswers(t *testing.T) {
	five := func(failed ...string) []CheckResult {
		var out []CheckResult
		for _, k := range []string{CheckNotTamperedDocument, CheckNonExpired, CheckNotUnderage, CheckNotBlackAndWhite, CheckDataIntegrity} {
			out = append(out, CheckResult{Key: k, Passed: !slices.Contains(failed, k)})
		}
		return out
	}
	match := func(passed bool) CheckResult { return CheckResult{Key: CheckSelfieAndDocumentMatch, Passed: passed} }
	for file, want := range map[string][]CheckResult{
		"accepted-document.json":       five(),
		"accepted-documentSelfie.json": append(five(), match(true)),
		"inconclusive-nonexpired.json": five(CheckNonExpired),
		"inconclusive-medium.json":     append(five(), match(false)),
		"rejected-verylow.json":        append(five(), match(false)),
		"rejected-imagequality.json": {
			{CheckNotTamperedDocument, false}, {CheckNotBlackAndWhite, true}, {CheckDataIntegrity, false},
		},
		"rejected-notunderage.json": {
			{CheckNotTamperedDocument, true}, {CheckNotUnderage, false}, {CheckNotBlackAndWhite, true}, {CheckDataIntegrity, false},
		},
		"failed-expired.json": nil,
		"canceled.json":       nil,
	} {
		p := seedProcess(t, file)
		assert.Equal(t, want, p.CheckResults(), file)
	}
}

// sidesMatch and notFaceSpoofing are in the API's schema, not in the seed's
// examples: reported by an object (passed, or the schema's valid) they are
// read like the others; a status reason naming a check fails it even
// without (or against) its object; a reason may name a check reverify does
// not know, which is listed after the known ones.
func TestCheckResultsOfSchemaChecksAndReasons(t *testing.T) {
	var p Process
	require.NoError(t, json.Unmarshal([]byte(`{"processId":"p","provider":"signicatpictureid","status":"inconclusive",
	  "statusReasons":[
	    {"type":"Document","category":"SecurityCheckFailed","subCategory":"HologramPresent","message":"Security check 'hologramPresent' failed."},
	    {"type":"Document","category":"SecurityCheckFailed","subCategory":"NotFaceSpoofing","message":"Security check 'notFaceSpoofing' failed."},
	    {"type":"Document","category":"SecurityCheckFailed","subCategory":"NotFaceSpoofing","message":"twice"}],
	  "providerSpecific":{"document":{"securityChecks":{
	    "sidesMatch":{"valid":false},
	    "notFaceSpoofing":{"name":"Not face spoofing","passed":true},
	    "notTamperedDocument":{"name":"Not tampered document","valid":true}}}}}`), &p))
	assert.Equal(t, []CheckResult{
		{CheckNotTamperedDocument, true},
		{CheckSidesMatch, false},
		{CheckNotFaceSpoofing, false}, // the reason wins over passed:true
		{"hologramPresent", false},
	}, p.CheckResults())

	reasonsOnly := Process{Status: StatusRejected, StatusReasons: []StatusReason{
		{Type: "Document", Category: "Security", SubCategory: "SidesMatch"},
		{Type: "Biometrics", Category: "SimilarityLevel", Message: "Similarity level is 'low'."},
	}}
	assert.Equal(t, []CheckResult{{CheckSidesMatch, false}, {CheckSelfieAndDocumentMatch, false}}, reasonsOnly.CheckResults())
	assert.Empty(t, (&Process{Status: StatusAccepted}).CheckResults())
}

func TestReasonCheck(t *testing.T) {
	for _, c := range []struct {
		sr   StatusReason
		want string
	}{
		// The seed's reasons.
		{StatusReason{Type: "Document", Category: "Security", SubCategory: "NotUnderage", Message: "Security check 'notUnderage' failed or was not found."}, CheckNotUnderage},
		{StatusReason{Type: "Document", Category: "SecurityCheckFailed", SubCategory: "NonExpired"}, CheckNonExpired},
		{StatusReason{Type: "Biometrics", Category: "SimilarityLevel", Message: "Similarity level is 'veryLow'."}, CheckSelfieAndDocumentMatch},
		{StatusReason{Type: "Biometrics", Category: "SimilarityLevel", Message: "Similarity level is 'medium'."}, CheckSelfieAndDocumentMatch},
		{StatusReason{Type: "Document", Category: "ImageQuality", Message: "Document image does not have enough quality …"}, ""},
		// The schema's example: the subCategory names the check.
		{StatusReason{Type: "Document", Category: "SimilarityLevel", SubCategory: "NotUnderage"}, CheckNotUnderage},
		// The emulator's black-and-white reason; any letter case.
		{StatusReason{Type: "Document", Category: "SecurityCheckFailed", SubCategory: "NotBlackAndWhite"}, CheckNotBlackAndWhite},
		{StatusReason{Category: "SecurityCheckFailed", SubCategory: "dataintegrity"}, CheckDataIntegrity},
		// A check reverify does not know, in a security category only.
		{StatusReason{Category: "SecurityCheckFailed", SubCategory: "ÉtatCheck"}, "étatCheck"},
		{StatusReason{Category: "ImageQuality", SubCategory: "Blurred"}, ""},
		// A level that is not a failure; an empty reason.
		{StatusReason{Type: "Biometrics", Category: "SimilarityLevel", Message: "Similarity level is 'high'."}, ""},
		{StatusReason{}, ""},
	} {
		got, ok := ReasonCheck(c.sr)
		assert.Equal(t, c.want, got, "%+v", c.sr)
		assert.Equal(t, c.want != "", ok, "%+v", c.sr)
	}
}

func TestMatchResult(t *testing.T) {
	for level, want := range map[string]*bool{
		SimilarityHigh: new(true), SimilarityMedium: new(false), SimilarityLow: new(false), SimilarityVeryLow: new(false),
		"": nil, "extreme": nil,
	} {
		assert.Equal(t, want, (&Check{SimilarityLevel: level}).MatchResult(), level)
	}
	assert.Equal(t, new(true), (&Check{SimilarityLevel: SimilarityVeryLow, Passed: new(true)}).MatchResult(), "passed wins")
	assert.Nil(t, (*Check)(nil).MatchResult())
}

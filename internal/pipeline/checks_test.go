package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/privacy"
	"reverify/internal/report"
	"reverify/internal/source"
)

// checkCols are a row's check columns (nil: NULL) and failed_checks.
type checkCols struct {
	NotTampered, NonExpired, NotUnderage, NotBlackAndWhite, DataIntegrity, SidesMatch, NotFaceSpoofing, SelfieMatch *bool
	Failed                                                                                                          []string
}

func checksOf(r report.Row) checkCols {
	return checkCols{r.CheckNotTamperedDocument, r.CheckNonExpired, r.CheckNotUnderage, r.CheckNotBlackAndWhite,
		r.CheckDataIntegrity, r.CheckSidesMatch, r.CheckNotFaceSpoofing, r.CheckSelfieAndDocumentMatch, r.FailedChecks}
}

// The check columns of rows made from the API's example answers: TRUE/FALSE
// whenever the answer reports the check — selfieAndDocumentMatch by its
// similarity level, notUnderage of the underage rejection by its status
// reason — and failed_checks naming the FALSE ones. The same under every
// personal-data policy (they are not identifiers).
func TestCheckColumnsOfTheSeedAnswers(t *testing.T) {
	yes, no := new(true), new(false)
	for file, want := range map[string]checkCols{
		"accepted-document.json":       {yes, yes, yes, yes, yes, nil, nil, nil, nil},
		"accepted-documentSelfie.json": {yes, yes, yes, yes, yes, nil, nil, yes, nil},
		"inconclusive-nonexpired.json": {yes, no, yes, yes, yes, nil, nil, nil, []string{"nonExpired"}},
		"inconclusive-medium.json":     {yes, yes, yes, yes, yes, nil, nil, no, []string{"selfieAndDocumentMatch"}},
		"rejected-verylow.json":        {yes, yes, yes, yes, yes, nil, nil, no, []string{"selfieAndDocumentMatch"}},
		"rejected-imagequality.json":   {no, nil, nil, yes, no, nil, nil, nil, []string{"notTamperedDocument", "dataIntegrity"}},
		"rejected-notunderage.json":    {yes, nil, no, yes, no, nil, nil, nil, []string{"notUnderage", "dataIntegrity"}},
		"failed-expired.json":          {},
		"canceled.json":                {},
	} {
		rec := finalRecord(t, file)
		for _, policy := range []privacy.Policy{privacy.Omit, privacy.Hash, privacy.Include} {
			assert.Equal(t, want, checksOf(rowUnder(t, rec, policy)), "%s under %s", file, policy)
		}
	}
}

// sidesMatch and notFaceSpoofing (in the API's schema, never in the seed's
// examples) fill their columns when reported, by an object or by a status
// reason; a check reverify has no column for is still named in
// failed_checks.
func TestCheckColumnsOfSchemaChecks(t *testing.T) {
	proc, err := assure.DecodeProcess([]byte(`{"processId":"p-1","provider":"signicatpictureid","processType":"document",
	  "status":"inconclusive",
	  "statusReasons":[{"type":"Document","category":"SecurityCheckFailed","subCategory":"NotFaceSpoofing","message":"Security check 'notFaceSpoofing' failed."},
	                   {"type":"Document","category":"SecurityCheckFailed","subCategory":"HologramPresent","message":"Security check 'hologramPresent' failed."}],
	  "providerSpecific":{"document":{"securityChecks":{"sidesMatch":{"name":"Sides match","valid":true},"dataIntegrity":{"name":"Data integrity","passed":true}}}},
	  "createdAt":"2026-12-01T10:00:00Z","updatedAt":"2026-12-01T10:01:00Z"}`))
	require.NoError(t, err)
	rec := &record{rec: source.Record{ID: "rec-1", Front: "file:///a/rec-1/front.jpg", DocumentID: 137, ProcessType: "document"}}
	rec.st.finish(proc, proc.UpdatedAt.Time)
	yes, no := new(true), new(false)
	assert.Equal(t, checkCols{DataIntegrity: yes, SidesMatch: yes, NotFaceSpoofing: no,
		Failed: []string{"notFaceSpoofing", "hologramPresent"}}, checksOf(rowUnder(t, rec, privacy.Omit)))
}

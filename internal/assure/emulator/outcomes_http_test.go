package emulator

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
	"reverify/internal/testutil/testimage"
)

// TestOutcomeRulesOverHTTP runs every rule of docs/outcome-rules.md through
// the API with specimen images built here.
func TestOutcomeRulesOverHTTP(t *testing.T) {
	const D, DS = pictureid.ProcessDocument, pictureid.ProcessDocumentSelfie
	with := func(mut func(*specimen.Data)) specimen.Data {
		d := holder()
		mut(&d)
		return d
	}
	cases := []struct {
		name     string
		typ      string
		doc      int
		imgs     func(t *testing.T) map[string][]byte
		status   assure.Status
		reasons  []string // subCategory or category of each statusReason
		fail     string
		checkout func(t *testing.T, v assure.Process)
	}{
		{"accepted document", D, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, holder())}
		}, assure.StatusAccepted, nil, "", func(t *testing.T, v assure.Process) {
			assert.Equal(t, "WILLEKE LISELOTTE", v.FinalResult.FirstName)
			assert.Equal(t, "SPECI2021", v.FinalResult.DocumentNumber)
			assert.Empty(t, v.FinalResult.SimilarityScore)
			assert.Nil(t, v.Depictions)
		}},
		{"accepted two pages with selfie (PNG front)", DS, 136, func(t *testing.T) map[string][]byte {
			return map[string][]byte{
				"front":  testimage.Embed(t, testimage.PNG(t, testimage.Color(120, 80, 5)), with(func(d *specimen.Data) { d.DocumentID = 136 })),
				"back":   testimage.JPEG(t, testimage.Color(120, 80, 6)),
				"selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false)),
			}
		}, assure.StatusAccepted, nil, "", func(t *testing.T, v assure.Process) {
			assert.Equal(t, "high", v.FinalResult.SimilarityScore)
			assert.Equal(t, "high", v.ProviderSpecific.Document.SecurityChecks.SelfieAndDocumentMatch.SimilarityLevel)
			assert.Equal(t, &assure.Selfie{Status: "SUCCESS", X: 22, Y: 24, Width: 45, Height: 72}, v.ProviderSpecific.Selfie)
			assert.Equal(t, &assure.Box{X: 7, Y: 22, Width: 26, Height: 36}, v.ProviderSpecific.Document.Subject.Photo)
		}},
		{"underage", D, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfBirth = "2010-06-01" }))}
		}, assure.StatusRejected, []string{"NotUnderage"}, "", nil},
		{"image quality", D, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DocumentNumber = "" }))}
		}, assure.StatusRejected, []string{"ImageQuality"}, "", nil},
		{"other person", DS, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, holder()), "selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-9", false))}
		}, assure.StatusRejected, []string{"SimilarityLevel"}, "", func(t *testing.T, v assure.Process) {
			assert.Equal(t, "veryLow", v.ProviderSpecific.Document.SecurityChecks.SelfieAndDocumentMatch.SimilarityLevel)
			assert.Equal(t, "Similarity level is 'veryLow'.", v.StatusReasons[0].Message)
		}},
		{"selfie without specimen data", DS, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, holder()), "selfie": testimage.JPEG(t, testimage.Color(50, 60, 3))}
		}, assure.StatusRejected, []string{"SimilarityLevel"}, "", nil},
		{"expired", D, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfExpiry = "2025-12-31" }))}
		}, assure.StatusInconclusive, []string{"NonExpired"}, "", func(t *testing.T, v assure.Process) {
			assert.False(t, *v.ProviderSpecific.Document.SecurityChecks.NonExpired.Passed)
		}},
		{"black and white (grey JPEG)", D, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.Embed(t, testimage.JPEG(t, testimage.Grey(160, 100)), holder())}
		}, assure.StatusInconclusive, []string{"NotBlackAndWhite"}, "", func(t *testing.T, v assure.Process) {
			assert.False(t, *v.ProviderSpecific.Document.SecurityChecks.NotBlackAndWhite.Passed)
			assert.True(t, *v.ProviderSpecific.Document.SecurityChecks.NonExpired.Passed)
		}},
		{"black and white (grey PNG) and expired", D, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.Embed(t, testimage.PNG(t, testimage.Grey(160, 100)), with(func(d *specimen.Data) { d.DateOfExpiry = "2020-01-01" }))}
		}, assure.StatusInconclusive, []string{"NonExpired", "NotBlackAndWhite"}, "", nil},
		{"lookalike", DS, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{"front": testimage.FrontJPEG(t, holder()), "selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-7", true))}
		}, assure.StatusInconclusive, []string{"SimilarityLevel"}, "", func(t *testing.T, v assure.Process) {
			assert.Equal(t, "medium", v.ProviderSpecific.Document.SecurityChecks.SelfieAndDocumentMatch.SimilarityLevel)
		}},
		{"underage beats expired and lookalike", DS, 137, func(t *testing.T) map[string][]byte {
			return map[string][]byte{
				"front":  testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfBirth = "2012-01-01"; d.DateOfExpiry = "2020-01-01" })),
				"selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-7", true)),
			}
		}, assure.StatusRejected, []string{"NotUnderage"}, "", nil},
		{"corrupt front (upload_failed)", D, 137, func(t *testing.T) map[string][]byte {
			f := testimage.FrontJPEG(t, holder())
			return map[string][]byte{"front": f[:len(f)*2/3]}
		}, assure.StatusFailed, nil, "upload_failed", func(t *testing.T, v assure.Process) {
			assert.Equal(t, []string{"front"}, v.Depictions)
			assert.Equal(t, "ERROR: signicatpictureid uploadImage()", v.FailReason.Message)
		}},
		{"corrupt back (upload_failed)", D, 136, func(t *testing.T) map[string][]byte {
			b := testimage.JPEG(t, testimage.Color(100, 80, 1))
			return map[string][]byte{"front": testimage.FrontJPEG(t, holder()), "back": b[:len(b)/2]}
		}, assure.StatusFailed, nil, "upload_failed", func(t *testing.T, v assure.Process) {
			assert.Equal(t, []string{"front", "back"}, v.Depictions)
		}},
	}
	e := newEnv(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, _ := e.final(c.typ, c.doc, c.imgs(t))
			require.Equal(t, c.status, v.Status)
			var got []string
			for _, r := range v.StatusReasons {
				if r.SubCategory != "" {
					got = append(got, r.SubCategory)
				} else {
					got = append(got, r.Category)
				}
			}
			assert.Equal(t, c.reasons, got)
			if c.fail != "" {
				assert.Equal(t, c.fail, v.FailReason.Type)
			} else {
				assert.Nil(t, v.FailReason)
			}
			if c.status == assure.StatusAccepted {
				require.NotNil(t, v.FinalResult)
			} else {
				assert.Nil(t, v.FinalResult)
			}
			if c.checkout != nil {
				c.checkout(t, v)
			}
		})
	}
}

// TestHashOutcomesOverHTTP: images without specimen data get the outcome
// the pure rules predict from SHA-256 of their bytes, the same in two
// emulators with different seeds.
func TestHashOutcomesOverHTTP(t *testing.T) {
	e1 := newEnv(t, nil)
	e2 := newEnv(t, func(c *Config) { c.Seed = 12345 })
	seen := map[assure.Status]bool{}
	for i := range 40 {
		front := testimage.JPEG(t, testimage.Color(64, 48, uint8(i)))
		selfie := testimage.JPEG(t, testimage.Color(48, 64, uint8(100+i)))
		imgs := map[string][]byte{"front": front, "selfie": selfie}
		v1, _ := e1.final(pictureid.ProcessDocumentSelfie, 222, imgs)
		v2, _ := e2.final(pictureid.ProcessDocumentSelfie, 222, imgs)
		assert.Equal(t, v1.Status, v2.Status, "image %d", i)
		assert.Equal(t, v1.StatusReasons, v2.StatusReasons)
		assert.Equal(t, v1.FinalResult, v2.FinalResult)

		want := Decide(Facts{ProcessType: pictureid.ProcessDocumentSelfie, Hash: sha256.Sum256(append(append([]byte{}, front...), selfie...)),
			Mix: DefaultConfig().OutcomeMix})
		assert.Equal(t, want.Status, v1.Status, "image %d", i)
		seen[v1.Status] = true
		if v1.Status == assure.StatusAccepted {
			assert.Equal(t, "EMULATED", v1.FinalResult.FirstName)
			assert.Equal(t, "NOR", v1.FinalResult.IssuingCountry)
		}
	}
	assert.True(t, seen[assure.StatusAccepted])
	assert.Greater(t, len(seen), 1, "40 images give more than one status: %v", seen)
}

// TestHashOutcomeFollowsConfiguredMix: a mix of 100% rejected rejects every
// plain image.
func TestHashOutcomeFollowsConfiguredMix(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.OutcomeMix = Mix{Rejected: 1} })
	for i := range 5 {
		v, _ := e.final(pictureid.ProcessDocument, 137, map[string][]byte{"front": testimage.JPEG(t, testimage.Color(30, 20, uint8(i)))})
		assert.Equal(t, assure.StatusRejected, v.Status, fmt.Sprint(i))
	}
}

package specimen

import (
	"regexp"
	"reverify/internal/pictureid"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reference dates at which the expected outcomes must hold.
func checkDates() []time.Time {
	return []time.Time{time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), ValidThrough().Add(23 * time.Hour)}
}

func TestNewRecordPerCase(t *testing.T) {
	upper := regexp.MustCompile(`^[A-Z]+( [A-Z]+)*$`)
	for _, c := range Cases() {
		for i := 0; i < 60; i++ {
			rec := NewRecord(42, i, c)
			require.Equal(t, NewRecord(42, i, c), rec, "NewRecord is deterministic")
			assert.Equal(t, RecordID(i), rec.ID)
			assert.Equal(t, c, rec.Case)
			assert.Equal(t, c.PreviousStatus(), rec.PreviousStatus)
			doc, ok := DocumentByID(rec.Document.ID)
			require.True(t, ok)
			assert.Equal(t, doc, rec.Document)

			front, hasFront := rec.Image(RoleFront)
			back, hasBack := rec.Image(RoleBack)
			selfie, hasSelfie := rec.Image(RoleSelfie)
			assert.Equal(t, c != CaseMissingFront, hasFront, "%s front", c)
			assert.Equal(t, doc.Pages == 2, hasBack, "%s back for 2-page documents", c)
			wantSelfie := c != CaseDocumentOnly && c != CaseMissingSelfie
			assert.Equal(t, wantSelfie, hasSelfie, "%s selfie", c)
			if c == CaseDocumentOnly {
				assert.Equal(t, pictureid.ProcessDocument, rec.ProcessType)
			} else {
				assert.Equal(t, pictureid.ProcessDocumentSelfie, rec.ProcessType)
			}
			if c == CaseTwoSided {
				assert.Equal(t, 2, doc.Pages)
			}

			if hasFront {
				switch c {
				case CaseCorruptJPEG:
					assert.Equal(t, Image{Role: RoleFront, Name: "front.jpg", Format: FormatCorrupt}, front)
				case CasePDFAsJPEG:
					assert.Equal(t, FormatPDF, front.Format)
					assert.Equal(t, "front.jpg", front.Name)
				case CaseTooSmall:
					assert.Equal(t, [2]int{TinySize, TinySize}, [2]int{front.Width, front.Height})
				default:
					assert.Equal(t, [2]int{CardWidth, CardHeight}, [2]int{front.Width, front.Height})
					assert.Equal(t, c == CaseBlackAndWhite, front.Gray)
					assert.Contains(t, []string{"front.jpg", "front.png"}, front.Name)
				}
			}
			d := front.Data
			if hasBack {
				d = back.Data
				assert.Equal(t, RoleBack, d.Role)
				assert.Equal(t, "back.jpg", back.Name)
				assert.Equal(t, c == CaseBlackAndWhite, back.Gray)
			}
			if hasFront && hasBack && front.Data.V != 0 {
				same := front.Data
				same.Role = RoleBack
				assert.Equal(t, same, back.Data, "back carries the front's document data")
			}
			if d.V == 0 {
				// no document data: a missing or corrupt front of a 1-page document
				assert.Contains(t, []Case{CaseMissingFront, CaseCorruptJPEG}, c)
				continue
			}
			assert.Equal(t, Version, d.V)
			assert.Equal(t, doc.ID, d.DocumentID)
			assert.Equal(t, doc.Type, d.DocumentType)
			assert.Equal(t, doc.Country, d.Nationality)
			assert.Equal(t, doc.Country, d.IssuingCountry)
			assert.Contains(t, []string{"M", "F"}, d.Gender)
			assert.Regexp(t, upper, d.FirstName)
			assert.Regexp(t, upper, d.LastName)
			assert.Regexp(t, `^9[0-9]{8}$`, d.PersonalIdentificationNumber)
			assert.Regexp(t, `^P[0-9A-F]{12}$`, d.PersonID)
			born, ok := d.Birth()
			require.True(t, ok)
			exp, ok := d.Expiry()
			require.True(t, ok)
			issued, err := time.Parse(DateLayout, d.DateOfIssue)
			require.NoError(t, err)
			years := exp.Sub(issued).Hours() / 24 / 365.25
			assert.True(t, years > 4.9 && years < 10.1, "issued %s, expires %s", d.DateOfIssue, d.DateOfExpiry)

			switch c {
			case CaseUnderage:
				assert.True(t, born.Year() >= 2014 && born.Year() <= 2016, d.DateOfBirth)
			default:
				assert.True(t, born.Year() >= 1950 && born.Year() <= 1995, d.DateOfBirth)
			}
			switch c {
			case CaseExpired:
				assert.True(t, exp.Year() >= 2019 && exp.Year() <= 2023, d.DateOfExpiry)
			default:
				assert.True(t, exp.Year() >= 2034 && exp.Year() <= 2040, d.DateOfExpiry)
			}
			if c == CaseUnreadableNumber {
				assert.Empty(t, d.DocumentNumber)
			} else {
				assert.Regexp(t, `^[A-Z]{2}[0-9]{7}$`, d.DocumentNumber)
			}

			if hasSelfie {
				s := selfie.Data
				assert.Equal(t, RoleSelfie, s.Role)
				assert.Equal(t, SelfieWidth, selfie.Width)
				assert.Equal(t, SelfieHeight, selfie.Height)
				switch c {
				case CaseOtherPerson:
					assert.NotEqual(t, d.PersonID, s.PersonID)
					assert.False(t, s.Lookalike)
				case CaseLookalike:
					assert.NotEqual(t, d.PersonID, s.PersonID)
					assert.True(t, s.Lookalike)
				default:
					assert.Equal(t, d.PersonID, s.PersonID)
					assert.False(t, s.Lookalike)
				}
			}
		}
	}
}

// TestExpectedFollowsRules checks, for many records of every valid case,
// that the outcome rules applied to the generated data give the expected
// outcome, today and on the last day the archive promises.
func TestExpectedFollowsRules(t *testing.T) {
	for _, c := range Cases() {
		if c.Broken() {
			continue
		}
		for i := 0; i < 300; i++ {
			rec := NewRecord(3, i, c)
			front, _ := rec.Image(RoleFront)
			var selfie *Data
			if im, ok := rec.Image(RoleSelfie); ok {
				selfie = &im.Data
			}
			for _, now := range checkDates() {
				got := predictRules(&front.Data, front.Gray, selfie, rec.ProcessType, now)
				require.Equal(t, rec.Expected(), got, "%s record %d at %s", c, i, now)
			}
		}
	}
}

func TestRecordIndexFiles(t *testing.T) {
	rec := NewRecord(1, 41, CaseMissingSelfie)
	assert.Equal(t, "rec-000042", rec.ID)
	meta, err := rec.MetaJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"documentId":`+fmtInt(rec.Document.ID)+`,"processType":"documentSelfie","case":"missing_selfie","previous_status":"accepted"}`, string(meta))

	line := rec.ExpectedLine()
	assert.Equal(t, ExpectedLine{RecordID: "rec-000042", Outcome: OutcomeSkipped, Reason: ReasonMissingSelfie,
		Case: CaseMissingSelfie, ProcessType: pictureid.ProcessDocumentSelfie, DocumentID: rec.Document.ID}, line)

	row := rec.ManifestRow()
	require.Len(t, row, len(ManifestHeader()))
	assert.Equal(t, "rec-000042", row[0])
	front, _ := rec.Image(RoleFront)
	assert.Equal(t, "rec-000042/"+front.Name, row[1])
	assert.Equal(t, "", row[3], "no selfie path")
	assert.Equal(t, []string{fmtInt(rec.Document.ID), "documentSelfie", "accepted", "missing_selfie"}, row[4:])
}

func TestMRZCheckDigits(t *testing.T) {
	// ICAO 9303 specimen: document number L898902C3 has check digit 6,
	// birth 740812 → 2, expiry 120415 → 9.
	assert.Equal(t, byte('6'), mrzCheck("L898902C3"))
	assert.Equal(t, byte('2'), mrzCheck("740812"))
	assert.Equal(t, byte('9'), mrzCheck("120415"))
	d := Data{IssuingCountry: "NLD", Nationality: "NLD", LastName: "DE BRUIJN", FirstName: "WILLEKE LISELOTTE",
		DocumentNumber: "SPECI2021", DateOfBirth: "1965-03-10", DateOfExpiry: "2031-08-30", Gender: "F",
		PersonalIdentificationNumber: "999999990"}
	td3 := mrzTD3(&d)
	assert.Equal(t, "P<NLDDE<BRUIJN<<WILLEKE<LISELOTTE<<<<<<<<<<<", td3[0])
	assert.Len(t, td3[1], 44)
	assert.Equal(t, "SPECI2021", td3[1][:9])
	td1 := mrzTD1(&d)
	for _, l := range td1 {
		assert.Len(t, l, 30)
	}
	assert.Equal(t, "DE<BRUIJN<<WILLEKE<LISELOTTE<<", td1[2])
}

package specimen

import (
	"fmt"
	"reverify/internal/pictureid"
	"time"
)

// Image sizes of the generated files.
const (
	CardWidth    = 1000 // front and back of every document
	CardHeight   = 630
	SelfieWidth  = 480
	SelfieHeight = 640
	TinySize     = 50 // the too_small case's front is TinySize×TinySize
)

// File formats of a record's images.
const (
	FormatJPEG    = "jpeg"
	FormatPNG     = "png"
	FormatPDF     = "pdf"     // a PDF (named .jpg)
	FormatCorrupt = "corrupt" // JPEG start marker followed by garbage
)

// Image describes one image file of a record.
type Image struct {
	Role   string // RoleFront, RoleBack or RoleSelfie
	Name   string // file name in the record folder: front.jpg, selfie.png, …
	Format string // FormatJPEG, FormatPNG, FormatPDF or FormatCorrupt
	// Width and Height in pixels (0 for FormatPDF and FormatCorrupt).
	Width, Height int
	// Gray: every pixel is grey (the black-and-white copy).
	Gray bool
	// Data is the specimen data embedded in the image (JPEG and PNG); a
	// PDF prints the names, a corrupt file has none.
	Data Data
}

// Record is one synthetic record: its files and the outcome it must get.
type Record struct {
	Seed           int64
	Index          int // 0-based position in the archive
	ID             string
	Case           Case
	Document       DocumentType
	ProcessType    string
	PreviousStatus string
	// Images lists the record's image files in the order front, back,
	// selfie; images the case leaves out are absent.
	Images []Image

	look look
}

// RecordID is the id of the record at 0-based index i: rec-000001, ….
func RecordID(i int) string { return fmt.Sprintf("rec-%06d", i+1) }

// Key returns the object key of a file of the record (relative to the
// archive root).
func (r *Record) Key(name string) string { return r.ID + "/" + name }

// Image returns the record's image of a role.
func (r *Record) Image(role string) (Image, bool) {
	for _, im := range r.Images {
		if im.Role == role {
			return im, true
		}
	}
	return Image{}, false
}

// Expected is the outcome the record must get.
func (r *Record) Expected() Expectation { return r.Case.Expected() }

// Fixed date ranges (see docs/specimen.md): the expected outcomes hold
// through ValidThrough.
func adultBorn() [2]time.Time   { return [2]time.Time{date(1950, 1, 1), date(1995, 12, 31)} }
func minorBorn() [2]time.Time   { return [2]time.Time{date(2014, 1, 1), date(2016, 12, 31)} }
func validExpiry() [2]time.Time { return [2]time.Time{date(2034, 1, 1), date(2040, 12, 31)} }
func pastExpiry() [2]time.Time  { return [2]time.Time{date(2019, 1, 1), date(2023, 12, 31)} }

// Validity of a document in years, from issue to expiry.
const (
	minValidityYears = 5
	maxValidityYears = 10
)

// ValidThrough is the last day on which every expected outcome holds: the
// youngest underage holder (born 2014-01-01) is 17 until then, and the
// earliest valid document expires later (2034).
func ValidThrough() time.Time { return date(2031, 12, 31) }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func randomDate(r *rng, span [2]time.Time) time.Time {
	days := int(span[1].Sub(span[0]).Hours() / 24)
	return span[0].AddDate(0, 0, r.IntN(days+1))
}

// Shares of fronts and of selfies written as PNG (the rest is JPEG). PNG
// encoding costs several times more CPU than JPEG here, hence few fronts.
const (
	frontPNGShare  = 0.05
	selfiePNGShare = 0.10
)

// NewRecord builds record i of an archive generated with seed, of case c.
// It is cheap (no pixels): rendering happens in Render.
func NewRecord(seed int64, i int, c Case) Record {
	r := newRNG(seed, streamRecord, uint64(i))
	docs := documentTable[:]
	if c == CaseTwoSided {
		docs = twoPageDocuments()
	}
	doc := pick(r, docs)
	ctry := countryByCode(doc.Country)

	gender := "F"
	first := pick(r, ctry.female)
	if r.Chance(0.5) {
		gender = "M"
		first = pick(r, ctry.male)
	}
	if r.Chance(0.25) {
		pool := ctry.female
		if gender == "M" {
			pool = ctry.male
		}
		if second := pick(r, pool); second != first {
			first += " " + second
		}
	}
	last := pick(r, ctry.last)
	born := randomDate(r, adultBorn())
	minorBirth := randomDate(r, minorBorn())
	expiry := randomDate(r, validExpiry())
	pastExp := randomDate(r, pastExpiry())
	years := r.Range(minValidityYears, maxValidityYears)
	number := documentNumber(r)
	personal := fmt.Sprintf("9%08d", r.IntN(100_000_000))
	holder := personID(r)
	other := personID(r)
	for other == holder {
		other = personID(r)
	}
	otherGender := pick(r, []string{"F", "M"})
	frontPNG := r.Chance(frontPNGShare)
	selfiePNG := r.Chance(selfiePNGShare)
	lk := newLook(r, ctry)

	switch c {
	case CaseUnderage:
		born = minorBirth
	case CaseExpired:
		expiry = pastExp
	case CaseUnreadableNumber:
		number = ""
	}
	front := Data{
		V: Version, Role: RoleFront, PersonID: holder,
		DocumentID: doc.ID, DocumentType: doc.Type,
		FirstName: first, LastName: last,
		DateOfBirth: born.Format(DateLayout), PlaceOfBirth: pick(r, ctry.cities), Gender: gender,
		Nationality: doc.Country, IssuingCountry: doc.Country,
		DocumentNumber: number,
		DateOfIssue:    expiry.AddDate(-years, 0, 1).Format(DateLayout),
		DateOfExpiry:   expiry.Format(DateLayout),

		PersonalIdentificationNumber: personal,
	}
	selfie := Data{V: Version, Role: RoleSelfie, PersonID: holder}
	lk.holder = faceOf(holder, gender)
	lk.selfie = lk.holder
	switch c {
	case CaseOtherPerson:
		selfie.PersonID = other
		lk.selfie = faceOf(other, otherGender)
	case CaseLookalike:
		selfie.PersonID = other
		selfie.Lookalike = true
		lk.selfie = lk.holder.lookalike(other)
	}

	rec := Record{
		Seed: seed, Index: i, ID: RecordID(i), Case: c, Document: doc,
		ProcessType:    pictureid.ProcessDocumentSelfie,
		PreviousStatus: c.PreviousStatus(),
		look:           lk,
	}
	if c == CaseDocumentOnly {
		rec.ProcessType = pictureid.ProcessDocument
	}
	rec.Images = recordImages(c, doc, rec.ProcessType, front, selfie, frontPNG, selfiePNG)
	return rec
}

// recordImages lists the image files of a record of case c.
func recordImages(c Case, doc DocumentType, processType string, front, selfie Data, frontPNG, selfiePNG bool) []Image {
	var out []Image
	gray := c == CaseBlackAndWhite
	switch c {
	case CaseMissingFront:
	case CaseCorruptJPEG:
		out = append(out, Image{Role: RoleFront, Name: "front.jpg", Format: FormatCorrupt})
	case CasePDFAsJPEG:
		out = append(out, Image{Role: RoleFront, Name: "front.jpg", Format: FormatPDF, Data: front})
	case CaseTooSmall:
		out = append(out, Image{Role: RoleFront, Name: "front.jpg", Format: FormatJPEG,
			Width: TinySize, Height: TinySize, Data: front})
	default:
		im := Image{Role: RoleFront, Name: "front.jpg", Format: FormatJPEG, Width: CardWidth, Height: CardHeight,
			Gray: gray, Data: front}
		if frontPNG {
			im.Name, im.Format = "front.png", FormatPNG
		}
		out = append(out, im)
	}
	if doc.Pages == 2 {
		back := front
		back.Role = RoleBack
		out = append(out, Image{Role: RoleBack, Name: "back.jpg", Format: FormatJPEG,
			Width: CardWidth, Height: CardHeight, Gray: gray, Data: back})
	}
	if processType == pictureid.ProcessDocumentSelfie && c != CaseMissingSelfie {
		im := Image{Role: RoleSelfie, Name: "selfie.jpg", Format: FormatJPEG, Width: SelfieWidth, Height: SelfieHeight,
			Data: selfie}
		if selfiePNG {
			im.Name, im.Format = "selfie.png", FormatPNG
		}
		out = append(out, im)
	}
	return out
}

func twoPageDocuments() []DocumentType {
	var out []DocumentType
	for _, d := range documentTable {
		if d.Pages == 2 {
			out = append(out, d)
		}
	}
	return out
}

// documentNumber is two letters and seven digits (like SPECI2021's nine
// characters); O and I are left out as on real documents.
func documentNumber(r *rng) string {
	const letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
	return fmt.Sprintf("%c%c%07d", letters[r.IntN(len(letters))], letters[r.IntN(len(letters))], r.IntN(10_000_000))
}

// personID is a synthetic person id: P and twelve hex digits.
func personID(r *rng) string { return fmt.Sprintf("P%012X", r.Uint64()>>16) }

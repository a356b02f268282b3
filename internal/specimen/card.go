package specimen

import (
	"image"
	"strconv"
	"strings"
	"time"
)

// Card layout, in pixels of a CardWidth×CardHeight image. Text rows,
// bands and boxes start on multiples of 8 so that they cover as few JPEG
// blocks as possible (a line of scale-3 text is 21 pixels: 3 block rows).
const (
	cardInset  = 16  // backdrop visible around the card
	cardRadius = 36  // rounded corners
	fieldX     = 352 // first column of printed fields
	fieldX2    = 688 // second column
	fieldY     = 136 // first field row
	fieldPitch = 56  // distance between field rows
)

func cardRect() image.Rectangle {
	return image.Rect(cardInset, cardInset, CardWidth-cardInset, CardHeight-cardInset)
}

func photoRect() image.Rectangle { return image.Rect(48, 136, 320, 496) }

// displayDate renders a DateLayout date the way the document prints it.
func displayDate(s string, numeric bool) string {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return s
	}
	if numeric {
		return t.Format("02.01.2006")
	}
	return strings.ToUpper(t.Format("02 Jan 2006"))
}

// drawCardBase paints the backdrop, the card with its gradient, security
// print and header band.
func drawCardBase(c *canvas, lk *look, doc DocumentType, r *rng, back bool) {
	c.fill(c.bounds(), lk.backdrop)
	top, bottom := lk.top, lk.bottom
	if back {
		top, bottom = bottom.shade(1.08), top
	}
	card := cardRect()
	c.gradient(card, cardRadius, top, bottom)
	c.setClip(card.Inset(cardRadius / 2))
	for k := 0; k < 2; k++ {
		y := 200 + float64(k)*220 + float64(r.IntN(40))
		c.wave(card.Min.X, card.Max.X, y, 18+float64(r.IntN(14)), 180+float64(r.IntN(120)), r.Float()*6.3, 3,
			lk.pattern)
	}
	c.noClip()
	c.fillRect(card.Min.X, 40, card.Max.X, 104, lk.header)
	ctry := countryByCode(doc.Country)
	c.text(48, 48, 3, ctry.name, lk.headerInk)
	title := doc.title()
	if back {
		title += " - " + doc.Country
	}
	c.text(48, 80, 2, title, lk.headerInk)
	// emblem: concentric rings
	c.ellipse(930, 72, 28, 28, lk.accent)
	c.ring(930, 72, 22, 22, 3, lk.headerInk)
	c.ellipse(930, 72, 8, 8, lk.headerInk)
}

// field prints a label and its value at (x, y).
func field(c *canvas, lk *look, x, y int, label, value string) {
	c.text(x, y, 2, label, lk.label)
	c.text(x, y+18, 3, value, lk.ink) // rows y+18..y+38: block rows y+16..y+40
}

// smudge covers [x0, x1) × [y0, y1) with blots: the unreadable document
// number.
func smudge(c *canvas, lk *look, r *rng, x0, y0, x1, y1 int) {
	col := lerp(lk.ink, lk.bottom, 0.45)
	for k := 0; k < 9; k++ {
		cx := float64(x0) + float64(x1-x0)*r.Float()
		cy := float64(y0) + float64(y1-y0)*r.Float()
		c.ellipse(cx, cy, 20+30*r.Float(), 10+10*r.Float(), col)
	}
	c.fillRect(x0, y0+4, x1, y1-4, col)
}

// drawFront renders the front of the document described by d.
func drawFront(c *canvas, lk *look, doc DocumentType, d *Data, r *rng) {
	drawCardBase(c, lk, doc, r, false)
	ph := photoRect()
	c.fill(ph, lk.photoBG)
	lk.holder.draw(c, ph, lk.photoShirt)

	numeric := doc.Type == TypeDriversLicense
	labels := [...]string{"SURNAME", "GIVEN NAMES", "NATIONALITY", "SEX", "DATE OF BIRTH", "PLACE OF BIRTH",
		"DOCUMENT NO", "PERSONAL NO", "DATE OF ISSUE", "DATE OF EXPIRY"}
	if numeric {
		labels = [...]string{"1. SURNAME", "2. GIVEN NAMES", "NATIONALITY", "SEX", "3. DATE OF BIRTH", "PLACE OF BIRTH",
			"5. LICENCE NO", "4D. PERSONAL NO", "4A. ISSUED", "4B. EXPIRES"}
	}
	values := [...]string{d.LastName, d.FirstName, d.Nationality, d.Gender,
		displayDate(d.DateOfBirth, numeric), d.PlaceOfBirth,
		d.DocumentNumber, d.PersonalIdentificationNumber,
		displayDate(d.DateOfIssue, numeric), displayDate(d.DateOfExpiry, numeric)}
	field(c, lk, fieldX, fieldY, labels[0], values[0])
	field(c, lk, fieldX, fieldY+fieldPitch, labels[1], values[1])
	for row := 2; row < 6; row++ {
		y := fieldY + row*fieldPitch
		field(c, lk, fieldX, y, labels[2*row-2], values[2*row-2])
		field(c, lk, fieldX2, y, labels[2*row-1], values[2*row-1])
	}
	numberY := fieldY + 4*fieldPitch
	if d.DocumentNumber == "" {
		smudge(c, lk, r, fieldX-6, numberY+14, fieldX+230, numberY+46)
	}

	if doc.Type == TypePassport {
		c.fillRect(40, 504, CardWidth-40, 600, lk.band)
		lines := mrzTD3(d)
		x := (CardWidth - textWidth(lines[0], 3)) / 2 / 8 * 8
		c.text(x, 520, 3, lines[0], lk.ink)
		c.text(x, 560, 3, lines[1], lk.ink)
		if d.DocumentNumber == "" {
			smudge(c, lk, r, x-4, 554, x+textWidth("0000000000", 3), 588)
		}
		return
	}
	// signature under the photo
	c.setClip(image.Rect(ph.Min.X, 504, ph.Max.X+60, 580))
	c.wave(ph.Min.X+10, ph.Max.X+40, 540, 12+float64(r.IntN(10)), 40+float64(r.IntN(40)), r.Float()*6, 3, lk.ink)
	c.noClip()
	if numeric {
		c.text(fieldX, 536, 2, "9. AM/A/B", lk.label)
	}
}

// drawBack renders the back of a 2-page document.
func drawBack(c *canvas, lk *look, doc DocumentType, d *Data, r *rng) {
	drawCardBase(c, lk, doc, r, true)
	if doc.Type == TypeDriversLicense {
		drawLicenceBack(c, lk, d, r)
		return
	}
	field(c, lk, 48, 136, "HEIGHT", strconv.Itoa(lk.heightCM/100)+"."+twoDigits(lk.heightCM%100)+" M")
	field(c, lk, 304, 136, "AUTHORITY", d.PlaceOfBirth)
	field(c, lk, 48, 192, "PERSONAL NO", d.PersonalIdentificationNumber)
	field(c, lk, 48, 248, "DATE OF ISSUE", displayDate(d.DateOfIssue, false))
	// chip-like block
	c.fillRect(720, 144, 864, 240, lk.accent)
	c.fillRect(728, 152, 856, 232, lk.accent.shade(1.15))
	c.fillRect(790, 144, 794, 240, lk.accent.shade(0.8))
	c.fillRect(720, 190, 864, 194, lk.accent.shade(0.8))

	c.fillRect(40, 440, CardWidth-40, 600, lk.band)
	lines := mrzTD1(d)
	x := (CardWidth - textWidth(lines[0], 3)) / 2 / 8 * 8
	for i, l := range lines {
		c.text(x, 456+i*40, 3, l, lk.ink)
	}
	if d.DocumentNumber == "" {
		smudge(c, lk, r, x+5*18, 450, x+15*18, 484)
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// drawLicenceBack renders the categories table of a driving licence and a
// barcode.
func drawLicenceBack(c *canvas, lk *look, d *Data, r *rng) {
	cats := [...]string{"AM", "A1", "A2", "A", "B1", "B", "BE", "C1"}
	x0, y0, rowH := 48, 128, 48
	for i := 0; i <= len(cats); i++ {
		c.fillRect(x0, y0+i*rowH, 700, y0+i*rowH+3, lk.label)
	}
	for _, x := range []int{x0, 160, 430, 700} {
		c.fillRect(x, y0, x+3, y0+len(cats)*rowH+3, lk.label)
	}
	for i, cat := range cats {
		y := y0 + i*rowH + 16
		c.text(x0+16, y, 3, cat, lk.ink)
		if cat == "AM" || cat == "B" || (cat == "A" && r.Chance(0.3)) {
			c.text(176, y, 3, displayDate(d.DateOfIssue, true), lk.ink)
			c.text(446, y, 3, displayDate(d.DateOfExpiry, true), lk.ink)
		}
	}
	// barcode; bars and gaps are whole 8-pixel blocks (cheap to encode)
	for x := 744; x < 952; {
		w := 8 * (1 + r.IntN(2))
		c.fillRect(x, 144, min(x+w, 952), 560, lk.ink)
		x += w + 8*(1+r.IntN(2))
	}
	c.text(48, 536, 2, "LICENCE NO "+d.DocumentNumber, lk.label)
	if d.DocumentNumber == "" {
		smudge(c, lk, r, 48+11*12, 528, 48+22*12, 558)
	}
}

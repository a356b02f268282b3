package specimen

import (
	"bytes"
	"fmt"
	"image"
)

// corruptJPEG is a JPEG start-of-image marker followed by garbage without a
// single 0xFF byte, so no segment marker follows: a decoder cannot read a
// header or dimensions, yet the file looks like a JPEG by its first bytes.
func corruptJPEG(r *rng) []byte {
	n := 2048 + r.IntN(6144)
	out := make([]byte, 2, n)
	out[0], out[1] = 0xFF, 0xD8
	for len(out) < n {
		out = append(out, byte(r.IntN(0xFF))) // 0x00..0xFE
	}
	return out
}

// pdfScan is a small, valid one-page PDF (a "scanned document" drawn with
// vector shapes) that the archive stores as front.jpg.
func pdfScan(lk *look, d *Data) []byte {
	col := func(c ycc) string {
		r, g, b := yccToRGB(c)
		return fmt.Sprintf("%.3f %.3f %.3f", float64(r)/255, float64(g)/255, float64(b)/255)
	}
	var content bytes.Buffer
	fmt.Fprintf(&content, "%s rg 0 0 243 153 re f\n", col(lk.bottom))
	fmt.Fprintf(&content, "%s rg 0 120 243 24 re f\n", col(lk.header))
	fmt.Fprintf(&content, "%s rg 12 30 66 84 re f\n", col(lk.photoBG))
	fmt.Fprintf(&content, "BT /F1 9 Tf %s rg 12 128 Td (%s) Tj ET\n", col(lk.headerInk), pdfText(countryByCode(d.IssuingCountry).name))
	fmt.Fprintf(&content, "BT /F1 8 Tf %s rg 90 100 Td (%s) Tj 0 -12 Td (%s) Tj 0 -12 Td (%s) Tj ET\n",
		col(lk.ink), pdfText(d.LastName), pdfText(d.FirstName), pdfText(d.DateOfBirth))

	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 243 153] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// pdfText escapes s for a PDF string literal.
func pdfText(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '(', ')', '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		default:
			if ch >= 0x20 && ch < 0x7F {
				b.WriteByte(ch)
			}
		}
	}
	return b.String()
}

// drawTiny renders a TinySize×TinySize thumbnail of the front: the card
// scaled down onto its backdrop.
func drawTiny(tiny, card *canvas, lk *look) {
	tiny.fill(tiny.bounds(), lk.backdrop)
	h := TinySize * CardHeight / CardWidth
	y := (TinySize - h) / 2
	card.sampleInto(tiny, image.Rect(0, y, TinySize, y+h))
}

// Package testimage builds the images that tests send through the archive,
// the client and the emulator: gradients, their JPEG and PNG encodings, and
// specimen data (internal/specimen) embedded in them.
package testimage

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"

	"reverify/internal/specimen"
)

// Quality is the JPEG quality of JPEG and MustJPEG.
const Quality = 85

// Color is a w×h colourful gradient (never black and white); seed shifts
// the colours.
func Color(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*255/w) + seed, uint8(y*255/h) + 2*seed, 200 - seed, 255})
		}
	}
	return img
}

// Grey is a w×h grey gradient with a dark rectangle: a black-and-white copy.
func Grey(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{uint8((x + y) * 255 / (w + h))})
		}
	}
	draw.Draw(img, image.Rect(w/4, h/4, w/2, h/2), image.NewUniform(color.Gray{30}), image.Point{}, draw.Src)
	return img
}

// JPEG encodes img at Quality.
func JPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	return JPEGAt(t, img, Quality)
}

// JPEGAt encodes img at the given quality.
func JPEGAt(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}))
	return b.Bytes()
}

// MustJPEG is JPEG for goroutines other than the test's (and benchmarks'
// setup): it panics on an error.
func MustJPEG(img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: Quality}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNG encodes img as a PNG.
func PNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// Embed writes specimen data into a JPEG or PNG (internal/specimen's format).
func Embed(t testing.TB, img []byte, d specimen.Data) []byte {
	t.Helper()
	out, err := specimen.Embed(img, d)
	require.NoError(t, err)
	return out
}

// FrontJPEG is a colourful 160×100 front carrying d.
func FrontJPEG(t testing.TB, d specimen.Data) []byte {
	t.Helper()
	return Embed(t, JPEG(t, Color(160, 100, 0)), d)
}

// SelfieJPEG is a colourful 90×120 selfie carrying d.
func SelfieJPEG(t testing.TB, d specimen.Data) []byte {
	t.Helper()
	return Embed(t, JPEG(t, Color(90, 120, 40)), d)
}

// Holder is the front's data of the seed's holder (an adult with passport
// 137, as in the emulator's testdata/seed) whose document expires on
// dateOfExpiry (specimen.DateLayout).
func Holder(dateOfExpiry string) specimen.Data {
	return specimen.Data{
		Role: specimen.RoleFront, PersonID: "person-1", DocumentID: 137, DocumentType: "passport",
		FirstName: "WILLEKE LISELOTTE", LastName: "DE BRUIJN", DateOfBirth: "1965-03-10", Gender: "F",
		Nationality: "NLD", IssuingCountry: "NLD", DocumentNumber: "SPECI2021",
		DateOfIssue: "2021-08-31", DateOfExpiry: dateOfExpiry, PersonalIdentificationNumber: "999999990",
	}
}

// SelfieData is a selfie's data: of personID, a lookalike of them or not.
func SelfieData(personID string, lookalike bool) specimen.Data {
	return specimen.Data{Role: specimen.RoleSelfie, PersonID: personID, Lookalike: lookalike}
}

// Claiming returns a copy of a baseline JPEG whose frame header (SOF0)
// declares w × h pixels: a small file that says it is huge, as a
// decompression bomb does. Its pixel data is the original's, so it does not
// decode as w × h; only its header is read by those who check sizes first.
func Claiming(t testing.TB, jpegBytes []byte, w, h int) []byte {
	t.Helper()
	out := append([]byte(nil), jpegBytes...)
	for i := 2; i+9 < len(out); {
		if out[i] != 0xFF {
			t.Fatalf("testimage: not a JPEG marker at %d", i)
		}
		marker := out[i+1]
		n := int(out[i+2])<<8 | int(out[i+3])
		if marker == 0xC0 { // SOF0: length, precision, height, width
			out[i+5], out[i+6] = byte(h>>8), byte(h)
			out[i+7], out[i+8] = byte(w>>8), byte(w)
			return out
		}
		i += 2 + n
	}
	t.Fatalf("testimage: no SOF0 marker")
	return nil
}

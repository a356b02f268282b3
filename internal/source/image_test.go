package source

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
)

// pngWithIHDR rewrites a PNG's dimensions (and the IHDR checksum).
func pngWithIHDR(b []byte, w, h uint32) []byte {
	out := append([]byte{}, b...)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

// withJFIF inserts a JFIF APP0 segment after SOI, as cameras and most
// encoders write (Go's encoder does not).
func withJFIF(b []byte) []byte {
	app0 := []byte{0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	out := append([]byte{0xFF, 0xD8}, app0...)
	return append(out, b[2:]...)
}

// jpegUpToScan cuts a JPEG right before its start-of-scan marker.
func jpegUpToScan(b []byte) []byte {
	i := bytes.Index(b, []byte{0xFF, 0xDA})
	return b[:i]
}

func TestCheckImage(t *testing.T) {
	jpg := jpegBytes(t, 400, 300)
	pngb := pngBytes(t, 64, 48)
	cases := []struct {
		name   string
		in     []byte
		code   string
		format string
		w, h   int
		reason string
	}{
		{"jpeg", jpg, "", FormatJPEG, 400, 300, ""},
		{"png", pngb, "", FormatPNG, 64, 48, ""},
		{"jpeg with trailing bytes", append(append([]byte{}, jpg...), "trailer"...), "", FormatJPEG, 400, 300, ""},
		{"png with trailing bytes", append(append([]byte{}, pngb...), 0, 0, 0), "", FormatPNG, 64, 48, ""},
		{"empty", nil, CodeEmptyFile, "", 0, 0, "empty"},
		{"pdf", pdfBytes, CodeUnsupportedFormat, "", 0, 0, "a PDF document"},
		{"gif", gifBytes(t, 10, 10), CodeUnsupportedFormat, "", 0, 0, "a GIF image"},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"), CodeUnsupportedFormat, "", 0, 0, "a WebP image"},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), CodeUnsupportedFormat, "", 0, 0, "a HEIC image"},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), CodeUnsupportedFormat, "", 0, 0, "a TIFF image"},
		{"text", []byte("hello, this is not an image\n"), CodeUnsupportedFormat, "", 0, 0, "text (text/plain)"},
		{"html", []byte("<html><body>x</body></html>"), CodeUnsupportedFormat, "", 0, 0, "text (text/html)"},
		{"binary", []byte{1, 2, 3, 4, 5}, CodeUnsupportedFormat, "", 0, 0, "unrecognized data"},
		{"jpeg magic only", []byte{0xFF, 0xD8}, CodeCorrupt, "", 0, 0, "JPEG header unreadable"},
		{"jpeg magic then junk", []byte{0xFF, 0xD8, 0x00, 0x01, 0x02}, CodeCorrupt, "", 0, 0, "JPEG header unreadable"},
		{"jpeg truncated in the image data", jpg[:len(jpg)/2], CodeCorrupt, "", 0, 0, "no end-of-image marker"},
		{"jfif jpeg", withJFIF(jpg), "", FormatJPEG, 400, 300, ""},
		{"jpeg without image data", jpegUpToScan(jpg), CodeCorrupt, "", 0, 0, "JPEG header unreadable"},
		{"jfif jpeg without image data", jpegUpToScan(withJFIF(jpg)), CodeCorrupt, "", 0, 0, "truncated before its image data"},
		{"jfif jpeg truncated", withJFIF(jpg)[:len(jpg)/2], CodeCorrupt, "", 0, 0, "no end-of-image marker"},
		{"jpeg without EOI", jpg[:len(jpg)-2], CodeCorrupt, "", 0, 0, "no end-of-image marker"},
		{"png signature only", pngMagic, CodeCorrupt, "", 0, 0, "PNG header unreadable"},
		{"png damaged signature", []byte("\x89PNG\r\n\x00\x00garbage"), CodeCorrupt, "", 0, 0, "PNG header unreadable"},
		{"png truncated", pngb[:len(pngb)/2], CodeCorrupt, "", 0, 0, "truncated inside"},
		{"png without IEND", pngb[:len(pngb)-12], CodeCorrupt, "", 0, 0, "no IEND chunk"},
		{"png with zero width", pngWithIHDR(pngb, 0, 48), CodeCorrupt, "", 0, 0, "PNG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, code, reason := CheckImage(c.in)
			assert.Equal(t, c.code, code, reason)
			assert.Contains(t, reason, c.reason)
			if c.code == "" {
				assert.Equal(t, c.format, info.Format)
				assert.Equal(t, "image/"+c.format, info.ContentType)
				assert.Equal(t, [2]int{c.w, c.h}, [2]int{info.Width, info.Height})
				assert.Empty(t, reason)
			}
		})
	}
}

func TestBigEnough(t *testing.T) {
	l := Limits{}.withDefaults()
	for _, c := range []struct {
		w, h int
		ok   bool
	}{
		{300, 200, true}, {200, 300, true}, {4000, 3000, true},
		{299, 200, false}, {300, 199, false}, {250, 250, false}, {1000, 199, false}, {50, 50, false},
	} {
		assert.Equal(t, c.ok, l.bigEnough(c.w, c.h), "%d×%d", c.w, c.h)
	}
	one := Limits{MinWidth: 1, MinHeight: 1}.withDefaults()
	assert.True(t, one.bigEnough(1, 1))
}

func TestByteSize(t *testing.T) {
	assert.Equal(t, "10 MiB", byteSize(10<<20))
	assert.Equal(t, "256 KiB", byteSize(256<<10))
	assert.Equal(t, "1000 bytes", byteSize(1000))
}

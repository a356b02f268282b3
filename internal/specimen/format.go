// Package specimen defines the synthetic identity data that reverify embeds in
// sample images, and writes sample archives with known expected outcomes.
//
// The format is the contract between the archive generator (which writes it)
// and the Assure emulator (which reads it to decide an outcome):
//
//   - JPEG: an APP15 segment placed right after SOI, whose payload is the
//     identifier "reverify-specimen" followed by one NUL byte and the JSON
//     encoding of Data.
//   - PNG: an iTXt chunk placed right after IHDR, keyword "reverify-specimen",
//     uncompressed, empty language tag and translated keyword, text = the JSON
//     encoding of Data (UTF-8).
//
// Data carries a version (V); readers reject versions they do not know.
// Images without the marker are ordinary images: Extract reports found=false.
package specimen

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Marker is the JPEG segment identifier and the PNG iTXt keyword.
const Marker = "reverify-specimen"

// Version is the current format version.
const Version = 1

// DateLayout is the layout of every date in Data.
const DateLayout = "2006-01-02"

// Roles of an image in a record.
const (
	RoleFront  = "front"
	RoleBack   = "back"
	RoleSelfie = "selfie"
)

// Data is the synthetic truth embedded in a specimen image. Document images
// (front, back) describe the document and its holder; a selfie names the
// person whose face it shows.
type Data struct {
	V    int    `json:"v"`
	Role string `json:"role"`
	// PersonID identifies the person: the document holder for front/back, the
	// face shown for a selfie. A selfie whose PersonID differs from the
	// front's shows another person.
	PersonID string `json:"personId"`
	// Lookalike marks a selfie of another person who resembles the holder
	// (a medium similarity rather than veryLow).
	Lookalike bool `json:"lookalike,omitempty"`

	// Document fields (front/back). DocumentNumber empty means the number is
	// unreadable on the image.
	DocumentID                   int    `json:"documentId,omitempty"`
	DocumentType                 string `json:"documentType,omitempty"`
	FirstName                    string `json:"firstName,omitempty"`
	LastName                     string `json:"lastName,omitempty"`
	DateOfBirth                  string `json:"dateOfBirth,omitempty"`
	PlaceOfBirth                 string `json:"placeOfBirth,omitempty"`
	Gender                       string `json:"gender,omitempty"`
	Nationality                  string `json:"nationality,omitempty"`
	IssuingCountry               string `json:"issuingCountry,omitempty"`
	DocumentNumber               string `json:"documentNumber,omitempty"`
	DateOfIssue                  string `json:"dateOfIssue,omitempty"`
	DateOfExpiry                 string `json:"dateOfExpiry,omitempty"`
	PersonalIdentificationNumber string `json:"personalIdentificationNumber,omitempty"`
}

// Birth parses DateOfBirth; ok is false when absent or malformed.
func (d *Data) Birth() (time.Time, bool) { return parseDate(d.DateOfBirth) }

// Expiry parses DateOfExpiry; ok is false when absent or malformed.
func (d *Data) Expiry() (time.Time, bool) { return parseDate(d.DateOfExpiry) }

func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(DateLayout, s)
	return t, err == nil
}

// AgeAt is the holder's age in whole years at t, or -1 without a birth date.
func (d *Data) AgeAt(t time.Time) int {
	b, ok := d.Birth()
	if !ok {
		return -1
	}
	t = t.UTC()
	age := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		age--
	}
	return age
}

// ExpiredAt reports whether the document has expired at t (a document is
// valid through its expiry date).
func (d *Data) ExpiredAt(t time.Time) bool {
	e, ok := d.Expiry()
	if !ok {
		return false
	}
	return t.UTC().After(e.Add(24 * time.Hour))
}

var (
	jpegSOI   = []byte{0xFF, 0xD8}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	markerNul = append([]byte(Marker), 0)
)

// ErrNotImage is returned when the bytes are neither JPEG nor PNG.
var ErrNotImage = errors.New("specimen: not a JPEG or PNG image")

// Embed returns a copy of img (JPEG or PNG) carrying d. Any marker already in
// img is kept: Extract returns the first one, which is the new one.
func Embed(img []byte, d Data) ([]byte, error) {
	if d.V == 0 {
		d.V = Version
	}
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("specimen: encode: %w", err)
	}
	switch {
	case bytes.HasPrefix(img, jpegSOI):
		seg := len(markerNul) + len(payload) + 2
		if seg > 0xFFFF {
			return nil, fmt.Errorf("specimen: payload of %d bytes too large for a JPEG segment", len(payload))
		}
		out := make([]byte, 0, len(img)+seg+2)
		out = append(out, jpegSOI...)
		out = append(out, 0xFF, 0xEF, byte(seg>>8), byte(seg))
		out = append(out, markerNul...)
		out = append(out, payload...)
		return append(out, img[2:]...), nil
	case bytes.HasPrefix(img, pngMagic):
		// IHDR is always the first chunk: 8 magic + 4 len + 4 type + 13 data + 4 crc.
		const ihdrEnd = 8 + 4 + 4 + 13 + 4
		if len(img) < ihdrEnd || string(img[12:16]) != "IHDR" {
			return nil, fmt.Errorf("specimen: PNG without IHDR: %w", ErrNotImage)
		}
		body := make([]byte, 0, len(Marker)+5+len(payload))
		body = append(body, Marker...)
		body = append(body, 0, 0, 0, 0, 0) // NUL, compression flag, method, empty language, empty translated keyword
		body = append(body, payload...)
		out := make([]byte, 0, len(img)+len(body)+12)
		out = append(out, img[:ihdrEnd]...)
		out = appendPNGChunk(out, "iTXt", body)
		return append(out, img[ihdrEnd:]...), nil
	}
	return nil, ErrNotImage
}

func appendPNGChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// Extract reads the specimen data of img. found is false (and err nil) for a
// JPEG or PNG without a marker; err is set for bytes that are not JPEG/PNG, a
// truncated structure, or a marker whose payload does not decode.
func Extract(img []byte) (d Data, found bool, err error) {
	var payload []byte
	switch {
	case bytes.HasPrefix(img, jpegSOI):
		payload, err = findJPEG(img)
	case bytes.HasPrefix(img, pngMagic):
		payload, err = findPNG(img)
	default:
		return Data{}, false, ErrNotImage
	}
	if err != nil || payload == nil {
		return Data{}, false, err
	}
	if err := json.Unmarshal(payload, &d); err != nil {
		return Data{}, false, fmt.Errorf("specimen: decode marker: %w", err)
	}
	if d.V != Version {
		return Data{}, false, fmt.Errorf("specimen: unsupported version %d", d.V)
	}
	return d, true, nil
}

// findJPEG walks the marker segments up to the start of scan.
func findJPEG(img []byte) ([]byte, error) {
	i := 2
	for i+4 <= len(img) {
		if img[i] != 0xFF {
			return nil, fmt.Errorf("specimen: JPEG segment expected at offset %d", i)
		}
		m := img[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // start of scan / end of image: no marker before it
			return nil, nil
		}
		n := int(binary.BigEndian.Uint16(img[i+2:]))
		if n < 2 || i+2+n > len(img) {
			return nil, fmt.Errorf("specimen: truncated JPEG segment at offset %d", i)
		}
		seg := img[i+4 : i+2+n]
		if m == 0xEF && bytes.HasPrefix(seg, markerNul) {
			return seg[len(markerNul):], nil
		}
		i += 2 + n
	}
	return nil, nil
}

// findPNG walks the chunks up to IEND.
func findPNG(img []byte) ([]byte, error) {
	i := len(pngMagic)
	prefix := append([]byte(Marker), 0)
	for i+8 <= len(img) {
		n := int(binary.BigEndian.Uint32(img[i:]))
		typ := string(img[i+4 : i+8])
		if n < 0 || i+12+n > len(img) {
			return nil, fmt.Errorf("specimen: truncated PNG chunk %q at offset %d", typ, i)
		}
		data := img[i+8 : i+8+n]
		if typ == "iTXt" && bytes.HasPrefix(data, prefix) {
			rest := data[len(prefix):]
			// compression flag, method, language\0, translated keyword\0
			if len(rest) < 2 || rest[0] != 0 {
				return nil, errors.New("specimen: compressed or malformed iTXt marker")
			}
			rest = rest[2:]
			for k := 0; k < 2; k++ {
				j := bytes.IndexByte(rest, 0)
				if j < 0 {
					return nil, errors.New("specimen: malformed iTXt marker")
				}
				rest = rest[j+1:]
			}
			return rest, nil
		}
		if typ == "IEND" {
			return nil, nil
		}
		i += 12 + n
	}
	return nil, nil
}

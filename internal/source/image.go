package source

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"image/png"
	"net/http"
	"reverify/internal/pictureid"
	"strings"
)

// Image formats accepted by the Assure API.
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
)

// ImageInfo is what CheckImage reads from an image.
type ImageInfo struct {
	Format        string // FormatJPEG or FormatPNG
	ContentType   string // "image/jpeg" or "image/png"
	Width, Height int    // pixels, as stored (EXIF orientation not applied)
}

var (
	jpegMagic = []byte{0xFF, 0xD8}          // start of image
	pngMagic  = []byte("\x89PNG\r\n\x1a\n") // the full signature
	pngStart  = pngMagic[:4]                // enough to call a damaged file a PNG
)

// CheckImage tells whether b is a usable JPEG or PNG without decoding the
// pixels: it reads the header (format and dimensions) and checks that the
// file is not cut short (a JPEG ends its image data with an end-of-image
// marker; a PNG has image data and an IEND chunk). code is "" for a usable
// image; otherwise it is CodeEmptyFile, CodeUnsupportedFormat or
// CodeCorrupt and reason says why. Size and dimension limits are Load's.
func CheckImage(b []byte) (info ImageInfo, code, reason string) {
	switch {
	case len(b) == 0:
		return info, CodeEmptyFile, "the file is empty"
	case bytes.HasPrefix(b, jpegMagic):
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return info, CodeCorrupt, "JPEG header unreadable: " + err.Error()
		}
		info = ImageInfo{Format: FormatJPEG, ContentType: pictureid.JPEG, Width: cfg.Width, Height: cfg.Height}
		if why := jpegTruncated(b); why != "" {
			return info, CodeCorrupt, "JPEG " + why
		}
	case bytes.HasPrefix(b, pngStart):
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return info, CodeCorrupt, "PNG header unreadable: " + err.Error()
		}
		info = ImageInfo{Format: FormatPNG, ContentType: pictureid.PNG, Width: cfg.Width, Height: cfg.Height}
		if why := pngTruncated(b); why != "" {
			return info, CodeCorrupt, "PNG " + why
		}
	default:
		return info, CodeUnsupportedFormat, sniff(b) + ", not JPEG or PNG"
	}
	if info.Width <= 0 || info.Height <= 0 {
		return info, CodeCorrupt, fmt.Sprintf("%s with impossible dimensions %d×%d", strings.ToUpper(info.Format), info.Width, info.Height)
	}
	return info, "", ""
}

// jpegTruncated walks the marker segments to the start of scan and looks
// for the end-of-image marker after it. Inside entropy-coded data 0xFF is
// always followed by 0x00 or a restart marker, so FF D9 after the first
// SOS can only be the real end of the image.
func jpegTruncated(b []byte) string {
	i := 2
	for {
		for i < len(b) && b[i] == 0xFF && i+1 < len(b) && b[i+1] == 0xFF {
			i++ // fill bytes
		}
		if i+2 > len(b) {
			return "is truncated before its image data"
		}
		if b[i] != 0xFF {
			return fmt.Sprintf("has no marker at offset %d", i)
		}
		m := b[i+1]
		switch {
		case m == 0xDA: // start of scan
			if bytes.Contains(b[i+2:], []byte{0xFF, 0xD9}) {
				return ""
			}
			return "is truncated: no end-of-image marker after the image data"
		case m == 0xD9:
			return "ends before its image data"
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			i += 2 // markers without a length
			continue
		}
		if i+4 > len(b) {
			return "is truncated before its image data"
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
}

// pngTruncated walks the chunks up to IEND.
func pngTruncated(b []byte) string {
	i := len(pngMagic)
	idat := false
	for {
		if i+8 > len(b) {
			return "is truncated: no IEND chunk"
		}
		n := int64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		end := int64(i) + 12 + n
		if n > 1<<31-1 || end > int64(len(b)) {
			return fmt.Sprintf("is truncated inside its %q chunk", sanitizeChunk(typ))
		}
		switch typ {
		case "IDAT":
			idat = true
		case "IEND":
			if !idat {
				return "has no image data (IDAT)"
			}
			return ""
		}
		i = int(end)
	}
}

func sanitizeChunk(t string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E {
			return '?'
		}
		return r
	}, t)
}

// sniff names what the bytes look like, for messages.
func sniff(b []byte) string {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch {
	case has(0, "%PDF-"):
		return "a PDF document"
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return "a GIF image"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "a WebP image"
	case has(4, "ftypheic"), has(4, "ftypheix"), has(4, "ftyphevc"), has(4, "ftypmif1"), has(4, "ftypmsf1"):
		return "a HEIC image"
	case has(4, "ftypavif"):
		return "an AVIF image"
	case has(0, "\x00\x00\x00\x0cjP  "), has(0, "\xff\x4f\xff\x51"):
		return "a JPEG 2000 image"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return "a TIFF image"
	case has(0, "BM"):
		return "a BMP image"
	case has(0, "PK\x03\x04"):
		return "a ZIP archive"
	}
	ct := http.DetectContentType(b)
	switch {
	case strings.HasPrefix(ct, "text/"):
		return "text (" + strings.SplitN(ct, ";", 2)[0] + ")"
	case ct == "application/octet-stream":
		return "unrecognized data"
	}
	return "data of type " + ct
}

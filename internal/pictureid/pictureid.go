// Package pictureid names what the Assure API's PictureID provider takes:
// its process types and its image formats. It is a leaf, so that the
// packages that must not import each other (source, assure, and the
// emulator and specimen archives beside them) share one definition.
package pictureid

import "bytes"

// Process types (the processType of a create-process request).
const (
	ProcessDocument       = "document"       // the ID document only
	ProcessDocumentSelfie = "documentSelfie" // the ID document and a selfie (the API's default)
)

// Image formats the provider accepts, by MIME type.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
)

// Signatures of the accepted formats: a JPEG starts with a start-of-image
// marker and the first marker's prefix (FF D8 FF), a PNG with its full
// 8-byte signature.
var (
	jpegSignature = []byte{0xFF, 0xD8, 0xFF}
	pngSignature  = []byte("\x89PNG\r\n\x1a\n")
)

// Sniff returns JPEG or PNG from an image's signature, or "".
func Sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, jpegSignature):
		return JPEG
	case bytes.HasPrefix(b, pngSignature):
		return PNG
	}
	return ""
}

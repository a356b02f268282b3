package source

import "fmt"

// Problem codes. Every problem makes the record `skipped`: no API call is
// made for it. Codes are stable: they are written to the report. See
// docs/archives.md for when each one is given.
const (
	// Found by Load (preflight).
	CodeMissingFront      = "missing_front"      // no front image named, or the named front does not exist
	CodeMissingBack       = "missing_back"       // a back image is named but does not exist
	CodeMissingSelfie     = "missing_selfie"     // documentSelfie without a selfie, or the named selfie does not exist
	CodeUnsupportedFormat = "unsupported_format" // the bytes are not JPEG or PNG (PDF, GIF, WebP, HEIC, text...)
	CodeTooLarge          = "too_large"          // the object is larger than Limits.MaxImageBytes, or declares more than Limits.MaxPixels
	CodeTooSmall          = "too_small"          // the image is below Limits.MinWidth × MinHeight
	CodeCorrupt           = "corrupt"            // JPEG/PNG signature, but the header is unreadable or the file is truncated
	CodeEmptyFile         = "empty_file"         // the object has zero bytes

	// Found while listing (Record.Problems).
	CodeBadManifestLine   = "bad_manifest_line"   // a manifest line that cannot be read as a record
	CodeDuplicateRecord   = "duplicate_record"    // a record ID seen earlier in the same listing
	CodeBadMetadata       = "bad_metadata"        // meta.json unreadable, or an invalid document_id / process_type value
	CodeDuplicateImage    = "duplicate_image"     // a record folder with two files for one image (front.jpg and front.png)
	CodeMissingDocumentID = "missing_document_id" // no document ID in the record and no default configured
)

// Image roles, as used in Problem.Role and by the Assure API.
const (
	RoleFront  = "front"
	RoleBack   = "back"
	RoleSelfie = "selfie"
)

// Problem is one reason to skip a record.
type Problem struct {
	// Code is one of the Code* constants.
	Code string
	// Role is the image the problem is about ("front", "back", "selfie"),
	// or "" for the record as a whole.
	Role string
	// Detail is a message for people: it names the record and the file or
	// manifest line, and says what is wrong. It never holds image bytes.
	Detail string
}

// String renders the problem as "code: detail".
func (p Problem) String() string { return p.Code + ": " + p.Detail }

// problemf builds a problem whose detail starts with the record's name.
func problemf(r *Record, code, role, format string, args ...any) Problem {
	return Problem{Code: code, Role: role, Detail: r.name() + ": " + fmt.Sprintf(format, args...)}
}

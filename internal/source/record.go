package source

import (
	"fmt"
	"math"
	"reverify/internal/pictureid"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Record is one end-user's image set, as the archive describes it.
type Record struct {
	// ID names the record: the record folder's path below the archive root,
	// or the manifest's record_id (a synthetic "line-17" when the line has no
	// usable one). IDs are unique within a listing except on records with a
	// duplicate_record problem; Origin is always unique.
	ID string
	// Front, Back and Selfie are full URIs (s3://... or file://...), "" when
	// the record names no such image.
	Front, Back, Selfie string
	// DocumentID and ProcessType come from the record, else from the config
	// defaults.
	DocumentID  int
	ProcessType string
	// PreviousStatus is the outcome of an earlier verification, when the
	// manifest or meta.json gives one ("" otherwise).
	PreviousStatus string
	// Meta holds free metadata: meta.json's other keys, a manifest's extra
	// columns. Nil when there is none.
	Meta map[string]string
	// Origin says where the record was described: "<manifest URI>:<line>" or
	// the record folder's URI (ending in "/").
	Origin string
	// Extra lists files of the record folder that are not images or
	// meta.json (at most MaxExtraNames of them, relative to the folder);
	// ExtraCount counts them all. They are ignored; the caller may log them.
	Extra      []string
	ExtraCount int
	// Problems found while listing. The record is still delivered, and Load
	// returns these problems first: a record with problems is skipped.
	Problems []Problem
}

// MaxExtraNames bounds Record.Extra.
const MaxExtraNames = 10

// maxDocumentID is the API's int32 bound.
const maxDocumentID = math.MaxInt32

// maxIDBytes bounds record IDs (they end up in API references and keys).
const maxIDBytes = 512

// name is how problems refer to the record.
func (r *Record) name() string {
	return fmt.Sprintf("record %q (%s)", r.ID, r.Origin)
}

// hasProblem reports whether the record has a problem with code.
// Repeated reports whether the record repeats an ID seen earlier in the
// listing (a duplicate_record problem): it is a line of its own, and has
// nothing of the record's state.
func (r *Record) Repeated() bool { return r.hasProblem(CodeDuplicateRecord) }

func (r *Record) hasProblem(code string) bool {
	for _, p := range r.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

func (r *Record) addProblem(code, role, format string, args ...any) {
	r.Problems = append(r.Problems, problemf(r, code, role, format, args...))
}

func (r *Record) setMeta(k, v string) {
	if r.Meta == nil {
		r.Meta = map[string]string{}
	}
	r.Meta[k] = v
}

// checkID says what is wrong with a record ID, or "" when it is usable.
func checkID(id string) string {
	switch {
	case id == "":
		return "record_id is empty"
	case len(id) > maxIDBytes:
		return fmt.Sprintf("record_id is %d bytes long (at most %d)", len(id), maxIDBytes)
	case !utf8.ValidString(id):
		return "record_id is not valid UTF-8"
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return "record_id holds a control character"
	}
	return ""
}

// parseDocumentID accepts a positive 32-bit integer in decimal.
func parseDocumentID(s string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > maxDocumentID {
		return 0, fmt.Errorf("document ID %q is not a positive 32-bit integer", clip(s))
	}
	return int(n), nil
}

// applyFields sets the optional fields a manifest line or meta.json gives
// (empty strings mean "not given"), validating them; invalid values are a
// bad_metadata problem and fall back to the defaults.
func (r *Record) applyFields(cfg *Config, docID, processType, previousStatus, what string) {
	r.DocumentID = cfg.DefaultDocumentID
	if docID != "" {
		if n, err := parseDocumentID(docID); err != nil {
			r.addProblem(CodeBadMetadata, "", "%s: %v", what, err)
		} else {
			r.DocumentID = n
		}
	} else if r.DocumentID == 0 {
		r.addProblem(CodeMissingDocumentID, "", "no document ID in %s and no default document ID configured", what)
	}
	r.ProcessType = cfg.DefaultProcessType
	if processType != "" {
		if pt, ok := canonicalProcessType(processType); ok {
			r.ProcessType = pt
		} else {
			r.addProblem(CodeBadMetadata, "", "%s: process type %q is not %q or %q",
				what, clip(processType), pictureid.ProcessDocumentSelfie, pictureid.ProcessDocument)
		}
	}
	r.PreviousStatus = previousStatus
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

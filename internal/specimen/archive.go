package specimen

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Names of the archive's index files.
const (
	MetaName     = "meta.json"      // in every record folder
	ExpectedName = "expected.jsonl" // at the archive root
	ManifestName = "manifest.csv"   // at the archive root
)

// Meta is the content of a record's meta.json. The archive reader takes
// documentId, processType and previous_status (spelled as the manifest
// column; it fills previous_outcome) and keeps the other keys (case) as
// metadata.
type Meta struct {
	DocumentID     int    `json:"documentId"`
	ProcessType    string `json:"processType"`
	Case           Case   `json:"case"`
	PreviousStatus string `json:"previous_status"`
}

// Meta returns the record's meta.json content.
func (r *Record) Meta() Meta {
	return Meta{DocumentID: r.Document.ID, ProcessType: r.ProcessType, Case: r.Case, PreviousStatus: r.PreviousStatus}
}

// MetaJSON is meta.json as written (one JSON object and a newline).
func (r *Record) MetaJSON() ([]byte, error) {
	b, err := json.Marshal(r.Meta())
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", MetaName, err)
	}
	return append(b, '\n'), nil
}

// ExpectedLine is one line of expected.jsonl.
type ExpectedLine struct {
	RecordID    string `json:"record_id"`
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason"`
	Case        Case   `json:"case"`
	ProcessType string `json:"process_type"`
	DocumentID  int    `json:"document_id"`
}

// ExpectedLine returns the record's line of expected.jsonl.
func (r *Record) ExpectedLine() ExpectedLine {
	e := r.Expected()
	return ExpectedLine{RecordID: r.ID, Outcome: e.Outcome, Reason: e.Reason, Case: r.Case,
		ProcessType: r.ProcessType, DocumentID: r.Document.ID}
}

// ManifestHeader is the header row of manifest.csv.
func ManifestHeader() []string {
	return []string{"record_id", "front", "back", "selfie", "document_id", "process_type", "previous_status", "case"}
}

// ManifestRow returns the record's row of manifest.csv: image paths relative
// to the archive root, empty for a missing image.
func (r *Record) ManifestRow() []string {
	path := func(role string) string {
		if im, ok := r.Image(role); ok {
			return r.Key(im.Name)
		}
		return ""
	}
	return []string{r.ID, path(RoleFront), path(RoleBack), path(RoleSelfie), strconv.Itoa(r.Document.ID),
		r.ProcessType, r.PreviousStatus, string(r.Case)}
}

// Package journal records each record's progress through one run shard, so
// that an attempt killed at any instant can be resumed without losing a
// result or paying twice. An attempt writes its own journal (Writer); a later
// attempt folds every earlier one into a State (Read).
//
// The format — JSON Lines of Entry, version 2 — is documented in
// docs/journal.md; version 1 journals (reverify before the journal had a
// package of its own) are read too. Where the journal lives is the caller's
// choice (a prefix below the output root); how it is stored follows from
// the store: appended and fsynced where the store can append (blob.Appender,
// a local folder), checkpoint objects elsewhere (S3).
package journal

import (
	"encoding/json"
	"time"
)

// Version is the format this package writes. Read also reads version 1.
const Version = 2

// Type names what happened.
type Type string

// Entry types, in the order they happen to a record.
const (
	// TypeRun opens an attempt: its id and the run's start (the earliest
	// attempt's start is where reconciliation looks for processes).
	TypeRun Type = "run"
	// TypeDossier: the record's dossier exists (Dossier).
	TypeDossier Type = "dossier"
	// TypeProcess: its process exists, not started (Process, Pages).
	TypeProcess Type = "process"
	// TypeStarted: the verification was started; from here on the record is
	// paid for and is polled, never started again.
	TypeStarted Type = "started"
	// TypeFinal: the record's outcome is known (Final), written before its
	// dossier is deleted: the API's copy of the result goes with it.
	TypeFinal Type = "final"
	// TypeDeleted: the dossier was deleted.
	TypeDeleted Type = "deleted"
	// TypeCommitted: these records' rows are in a committed Parquet part
	// (Records, Part).
	TypeCommitted Type = "committed"
)

// Entry is one journal line. Every field has an explicit JSON name: the
// format does not depend on Go names.
type Entry struct {
	V       int       `json:"v"`
	Type    Type      `json:"t"`
	Time    time.Time `json:"ts"`
	Record  string    `json:"rec,omitempty"`
	Dossier string    `json:"dossier,omitempty"`
	Process string    `json:"process,omitempty"`
	Pages   int       `json:"pages,omitempty"`
	// Final is what the record's row is made from (TypeFinal).
	Final *Final `json:"final,omitempty"`
	// Records and Part (TypeCommitted).
	Records []string `json:"recs,omitempty"`
	Part    string   `json:"part,omitempty"`
	// Attempt and RunStart (TypeRun).
	Attempt  string    `json:"attempt,omitempty"`
	RunStart time.Time `json:"run_start,omitzero"`
	// Status and TraceID: the API's answer to a dossier's deletion
	// (TypeDeleted, in the dossier log: see DossierLog).
	Status  int    `json:"status,omitempty"`
	TraceID string `json:"trace_id,omitempty"`
}

// Final is what a record's row is made from once its process left polling,
// besides the record itself (which the archive lists again) and the ids the
// record's other entries hold: the API's answer as it was sent, or why there
// is none, and what the record cost.
type Final struct {
	// Outcome is the process's final status, or "timeout" when it had none
	// by the deadline.
	Outcome      string `json:"outcome"`
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	// Process is the GET process answer as the API sent it, compacted
	// (absent for a timeout).
	Process json.RawMessage `json:"process,omitempty"`
	// Images are the SHA-256 digests of the images sent.
	Images      Images    `json:"images,omitzero"`
	Effort      Effort    `json:"effort"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// ResultZip is the URI of the stored full-result zip, if any.
	ResultZip string `json:"result_zip,omitempty"`
}

// Images are hex SHA-256 digests of a record's images ("" when absent).
type Images struct {
	Front  string `json:"front,omitempty"`
	Back   string `json:"back,omitempty"`
	Selfie string `json:"selfie,omitempty"`
}

// Effort counts a record's API work.
type Effort struct {
	Calls   int32 `json:"calls"`
	Retries int32 `json:"retries"`
	Polls   int32 `json:"polls"`
}

// Durable reports whether an entry must be on storage before the step that
// follows it: every entry that names something the API holds, or precedes a
// paid or destructive step. A deletion or a commit is only a shortcut for the
// next resume (the API and the Parquet parts say the same).
func (e Entry) Durable() bool { return e.Type != TypeDeleted && e.Type != TypeCommitted }

package report

import (
	"encoding/json"
	"time"
)

// Outcomes. The first five are the API's final statuses, spelled as the API
// spells them; the last three are reverify's own.
const (
	OutcomeAccepted     = "accepted"
	OutcomeRejected     = "rejected"
	OutcomeInconclusive = "inconclusive"
	OutcomeFailed       = "failed"
	OutcomeCanceled     = "canceled"
	// OutcomeSkipped: the preflight failed, no API call was made.
	OutcomeSkipped = "skipped"
	// OutcomeError: a permanent API error, or retries exhausted.
	OutcomeError = "error"
	// OutcomeTimeout: no final status by the deadline; process_id is kept so
	// that a later run can collect the result.
	OutcomeTimeout = "timeout"
)

// Outcomes returns every outcome in display order.
func Outcomes() []string {
	return []string{
		OutcomeAccepted, OutcomeRejected, OutcomeInconclusive, OutcomeFailed, OutcomeCanceled,
		OutcomeSkipped, OutcomeError, OutcomeTimeout,
	}
}

// KnownOutcome reports whether s is one of Outcomes.
func KnownOutcome(s string) bool { return outcomeRank(s) < numOutcomes }

const numOutcomes = 8

// Incomplete reports whether an outcome means the record did not get a final
// verdict from the API (skipped, error, timeout): such rows make a run finish
// with exit code 3.
func Incomplete(outcome string) bool {
	return outcome == OutcomeSkipped || outcome == OutcomeError || outcome == OutcomeTimeout
}

// FinalOutcome reports whether an outcome is one of the API's final
// statuses (the first five Outcomes).
func FinalOutcome(outcome string) bool { return KnownOutcome(outcome) && !Incomplete(outcome) }

// outcomeRank is the display position of an outcome; unknown outcomes sort
// after the known ones.
func outcomeRank(s string) int {
	for i, o := range Outcomes() {
		if o == s {
			return i
		}
	}
	return numOutcomes
}

// Row is one record's outcome in one run: one Parquet row. Column names,
// types and meanings are documented in docs/reports.md; they are stable —
// add columns, never rename or retype one.
//
// Pointers are nullable columns (nil is NULL). Lists and the metadata map are
// never NULL: nil and empty are both written as empty and read back as nil. Dates are days
// since 1970-01-01 (see DateDays); timestamps are UTC with millisecond
// precision (see Timestamp).
//
// StatusReason has exactly the fields of the API's assure.StatusReason, in
// the same order, so the pipeline converts one with a plain type conversion.
type Row struct {
	// Identity of the run and the record.
	RunID             string `parquet:"run_id,dict"`
	Shard             int32  `parquet:"shard"`
	ShardCount        int32  `parquet:"shard_count"`
	RecordID          string `parquet:"record_id"`
	ExternalReference string `parquet:"external_reference"`
	Origin            string `parquet:"origin,dict"`

	// Source images.
	FrontURI     *string `parquet:"front_uri,optional"`
	BackURI      *string `parquet:"back_uri,optional"`
	SelfieURI    *string `parquet:"selfie_uri,optional"`
	FrontSHA256  *string `parquet:"front_sha256,optional"`
	BackSHA256   *string `parquet:"back_sha256,optional"`
	SelfieSHA256 *string `parquet:"selfie_sha256,optional"`

	// Process.
	DocumentID  *int32  `parquet:"document_id,optional"`
	ProcessType string  `parquet:"process_type,dict"`
	DossierID   *string `parquet:"dossier_id,optional"`
	ProcessID   *string `parquet:"process_id,optional"`

	// Outcome and why.
	Outcome       string         `parquet:"outcome,dict"`
	Reason        string         `parquet:"reason,dict"`
	StatusReasons []StatusReason `parquet:"status_reasons,list"`
	SkipReasons   []string       `parquet:"skip_reasons,list"`
	FailReason    *string        `parquet:"fail_reason,optional,dict"`
	ErrorCode     string         `parquet:"error_code,dict"`
	ErrorMessage  *string        `parquet:"error_message,optional"`

	// Final result (finalResult, or providerSpecific.document when the
	// process was not accepted). The identifiers among them (names, date of
	// birth, document and personal numbers, and ResultJSON) are NULL or
	// hashed unless output.personal_data is include (internal/privacy).
	FirstName                    *string `parquet:"first_name,optional"`
	LastName                     *string `parquet:"last_name,optional"`
	DateOfBirth                  *int32  `parquet:"date_of_birth,optional,date"`
	DateOfExpiry                 *int32  `parquet:"date_of_expiry,optional,date"`
	DateOfIssue                  *int32  `parquet:"date_of_issue,optional,date"`
	Gender                       *string `parquet:"gender,optional,dict"`
	Nationality                  *string `parquet:"nationality,optional,dict"`
	DocumentType                 *string `parquet:"document_type,optional,dict"`
	DocumentNumber               *string `parquet:"document_number,optional"`
	IssuingCountry               *string `parquet:"issuing_country,optional,dict"`
	PersonalIdentificationNumber *string `parquet:"personal_identification_number,optional"`
	SimilarityScore              *string `parquet:"similarity_score,optional,dict"`
	// DateOfBirthHMAC is the keyed hash of the date of birth (YYYY-MM-DD)
	// under output.personal_data: hash, when DateOfBirth is NULL
	// (internal/privacy).
	DateOfBirthHMAC *string `parquet:"date_of_birth_hmac,optional"`

	// Security checks (providerSpecific.document.securityChecks, and the
	// status reasons that name a check): nil when the answer does not report
	// the check.
	CheckNotTamperedDocument *bool `parquet:"check_not_tampered_document,optional"`
	CheckNonExpired          *bool `parquet:"check_non_expired,optional"`
	CheckNotUnderage         *bool `parquet:"check_not_underage,optional"`
	CheckNotBlackAndWhite    *bool `parquet:"check_not_black_and_white,optional"`
	CheckDataIntegrity       *bool `parquet:"check_data_integrity,optional"`
	CheckSidesMatch          *bool `parquet:"check_sides_match,optional"`
	CheckNotFaceSpoofing     *bool `parquet:"check_not_face_spoofing,optional"`
	// CheckSelfieAndDocumentMatch is the selfieAndDocumentMatch check's
	// passed/valid flag, else its level read as passed (high) or not
	// (medium, low, veryLow); the level is SelfieSimilarityLevel.
	CheckSelfieAndDocumentMatch *bool `parquet:"check_selfie_and_document_match,optional"`
	// FailedChecks names every failed check by its securityChecks key
	// (notTamperedDocument, nonExpired, notUnderage, notBlackAndWhite,
	// dataIntegrity, sidesMatch, notFaceSpoofing, selfieAndDocumentMatch, in
	// that order, then any other check a status reason names): the check
	// columns that are false. Empty when none failed or none was reported.
	FailedChecks []string `parquet:"failed_checks,list"`

	// Selfie.
	SelfieSimilarityLevel *string `parquet:"selfie_similarity_level,optional,dict"`
	SelfieStatus          *string `parquet:"selfie_status,optional,dict"`

	// Comparison with the original onboarding (from the manifest).
	PreviousOutcome *string `parquet:"previous_outcome,optional,dict"`
	OutcomeChanged  *bool   `parquet:"outcome_changed,optional"`

	// Effort and timing.
	APICalls    int32      `parquet:"api_calls"`
	Retries     int32      `parquet:"retries"`
	Polls       int32      `parquet:"polls"`
	SubmittedAt *time.Time `parquet:"submitted_at,optional,timestamp(millisecond)"`
	CompletedAt *time.Time `parquet:"completed_at,optional,timestamp(millisecond)"`
	DurationMS  *int64     `parquet:"duration_ms,optional"`
	// RecordedAt is when the row was handed to the Writer (set by the Writer
	// when nil).
	RecordedAt *time.Time `parquet:"recorded_at,optional,timestamp(millisecond)"`
	DryRun     bool       `parquet:"dry_run"`

	// Extras.
	ResultZipURI *string           `parquet:"result_zip_uri,optional"`
	Metadata     map[string]string `parquet:"metadata"`
	// ResultJSON is the API's process result as returned (GET process body),
	// for fields without a column. nil is NULL.
	ResultJSON json.RawMessage `parquet:"result_json,optional,json"`
}

// StatusReason is one entry of the API's statusReasons.
type StatusReason struct {
	Type        string `parquet:"type" json:"type,omitempty"`
	Category    string `parquet:"category" json:"category,omitempty"`
	SubCategory string `parquet:"sub_category" json:"sub_category,omitempty"`
	Message     string `parquet:"message" json:"message,omitempty"`
}

// normalize prepares a row for writing: timestamps in UTC at millisecond
// precision (what the column stores), so a row reads back equal to what was
// written.
func (r *Row) normalize(now time.Time) {
	r.SubmittedAt = normTime(r.SubmittedAt)
	r.CompletedAt = normTime(r.CompletedAt)
	if r.RecordedAt == nil {
		r.RecordedAt = Timestamp(now)
	}
	r.RecordedAt = normTime(r.RecordedAt)
}

func normTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return Timestamp(*t)
}

// emptyToNil makes empty lists and maps read back nil, as documented.
func (r *Row) emptyToNil() {
	if len(r.StatusReasons) == 0 {
		r.StatusReasons = nil
	}
	if len(r.SkipReasons) == 0 {
		r.SkipReasons = nil
	}
	if len(r.FailedChecks) == 0 {
		r.FailedChecks = nil
	}
	if len(r.Metadata) == 0 {
		r.Metadata = nil
	}
}

package assure

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Wire types of the Assure API for the PictureID direct-upload flow.
//
// They are shared by the client and by the emulator (which imports this
// package only for these types). Every field of the seed's JSON examples has a
// place here; optional fields use omitempty and pointers where "absent" and
// "false/zero" differ, so that decoding and re-encoding an example gives the
// same JSON. Unknown fields are ignored by encoding/json, so new API fields
// never break decoding.

// Provider is the only provider reverify uses.
const ProviderPictureID = "signicatpictureid"

// Depictions (image roles).
const (
	DepictionFront    = "front"
	DepictionBack     = "back"
	DepictionSelfie   = "selfie"
	DepictionPortrait = "portrait"
)

// Status is a process status.
type Status string

// Statuses of a process, spelled as the API spells them.
const (
	StatusPending      Status = "pending"
	StatusProcessing   Status = "processing"
	StatusAccepted     Status = "accepted"
	StatusRejected     Status = "rejected"
	StatusInconclusive Status = "inconclusive"
	StatusFailed       Status = "failed"
	StatusCanceled     Status = "canceled"
)

// Final reports whether the status is terminal.
func (s Status) Final() bool {
	switch s {
	case StatusAccepted, StatusRejected, StatusInconclusive, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Known reports whether s is one of the documented statuses.
func (s Status) Known() bool {
	return s.Final() || s == StatusPending || s == StatusProcessing
}

// TimeLayout is the API's timestamp format: UTC, second precision.
const TimeLayout = "2006-01-02T15:04:05Z"

// Time is an API timestamp (`YYYY-MM-DDThh:mm:ssZ`). It encodes with second
// precision in UTC and decodes any RFC 3339 timestamp.
type Time struct{ time.Time }

// NewTime truncates t to seconds in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Second)} }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`null`), nil
	}
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler. null and "" give the zero time.
func (t *Time) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" || s == `""` {
		t.Time = time.Time{}
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("assure: timestamp is not a string: %.40s", s)
	}
	v, err := time.Parse(time.RFC3339Nano, s[1:len(s)-1])
	if err != nil {
		return fmt.Errorf("assure: timestamp %s: %w", s, err)
	}
	t.Time = v.UTC()
	return nil
}

// CreateDossierRequest is the body of POST /dossiers.
type CreateDossierRequest struct {
	ExternalReference string `json:"externalReference,omitempty"`
}

// Dossier is the 201 body of POST /dossiers and an item of GET /dossiers.
type Dossier struct {
	DossierID         string `json:"dossierId"`
	ExternalReference string `json:"externalReference,omitempty"`
	CreatedAt         Time   `json:"createdAt"`
	UpdatedAt         Time   `json:"updatedAt"`
}

// SlimProcess is a process as listed inside a dossier.
type SlimProcess struct {
	ProcessID   string `json:"processId"`
	Provider    string `json:"provider"`
	ProcessType string `json:"processType,omitempty"`
	Status      Status `json:"status"`
	CreatedAt   Time   `json:"createdAt"`
	UpdatedAt   Time   `json:"updatedAt"`
}

// DossierResponse is the 200 body of GET /dossiers/{dossierId}.
type DossierResponse struct {
	Dossier
	Processes []SlimProcess `json:"processes"`
}

// CreateProcessRequest is the body of POST /dossiers/{dossierId}/processes.
type CreateProcessRequest struct {
	Provider    string   `json:"provider"`
	ProcessType string   `json:"processType,omitempty"`
	DocumentID  int      `json:"documentId,omitempty"`
	EventTags   []string `json:"eventTags,omitempty"`
}

// ProcessResponse is the 201 body of POST /dossiers/{dossierId}/processes.
type ProcessResponse struct {
	ProcessID   string `json:"processId"`
	Provider    string `json:"provider"`
	ProcessType string `json:"processType,omitempty"`
	Status      Status `json:"status"`
	// Authorization is a token for the provider's SDK; unused for direct upload.
	Authorization string `json:"authorization,omitempty"`
	// DocumentPages is 1 (front only) or 2 (front and back) for PictureID.
	DocumentPages int  `json:"documentPages,omitempty"`
	CreatedAt     Time `json:"createdAt"`
	UpdatedAt     Time `json:"updatedAt"`
}

// VerifyResponse is the 200 body of POST /dossiers/{dossierId}/processes/{processId}.
type VerifyResponse struct {
	ProcessID string `json:"processId"`
	Status    Status `json:"status"`
}

// Process is the 200 body of GET /dossiers/{dossierId}/processes/{processId}.
type Process struct {
	ProcessID          string            `json:"processId"`
	Provider           string            `json:"provider"`
	ProcessType        string            `json:"processType,omitempty"`
	Status             Status            `json:"status"`
	StatusReasons      []StatusReason    `json:"statusReasons,omitempty"`
	FailReason         *FailReason       `json:"failReason,omitempty"`
	Depictions         []string          `json:"depictions,omitempty"`
	FinalResult        *FinalResult      `json:"finalResult,omitempty"`
	ProviderSpecific   *ProviderSpecific `json:"providerSpecific,omitempty"`
	RedactionRequested *bool             `json:"redactionRequested,omitempty"`
	CreatedAt          Time              `json:"createdAt"`
	UpdatedAt          Time              `json:"updatedAt"`

	// Raw is the answer as the API sent it (set by the client, never encoded).
	Raw json.RawMessage `json:"-"`
}

// StatusReason explains an inconclusive or rejected status.
type StatusReason struct {
	Type        string `json:"type,omitempty"`
	Category    string `json:"category,omitempty"`
	SubCategory string `json:"subCategory,omitempty"`
	Message     string `json:"message,omitempty"`
}

// FailReason explains a failed status. Its shape is provider specific and not
// formally specified: PictureID examples carry {type, message} or {detail};
// the /fail endpoint uses {category, reason, message}.
type FailReason struct {
	Type     string `json:"type,omitempty"`
	Category string `json:"category,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Text is the most specific human-readable text of the reason.
func (f *FailReason) Text() string {
	if f == nil {
		return ""
	}
	var parts []string
	for _, s := range []string{f.Type, f.Category, f.Reason, f.Message, f.Detail} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// FinalResult is the normalised result, present only when accepted.
// Dates are `YYYY-MM-DD` strings as sent by the API.
type FinalResult struct {
	FirstName                    string `json:"firstName,omitempty"`
	LastName                     string `json:"lastName,omitempty"`
	LastNameSecondLine           string `json:"lastNameSecondLine,omitempty"`
	DateOfBirth                  string `json:"dateOfBirth,omitempty"`
	PlaceOfBirth                 string `json:"placeOfBirth,omitempty"`
	Gender                       string `json:"gender,omitempty"`
	Nationality                  string `json:"nationality,omitempty"`
	DocumentType                 string `json:"documentType,omitempty"`
	DocumentNumber               string `json:"documentNumber,omitempty"`
	IssuingCountry               string `json:"issuingCountry,omitempty"`
	DateOfIssue                  string `json:"dateOfIssue,omitempty"`
	DateOfExpiry                 string `json:"dateOfExpiry,omitempty"`
	PersonalIdentificationNumber string `json:"personalIdentificationNumber,omitempty"`
	SimilarityScore              string `json:"similarityScore,omitempty"`
	LivenessDetected             *bool  `json:"livenessDetected,omitempty"`
}

// ProviderSpecific holds PictureID's own (normalised) result.
type ProviderSpecific struct {
	Document *Document `json:"document,omitempty"`
	Selfie   *Selfie   `json:"selfie,omitempty"`
}

// Document is providerSpecific.document.
type Document struct {
	IssuingCountry string          `json:"issuingCountry,omitempty"`
	IssuingPlace   string          `json:"issuingPlace,omitempty"`
	DateOfIssue    string          `json:"dateOfIssue,omitempty"`
	DateOfExpiry   string          `json:"dateOfExpiry,omitempty"`
	NonExpiring    *bool           `json:"nonExpiring,omitempty"`
	DocumentNumber string          `json:"documentNumber,omitempty"`
	Subject        *Subject        `json:"subject,omitempty"`
	SecurityChecks *SecurityChecks `json:"securityChecks,omitempty"`
}

// Subject is the document holder as read from the document.
type Subject struct {
	FirstName                    string `json:"firstName,omitempty"`
	LastName                     string `json:"lastName,omitempty"`
	CommonName                   string `json:"commonName,omitempty"`
	AlternativePrimaryName       string `json:"alternativePrimaryName,omitempty"`
	AlternativeSecondaryName     string `json:"alternativeSecondaryName,omitempty"`
	DateOfBirth                  string `json:"dateOfBirth,omitempty"`
	PlaceOfBirth                 string `json:"placeOfBirth,omitempty"`
	Address                      string `json:"address,omitempty"`
	Gender                       string `json:"gender,omitempty"`
	Nationality                  string `json:"nationality,omitempty"`
	PersonalIdentificationNumber string `json:"personalIdentificationNumber,omitempty"`
	Photo                        *Box   `json:"photo,omitempty"`
	Signature                    *Box   `json:"signature,omitempty"`
}

// Box is a rectangle in image pixels.
type Box struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// SecurityChecks are PictureID's document checks. A check is nil when the
// provider did not perform or report it.
type SecurityChecks struct {
	NotTamperedDocument    *Check `json:"notTamperedDocument,omitempty"`
	NonExpired             *Check `json:"nonExpired,omitempty"`
	NotUnderage            *Check `json:"notUnderage,omitempty"`
	NotBlackAndWhite       *Check `json:"notBlackAndWhite,omitempty"`
	DataIntegrity          *Check `json:"dataIntegrity,omitempty"`
	SelfieAndDocumentMatch *Check `json:"selfieAndDocumentMatch,omitempty"`
	SidesMatch             *Check `json:"sidesMatch,omitempty"`
	NotFaceSpoofing        *Check `json:"notFaceSpoofing,omitempty"`
}

// Check is one security check. Examples carry {name, passed}; the schema also
// names a read-only `valid`; selfieAndDocumentMatch carries similarityLevel.
type Check struct {
	Name            string `json:"name,omitempty"`
	Passed          *bool  `json:"passed,omitempty"`
	Valid           *bool  `json:"valid,omitempty"`
	SimilarityLevel string `json:"similarityLevel,omitempty"`
}

// Result is the check's outcome: passed, else valid, else nil when unknown.
func (c *Check) Result() *bool {
	switch {
	case c == nil:
		return nil
	case c.Passed != nil:
		return c.Passed
	default:
		return c.Valid
	}
}

// Similarity levels (selfieAndDocumentMatch.similarityLevel, finalResult.similarityScore).
const (
	SimilarityVeryLow = "veryLow"
	SimilarityLow     = "low"
	SimilarityMedium  = "medium"
	SimilarityHigh    = "high"
)

// Selfie is providerSpecific.selfie: the face found in the selfie.
type Selfie struct {
	Status string `json:"status,omitempty"`
	X      int    `json:"x"`
	Y      int    `json:"y"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Selfie statuses.
const (
	SelfieUndefined             = "UNDEFINED"
	SelfieSuccess               = "SUCCESS"
	SelfieNoFaceDetected        = "NO_FACE_DETECTED"
	SelfieMultipleFacesDetected = "MULTIPLE_FACES_DETECTED"
)

// DocumentType is an item of GET /{provider}/document-types.
type DocumentType struct {
	ID          int    `json:"id"`
	Country     string `json:"country,omitempty"`
	CountryName string `json:"countryName,omitempty"`
	Type        string `json:"type,omitempty"`
	Name        string `json:"name,omitempty"`
	SubType     string `json:"subType,omitempty"`
	ICAO        string `json:"icao,omitempty"`
}

// ListedProcess is an item of GET /processes.
type ListedProcess struct {
	ProcessID   string  `json:"processId"`
	Dossier     Dossier `json:"dossier"`
	Provider    string  `json:"provider"`
	Status      Status  `json:"status"`
	ProcessType string  `json:"processType,omitempty"`
	CreatedAt   Time    `json:"createdAt"`
	UpdatedAt   Time    `json:"updatedAt"`
}

// ProcessList is the 200 body of GET /processes.
type ProcessList struct {
	Processes    []ListedProcess `json:"processes"`
	Filters      json.RawMessage `json:"filters,omitempty"`
	TotalResults int             `json:"totalResults"`
}

// ErrorBody is the API's error body (StandardException), leniently extended
// with the fields of ErrorResponse and Signicat's generic error object.
type ErrorBody struct {
	Instance      string         `json:"instance,omitempty"`
	Method        string         `json:"method,omitempty"`
	Status        int            `json:"status,omitempty"`
	Type          string         `json:"type,omitempty"`
	Title         string         `json:"title,omitempty"`
	Detail        string         `json:"detail,omitempty"`
	TraceID       string         `json:"traceId,omitempty"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Code          string         `json:"code,omitempty"`
	InvalidParams []InvalidParam `json:"invalidParams,omitempty"`
	// OAuth2 token endpoint errors.
	OAuthError       string `json:"error,omitempty"`
	OAuthDescription string `json:"error_description,omitempty"`
}

// InvalidParam names a rejected request parameter.
type InvalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// TokenResponse is the OAuth2 token endpoint's answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

package specimen

import (
	"fmt"
	"strings"
)

// Case is the kind of a specimen record: what is special about it and hence
// which outcome it must get.
type Case string

// The cases, in their canonical order.
const (
	CaseAccepted         Case = "accepted"          // valid adult document, matching selfie
	CaseExpired          Case = "expired"           // document expired 2019–2023
	CaseUnderage         Case = "underage"          // holder born 2014–2016
	CaseUnreadableNumber Case = "unreadable_number" // document number cannot be read
	CaseOtherPerson      Case = "other_person"      // selfie shows somebody else
	CaseLookalike        Case = "lookalike"         // selfie shows somebody who resembles the holder
	CaseBlackAndWhite    Case = "black_and_white"   // grey copy of the document
	CaseTwoSided         Case = "two_sided"         // 2-page document with its back
	CaseDocumentOnly     Case = "document_only"     // processType document, no selfie
	CaseMissingFront     Case = "missing_front"     // no front image
	CaseCorruptJPEG      Case = "corrupt_jpeg"      // front.jpg is SOI + garbage
	CasePDFAsJPEG        Case = "pdf_as_jpg"        // front.jpg is a PDF
	CaseTooSmall         Case = "too_small"         // front is 50×50 pixels
	CaseMissingSelfie    Case = "missing_selfie"    // documentSelfie without a selfie
)

// Outcomes written to expected.jsonl: the API's final statuses plus the
// pipeline's preflight "skipped".
const (
	OutcomeAccepted     = "accepted"
	OutcomeRejected     = "rejected"
	OutcomeInconclusive = "inconclusive"
	OutcomeSkipped      = "skipped"
)

// Reasons written to expected.jsonl (see docs/outcome-rules.md): the first
// statusReason's subCategory (or category), or the preflight reason.
const (
	ReasonNone              = ""
	ReasonNonExpired        = "NonExpired"
	ReasonNotUnderage       = "NotUnderage"
	ReasonImageQuality      = "ImageQuality"
	ReasonSimilarityLevel   = "SimilarityLevel"
	ReasonNotBlackAndWhite  = "NotBlackAndWhite"
	ReasonMissingFront      = "missing_front"
	ReasonCorrupt           = "corrupt"
	ReasonUnsupportedFormat = "unsupported_format"
	ReasonTooSmall          = "too_small"
	ReasonMissingSelfie     = "missing_selfie"
)

// Expectation is the outcome a record must get.
type Expectation struct {
	Outcome string
	Reason  string
}

type caseInfo struct {
	c        Case
	outcome  string
	reason   string
	previous string // plausible status of the original onboarding
	about    string
}

// caseTable lists every case in canonical order. Never mutated.
var caseTable = [...]caseInfo{
	{CaseAccepted, OutcomeAccepted, ReasonNone, OutcomeAccepted, "valid document of an adult, selfie of the holder"},
	{CaseExpired, OutcomeInconclusive, ReasonNonExpired, OutcomeAccepted, "document expired in 2019–2023"},
	{CaseUnderage, OutcomeRejected, ReasonNotUnderage, OutcomeRejected, "holder born 2014–2016"},
	{CaseUnreadableNumber, OutcomeRejected, ReasonImageQuality, OutcomeAccepted, "document number unreadable"},
	{CaseOtherPerson, OutcomeRejected, ReasonSimilarityLevel, OutcomeAccepted, "selfie of another person"},
	{CaseLookalike, OutcomeInconclusive, ReasonSimilarityLevel, OutcomeAccepted, "selfie of a lookalike"},
	{CaseBlackAndWhite, OutcomeInconclusive, ReasonNotBlackAndWhite, OutcomeAccepted, "black-and-white copy of the document"},
	{CaseTwoSided, OutcomeAccepted, ReasonNone, OutcomeAccepted, "2-page document with its back"},
	{CaseDocumentOnly, OutcomeAccepted, ReasonNone, OutcomeAccepted, "processType document, no selfie"},
	{CaseMissingFront, OutcomeSkipped, ReasonMissingFront, OutcomeAccepted, "no front image"},
	{CaseCorruptJPEG, OutcomeSkipped, ReasonCorrupt, OutcomeAccepted, "front.jpg is a JPEG start marker followed by garbage"},
	{CasePDFAsJPEG, OutcomeSkipped, ReasonUnsupportedFormat, OutcomeAccepted, "front.jpg is a PDF"},
	{CaseTooSmall, OutcomeSkipped, ReasonTooSmall, OutcomeAccepted, "front is 50×50 pixels"},
	{CaseMissingSelfie, OutcomeSkipped, ReasonMissingSelfie, OutcomeAccepted, "documentSelfie record without a selfie"},
}

// Cases returns every case in canonical order.
func Cases() []Case {
	out := make([]Case, len(caseTable))
	for i, ci := range caseTable {
		out[i] = ci.c
	}
	return out
}

func (c Case) info() (caseInfo, bool) {
	for _, ci := range caseTable {
		if ci.c == c {
			return ci, true
		}
	}
	return caseInfo{}, false
}

// Known reports whether c is one of Cases().
func (c Case) Known() bool { _, ok := c.info(); return ok }

// Expected is the outcome and reason a record of this case must get.
func (c Case) Expected() Expectation {
	ci, _ := c.info()
	return Expectation{Outcome: ci.outcome, Reason: ci.reason}
}

// Broken reports whether the case is a broken input that preflight skips.
func (c Case) Broken() bool { return c.Expected().Outcome == OutcomeSkipped }

// PreviousStatus is a plausible status of the record's original onboarding,
// so that reports show outcome changes (an expired document was accepted
// when it was still valid, a fraud was missed, an archive image broke).
func (c Case) PreviousStatus() string { ci, _ := c.info(); return ci.previous }

// Description is a short human description of the case.
func (c Case) Description() string { ci, _ := c.info(); return ci.about }

// ParseCase parses a case name.
func ParseCase(s string) (Case, error) {
	c := Case(strings.TrimSpace(s))
	if !c.Known() {
		return "", fmt.Errorf("unknown case %q (known: %s)", s, caseNames())
	}
	return c, nil
}

func caseNames() string {
	names := make([]string, len(caseTable))
	for i, ci := range caseTable {
		names[i] = string(ci.c)
	}
	return strings.Join(names, ", ")
}

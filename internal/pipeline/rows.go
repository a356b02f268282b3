package pipeline

import (
	"time"

	"reverify/internal/assure"
	"reverify/internal/report"
)

// applyProcess fills a row from a final process: outcome, reasons, the
// extracted data (finalResult when accepted, else what providerSpecific
// holds), every security check and the selfie match.
func applyProcess(row *report.Row, p *assure.Process) {
	row.Outcome = string(p.Status)
	row.ProcessID = report.NonEmpty(p.ProcessID)
	row.StatusReasons = nil
	for _, r := range p.StatusReasons {
		row.StatusReasons = append(row.StatusReasons, report.StatusReason(r))
	}
	if p.FailReason != nil {
		row.FailReason = report.NonEmpty(p.FailReason.Text())
	}
	if len(p.Raw) > 0 {
		row.ResultJSON = append([]byte(nil), p.Raw...)
	}

	var doc *assure.Document
	var subj *assure.Subject
	var selfie *assure.Selfie
	if ps := p.ProviderSpecific; ps != nil {
		doc, selfie = ps.Document, ps.Selfie
		if doc != nil {
			subj = doc.Subject
		}
	}
	if fr := p.FinalResult; fr != nil {
		row.FirstName = report.NonEmpty(fr.FirstName)
		row.LastName = report.NonEmpty(fr.LastName)
		row.DateOfBirth = report.DateDays(fr.DateOfBirth)
		row.DateOfExpiry = report.DateDays(fr.DateOfExpiry)
		row.DateOfIssue = report.DateDays(fr.DateOfIssue)
		row.Gender = report.NonEmpty(fr.Gender)
		row.Nationality = report.NonEmpty(fr.Nationality)
		row.DocumentType = report.NonEmpty(fr.DocumentType)
		row.DocumentNumber = report.NonEmpty(fr.DocumentNumber)
		row.IssuingCountry = report.NonEmpty(fr.IssuingCountry)
		row.PersonalIdentificationNumber = report.NonEmpty(fr.PersonalIdentificationNumber)
		row.SimilarityScore = report.NonEmpty(fr.SimilarityScore)
	} else {
		if subj != nil {
			row.FirstName = report.NonEmpty(subj.FirstName)
			row.LastName = report.NonEmpty(subj.LastName)
			row.DateOfBirth = report.DateDays(subj.DateOfBirth)
			row.Gender = report.NonEmpty(subj.Gender)
			row.Nationality = report.NonEmpty(subj.Nationality)
			row.PersonalIdentificationNumber = report.NonEmpty(subj.PersonalIdentificationNumber)
		}
		if doc != nil {
			row.DateOfExpiry = report.DateDays(doc.DateOfExpiry)
			row.DateOfIssue = report.DateDays(doc.DateOfIssue)
			row.DocumentNumber = report.NonEmpty(doc.DocumentNumber)
			row.IssuingCountry = report.NonEmpty(doc.IssuingCountry)
		}
	}
	if doc != nil && doc.SecurityChecks != nil {
		sc := doc.SecurityChecks
		row.CheckNotTamperedDocument = sc.NotTamperedDocument.Result()
		row.CheckNonExpired = sc.NonExpired.Result()
		row.CheckNotUnderage = sc.NotUnderage.Result()
		row.CheckNotBlackAndWhite = sc.NotBlackAndWhite.Result()
		row.CheckDataIntegrity = sc.DataIntegrity.Result()
		row.CheckSidesMatch = sc.SidesMatch.Result()
		row.CheckNotFaceSpoofing = sc.NotFaceSpoofing.Result()
		row.CheckSelfieAndDocumentMatch = sc.SelfieAndDocumentMatch.Result()
		if m := sc.SelfieAndDocumentMatch; m != nil {
			row.SelfieSimilarityLevel = report.NonEmpty(m.SimilarityLevel)
		}
	}
	if selfie != nil {
		row.SelfieStatus = report.NonEmpty(selfie.Status)
	}
	finishRow(row)
}

// finishRow sets the derived columns once the outcome is known.
func finishRow(row *report.Row) {
	row.Reason = report.PrimaryReason(row)
	if row.PreviousOutcome != nil {
		row.OutcomeChanged = report.OutcomeChanged(*row.PreviousOutcome, row.Outcome)
	}
}

// completeRow stamps the effort and timing columns.
func completeRow(row *report.Row, st *recordStats, submitted, completed time.Time) {
	stampEffort(row, st)
	row.SubmittedAt = report.Timestamp(submitted)
	row.CompletedAt = report.Timestamp(completed)
	row.DurationMS = report.DurationMS(submitted, completed)
}

// stampEffort copies the record's call counters into its row.
func stampEffort(row *report.Row, st *recordStats) {
	row.APICalls = st.calls.Load()
	row.Retries = st.retries.Load()
	row.Polls = st.polls.Load()
}

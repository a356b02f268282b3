package pipeline

import (
	"reverify/internal/assure"
	"reverify/internal/privacy"
	"reverify/internal/report"
)

// row makes a record's output row, once, when the record reaches the writer:
// from the record as listed, its state, its final process and its effort.
// It is the only place that assigns report.Row fields, and the only place
// the personal-data policy is applied (personalData). (The writer adds its
// own: run id, shard, recorded_at.)
func (p *Pipeline) row(t *record) report.Row {
	r, st, end := t.rec, &t.st, t.st.end
	row := report.Row{
		RecordID:          r.ID,
		ExternalReference: ExternalReference(p.opt.RunID, r.ID),
		Origin:            r.Origin,
		FrontURI:          report.NonEmpty(r.Front),
		BackURI:           report.NonEmpty(r.Back),
		SelfieURI:         report.NonEmpty(r.Selfie),
		FrontSHA256:       report.NonEmpty(t.digests.Front),
		BackSHA256:        report.NonEmpty(t.digests.Back),
		SelfieSHA256:      report.NonEmpty(t.digests.Selfie),
		ProcessType:       r.ProcessType,
		DossierID:         report.NonEmpty(st.dossier),
		ProcessID:         report.NonEmpty(st.process),
		Outcome:           end.outcome,
		SkipReasons:       end.skips,
		ErrorCode:         end.code,
		ErrorMessage:      report.NonEmpty(end.message),
		PreviousOutcome:   report.NonEmpty(r.PreviousStatus),
		APICalls:          t.effort.calls.Load(),
		Retries:           t.effort.retries.Load(),
		Polls:             t.effort.polls.Load(),
		SubmittedAt:       report.Timestamp(t.submitted),
		CompletedAt:       report.Timestamp(end.at),
		DurationMS:        report.DurationMS(t.submitted, end.at),
		DryRun:            p.opt.DryRun,
		ResultZipURI:      report.NonEmpty(t.zipURI),
	}
	if r.DocumentID > 0 {
		row.DocumentID = new(int32(r.DocumentID))
	}
	if len(r.Meta) > 0 {
		row.Metadata = r.Meta
	}
	if end.process != nil {
		resultColumns(&row, end.process)
	}
	p.personalData(&row)
	row.Reason = report.PrimaryReason(&row)
	if row.PreviousOutcome != nil {
		row.OutcomeChanged = report.OutcomeChanged(*row.PreviousOutcome, row.Outcome)
	}
	return row
}

// personalData applies output.personal_data to the row's direct
// identifiers — here, where the row is made, and nowhere else, so that a row
// of a resumed record (made from the journal) follows it too. Include keeps
// them as the API sent them. Omit makes them NULL. Hash replaces each string
// identifier with its HMAC and moves the date of birth to
// date_of_birth_hmac, the HMAC of its YYYY-MM-DD (package privacy defines
// the input). result_json is NULL under both: the raw answer repeats every
// identifier, and the hash of a whole document would join nothing.
func (p *Pipeline) personalData(row *report.Row) {
	switch p.opt.PersonalData {
	case privacy.Include:
		return
	case privacy.Hash:
		for _, col := range []**string{&row.FirstName, &row.LastName, &row.DocumentNumber, &row.PersonalIdentificationNumber} {
			if *col != nil {
				*col = new(privacy.HMAC(p.opt.HashKey, **col))
			}
		}
		if row.DateOfBirth != nil {
			row.DateOfBirthHMAC = new(privacy.HMAC(p.opt.HashKey, report.DaysDate(row.DateOfBirth)))
		}
	default: // privacy.Omit (New made "" Omit and refused anything else)
		row.FirstName, row.LastName, row.DocumentNumber, row.PersonalIdentificationNumber = nil, nil, nil, nil
	}
	row.DateOfBirth = nil
	row.ResultJSON = nil
}

// resultColumns fills the columns a final process answers: its reasons, the
// extracted data (finalResult when accepted, else what providerSpecific
// holds), every security check and the selfie match.
//
// A check column is TRUE/FALSE whenever the answer reports the check: by its
// securityChecks object (passed, else valid; selfieAndDocumentMatch carries
// only a similarity level, read as passed for high and failed for medium,
// low, veryLow), or by a status reason naming it, which makes it FALSE. The
// seed's underage rejection has no notUnderage object, only the reason
// Document / Security / NotUnderage ("failed or was not found"), so without
// the reasons check_not_underage would be NULL there.
// (assure.Process.CheckResults has the rules and their sources.)
// failed_checks lists the FALSE ones by key, and checks of other names a
// reason gives.
func resultColumns(row *report.Row, p *assure.Process) {
	row.ProcessID = report.NonEmpty(p.ProcessID)
	for _, r := range p.StatusReasons {
		row.StatusReasons = append(row.StatusReasons, report.StatusReason(r))
	}
	if p.FailReason != nil {
		row.FailReason = report.NonEmpty(p.FailReason.Text())
	}
	if len(p.Raw) > 0 {
		row.ResultJSON = p.Raw
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
	columns := map[string]**bool{
		assure.CheckNotTamperedDocument:    &row.CheckNotTamperedDocument,
		assure.CheckNonExpired:             &row.CheckNonExpired,
		assure.CheckNotUnderage:            &row.CheckNotUnderage,
		assure.CheckNotBlackAndWhite:       &row.CheckNotBlackAndWhite,
		assure.CheckDataIntegrity:          &row.CheckDataIntegrity,
		assure.CheckSidesMatch:             &row.CheckSidesMatch,
		assure.CheckNotFaceSpoofing:        &row.CheckNotFaceSpoofing,
		assure.CheckSelfieAndDocumentMatch: &row.CheckSelfieAndDocumentMatch,
	}
	for _, c := range p.CheckResults() {
		if col, ok := columns[c.Key]; ok {
			*col = new(c.Passed)
		}
		if !c.Passed {
			row.FailedChecks = append(row.FailedChecks, c.Key)
		}
	}
	if doc != nil && doc.SecurityChecks != nil {
		if m := doc.SecurityChecks.SelfieAndDocumentMatch; m != nil {
			row.SelfieSimilarityLevel = report.NonEmpty(m.SimilarityLevel)
		}
	}
	if selfie != nil {
		row.SelfieStatus = report.NonEmpty(selfie.Status)
	}
}

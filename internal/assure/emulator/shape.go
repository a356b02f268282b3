package emulator

import (
	"reverify/internal/assure"
	"reverify/internal/pictureid"
)

// This file turns an Outcome into the Process JSON of the final status,
// with the same set of fields as the seed's example of that status
// (docs/outcome-rules.md, "Shape of the answers").

// Messages and reasons of the rules.
const (
	msgImageQuality  = "Document image does not have enough quality or is not an image of an ID document (documentNumber could not be extracted)."
	msgUnderage      = "Security check 'notUnderage' failed or was not found."
	msgVeryLow       = "Similarity level is 'veryLow'."
	msgExpired       = "Security check 'nonExpired' failed."
	msgBlackAndWhite = "Security check 'notBlackAndWhite' failed."
	msgMedium        = "Similarity level is 'medium'."
)

// StatusReason is the statusReasons item of a rejecting or inconclusive rule.
func StatusReason(r Rule) (assure.StatusReason, bool) {
	switch r {
	case RuleImageQuality:
		return assure.StatusReason{Type: "Document", Category: "ImageQuality", Message: msgImageQuality}, true
	case RuleUnderage:
		return assure.StatusReason{Type: "Document", Category: "Security", SubCategory: "NotUnderage", Message: msgUnderage}, true
	case RuleOtherPerson:
		return assure.StatusReason{Type: "Biometrics", Category: "SimilarityLevel", Message: msgVeryLow}, true
	case RuleExpired:
		return assure.StatusReason{Type: "Document", Category: "SecurityCheckFailed", SubCategory: "NonExpired", Message: msgExpired}, true
	case RuleBlackAndWhite:
		return assure.StatusReason{Type: "Document", Category: "SecurityCheckFailed", SubCategory: "NotBlackAndWhite", Message: msgBlackAndWhite}, true
	case RuleLookalike:
		return assure.StatusReason{Type: "Biometrics", Category: "SimilarityLevel", Message: msgMedium}, true
	}
	return assure.StatusReason{}, false
}

// FailReason is the failReason of a failing rule.
func FailReason(r Rule) *assure.FailReason {
	switch r {
	case RuleTransactionExpired:
		return &assure.FailReason{Detail: "Transaction time expired."}
	case RuleUploadFailed:
		return &assure.FailReason{Type: "upload_failed", Message: "ERROR: signicatpictureid uploadImage()"}
	}
	return nil
}

// shapeInput is what the answer needs besides the Outcome.
type shapeInput struct {
	base       assure.Process // ids, provider, processType, createdAt, updatedAt
	depictions []string       // uploaded depictions, in front, back, selfie order
	front      measured
	selfie     measured
}

// buildFinal is the Process answered for a final outcome.
func buildFinal(in shapeInput, o Outcome) assure.Process {
	p := in.base
	p.Status = o.Status
	selfie := p.ProcessType == pictureid.ProcessDocumentSelfie
	first := Rule("")
	if len(o.Rules) > 0 {
		first = o.Rules[0]
	}
	for _, r := range o.Rules {
		if sr, ok := StatusReason(r); ok {
			p.StatusReasons = append(p.StatusReasons, sr)
		}
	}
	switch o.Status {
	case assure.StatusFailed:
		p.FailReason = FailReason(first)
		p.Depictions = in.depictions
	case assure.StatusAccepted:
		p.FinalResult = finalResult(o, selfie)
		p.ProviderSpecific = fullDocument(in, o, selfie)
	case assure.StatusRejected:
		switch first {
		case RuleImageQuality:
			p.Depictions = in.depictions
			p.ProviderSpecific = &assure.ProviderSpecific{Document: &assure.Document{
				Subject:        &assure.Subject{Photo: photoBox(in.front), Signature: signatureBox(in.front)},
				SecurityChecks: slimChecks(false, o.Grey),
			}}
		case RuleUnderage:
			p.Depictions = in.depictions
			p.ProviderSpecific = &assure.ProviderSpecific{Document: &assure.Document{
				Subject:        &assure.Subject{Signature: signatureBox(in.front)},
				SecurityChecks: slimChecks(true, o.Grey),
			}}
		default: // similarity veryLow
			p.ProviderSpecific = fullDocument(in, o, selfie)
		}
	case assure.StatusInconclusive:
		p.ProviderSpecific = fullDocument(in, o, selfie)
	}
	return p
}

func finalResult(o Outcome, selfie bool) *assure.FinalResult {
	d := o.Subject
	fr := &assure.FinalResult{
		FirstName: d.FirstName, LastName: d.LastName, DateOfExpiry: d.DateOfExpiry, DateOfBirth: d.DateOfBirth,
		Gender: d.Gender, Nationality: d.Nationality, DocumentNumber: d.DocumentNumber,
		IssuingCountry: d.IssuingCountry, PersonalIdentificationNumber: d.PersonalIdentificationNumber,
	}
	if selfie {
		fr.SimilarityScore = o.Similarity
	}
	return fr
}

// fullDocument is providerSpecific of accepted, inconclusive and
// similarity-rejected answers: the document read, its five checks, and for
// documentSelfie the face match and the selfie's face box.
func fullDocument(in shapeInput, o Outcome, selfie bool) *assure.ProviderSpecific {
	d := o.Subject
	checks := &assure.SecurityChecks{
		NotTamperedDocument: check("Not tampered document", true),
		NonExpired:          check("Document not expired", !o.Expired),
		NotUnderage:         check("Not underage", !o.Underage),
		NotBlackAndWhite:    check("Not black & white copy", !o.Grey),
		DataIntegrity:       check("Data integrity", true),
	}
	ps := &assure.ProviderSpecific{Document: &assure.Document{
		IssuingCountry: d.IssuingCountry,
		DateOfExpiry:   d.DateOfExpiry,
		DocumentNumber: d.DocumentNumber,
		Subject: &assure.Subject{
			FirstName: d.FirstName, LastName: d.LastName, DateOfBirth: d.DateOfBirth, Gender: d.Gender,
			Nationality: d.Nationality, PersonalIdentificationNumber: d.PersonalIdentificationNumber,
			Photo: photoBox(in.front), Signature: signatureBox(in.front),
		},
		SecurityChecks: checks,
	}}
	if selfie {
		checks.SelfieAndDocumentMatch = &assure.Check{Name: "Selfie and photo in the document match", SimilarityLevel: o.Similarity}
		ps.Selfie = &assure.Selfie{
			Status: assure.SelfieSuccess,
			X:      in.selfie.width / 4, Y: in.selfie.height / 5,
			Width: in.selfie.width / 2, Height: in.selfie.height * 3 / 5,
		}
	}
	return ps
}

// slimChecks are the three checks of the seed's image-quality and underage
// rejections.
func slimChecks(notTampered, grey bool) *assure.SecurityChecks {
	return &assure.SecurityChecks{
		NotTamperedDocument: check("Not tampered document", notTampered),
		NotBlackAndWhite:    check("Not black & white copy", !grey),
		DataIntegrity:       check("Data integrity", false),
	}
}

func check(name string, passed bool) *assure.Check {
	return &assure.Check{Name: name, Passed: &passed}
}

// photoBox and signatureBox place the holder's photo and signature at fixed
// fractions of the front image.
func photoBox(m measured) *assure.Box {
	return &assure.Box{X: m.width * 6 / 100, Y: m.height * 28 / 100, Width: m.width * 22 / 100, Height: m.height * 45 / 100}
}

func signatureBox(m measured) *assure.Box {
	return &assure.Box{X: m.width * 45 / 100, Y: m.height * 78 / 100, Width: m.width * 25 / 100, Height: m.height * 8 / 100}
}

package emulator

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
)

// This file implements docs/outcome-rules.md as pure functions: facts
// measured from a process in, an Outcome out.

// Rule names one rule of docs/outcome-rules.md.
type Rule string

// The rules, in the order of docs/outcome-rules.md.
const (
	RuleTransactionExpired Rule = "transactionExpired" // failed
	RuleUploadFailed       Rule = "uploadFailed"       // failed
	RuleImageQuality       Rule = "imageQuality"       // rejected
	RuleUnderage           Rule = "underage"           // rejected
	RuleOtherPerson        Rule = "otherPerson"        // rejected
	RuleExpired            Rule = "expired"            // inconclusive
	RuleBlackAndWhite      Rule = "blackAndWhite"      // inconclusive
	RuleLookalike          Rule = "lookalike"          // inconclusive
)

// Facts are what the rules look at.
type Facts struct {
	ProcessType string
	// Now is the emulated time of start verification.
	Now time.Time
	// FirstUpload is the emulated time of the first image upload.
	FirstUpload time.Time
	// Expiry is the configured transaction expiry.
	Expiry time.Duration
	// Unreadable is true when an uploaded image does not decode.
	Unreadable bool
	// Grey is true when the front measures as black and white.
	Grey bool
	// Front and Selfie are the specimen data of those images (nil: none).
	Front, Selfie *specimen.Data
	// Hash is SHA-256 of front || back || selfie (absent images add nothing).
	Hash [32]byte
	// Mix is the configured outcome mix for images without specimen data.
	Mix Mix
	// Country is the document type's country (synthetic data only).
	Country string
}

// Outcome is the decision of the rules.
type Outcome struct {
	Status assure.Status
	// Rules are the fired rules of the winning status, in rule order. The
	// first one decides the shape of the answer.
	Rules []Rule
	// Subject is the data the answer reports: the front's specimen data, or
	// synthetic data derived from the hash.
	Subject   specimen.Data
	Synthetic bool
	// Check results reported in securityChecks.
	Expired, Underage, Grey bool
	// Similarity is high, medium or veryLow for documentSelfie, else "".
	Similarity string
}

// Decide applies the rules to f.
func Decide(f Facts) Outcome {
	if !f.FirstUpload.IsZero() && f.Now.Sub(f.FirstUpload) > f.Expiry {
		return Outcome{Status: assure.StatusFailed, Rules: []Rule{RuleTransactionExpired}}
	}
	if f.Unreadable {
		return Outcome{Status: assure.StatusFailed, Rules: []Rule{RuleUploadFailed}}
	}
	if f.Front == nil {
		return decideByHash(f)
	}
	d := *f.Front
	selfie := f.ProcessType == pictureid.ProcessDocumentSelfie
	age := d.AgeAt(f.Now)
	o := Outcome{
		Subject:  d,
		Expired:  d.ExpiredAt(f.Now),
		Underage: age >= 0 && age < 18,
		Grey:     f.Grey,
	}
	if selfie {
		o.Similarity = similarity(d, f.Selfie)
	}
	var rejecting, inconclusive []Rule
	if d.DocumentNumber == "" {
		rejecting = append(rejecting, RuleImageQuality)
	}
	if o.Underage {
		rejecting = append(rejecting, RuleUnderage)
	}
	if o.Similarity == assure.SimilarityVeryLow {
		rejecting = append(rejecting, RuleOtherPerson)
	}
	if o.Expired {
		inconclusive = append(inconclusive, RuleExpired)
	}
	if f.Grey {
		inconclusive = append(inconclusive, RuleBlackAndWhite)
	}
	if o.Similarity == assure.SimilarityMedium {
		inconclusive = append(inconclusive, RuleLookalike)
	}
	switch {
	case len(rejecting) > 0:
		o.Status, o.Rules = assure.StatusRejected, rejecting
	case len(inconclusive) > 0:
		o.Status, o.Rules = assure.StatusInconclusive, inconclusive
	default:
		o.Status = assure.StatusAccepted
	}
	return o
}

// similarity compares the selfie's person with the document holder.
func similarity(front specimen.Data, selfie *specimen.Data) string {
	switch {
	case selfie == nil:
		return assure.SimilarityVeryLow
	case selfie.PersonID == front.PersonID:
		return assure.SimilarityHigh
	case selfie.Lookalike:
		return assure.SimilarityMedium
	default:
		return assure.SimilarityVeryLow
	}
}

// hashUnit maps 8 bytes to [0, 1): the top 53 bits over 2^53.
func hashUnit(b []byte) float64 {
	return float64(binary.BigEndian.Uint64(b)>>11) / (1 << 53)
}

// HashStatus draws a status from the mix with u in [0, 1): the shares are
// taken in the order accepted, inconclusive, rejected, failed.
func HashStatus(u float64, m Mix) assure.Status {
	x := u * m.sum()
	steps := []struct {
		s assure.Status
		w float64
	}{{assure.StatusAccepted, m.Accepted}, {assure.StatusInconclusive, m.Inconclusive},
		{assure.StatusRejected, m.Rejected}, {assure.StatusFailed, m.Failed}}
	last := assure.StatusAccepted
	for _, s := range steps {
		if s.w <= 0 {
			continue
		}
		if x < s.w {
			return s.s
		}
		x -= s.w
		last = s.s
	}
	return last // rounding at the very top of the range
}

// decideByHash is rule 4: images without specimen data.
func decideByHash(f Facts) Outcome {
	selfie := f.ProcessType == pictureid.ProcessDocumentSelfie
	o := Outcome{Synthetic: true, Grey: f.Grey}
	if selfie {
		o.Similarity = assure.SimilarityHigh
	}
	if f.Grey {
		o.Status, o.Rules = assure.StatusInconclusive, []Rule{RuleBlackAndWhite}
	} else {
		o.Status = HashStatus(hashUnit(f.Hash[0:8]), f.Mix)
		pick := binary.BigEndian.Uint64(f.Hash[8:16])
		var cands []Rule
		switch o.Status {
		case assure.StatusRejected:
			cands = []Rule{RuleImageQuality, RuleUnderage}
			if selfie {
				cands = append(cands, RuleOtherPerson)
			}
		case assure.StatusInconclusive:
			cands = []Rule{RuleExpired}
			if selfie {
				cands = append(cands, RuleLookalike)
			}
		case assure.StatusFailed:
			cands = []Rule{RuleUploadFailed}
		}
		if len(cands) > 0 {
			o.Rules = []Rule{cands[pick%uint64(len(cands))]}
		}
	}
	rule := Rule("")
	if len(o.Rules) > 0 {
		rule = o.Rules[0]
	}
	switch rule {
	case RuleUnderage:
		o.Underage = true
	case RuleExpired:
		o.Expired = true
	case RuleOtherPerson:
		o.Similarity = assure.SimilarityVeryLow
	case RuleLookalike:
		o.Similarity = assure.SimilarityMedium
	}
	o.Subject = syntheticSubject(f.Hash, f.Now, f.Country, rule)
	return o
}

// syntheticSubject is the made-up holder of an image without specimen data,
// consistent with the rule that fired: the emulator never reads documents.
func syntheticSubject(h [32]byte, now time.Time, country string, rule Rule) specimen.Data {
	day := func(t time.Time) string { return t.UTC().Format(specimen.DateLayout) }
	n := binary.BigEndian.Uint64(h[16:24])
	d := specimen.Data{
		V:                            specimen.Version,
		Role:                         specimen.RoleFront,
		PersonID:                     fmt.Sprintf("emulated-%x", h[:8]),
		FirstName:                    "EMULATED",
		LastName:                     "SUBJECT",
		Gender:                       "M",
		Nationality:                  country,
		IssuingCountry:               country,
		DocumentNumber:               "EMU" + strings.ToUpper(fmt.Sprintf("%x", h[16:20])),
		PersonalIdentificationNumber: fmt.Sprintf("%09d", n%1_000_000_000),
		DateOfBirth:                  day(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n%18000))),
		DateOfExpiry:                 day(now.AddDate(1, 0, int(n%1460))),
	}
	if h[24]&1 == 1 {
		d.Gender = "F"
	}
	switch rule {
	case RuleImageQuality:
		d.DocumentNumber = ""
	case RuleUnderage:
		d.DateOfBirth = day(now.AddDate(-16, 0, 0))
	case RuleExpired:
		d.DateOfExpiry = day(now.AddDate(0, 0, -2-int(n%365)))
	}
	return d
}

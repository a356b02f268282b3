package assure

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Keys of providerSpecific.document.securityChecks, in the API's order:
// the stable codes of a check (report column failed_checks).
const (
	CheckNotTamperedDocument    = "notTamperedDocument"
	CheckNonExpired             = "nonExpired"
	CheckNotUnderage            = "notUnderage"
	CheckNotBlackAndWhite       = "notBlackAndWhite"
	CheckDataIntegrity          = "dataIntegrity"
	CheckSidesMatch             = "sidesMatch"
	CheckNotFaceSpoofing        = "notFaceSpoofing"
	CheckSelfieAndDocumentMatch = "selfieAndDocumentMatch"
)

// CheckKeys returns every securityChecks key in the API's order.
func CheckKeys() []string {
	return []string{CheckNotTamperedDocument, CheckNonExpired, CheckNotUnderage, CheckNotBlackAndWhite,
		CheckDataIntegrity, CheckSidesMatch, CheckNotFaceSpoofing, CheckSelfieAndDocumentMatch}
}

// byKey returns the check object of a key (nil when absent or unknown).
func (sc *SecurityChecks) byKey(key string) *Check {
	if sc == nil {
		return nil
	}
	switch key {
	case CheckNotTamperedDocument:
		return sc.NotTamperedDocument
	case CheckNonExpired:
		return sc.NonExpired
	case CheckNotUnderage:
		return sc.NotUnderage
	case CheckNotBlackAndWhite:
		return sc.NotBlackAndWhite
	case CheckDataIntegrity:
		return sc.DataIntegrity
	case CheckSidesMatch:
		return sc.SidesMatch
	case CheckNotFaceSpoofing:
		return sc.NotFaceSpoofing
	case CheckSelfieAndDocumentMatch:
		return sc.SelfieAndDocumentMatch
	}
	return nil
}

// SimilarityPassed is the pass/fail reading of a face-match similarity
// level: true for high, the only level of an accepted process in the seed;
// false for medium (the seed's inconclusive example: "the facial similarity
// level score is medium"), low and veryLow (the seed's rejected example);
// nil for an empty or unknown level.
func SimilarityPassed(level string) *bool {
	switch level {
	case SimilarityHigh:
		return new(true)
	case SimilarityMedium, SimilarityLow, SimilarityVeryLow:
		return new(false)
	}
	return nil
}

// MatchResult is Result, or, for a check that carries only a similarity
// level (selfieAndDocumentMatch, as every seed example sends it), the
// level's reading (SimilarityPassed).
func (c *Check) MatchResult() *bool {
	if r := c.Result(); r != nil || c == nil {
		return r
	}
	return SimilarityPassed(c.SimilarityLevel)
}

// CheckResult is one security check an answer reports.
type CheckResult struct {
	Key    string // securityChecks key (CheckKeys), or the check a status reason names
	Passed bool
}

// CheckResults returns every security check the process reports, known keys
// in CheckKeys order, then checks of other names that status reasons name,
// in the reasons' order. A check is reported by its securityChecks object
// (passed, else valid, else for selfieAndDocumentMatch its similarity
// level) or by a status reason naming it (ReasonCheck), which makes it
// failed: a reason says the check failed or was not found, even where its
// object (if any) says otherwise. A check neither reports is not listed.
func (p *Process) CheckResults() []CheckResult {
	var sc *SecurityChecks
	if ps := p.ProviderSpecific; ps != nil && ps.Document != nil {
		sc = ps.Document.SecurityChecks
	}
	failed := map[string]bool{}
	var others []string
	for _, sr := range p.StatusReasons {
		key, ok := ReasonCheck(sr)
		if !ok {
			continue
		}
		if !failed[key] && !knownCheck(key) {
			others = append(others, key)
		}
		failed[key] = true
	}
	var out []CheckResult
	for _, key := range CheckKeys() {
		if failed[key] {
			out = append(out, CheckResult{Key: key, Passed: false})
		} else if r := sc.byKey(key).MatchResult(); r != nil {
			out = append(out, CheckResult{Key: key, Passed: *r})
		}
	}
	for _, key := range others {
		out = append(out, CheckResult{Key: key, Passed: false})
	}
	return out
}

func knownCheck(key string) bool { return slices.Contains(CheckKeys(), key) }

// ReasonCheck returns the security check a status reason says failed, when
// it names one:
//
//   - a subCategory that is a securityChecks key with its first letter
//     upper-cased names that check, whatever the category: the seed's
//     underage rejection (Document / Security / NotUnderage, "Security
//     check 'notUnderage' failed or was not found.", with no notUnderage
//     object in the answer) and expired inconclusive (Document /
//     SecurityCheckFailed / NonExpired) say so; that every check's key is
//     spelled this way (NotBlackAndWhite, DataIntegrity, SidesMatch,
//     NotFaceSpoofing, …) is inferred from those two, as the emulator
//     spells NotBlackAndWhite;
//   - another subCategory of a Security or SecurityCheckFailed reason names
//     a check the API added later: its subCategory with the first letter
//     lower-cased;
//   - a SimilarityLevel reason without subCategory (Biometrics /
//     SimilarityLevel, "Similarity level is 'veryLow'." or 'medium' in the
//     seed) names selfieAndDocumentMatch, unless its message gives the
//     level high;
//   - anything else (ImageQuality: the document number could not be read)
//     names no check.
func ReasonCheck(sr StatusReason) (string, bool) {
	if sub := strings.TrimSpace(sr.SubCategory); sub != "" {
		for _, k := range CheckKeys() {
			if strings.EqualFold(sub, k) {
				return k, true
			}
		}
		switch sr.Category {
		case "Security", "SecurityCheckFailed":
			r, n := utf8.DecodeRuneInString(sub)
			return string(unicode.ToLower(r)) + sub[n:], true
		}
		return "", false
	}
	if sr.Category == "SimilarityLevel" {
		if level, ok := quotedLevel(sr.Message); ok && level == SimilarityHigh {
			return "", false
		}
		return CheckSelfieAndDocumentMatch, true
	}
	return "", false
}

// quotedLevel extracts X from "Similarity level is 'X'.".
func quotedLevel(msg string) (string, bool) {
	_, rest, ok := strings.Cut(msg, "'")
	if !ok {
		return "", false
	}
	level, _, ok := strings.Cut(rest, "'")
	return level, ok
}

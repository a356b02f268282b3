package specimen

import (
	"bytes"
	"image"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"
	"reverify/internal/pictureid"
	"strconv"
	"time"
)

// This file holds test-only oracles: the emulator's outcome rules
// (docs/outcome-rules.md) and the archive reader's preflight, applied to
// what the generator wrote, so that tests check the expected outcomes
// against the rules rather than against the generator's own case table.

// predictRules applies rules 3 of docs/outcome-rules.md.
func predictRules(front *Data, frontGray bool, selfie *Data, processType string, now time.Time) Expectation {
	var rejected, inconclusive []string
	if front.DocumentNumber == "" {
		rejected = append(rejected, ReasonImageQuality)
	}
	if front.AgeAt(now) < 18 {
		rejected = append(rejected, ReasonNotUnderage)
	}
	if processType == pictureid.ProcessDocumentSelfie && (selfie == nil || (selfie.PersonID != front.PersonID && !selfie.Lookalike)) {
		rejected = append(rejected, ReasonSimilarityLevel)
	}
	if front.ExpiredAt(now) {
		inconclusive = append(inconclusive, ReasonNonExpired)
	}
	if frontGray {
		inconclusive = append(inconclusive, ReasonNotBlackAndWhite)
	}
	if processType == pictureid.ProcessDocumentSelfie && selfie != nil && selfie.PersonID != front.PersonID && selfie.Lookalike {
		inconclusive = append(inconclusive, ReasonSimilarityLevel)
	}
	switch {
	case len(rejected) > 0:
		return Expectation{OutcomeRejected, rejected[0]}
	case len(inconclusive) > 0:
		return Expectation{OutcomeInconclusive, inconclusive[0]}
	}
	return Expectation{OutcomeAccepted, ""}
}

// minReaderSize is the smallest width and height the archive reader
// accepts ("at least 100×100").
const minReaderSize = 100

// preflight mimics the archive reader: files present, JPEG or PNG by magic,
// header and dimensions readable, above the minimum size, the set complete.
// It returns the skip reason, or "" when the record goes to the API.
func preflight(files map[string][]byte, processType string) string {
	front, ok := files[RoleFront]
	if !ok {
		return ReasonMissingFront
	}
	for _, role := range []string{RoleFront, RoleBack, RoleSelfie} {
		b, ok := files[role]
		if !ok {
			continue
		}
		if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			return ReasonUnsupportedFormat
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return ReasonCorrupt
		}
		if cfg.Width < minReaderSize || cfg.Height < minReaderSize {
			return ReasonTooSmall
		}
	}
	_ = front
	if processType == pictureid.ProcessDocumentSelfie {
		if _, ok := files[RoleSelfie]; !ok {
			return ReasonMissingSelfie
		}
	}
	return ""
}

// measuredGray is the emulator's black-and-white measure: at least 99.5% of
// up to 4,096 sampled pixels have channels within 16 of each other.
func measuredGray(img image.Image) (grayShare float64) {
	b := img.Bounds()
	const grid = 64
	n, grey := 0, 0
	for j := 0; j < grid; j++ {
		for i := 0; i < grid; i++ {
			x := b.Min.X + (2*i+1)*b.Dx()/(2*grid)
			y := b.Min.Y + (2*j+1)*b.Dy()/(2*grid)
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			spread := max(r, g, bl) - min(r, g, bl)
			n++
			if spread <= 16 {
				grey++
			}
		}
	}
	return float64(grey) / float64(n)
}

func fmtInt(n int) string { return strconv.Itoa(n) }

package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
	"reverify/internal/testutil/testimage"
)

func TestDecideRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	doc := func(mut func(*specimen.Data)) *specimen.Data {
		d := holder()
		if mut != nil {
			mut(&d)
		}
		return &d
	}
	self := func(id string, look bool) *specimen.Data { d := testimage.SelfieData(id, look); return &d }
	base := func(pt string) Facts {
		return Facts{ProcessType: pt, Now: now, FirstUpload: now.Add(-time.Minute), Expiry: 15 * time.Minute,
			Front: doc(nil), Mix: DefaultConfig().OutcomeMix, Country: "NLD"}
	}
	const D, DS = pictureid.ProcessDocument, pictureid.ProcessDocumentSelfie
	cases := []struct {
		name   string
		facts  func() Facts
		status assure.Status
		rules  []Rule
	}{
		{"accepted document", func() Facts { return base(D) }, assure.StatusAccepted, nil},
		{"accepted selfie same person", func() Facts { f := base(DS); f.Selfie = self("person-1", false); return f }, assure.StatusAccepted, nil},
		{"same person flagged lookalike is still high", func() Facts { f := base(DS); f.Selfie = self("person-1", true); return f }, assure.StatusAccepted, nil},
		{"transaction expired beats everything", func() Facts {
			f := base(D)
			f.FirstUpload = now.Add(-15*time.Minute - time.Second)
			f.Unreadable = true
			return f
		}, assure.StatusFailed, []Rule{RuleTransactionExpired}},
		{"exactly the expiry is not expired", func() Facts { f := base(D); f.FirstUpload = now.Add(-15 * time.Minute); return f }, assure.StatusAccepted, nil},
		{"unreadable image", func() Facts { f := base(D); f.Unreadable = true; return f }, assure.StatusFailed, []Rule{RuleUploadFailed}},
		{"image quality", func() Facts {
			f := base(D)
			f.Front = doc(func(d *specimen.Data) { d.DocumentNumber = "" })
			return f
		}, assure.StatusRejected, []Rule{RuleImageQuality}},
		{"underage one day before 18th birthday", func() Facts {
			f := base(D)
			f.Front = doc(func(d *specimen.Data) { d.DateOfBirth = "2008-03-02" })
			return f
		}, assure.StatusRejected, []Rule{RuleUnderage}},
		{"18 on the birthday", func() Facts {
			f := base(D)
			f.Front = doc(func(d *specimen.Data) { d.DateOfBirth = "2008-03-01" })
			return f
		}, assure.StatusAccepted, nil},
		{"no birth date is not underage", func() Facts {
			f := base(D)
			f.Front = doc(func(d *specimen.Data) { d.DateOfBirth = "" })
			return f
		}, assure.StatusAccepted, nil},
		{"other person", func() Facts { f := base(DS); f.Selfie = self("person-2", false); return f }, assure.StatusRejected, []Rule{RuleOtherPerson}},
		{"selfie without specimen data is another person", func() Facts { return base(DS) }, assure.StatusRejected, []Rule{RuleOtherPerson}},
		{"selfie ignored for document", func() Facts { f := base(D); f.Selfie = self("person-2", false); return f }, assure.StatusAccepted, nil},
		{"expired document", func() Facts {
			f := base(D)
			f.Front = doc(func(d *specimen.Data) { d.DateOfExpiry = "2026-02-27" })
			return f
		}, assure.StatusInconclusive, []Rule{RuleExpired}},
		{"valid through the expiry date", func() Facts {
			f := base(D)
			f.Front = doc(func(d *specimen.Data) { d.DateOfExpiry = "2026-03-01" })
			return f
		}, assure.StatusAccepted, nil},
		{"black and white", func() Facts { f := base(D); f.Grey = true; return f }, assure.StatusInconclusive, []Rule{RuleBlackAndWhite}},
		{"lookalike", func() Facts { f := base(DS); f.Selfie = self("person-2", true); return f }, assure.StatusInconclusive, []Rule{RuleLookalike}},
		{"all inconclusive rules in order", func() Facts {
			f := base(DS)
			f.Front = doc(func(d *specimen.Data) { d.DateOfExpiry = "2020-01-01" })
			f.Grey = true
			f.Selfie = self("person-2", true)
			return f
		}, assure.StatusInconclusive, []Rule{RuleExpired, RuleBlackAndWhite, RuleLookalike}},
		{"rejecting beats inconclusive, all rejecting rules in order", func() Facts {
			f := base(DS)
			f.Front = doc(func(d *specimen.Data) {
				d.DocumentNumber = ""
				d.DateOfBirth = "2015-01-01"
				d.DateOfExpiry = "2020-01-01"
			})
			f.Grey = true
			return f
		}, assure.StatusRejected, []Rule{RuleImageQuality, RuleUnderage, RuleOtherPerson}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Decide(c.facts())
			assert.Equal(t, c.status, o.Status)
			assert.Equal(t, c.rules, o.Rules)
			assert.False(t, o.Synthetic)
		})
	}
}

func TestHashStatusFollowsMix(t *testing.T) {
	m := Mix{Accepted: 0.5, Inconclusive: 0.25, Rejected: 0.125, Failed: 0.125}
	cases := []struct {
		u    float64
		want assure.Status
	}{
		{0, assure.StatusAccepted}, {0.4999, assure.StatusAccepted}, {0.5, assure.StatusInconclusive},
		{0.7499, assure.StatusInconclusive}, {0.75, assure.StatusRejected}, {0.875, assure.StatusFailed},
		{0.999999, assure.StatusFailed},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, HashStatus(c.u, m), "u=%v", c.u)
	}
	// Zero shares are never drawn, even at the top of the range.
	only := Mix{Accepted: 1}
	assert.Equal(t, assure.StatusAccepted, HashStatus(0.9999999999, only))
	noFail := Mix{Accepted: 0.9, Rejected: 0.1}
	assert.Equal(t, assure.StatusRejected, HashStatus(0.9999999999999, noFail))
}

// TestHashOutcomesFollowTheMix draws 20,000 fixed hashes: the shares must be
// within 1.5 points of the default mix (about 5 standard deviations).
func TestHashOutcomesFollowTheMix(t *testing.T) {
	mix := DefaultConfig().OutcomeMix
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	count := map[assure.Status]int{}
	reasons := map[Rule]int{}
	for i := range n {
		f := Facts{ProcessType: pictureid.ProcessDocumentSelfie, Now: now, FirstUpload: now, Expiry: time.Minute,
			Hash: sha256.Sum256([]byte(fmt.Sprintf("image-%d", i))), Mix: mix, Country: "NOR"}
		o := Decide(f)
		require.True(t, o.Synthetic)
		count[o.Status]++
		for _, r := range o.Rules {
			reasons[r]++
		}
		// Deterministic: the same facts give the same outcome.
		require.Equal(t, o, Decide(f))
		// The synthetic data agrees with the reason.
		switch {
		case o.Status == assure.StatusAccepted:
			require.Empty(t, o.Rules)
			require.Equal(t, assure.SimilarityHigh, o.Similarity)
		case o.Rules[0] == RuleImageQuality:
			require.Empty(t, o.Subject.DocumentNumber)
		case o.Rules[0] == RuleUnderage:
			require.Less(t, o.Subject.AgeAt(now), 18)
		case o.Rules[0] == RuleExpired:
			require.True(t, o.Subject.ExpiredAt(now))
		case o.Rules[0] == RuleOtherPerson:
			require.Equal(t, assure.SimilarityVeryLow, o.Similarity)
		case o.Rules[0] == RuleLookalike:
			require.Equal(t, assure.SimilarityMedium, o.Similarity)
		}
		if o.Status == assure.StatusAccepted {
			require.False(t, o.Subject.ExpiredAt(now))
			require.GreaterOrEqual(t, o.Subject.AgeAt(now), 18)
			require.NotEmpty(t, o.Subject.DocumentNumber)
			require.Equal(t, "NOR", o.Subject.IssuingCountry)
		}
	}
	share := func(s assure.Status) float64 { return float64(count[s]) / n }
	assert.InDelta(t, mix.Accepted, share(assure.StatusAccepted), 0.015)
	assert.InDelta(t, mix.Inconclusive, share(assure.StatusInconclusive), 0.015)
	assert.InDelta(t, mix.Rejected, share(assure.StatusRejected), 0.015)
	assert.InDelta(t, mix.Failed, share(assure.StatusFailed), 0.015)
	// Every reason of a documentSelfie draw occurs.
	for _, r := range []Rule{RuleImageQuality, RuleUnderage, RuleOtherPerson, RuleExpired, RuleLookalike, RuleUploadFailed} {
		assert.Positive(t, reasons[r], r)
	}
}

func TestHashOutcomeDocumentHasNoSelfieReasons(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		o := Decide(Facts{ProcessType: pictureid.ProcessDocument, Now: now, Expiry: time.Minute,
			Hash: sha256.Sum256([]byte{byte(i), byte(i >> 8)}), Mix: Mix{Inconclusive: 0.5, Rejected: 0.5}})
		for _, r := range o.Rules {
			require.NotContains(t, []Rule{RuleOtherPerson, RuleLookalike}, r)
		}
		require.Empty(t, o.Similarity)
	}
}

func TestHashOutcomeBlackAndWhiteStillMeasured(t *testing.T) {
	f := Facts{ProcessType: pictureid.ProcessDocument, Grey: true, Mix: Mix{Accepted: 1}, Hash: sha256.Sum256([]byte("x"))}
	o := Decide(f)
	assert.Equal(t, assure.StatusInconclusive, o.Status)
	assert.Equal(t, []Rule{RuleBlackAndWhite}, o.Rules)
	assert.True(t, o.Synthetic)
}

// TestHashUnitIsDocumented pins the documented derivation of the draw.
func TestHashUnitIsDocumented(t *testing.T) {
	h := sha256.Sum256([]byte("abc"))
	want := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	assert.Equal(t, want, hashUnit(h[:8]))
	assert.Less(t, hashUnit([]byte{255, 255, 255, 255, 255, 255, 255, 255}), 1.0)
}

func TestIsGrey(t *testing.T) {
	tint := func(w, h int, every int, c color.RGBA) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.Set(x, y, color.RGBA{uint8(x), uint8(x), uint8(x), 255})
				if every > 0 && (y*w+x)%every == 0 {
					img.Set(x, y, c)
				}
			}
		}
		return img
	}
	red := color.RGBA{200, 20, 20, 255}
	cases := []struct {
		name string
		img  image.Image
		want bool
	}{
		{"grey gradient", testimage.Grey(200, 120), true},
		{"colour gradient", testimage.Color(200, 120, 0), false},
		{"tiny grey", testimage.Grey(1, 1), true},
		{"tiny colour", testimage.Color(1, 1, 0), false},
		{"slightly tinted grey within tolerance", uniform(300, 200, color.RGBA{120, 130, 136, 255}), true},
		{"tint just over tolerance", uniform(300, 200, color.RGBA{120, 137, 120, 255}), false},
		{"grey with sparse colour pixels", tint(64, 64, 1000, red), true},
		{"grey with many colour pixels", tint(64, 64, 50, red), false},
		{"non-zero origin", image.NewGray(image.Rect(10, 10, 50, 50)), true},
		{"empty", image.NewRGBA(image.Rect(0, 0, 0, 0)), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { assert.Equal(t, c.want, IsGrey(c.img)) })
	}
}

func uniform(w, h int, c color.RGBA) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestMeasure(t *testing.T) {
	m := measure(testimage.JPEG(t, testimage.Grey(120, 80)))
	assert.Equal(t, measured{decoded: true, width: 120, height: 80, grey: true}, m)
	m = measure(testimage.PNG(t, testimage.Color(30, 20, 0)))
	assert.Equal(t, measured{decoded: true, width: 30, height: 20, grey: false}, m)
	// A grey image stored as a colour JPEG still measures grey.
	rgb := image.NewRGBA(image.Rect(0, 0, 80, 60))
	for y := range 60 {
		for x := range 80 {
			v := uint8(x * 3)
			rgb.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	assert.True(t, measure(testimage.JPEG(t, rgb)).grey)
	full := testimage.JPEG(t, testimage.Color(200, 150, 0))
	assert.False(t, measure(full[:len(full)/2]).decoded, "truncated JPEG")
	assert.False(t, measure([]byte("not an image")).decoded)
}

func TestDrawLatency(t *testing.T) {
	l := Latency{Median: 25 * time.Second, Sigma: 0.5, Min: 5 * time.Second, Max: 120 * time.Second}
	assert.Equal(t, DrawLatency(l, 1, "p"), DrawLatency(l, 1, "p"), "deterministic")
	const n = 4000
	below := 0
	lo, hi := time.Hour, time.Duration(0)
	seen := map[time.Duration]bool{}
	for i := range n {
		d := DrawLatency(l, 7, fmt.Sprintf("process-%d", i))
		if d < l.Median {
			below++
		}
		lo, hi = min(lo, d), max(hi, d)
		seen[d] = true
	}
	assert.InDelta(t, 0.5, float64(below)/n, 0.03, "median")
	assert.GreaterOrEqual(t, lo, l.Min)
	assert.LessOrEqual(t, hi, l.Max)
	assert.Greater(t, len(seen), n/2, "draws vary")
	// Another seed gives other draws.
	assert.NotEqual(t, DrawLatency(l, 1, "p"), DrawLatency(l, 2, "p"))
	// Clamping and sigma 0.
	assert.Equal(t, 10*time.Second, DrawLatency(Latency{Median: 10 * time.Second, Min: time.Second, Max: time.Minute}, 1, "x"))
	assert.Equal(t, 3*time.Second, DrawLatency(Latency{Median: 10 * time.Second, Min: time.Second, Max: 3 * time.Second}, 1, "x"))
}

func TestStatusReasonAndFailReasonCoverEveryRule(t *testing.T) {
	for _, r := range []Rule{RuleImageQuality, RuleUnderage, RuleOtherPerson, RuleExpired, RuleBlackAndWhite, RuleLookalike} {
		sr, ok := StatusReason(r)
		assert.True(t, ok, r)
		assert.NotEmpty(t, sr.Message, r)
		assert.Nil(t, FailReason(r), r)
	}
	for _, r := range []Rule{RuleTransactionExpired, RuleUploadFailed} {
		_, ok := StatusReason(r)
		assert.False(t, ok, r)
		assert.NotEmpty(t, FailReason(r).Text(), r)
	}
}

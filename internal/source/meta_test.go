package source

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/specimen"
)

// meta.json spells the previous status previous_status, as the manifest
// column and as `batch specimen` writes it; previousStatus (documented
// first) is read as an alias. Neither is kept as free metadata; both in one
// file must agree (letter case and spaces aside).
func TestMetaPreviousStatusSpellings(t *testing.T) {
	ctx := context.Background()
	b := localBackend(t)
	front, selfie := jpegBytes(t, 400, 300), jpegBytes(t, 300, 400)
	rec := specimen.NewRecord(1, 0, specimen.CaseExpired)
	specimenMeta, err := rec.MetaJSON()
	require.NoError(t, err)
	metas := map[string]string{
		"rec-snake":    `{"previous_status":"rejected","channel":"web"}`,
		"rec-camel":    `{"previousStatus":"accepted"}`,
		"rec-agree":    `{"previous_status":"inconclusive","previousStatus":" Inconclusive "}`,
		"rec-differ":   `{"previous_status":"rejected","previousStatus":"accepted"}`,
		"rec-empty":    `{"previous_status":"","previousStatus":"accepted"}`,
		"rec-number":   `{"previous_status":3}`,
		"rec-specimen": string(specimenMeta),
	}
	for id, m := range metas {
		b.put(t, id+"/front.jpg", front)
		b.put(t, id+"/selfie.jpg", selfie)
		b.put(t, id+"/meta.json", []byte(m))
	}
	a, err := Open(ctx, b.opener, Config{Archive: b.root, DefaultDocumentID: 137})
	require.NoError(t, err)
	recs := byID(collect(t, a))
	require.Len(t, recs, len(metas))

	for id, want := range map[string]struct {
		previous string
		problems []string
	}{
		"rec-snake":    {"rejected", []string{}},
		"rec-camel":    {"accepted", []string{}},
		"rec-agree":    {"inconclusive", []string{}},
		"rec-differ":   {"rejected", []string{CodeBadMetadata}},
		"rec-empty":    {"accepted", []string{}},
		"rec-number":   {"", []string{CodeBadMetadata}},
		"rec-specimen": {rec.PreviousStatus, []string{}},
	} {
		r := recs[id]
		assert.Equal(t, want.previous, r.PreviousStatus, id)
		assert.Equal(t, want.problems, codes(r.Problems), "%s: %v", id, r.Problems)
		assert.NotContains(t, r.Meta, "previous_status", id)
		assert.NotContains(t, r.Meta, "previousStatus", id)
	}
	assert.Equal(t, specimen.OutcomeAccepted, recs["rec-specimen"].PreviousStatus, "an expired document was accepted when valid")
	assert.Equal(t, map[string]string{"case": "expired"}, recs["rec-specimen"].Meta)
	assert.Equal(t, map[string]string{"channel": "web"}, recs["rec-snake"].Meta)
	if p := recs["rec-differ"].Problems; assert.Len(t, p, 1) {
		assert.Contains(t, p[0].Detail, `previous_status "rejected" and its alias previousStatus "accepted" disagree`)
	}
}

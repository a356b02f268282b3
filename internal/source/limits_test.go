package source

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/pictureid"
	"reverify/internal/testutil/testimage"
)

// An image whose header declares more pixels than Limits.MaxPixels is
// too_large, naming its dimensions, and is never decoded: a 60000×60000 JPEG
// of a few KB would otherwise pass and be paid for, and whoever decodes it
// needs 14 GB. The byte limit defaults to what the API accepts.
func TestPreflightCapsDeclaredPixels(t *testing.T) {
	ctx := context.Background()
	b := localBackend(t)
	small := jpegBytes(t, 400, 300)
	b.put(t, "bomb/front.jpg", testimage.Claiming(t, small, 60000, 60000))
	b.put(t, "ok/front.jpg", small)
	b.put(t, "edge/front.jpg", testimage.Claiming(t, small, 5000, 5000))
	a, err := Open(ctx, b.opener, Config{Archive: b.root, DefaultDocumentID: 137, DefaultProcessType: pictureid.ProcessDocument})
	require.NoError(t, err)
	assert.EqualValues(t, 4<<20, a.Config().Limits.MaxImageBytes, "what the API accepts")
	assert.EqualValues(t, 25_000_000, a.Config().Limits.MaxPixels)
	recs := byID(collect(t, a))

	_, problems, err := a.Load(ctx, recs["bomb"])
	require.NoError(t, err)
	require.Equal(t, []string{CodeTooLarge}, codes(problems))
	assert.Contains(t, problems[0].Detail, "declares 60000×60000 pixels (3,600,000,000 pixels), more than 25,000,000 pixels (limits.max_pixels)")

	_, problems, err = a.Load(ctx, recs["ok"])
	require.NoError(t, err)
	assert.Empty(t, problems)
	// Exactly the limit passes the size check (its pixel data is another
	// image's, which the header check does not look at).
	_, problems, err = a.Load(ctx, recs["edge"])
	require.NoError(t, err)
	assert.NotContains(t, codes(problems), CodeTooLarge)

	// Configurable, and refused when negative.
	a, err = Open(ctx, b.opener, Config{Archive: b.root, DefaultDocumentID: 137, DefaultProcessType: pictureid.ProcessDocument,
		Limits: Limits{MaxPixels: 100_000}})
	require.NoError(t, err)
	_, problems, err = a.Load(ctx, recs["ok"])
	require.NoError(t, err)
	assert.Equal(t, []string{CodeTooLarge}, codes(problems), "400×300 = 120,000 > 100,000")
	_, err = Open(ctx, b.opener, Config{Archive: b.root, Limits: Limits{MaxPixels: -1}})
	require.ErrorIs(t, err, ErrConfig)
}

package specimen

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 6), 120, 255})
		}
	}
	return img
}

func sample() Data {
	return Data{Role: RoleFront, PersonID: "p-1", DocumentID: 137, FirstName: "ÅSA", LastName: "TEST",
		DateOfBirth: "1990-02-03", DateOfExpiry: "2031-08-30", DocumentNumber: "SPECI2021"}
}

func TestEmbedExtractRoundTrip(t *testing.T) {
	var jb, pb bytes.Buffer
	require.NoError(t, jpeg.Encode(&jb, testImage(), nil))
	require.NoError(t, png.Encode(&pb, testImage()))
	for name, raw := range map[string][]byte{"jpeg": jb.Bytes(), "png": pb.Bytes()} {
		t.Run(name, func(t *testing.T) {
			_, found, err := Extract(raw)
			require.NoError(t, err)
			assert.False(t, found, "plain image has no marker")

			out, err := Embed(raw, sample())
			require.NoError(t, err)
			d, found, err := Extract(out)
			require.NoError(t, err)
			require.True(t, found)
			want := sample()
			want.V = Version
			assert.Equal(t, want, d)

			// The image still decodes to the same size with the standard library.
			cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
			require.NoError(t, err)
			assert.Equal(t, name, format)
			assert.Equal(t, 64, cfg.Width)
			_, _, err = image.Decode(bytes.NewReader(out))
			require.NoError(t, err)
		})
	}
}

func TestExtractRejects(t *testing.T) {
	_, _, err := Extract([]byte("%PDF-1.4 not an image"))
	assert.ErrorIs(t, err, ErrNotImage)
	var jb bytes.Buffer
	require.NoError(t, jpeg.Encode(&jb, testImage(), nil))
	out, err := Embed(jb.Bytes(), sample())
	require.NoError(t, err)
	_, _, err = Extract(out[:30])
	assert.Error(t, err, "truncated segment")
}

func TestAgeAndExpiry(t *testing.T) {
	d := Data{DateOfBirth: "2008-11-28", DateOfExpiry: "2026-11-26"}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 17, d.AgeAt(now))
	assert.Equal(t, 18, d.AgeAt(now.AddDate(0, 0, 1)))
	assert.True(t, d.ExpiredAt(now))
	assert.False(t, d.ExpiredAt(time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)))
	assert.Equal(t, -1, (&Data{}).AgeAt(now))
}

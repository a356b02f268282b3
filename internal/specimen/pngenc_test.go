package specimen

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPNGEncoderExact(t *testing.T) {
	e := newPNGEncoder()
	for name, cv := range testCanvases() {
		for _, gray := range []bool{false, true} {
			raw, err := e.encode(cv, gray)
			require.NoError(t, err)
			img, err := png.Decode(bytes.NewReader(raw))
			require.NoError(t, err, "%s gray=%v", name, gray)
			require.Equal(t, cv.bounds(), img.Bounds())
			if gray {
				require.IsType(t, &image.Gray{}, img)
			} else {
				require.IsType(t, &image.RGBA{}, img)
			}
			m := cv.img
			for y := 0; y < m.Rect.Dy(); y++ {
				for x := 0; x < m.Rect.Dx(); x++ {
					yy, cb, cr := m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)]
					var want, got [3]byte
					if g, ok := img.(*image.Gray); ok {
						want, got = [3]byte{yy, yy, yy}, [3]byte{g.Pix[g.PixOffset(x, y)], g.Pix[g.PixOffset(x, y)], g.Pix[g.PixOffset(x, y)]}
					} else {
						r, g, b := color.YCbCrToRGB(yy, cb, cr)
						rgba := img.(*image.RGBA)
						o := rgba.PixOffset(x, y)
						want, got = [3]byte{r, g, b}, [3]byte{rgba.Pix[o], rgba.Pix[o+1], rgba.Pix[o+2]}
					}
					if want != got { // testify per pixel would be slow
						t.Fatalf("%s gray=%v at (%d,%d): got %v, want %v", name, gray, x, y, got, want)
					}
				}
			}
		}
	}
}

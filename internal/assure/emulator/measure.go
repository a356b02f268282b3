package emulator

import (
	"bytes"
	"image"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"
)

// Black-and-white measurement parameters (docs/outcome-rules.md).
const (
	greyGrid      = 64  // at most greyGrid × greyGrid sampled pixels (4096)
	greyTolerance = 16  // max(|r−g|, |g−b|, |r−b|) of a grey pixel, 8-bit
	greyPerMille  = 995 // share of grey pixels, in ‰, for a grey image
	maxPixels     = 1e8 // refuse to decode larger images (decompression bombs)
	minDimension  = 1   // a decoded image has at least 1×1 pixels
)

// measured is what the emulator learns from one image.
type measured struct {
	decoded bool
	width   int
	height  int
	grey    bool
}

// measure decodes img fully. decoded is false for bytes that do not decode
// (rule 2, upload_failed).
func measure(img []byte) measured {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width < minDimension || cfg.Height < minDimension || float64(cfg.Width)*float64(cfg.Height) > maxPixels {
		return measured{}
	}
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return measured{}
	}
	b := m.Bounds()
	return measured{decoded: true, width: b.Dx(), height: b.Dy(), grey: IsGrey(m)}
}

// IsGrey reports whether img is a black-and-white image: on a grid of
// nx × ny pixels (nx = min(64, width), ny = min(64, height)), sampling pixel
// (min.x + (2i+1)·width/(2nx), min.y + (2j+1)·height/(2ny)) in integer
// arithmetic, at least 99.5% of the samples have max(|r−g|, |g−b|, |r−b|) ≤ 16
// in 8-bit RGB (color.RGBA of the pixel, high byte).
func IsGrey(img image.Image) bool {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return false
	}
	nx, ny := min(greyGrid, w), min(greyGrid, h)
	grey := 0
	for j := range ny {
		y := b.Min.Y + (2*j+1)*h/(2*ny)
		for i := range nx {
			x := b.Min.X + (2*i+1)*w/(2*nx)
			r, g, bl, _ := img.At(x, y).RGBA()
			if maxDiff(r>>8, g>>8, bl>>8) <= greyTolerance {
				grey++
			}
		}
	}
	return grey*1000 >= greyPerMille*nx*ny
}

func maxDiff(r, g, b uint32) uint32 {
	d := func(a, b uint32) uint32 {
		if a > b {
			return a - b
		}
		return b - a
	}
	return max(d(r, g), d(g, b), d(r, b))
}

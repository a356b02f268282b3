package specimen

import (
	"image"
	"math"
)

// canvas is a YCbCr 4:2:0 image that the JPEG encoder takes as is (no colour
// conversion per pixel). Drawing writes the planes directly; everything is
// clipped to clip.
type canvas struct {
	img  *image.YCbCr
	clip image.Rectangle
}

func newCanvas(w, h int) *canvas {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	return &canvas{img: img, clip: img.Rect}
}

func (c *canvas) bounds() image.Rectangle { return c.img.Rect }

// setClip limits drawing to r (within the image); noClip lifts the limit.
func (c *canvas) setClip(r image.Rectangle) { c.clip = r.Intersect(c.img.Rect) }
func (c *canvas) noClip()                   { c.clip = c.img.Rect }

// hspan fills pixels [x0, x1) of row y. Chroma is stored at half resolution:
// the span sets the chroma samples it overlaps.
func (c *canvas) hspan(y, x0, x1 int, col ycc) {
	if y < c.clip.Min.Y || y >= c.clip.Max.Y {
		return
	}
	x0 = max(x0, c.clip.Min.X)
	x1 = min(x1, c.clip.Max.X)
	if x0 >= x1 {
		return
	}
	m := c.img
	fillBytes(m.Y[y*m.YStride+x0:y*m.YStride+x1], col.y)
	co := (y>>1)*m.CStride + (x0 >> 1)
	n := (x1+1)>>1 - x0>>1
	fillBytes(m.Cb[co:co+n], col.cb)
	fillBytes(m.Cr[co:co+n], col.cr)
}

// fillBytes sets every byte of b to v (doubling copies for long spans).
func fillBytes(b []byte, v byte) {
	if len(b) < 32 {
		for i := range b {
			b[i] = v
		}
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// fillRect fills [x0, x1) × [y0, y1).
func (c *canvas) fillRect(x0, y0, x1, y1 int, col ycc) {
	y0 = max(y0, c.clip.Min.Y)
	y1 = min(y1, c.clip.Max.Y)
	for y := y0; y < y1; y++ {
		c.hspan(y, x0, x1, col)
	}
}

// fill fills r.
func (c *canvas) fill(r image.Rectangle, col ycc) {
	c.fillRect(r.Min.X, r.Min.Y, r.Max.X, r.Max.Y, col)
}

// gradientStep is the height of the bands of a gradient: the colour changes
// only every 16 rows, aligned to the JPEG macroblocks, so that most blocks
// are of one colour (cheap to encode, small files).
const gradientStep = 16

// gradient fills r with rounded corners of the given radius, colour going
// from top to bottom in bands of gradientStep rows.
func (c *canvas) gradient(r image.Rectangle, radius int, top, bottom ycc) {
	h := r.Dy()
	rad := float64(radius)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		inset := 0
		var d float64
		switch {
		case y-r.Min.Y < radius:
			d = rad - float64(y-r.Min.Y) - 0.5
		case r.Max.Y-1-y < radius:
			d = rad - float64(r.Max.Y-1-y) - 0.5
		}
		if d > 0 {
			inset = int(math.Round(rad - math.Sqrt(math.Max(0, rad*rad-d*d))))
		}
		t := 0.0
		if h > 1 {
			band := y/gradientStep*gradientStep + gradientStep/2
			t = min(1, max(0, float64(band-r.Min.Y)/float64(h-1)))
		}
		c.hspan(y, r.Min.X+inset, r.Max.X-inset, lerp(top, bottom, t))
	}
}

// ellipseSpan returns the pixel span of row y inside the ellipse, ok=false
// when the row misses it.
func ellipseSpan(y int, cx, cy, rx, ry float64) (x0, x1 int, ok bool) {
	if rx <= 0 || ry <= 0 {
		return 0, 0, false
	}
	dy := (float64(y) + 0.5 - cy) / ry
	if dy <= -1 || dy >= 1 {
		return 0, 0, false
	}
	hw := rx * math.Sqrt(1-dy*dy)
	x0, x1 = int(math.Round(cx-hw)), int(math.Round(cx+hw))
	return x0, x1, x0 < x1
}

// ellipse fills the ellipse centred at (cx, cy) with radii rx, ry.
func (c *canvas) ellipse(cx, cy, rx, ry float64, col ycc) {
	for y := int(math.Floor(cy - ry)); y <= int(math.Ceil(cy+ry)); y++ {
		if x0, x1, ok := ellipseSpan(y, cx, cy, rx, ry); ok {
			c.hspan(y, x0, x1, col)
		}
	}
}

// ring draws the outline of an ellipse, t pixels thick.
func (c *canvas) ring(cx, cy, rx, ry, t float64, col ycc) {
	for y := int(math.Floor(cy - ry)); y <= int(math.Ceil(cy+ry)); y++ {
		x0, x1, ok := ellipseSpan(y, cx, cy, rx, ry)
		if !ok {
			continue
		}
		if i0, i1, in := ellipseSpan(y, cx, cy, rx-t, ry-t); in {
			c.hspan(y, x0, i0, col)
			c.hspan(y, i1, x1, col)
			continue
		}
		c.hspan(y, x0, x1, col)
	}
}

// dot fills a square of side s centred at (x, y).
func (c *canvas) dot(x, y float64, s int, col ycc) {
	x0, y0 := int(math.Round(x))-s/2, int(math.Round(y))-s/2
	c.fillRect(x0, y0, x0+s, y0+s, col)
}

// wave draws y = y0 + amp·sin(2π(x−x0)/period + phase) across [x0, x1), t
// pixels thick.
func (c *canvas) wave(x0, x1 int, y0, amp, period, phase float64, t int, col ycc) {
	for x := x0; x < x1; x += max(1, t/2) {
		y := y0 + amp*math.Sin(2*math.Pi*float64(x-x0)/period+phase)
		c.dot(float64(x), y, t, col)
	}
}

// gray returns the luma plane as a grey image sharing the canvas memory.
func (c *canvas) gray() *image.Gray {
	m := c.img
	return &image.Gray{Pix: m.Y, Stride: m.YStride, Rect: m.Rect}
}

// sampleInto draws the whole canvas scaled (nearest neighbour) into dst's
// rectangle r.
func (c *canvas) sampleInto(dst *canvas, r image.Rectangle) {
	sw, sh := c.img.Rect.Dx(), c.img.Rect.Dy()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		sy := (y - r.Min.Y) * sh / r.Dy()
		for x := r.Min.X; x < r.Max.X; x++ {
			sx := (x - r.Min.X) * sw / r.Dx()
			si, ci := c.img.YOffset(sx, sy), c.img.COffset(sx, sy)
			dst.hspan(y, x, x+1, ycc{c.img.Y[si], c.img.Cb[ci], c.img.Cr[ci]})
		}
	}
}

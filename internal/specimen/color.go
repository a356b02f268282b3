package specimen

import (
	"image/color"
	"math"
)

// ycc is a colour in the JPEG YCbCr space the canvases store.
type ycc struct{ y, cb, cr uint8 }

func rgb(r, g, b uint8) ycc {
	y, cb, cr := color.RGBToYCbCr(r, g, b)
	return ycc{y, cb, cr}
}

// hsv converts hue (degrees), saturation and value (0..1) to a colour.
func hsv(h, s, v float64) ycc {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	to8 := func(f float64) uint8 { return uint8(math.Round((f + m) * 255)) }
	return rgb(to8(r), to8(g), to8(b))
}

// lerp mixes a and b: t=0 gives a, t=1 gives b.
func lerp(a, b ycc, t float64) ycc {
	mixc := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + (float64(q)-float64(p))*t)) }
	return ycc{mixc(a.y, b.y), mixc(a.cb, b.cb), mixc(a.cr, b.cr)}
}

// shade scales the luma by f, keeping the hue.
func (c ycc) shade(f float64) ycc {
	return ycc{uint8(math.Min(255, math.Round(float64(c.y)*f))), c.cb, c.cr}
}

// yccToRGB converts a canvas colour back to RGB.
func yccToRGB(c ycc) (r, g, b uint8) { return color.YCbCrToRGB(c.y, c.cb, c.cr) }

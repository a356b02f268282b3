package specimen

// look holds a record's colours and faces. It is drawn from the record's
// random stream in NewRecord, so rendering is a pure function of the Record.
type look struct {
	backdrop            ycc // the surface the card lies on
	top, bottom, header ycc // card gradient and header band
	headerInk           ycc
	ink, label          ycc // printed values and field labels
	photoBG, accent     ycc
	pattern             ycc // security print
	band                ycc // MRZ band
	wallTop, wallBottom ycc // selfie background
	photoShirt, shirt   ycc // clothing on the document photo and the selfie
	heightCM            int

	holder, selfie face
}

// newLook draws saturated colours around the country's hue, so colour
// images are clearly colourful (the emulator's black-and-white check counts
// pixels whose channels differ by at most 16).
func newLook(r *rng, c country) look {
	hue := c.hue + float64(r.Range(-25, 25))
	wall := float64(r.IntN(360))
	l := look{
		backdrop:   hsv(hue+180+float64(r.Range(-40, 40)), 0.55+0.25*r.Float(), 0.3+0.15*r.Float()),
		top:        hsv(hue, 0.35+0.2*r.Float(), 0.92),
		bottom:     hsv(hue+20, 0.55+0.2*r.Float(), 0.8),
		header:     hsv(hue+5, 0.75, 0.45+0.15*r.Float()),
		photoBG:    hsv(hue+160, 0.18, 0.93),
		accent:     hsv(hue+40, 0.8, 0.75),
		band:       hsv(hue+30, 0.12, 0.97),
		wallTop:    hsv(wall, 0.35+0.3*r.Float(), 0.85),
		wallBottom: hsv(wall+30, 0.5+0.3*r.Float(), 0.55),
		photoShirt: hsv(float64(r.IntN(360)), 0.6, 0.5),
		shirt:      hsv(float64(r.IntN(360)), 0.7, 0.6),
		heightCM:   r.Range(155, 198),
	}
	// Print in shades of the card's own colour: text then only changes the
	// luma, the chroma planes stay flat (smaller files, faster encoding).
	mid := lerp(l.top, l.bottom, 0.5)
	l.ink = ycc{28, mid.cb, mid.cr}
	l.label = mid.shade(0.5)
	l.pattern = mid.shade(0.94)
	l.headerInk = ycc{238, l.header.cb, l.header.cr}
	return l
}

package specimen

import "image"

// drawSelfie renders the selfie: the face of lk.selfie in front of a wall
// with a window.
func drawSelfie(c *canvas, lk *look, r *rng) {
	c.gradient(c.bounds(), 0, lk.wallTop, lk.wallBottom)
	// a window or door frame behind the person, left or right
	x := 20 + r.IntN(60)
	if r.Chance(0.5) {
		x = SelfieWidth - 140 - r.IntN(60)
	}
	win := image.Rect(x, 40+r.IntN(40), x+120, 300+r.IntN(60))
	c.fill(win, lk.wallTop.shade(0.75))
	c.fill(win.Inset(8), lerp(lk.wallTop, rgb(200, 225, 255), 0.7))
	c.fillRect(win.Min.X+win.Dx()/2-3, win.Min.Y, win.Min.X+win.Dx()/2+3, win.Max.Y, lk.wallTop.shade(0.75))
	lk.selfie.draw(c, image.Rect(0, 40, SelfieWidth, SelfieHeight), lk.shirt)
}

package specimen

import (
	"hash/fnv"
	"image"
)

// face is a person's appearance, derived from the person id so that the
// holder looks the same on the document photo and on the selfie.
type face struct {
	skin, hair, iris, lips ycc
	width, length          float64 // head proportions, around 1
	eyeGap                 float64
	hairStyle              int // 0 short, 1 long, 2 bun, 3 receding
	glasses, beard         bool
}

// Hair styles.
const (
	hairShort = iota
	hairLong
	hairBun
	hairReceding
)

func skinTones() []ycc {
	return []ycc{rgb(255, 219, 172), rgb(241, 194, 125), rgb(224, 172, 105), rgb(198, 134, 66),
		rgb(141, 85, 36), rgb(95, 58, 30), rgb(234, 192, 160)}
}

func hairColours() []ycc {
	return []ycc{rgb(40, 28, 20), rgb(90, 56, 30), rgb(150, 100, 50), rgb(220, 180, 100),
		rgb(170, 70, 30), rgb(60, 60, 60), rgb(190, 190, 195)}
}

func irisColours() []ycc {
	return []ycc{rgb(70, 45, 20), rgb(60, 110, 170), rgb(80, 130, 80), rgb(110, 90, 60)}
}

// faceOf derives the appearance of personID.
func faceOf(personID, gender string) face {
	h := fnv.New64a()
	h.Write([]byte(personID))
	r := newRNG(int64(h.Sum64()), streamPerson, 0)
	f := face{
		skin:   pick(r, skinTones()),
		hair:   pick(r, hairColours()),
		iris:   pick(r, irisColours()),
		width:  0.9 + 0.2*r.Float(),
		length: 0.92 + 0.16*r.Float(),
		eyeGap: 0.08 + 0.02*r.Float(),
	}
	f.lips = lerp(f.skin, rgb(190, 60, 70), 0.45+0.3*r.Float())
	if gender == "F" {
		f.hairStyle = pick(r, []int{hairLong, hairLong, hairBun, hairShort})
	} else {
		f.hairStyle = pick(r, []int{hairShort, hairShort, hairReceding, hairLong})
		f.beard = r.Chance(0.25)
	}
	f.glasses = r.Chance(0.25)
	return f
}

// lookalike is someone else (otherID) who resembles f: same colouring and
// style, slightly different proportions and glasses.
func (f face) lookalike(otherID string) face {
	h := fnv.New64a()
	h.Write([]byte(otherID))
	r := newRNG(int64(h.Sum64()), streamPerson, 1)
	g := f
	g.width *= 0.95 + 0.1*r.Float()
	g.length *= 0.96 + 0.08*r.Float()
	g.eyeGap *= 0.92 + 0.16*r.Float()
	g.glasses = !f.glasses
	g.lips = lerp(f.lips, f.skin, 0.3)
	return g
}

// draw paints the face, head and shoulders into box (the caller has filled
// the background); shirt is the clothing colour.
func (f face) draw(c *canvas, box image.Rectangle, shirt ycc) {
	c.setClip(box)
	defer c.noClip()
	w, h := float64(box.Dx()), float64(box.Dy())
	cx := float64(box.Min.X) + w/2
	cy := float64(box.Min.Y) + 0.42*h // head centre
	rx, ry := 0.2*w*f.width, 0.25*h*f.length

	if f.hairStyle == hairLong {
		c.ellipse(cx, cy+0.12*h, rx*1.3, ry*1.25, f.hair)
	}
	c.ellipse(cx, float64(box.Max.Y)+0.05*h, 0.46*w, 0.24*h, shirt)
	c.ellipse(cx, float64(box.Max.Y)+0.08*h, 0.12*w, 0.22*h, f.skin.shade(0.9)) // neckline
	c.fillRect(int(cx-0.075*w), int(cy+0.15*h), int(cx+0.075*w), int(cy+0.3*h), f.skin.shade(0.88))
	c.ellipse(cx-rx*0.98, cy+0.02*h, 0.035*w, 0.06*h, f.skin.shade(0.95)) // ears
	c.ellipse(cx+rx*0.98, cy+0.02*h, 0.035*w, 0.06*h, f.skin.shade(0.95))
	switch f.hairStyle {
	case hairReceding:
		c.ellipse(cx, cy-0.03*h, rx*1.04, ry*0.95, f.hair)
	case hairBun:
		c.ellipse(cx, cy-ry-0.02*h, 0.08*w, 0.06*h, f.hair)
		c.ellipse(cx, cy-0.05*h, rx*1.07, ry*0.98, f.hair)
	default:
		c.ellipse(cx, cy-0.05*h, rx*1.07, ry*0.98, f.hair)
	}
	faceTop := 0.04 * h
	if f.hairStyle == hairReceding {
		faceTop = 0.015 * h
	}
	c.ellipse(cx, cy+faceTop, rx, ry*0.9, f.skin)
	if f.beard {
		c.ellipse(cx, cy+0.15*h, rx*0.82, ry*0.42, f.hair)
		c.ellipse(cx, cy+0.09*h, rx*0.7, ry*0.2, f.skin)
	}

	eyeY := cy + 0.01*h
	for _, side := range []float64{-1, 1} {
		ex := cx + side*f.eyeGap*w
		c.fillRect(int(ex-0.05*w), int(eyeY-0.05*h), int(ex+0.05*w), int(eyeY-0.04*h), f.hair.shade(0.8)) // brow
		c.ellipse(ex, eyeY, 0.045*w, 0.02*h, rgb(250, 250, 250))
		c.ellipse(ex, eyeY, 0.019*w, 0.019*h, f.iris)
		c.ellipse(ex, eyeY, 0.008*w, 0.008*h, rgb(15, 15, 15))
		if f.glasses {
			c.ring(ex, eyeY, 0.07*w, 0.045*h, 0.008*w+1, rgb(30, 30, 40))
		}
	}
	if f.glasses {
		c.fillRect(int(cx-f.eyeGap*w+0.07*w), int(eyeY-0.004*h), int(cx+f.eyeGap*w-0.07*w), int(eyeY+0.004*h)+1,
			rgb(30, 30, 40))
	}
	c.ellipse(cx, cy+0.085*h, 0.022*w, 0.045*h, f.skin.shade(0.85)) // nose
	c.ellipse(cx, cy+0.155*h, 0.06*w, 0.016*h, f.lips)              // mouth
}

package specimen

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
)

// pngEncoder writes 8-bit RGB (or grey) PNG files straight from a canvas.
// Every row uses the "Up" filter: the drawings repeat rows a lot, so most
// filtered rows are zeros, which deflate compresses almost for free (the
// standard encoder tries all five filters on every row, several times
// slower here). Rows identical to the previous one in the canvas are not
// converted again. Not safe for concurrent use; the returned bytes are valid
// until the next call.
type pngEncoder struct {
	out       bytes.Buffer
	idat      bytes.Buffer
	zw        *zlib.Writer
	cur, prev []byte // RGB (or grey) rows, filter byte first
	filt      []byte
}

func newPNGEncoder() *pngEncoder {
	e := &pngEncoder{}
	e.zw, _ = zlib.NewWriterLevel(&e.idat, flate.BestSpeed) // the level is valid
	return e
}

// encode writes the canvas as a colour PNG, or grey (the luma plane) when
// gray is set.
func (e *pngEncoder) encode(cv *canvas, gray bool) ([]byte, error) {
	m := cv.img
	w, h := m.Rect.Dx(), m.Rect.Dy()
	bpp := 3
	if gray {
		bpp = 1
	}
	n := 1 + w*bpp
	e.cur, e.prev, e.filt = grow(e.cur, n), grow(e.prev, n), grow(e.filt, n)
	clear(e.prev)
	e.idat.Reset()
	e.zw.Reset(&e.idat)
	for y := 0; y < h; y++ {
		filt := e.filt[:n]
		filt[0] = 2 // Up
		if y == 0 || !sameRow(m, y, gray) {
			e.convert(m, y, gray)
			cur, prev := e.cur[:n], e.prev[:n]
			for i := 1; i < n; i++ {
				filt[i] = cur[i] - prev[i]
			}
		} else {
			copy(e.cur, e.prev)
			clear(filt[1:])
		}
		if _, err := e.zw.Write(filt); err != nil {
			return nil, fmt.Errorf("png: %w", err)
		}
		e.cur, e.prev = e.prev, e.cur
	}
	if err := e.zw.Close(); err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}

	e.out.Reset()
	e.out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 8 // bit depth
	ihdr[9] = 2 // colour type RGB
	if gray {
		ihdr[9] = 0
	}
	e.chunk("IHDR", ihdr[:])
	e.chunk("IDAT", e.idat.Bytes())
	e.chunk("IEND", nil)
	return e.out.Bytes(), nil
}

// sameRow reports whether row y of the canvas equals row y−1 (luma, and
// chroma for colour).
func sameRow(m *image.YCbCr, y int, gray bool) bool {
	w := m.Rect.Dx()
	if !bytes.Equal(m.Y[y*m.YStride:y*m.YStride+w], m.Y[(y-1)*m.YStride:(y-1)*m.YStride+w]) {
		return false
	}
	if gray || y>>1 == (y-1)>>1 {
		return true
	}
	cw := (w + 1) / 2
	c0, c1 := (y>>1)*m.CStride, ((y-1)>>1)*m.CStride
	return bytes.Equal(m.Cb[c0:c0+cw], m.Cb[c1:c1+cw]) && bytes.Equal(m.Cr[c0:c0+cw], m.Cr[c1:c1+cw])
}

// convert fills e.cur with row y.
func (e *pngEncoder) convert(m *image.YCbCr, y int, gray bool) {
	w := m.Rect.Dx()
	yrow := m.Y[y*m.YStride : y*m.YStride+w]
	if gray {
		copy(e.cur[1:], yrow)
		return
	}
	co := (y >> 1) * m.CStride
	px := e.cur[1 : 1+3*w]
	last := ycc{yrow[0], m.Cb[co], m.Cr[co]}
	r, g, b := color.YCbCrToRGB(last.y, last.cb, last.cr)
	for x, lum := range yrow {
		if c := (ycc{lum, m.Cb[co+x>>1], m.Cr[co+x>>1]}); c != last {
			last = c
			r, g, b = color.YCbCrToRGB(c.y, c.cb, c.cr)
		}
		px[3*x], px[3*x+1], px[3*x+2] = r, g, b
	}
}

func (e *pngEncoder) chunk(typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	e.out.Write(hdr[:])
	e.out.Write(data)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	e.out.Write(sum[:])
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

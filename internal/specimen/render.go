package specimen

import (
	"fmt"
)

// jpegQuality of every JPEG written.
const jpegQuality = 85

// File is one object of a record: its key relative to the archive root and
// its content.
type File struct {
	Key  string
	Data []byte
}

// Renderer draws and encodes records. It reuses its canvases and buffers:
// use one Renderer per goroutine.
type Renderer struct {
	card, selfie, tiny *canvas
	png                *pngEncoder
	jpeg               *jpegEncoder
}

// NewRenderer returns a Renderer.
func NewRenderer() *Renderer {
	return &Renderer{
		card:   newCanvas(CardWidth, CardHeight),
		selfie: newCanvas(SelfieWidth, SelfieHeight),
		tiny:   newCanvas(TinySize, TinySize),
		png:    newPNGEncoder(),
		jpeg:   newJPEGEncoder(jpegQuality),
	}
}

// Render returns the files of rec: its images (with embedded specimen data)
// and meta.json. The result depends only on rec.
func (rd *Renderer) Render(rec *Record) ([]File, error) {
	r := newRNG(rec.Seed, streamRender, uint64(rec.Index))
	files := make([]File, 0, len(rec.Images)+1)
	for _, im := range rec.Images {
		data, err := rd.image(rec, im, r)
		if err != nil {
			return nil, fmt.Errorf("record %s, %s: %w", rec.ID, im.Name, err)
		}
		files = append(files, File{Key: rec.Key(im.Name), Data: data})
	}
	meta, err := rec.MetaJSON()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rec.ID, err)
	}
	return append(files, File{Key: rec.Key(MetaName), Data: meta}), nil
}

// Render renders one record with a fresh Renderer.
func Render(rec *Record) ([]File, error) { return NewRenderer().Render(rec) }

func (rd *Renderer) image(rec *Record, im Image, r *rng) ([]byte, error) {
	lk := &rec.look
	switch im.Format {
	case FormatCorrupt:
		return corruptJPEG(r), nil
	case FormatPDF:
		return pdfScan(lk, &im.Data), nil
	case FormatJPEG, FormatPNG:
	default:
		return nil, fmt.Errorf("unknown image format %q", im.Format)
	}
	var cv *canvas
	switch im.Role {
	case RoleFront:
		drawFront(rd.card, lk, rec.Document, &im.Data, r)
		cv = rd.card
		if im.Width == TinySize {
			drawTiny(rd.tiny, rd.card, lk)
			cv = rd.tiny
		}
	case RoleBack:
		drawBack(rd.card, lk, rec.Document, &im.Data, r)
		cv = rd.card
	case RoleSelfie:
		drawSelfie(rd.selfie, lk, r)
		cv = rd.selfie
	default:
		return nil, fmt.Errorf("unknown image role %q", im.Role)
	}
	if b := cv.bounds(); b.Dx() != im.Width || b.Dy() != im.Height {
		return nil, fmt.Errorf("rendered %dx%d, want %dx%d", b.Dx(), b.Dy(), im.Width, im.Height)
	}
	raw, err := rd.encode(cv, im.Format, im.Gray)
	if err != nil {
		return nil, err
	}
	return Embed(raw, im.Data)
}

// encode writes the canvas as JPEG or PNG, in grey when gray is set. The
// returned bytes are valid until the next call.
func (rd *Renderer) encode(cv *canvas, format string, gray bool) ([]byte, error) {
	if format == FormatPNG {
		return rd.png.encode(cv, gray)
	}
	if gray {
		return rd.jpeg.encodeGray(cv.gray()), nil
	}
	return rd.jpeg.encodeYCbCr(cv.img), nil
}

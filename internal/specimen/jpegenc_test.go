package specimen

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refDCT is the textbook 2-D DCT-II of a level-shifted block.
func refDCT(in [64]int32) [64]float64 {
	var out [64]float64
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			sum := 0.0
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					sum += float64(in[y*8+x]) *
						math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) *
						math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
				}
			}
			cu, cv := 1.0, 1.0
			if u == 0 {
				cu = 1 / math.Sqrt2
			}
			if v == 0 {
				cv = 1 / math.Sqrt2
			}
			out[v*8+u] = sum * cu * cv / 4
		}
	}
	return out
}

func TestFDCTMatchesReference(t *testing.T) {
	r := newRNG(1, 99, 0)
	blocks := [][64]int32{}
	for k := 0; k < 200; k++ {
		var b [64]int32
		for i := range b {
			b[i] = int32(r.IntN(256)) - 128
		}
		blocks = append(blocks, b)
	}
	var lo, hi, checker [64]int32
	for i := range checker {
		lo[i], hi[i] = -128, 127
		if (i/8+i%8)%2 == 0 {
			checker[i] = 127
		} else {
			checker[i] = -128
		}
	}
	blocks = append(blocks, lo, hi, checker)
	for _, in := range blocks {
		want := refDCT(in)
		got := in
		fdct(&got)
		for i := range got {
			require.InDelta(t, want[i], float64(got[i])/8, 1.0, "coefficient %d", i)
		}
	}
}

func TestQuantizeMatchesDivision(t *testing.T) {
	div := func(a, b int32) int32 {
		if a >= 0 {
			return (a + b/2) / b
		}
		return -((-a + b/2) / b)
	}
	for _, q := range []int32{8, 16, 24, 88, 96, 400, 792, 2040} {
		m := (1<<32 + uint64(q) - 1) / uint64(q)
		for a := int32(-70000); a <= 70000; a += 7 {
			require.Equal(t, div(a, q), quantize(a, q, m), "a=%d q=%d", a, q)
		}
	}
}

// yPSNR compares the luma of a decoded JPEG with the canvas.
func yPSNR(t *testing.T, cv *canvas, img image.Image) float64 {
	t.Helper()
	var se float64
	b := cv.bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			var got uint8
			switch m := img.(type) {
			case *image.YCbCr:
				got = m.Y[m.YOffset(x, y)]
			case *image.Gray:
				got = m.Pix[m.PixOffset(x, y)]
			default:
				t.Fatalf("decoded as %T", img)
			}
			d := float64(got) - float64(cv.img.Y[cv.img.YOffset(x, y)])
			se += d * d
		}
	}
	mse := se / float64(b.Dx()*b.Dy())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// testCanvases returns drawings of several sizes, including sizes that are
// not multiples of the 16-pixel macroblock, and pure noise (0xFF bytes in
// the entropy data need stuffing).
func testCanvases() map[string]*canvas {
	out := map[string]*canvas{}
	rec := NewRecord(1, 2, CaseAccepted)
	card := newCanvas(CardWidth, CardHeight)
	front, _ := rec.Image(RoleFront)
	drawFront(card, &rec.look, rec.Document, &front.Data, newRNG(1, streamRender, 2))
	out["card"] = card
	selfie := newCanvas(SelfieWidth, SelfieHeight)
	drawSelfie(selfie, &rec.look, newRNG(1, streamRender, 3))
	out["selfie"] = selfie
	odd := newCanvas(37, 23)
	odd.fill(odd.bounds(), hsv(200, 0.7, 0.6))
	odd.ellipse(18, 11, 12, 8, hsv(30, 0.9, 0.9))
	odd.text(2, 2, 1, "AB1", ycc{20, 128, 128})
	out["odd"] = odd
	flat := newCanvas(16, 16)
	flat.fill(flat.bounds(), hsv(100, 0.5, 0.5))
	out["flat"] = flat
	noise := newCanvas(64, 40)
	r := newRNG(2, 99, 0)
	for i := range noise.img.Y {
		noise.img.Y[i] = byte(r.IntN(256))
	}
	for i := range noise.img.Cb {
		noise.img.Cb[i], noise.img.Cr[i] = byte(r.IntN(256)), byte(r.IntN(256))
	}
	out["noise"] = noise
	return out
}

func TestJPEGEncoderDecodes(t *testing.T) {
	e := newJPEGEncoder(jpegQuality)
	for name, cv := range testCanvases() {
		for _, gray := range []bool{false, true} {
			var raw []byte
			if gray {
				raw = append([]byte(nil), e.encodeGray(cv.gray())...)
			} else {
				raw = append([]byte(nil), e.encodeYCbCr(cv.img)...)
			}
			img, err := jpeg.Decode(bytes.NewReader(raw))
			require.NoError(t, err, "%s gray=%v", name, gray)
			require.Equal(t, cv.bounds(), img.Bounds())
			if gray {
				assert.IsType(t, &image.Gray{}, img)
			}
			psnr := yPSNR(t, cv, img)
			if name == "noise" {
				assert.Greater(t, psnr, 20.0, "%s gray=%v", name, gray)
			} else {
				assert.Greater(t, psnr, 34.0, "%s gray=%v", name, gray)
			}
		}
	}
}

// TestJPEGFastPathExact: skipping the DCT for blocks of one colour gives the
// very same file as running it.
func TestJPEGFastPathExact(t *testing.T) {
	fast, slow := newJPEGEncoder(jpegQuality), newJPEGEncoder(jpegQuality)
	slow.noFast = true
	for name, cv := range testCanvases() {
		assert.Equal(t, slow.encodeYCbCr(cv.img), fast.encodeYCbCr(cv.img), name)
		assert.Equal(t, slow.encodeGray(cv.gray()), fast.encodeGray(cv.gray()), name)
	}
}

// TestJPEGCloseToStdlib: the same quality gives about the stdlib's size and
// fidelity (the tables are the same; only the DCT rounding differs).
func TestJPEGCloseToStdlib(t *testing.T) {
	cv := testCanvases()["card"]
	ours := newJPEGEncoder(jpegQuality).encodeYCbCr(cv.img)
	var std bytes.Buffer
	require.NoError(t, jpeg.Encode(&std, cv.img, &jpeg.Options{Quality: jpegQuality}))
	assert.InEpsilon(t, std.Len(), len(ours), 0.1, "size: ours %d, stdlib %d", len(ours), std.Len())
	a, err := jpeg.Decode(bytes.NewReader(ours))
	require.NoError(t, err)
	b, err := jpeg.Decode(&std)
	require.NoError(t, err)
	assert.InDelta(t, yPSNR(t, cv, b), yPSNR(t, cv, a), 1.5)
}

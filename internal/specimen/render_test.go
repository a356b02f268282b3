package specimen

import (
	"bytes"
	"encoding/json"
	"image"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filesByRole maps the rendered images of rec to their roles.
func filesByRole(t *testing.T, rec *Record, files []File) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range files {
		name := strings.TrimPrefix(f.Key, rec.ID+"/")
		require.NotEqual(t, f.Key, name, "key %s is in the record folder", f.Key)
		if name == MetaName {
			continue
		}
		im, ok := rec.Image(strings.TrimSuffix(strings.TrimSuffix(name, ".jpg"), ".png"))
		require.True(t, ok, name)
		require.Equal(t, im.Name, name)
		out[im.Role] = f.Data
	}
	return out
}

func TestRenderEveryCase(t *testing.T) {
	rd := NewRenderer()
	for _, c := range Cases() {
		t.Run(string(c), func(t *testing.T) {
			rec := NewRecord(5, 3, c)
			files, err := rd.Render(&rec)
			require.NoError(t, err)
			require.Len(t, files, len(rec.Images)+1, "images and meta.json")

			meta := files[len(files)-1]
			assert.Equal(t, rec.ID+"/meta.json", meta.Key)
			var m Meta
			require.NoError(t, json.Unmarshal(meta.Data, &m))
			assert.Equal(t, rec.Meta(), m)

			byRole := filesByRole(t, &rec, files)
			if c.Broken() {
				assert.Equal(t, rec.Expected(), Expectation{OutcomeSkipped, preflight(byRole, rec.ProcessType)})
			} else {
				assert.Empty(t, preflight(byRole, rec.ProcessType))
				assert.Equal(t, rec.Expected(), outcomeOf(t, byRole, rec.ProcessType),
					"the rules applied to the rendered bytes")
			}

			for _, im := range rec.Images {
				raw := byRole[im.Role]
				switch im.Format {
				case FormatCorrupt:
					assert.Equal(t, []byte{0xFF, 0xD8}, raw[:2], "starts like a JPEG")
					_, _, err := image.DecodeConfig(bytes.NewReader(raw))
					assert.Error(t, err, "header and size cannot be read")
					continue
				case FormatPDF:
					assert.True(t, bytes.HasPrefix(raw, []byte("%PDF-1.")), "PDF magic")
					assert.Contains(t, string(raw), "%%EOF")
					_, _, err := image.DecodeConfig(bytes.NewReader(raw))
					assert.Error(t, err)
					continue
				}
				img, format, err := image.Decode(bytes.NewReader(raw))
				require.NoError(t, err, im.Name)
				assert.Equal(t, im.Format, format, im.Name)
				assert.Equal(t, image.Rect(0, 0, im.Width, im.Height), img.Bounds(), im.Name)
				d, found, err := Extract(raw)
				require.NoError(t, err, im.Name)
				require.True(t, found, "%s carries specimen data", im.Name)
				assert.Equal(t, im.Data, d, im.Name)
				assert.Less(t, len(raw), 200_000, "%s stays modest", im.Name)

				if im.Gray {
					assertAllGray(t, img, im.Name)
				} else if im.Role != RoleSelfie && im.Width == CardWidth {
					// the emulator calls an image grey at ≥ 99.5%; colour cards stay far below
					assert.Less(t, measuredGray(img), 0.5, "%s is colourful", im.Name)
				}
			}
		})
	}
}

// outcomeOf applies the emulator's rules to rendered images: specimen data
// extracted from front and selfie, black-and-white measured on the front's
// pixels; the outcome must be the same today and on ValidThrough.
func outcomeOf(t *testing.T, byRole map[string][]byte, processType string) Expectation {
	t.Helper()
	front, found, err := Extract(byRole[RoleFront])
	require.NoError(t, err)
	require.True(t, found)
	img, _, err := image.Decode(bytes.NewReader(byRole[RoleFront]))
	require.NoError(t, err)
	gray := measuredGray(img) >= 0.995
	var selfie *Data
	if raw, ok := byRole[RoleSelfie]; ok {
		d, found, err := Extract(raw)
		require.NoError(t, err)
		require.True(t, found)
		selfie = &d
	}
	dates := checkDates()
	got := predictRules(&front, gray, selfie, processType, dates[0])
	for _, now := range dates[1:] {
		require.Equal(t, got, predictRules(&front, gray, selfie, processType, now), "stable until %s", now)
	}
	return got
}

func assertAllGray(t *testing.T, img image.Image, name string) {
	t.Helper()
	if _, ok := img.(*image.Gray); !ok { // a one-channel image is grey by construction
		assertAllGrayPixels(t, img, name)
	}
	assert.GreaterOrEqual(t, measuredGray(img), 0.995, "%s is black and white for the emulator", name)
}

func assertAllGrayPixels(t *testing.T, img image.Image, name string) {
	t.Helper()
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != g || g != bl {
				t.Fatalf("%s: pixel (%d,%d) is not grey: %d %d %d", name, x, y, r>>8, g>>8, bl>>8)
			}
		}
	}
}

// TestRenderFormats renders records with each format of front and selfie,
// and checks that colour fronts are never grey.
func TestRenderFormats(t *testing.T) {
	rd := NewRenderer()
	seen := map[string]bool{}
	for i := 0; i < 400 && len(seen) < 4; i++ {
		rec := NewRecord(11, i, CaseAccepted)
		front, _ := rec.Image(RoleFront)
		selfie, _ := rec.Image(RoleSelfie)
		if seen["front/"+front.Format] && seen["selfie/"+selfie.Format] {
			continue // nothing new: do not render
		}
		files, err := rd.Render(&rec)
		require.NoError(t, err)
		byRole := filesByRole(t, &rec, files)
		for _, im := range []Image{front, selfie} {
			key := im.Role + "/" + im.Format
			seen[key] = true
			img, format, err := image.Decode(bytes.NewReader(byRole[im.Role]))
			require.NoError(t, err, key)
			assert.Equal(t, im.Format, format)
			d, found, err := Extract(byRole[im.Role])
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, im.Data, d)
			if im.Role == RoleFront {
				assert.Less(t, measuredGray(img), 0.995, key)
			}
		}
	}
	assert.Equal(t, map[string]bool{"front/jpeg": true, "front/png": true, "selfie/jpeg": true, "selfie/png": true}, seen)
}

// TestRenderGrayPNG covers a black-and-white front written as PNG.
func TestRenderGrayPNG(t *testing.T) {
	for i := 0; i < 400; i++ {
		rec := NewRecord(2, i, CaseBlackAndWhite)
		im, _ := rec.Image(RoleFront)
		if im.Format != FormatPNG {
			continue
		}
		files, err := Render(&rec)
		require.NoError(t, err)
		raw := filesByRole(t, &rec, files)[RoleFront]
		img, format, err := image.Decode(bytes.NewReader(raw))
		require.NoError(t, err)
		assert.Equal(t, "png", format)
		assertAllGray(t, img, im.Name)
		return
	}
	t.Fatal("no black-and-white PNG front in 400 records")
}

func TestRenderDeterministicAndVaried(t *testing.T) {
	a := NewRecord(9, 4, CaseAccepted)
	fa, err := Render(&a)
	require.NoError(t, err)
	fb, err := NewRenderer().Render(&a)
	require.NoError(t, err)
	assert.Equal(t, fa, fb, "same record, same bytes")

	c := NewRecord(9, 5, CaseAccepted)
	fc, err := Render(&c)
	require.NoError(t, err)
	assert.NotEqual(t, fa[0].Data, fc[0].Data, "another record, another front")
}

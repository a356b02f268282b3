package emulator

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/specimen"
	"reverify/internal/testutil/testimage"
)

// decodes is how many images the emulator has decoded.
func (e *env) decodes() int64 { return e.emu.images.decodes.Load() }

func (e *env) imageStats() imageStats { return e.emu.images.store.stats() }

func TestSameImageIsDecodedOnce(t *testing.T) {
	e := newEnv(t, nil)
	front := testimage.FrontJPEG(t, holder())
	selfie := testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))
	imgs := map[string][]byte{"front": front, "selfie": selfie}

	d1, p1 := e.flow(pictureid.ProcessDocumentSelfie, 137, imgs)
	assert.Equal(t, int64(2), e.decodes(), "front and selfie")
	d2, p2 := e.flow(pictureid.ProcessDocumentSelfie, 137, imgs)
	assert.Equal(t, int64(2), e.decodes(), "the second process reuses both analyses")
	st := e.imageStats()
	assert.Equal(t, 2, st.Images, "each image stored once for two processes")
	assert.Equal(t, int64(len(front)+len(selfie)), st.Bytes)

	e.clock.Advance(e.emu.cfg.Processing.Max + time.Second)
	v1, v2 := e.getProcess(d1, p1), e.getProcess(d2, p2)
	require.Equal(t, assure.StatusAccepted, v1.Status)
	v2.ProcessID, v2.CreatedAt, v2.UpdatedAt = v1.ProcessID, v1.CreatedAt, v1.UpdatedAt
	assert.Equal(t, v1, v2)

	// The same image in another body (other key order, whitespace) and as
	// a depiction of a third process: still no decode.
	d3 := e.createDossier()
	p3 := e.createProcess(d3, pictureid.ProcessDocument, 136)
	body := `{ "back" : "` + dataURL(selfie) + `",` + "\n" + `"front":"` + dataURL(front) + `" }`
	r := e.do(http.MethodPost, procPath(d3, p3.ProcessID)+"/images", body)
	require.Equal(t, http.StatusCreated, r.code, "%s", r.body)
	require.Equal(t, http.StatusOK, e.start(d3, p3.ProcessID).code)
	assert.Equal(t, int64(2), e.decodes())
	assert.Equal(t, int64(6), e.emu.Counters().ImagesUploaded)
}

func TestConcurrentAnalysesDecodeOnce(t *testing.T) {
	e := newEnv(t, nil)
	data := testimage.FrontJPEG(t, holder())
	img := e.emu.images.store.add(sha256.Sum256(data), data, pictureid.JPEG, false)
	var wg sync.WaitGroup
	results := make([]analysis, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.emu.images.analyse(img)
			if err == nil {
				results[i] = a
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(1), e.decodes())
	for _, a := range results {
		assert.True(t, a.decoded)
		require.NotNil(t, a.specimen)
		assert.Equal(t, "SPECI2021", a.specimen.DocumentNumber)
	}
}

func TestDeletingReleasesImages(t *testing.T) {
	e := newEnv(t, nil)
	front := testimage.FrontJPEG(t, holder())
	selfie := testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))
	imgs := map[string][]byte{"front": front, "selfie": selfie}

	t.Run("an image used once is dropped with its dossier", func(t *testing.T) {
		d, _ := e.flow(pictureid.ProcessDocumentSelfie, 137, imgs)
		assert.Equal(t, 2, e.imageStats().Images)
		require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/assure/dossiers/"+d, nil).code)
		assert.Equal(t, imageStats{}, e.imageStats())
	})
	t.Run("an image used again stays idle for the next use, until Reset", func(t *testing.T) {
		d1, p1 := e.flow(pictureid.ProcessDocumentSelfie, 137, imgs) // uploaded again: kept
		d2, _ := e.flow(pictureid.ProcessDocumentSelfie, 137, imgs)
		require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, procPath(d1, p1), nil).code)
		assert.Equal(t, imageStats{Images: 2, Bytes: int64(len(front) + len(selfie)), MemoryBytes: int64(len(front) + len(selfie))},
			e.imageStats(), "still used by the second process")
		require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/assure/dossiers/"+d2, nil).code)
		st := e.imageStats()
		assert.Equal(t, 2, st.Idle)
		assert.Equal(t, int64(len(front)+len(selfie)), st.IdleBytes)
		e.emu.Reset()
		assert.Equal(t, imageStats{}, e.imageStats())
	})
	t.Run("a replaced image is released", func(t *testing.T) {
		d := e.createDossier()
		p := e.createProcess(d, pictureid.ProcessDocument, 137)
		other := testimage.JPEG(t, testimage.Color(40, 30, 9))
		require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": other}).code)
		require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": front}).code)
		assert.Equal(t, imageStats{Images: 1, Bytes: int64(len(front)), MemoryBytes: int64(len(front))}, e.imageStats())
		r := e.do(http.MethodGet, procPath(d, p.ProcessID)+"/images?depiction=front", nil)
		assert.True(t, bytes.Equal(front, r.body))
	})
	t.Run("a refused upload keeps nothing", func(t *testing.T) {
		d := e.createDossier()
		p := e.createProcess(d, pictureid.ProcessDocument, 137)
		before := e.imageStats()
		// front is valid (never uploaded), selfie is not allowed on a
		// document process.
		fresh := testimage.JPEG(t, testimage.Color(30, 40, 11))
		r := e.setImages(d, p.ProcessID, map[string][]byte{"front": fresh, "selfie": fresh})
		require.Equal(t, http.StatusBadRequest, r.code)
		assert.Equal(t, before, e.imageStats())
		fresh2 := testimage.JPEG(t, testimage.Color(30, 40, 12))
		r = e.setImages(d, p.ProcessID, map[string][]byte{"front": fresh2, "back": []byte("not an image")})
		require.Equal(t, http.StatusBadRequest, r.code)
		assert.Equal(t, before, e.imageStats())
	})
	t.Run("Reset releases the images of live processes", func(t *testing.T) {
		e.flow(pictureid.ProcessDocumentSelfie, 137, map[string][]byte{
			"front": testimage.JPEG(t, testimage.Color(40, 30, 10)), "selfie": testimage.JPEG(t, testimage.Color(30, 40, 10)),
		})
		e.emu.Reset()
		assert.Equal(t, imageStats{}, e.imageStats())
	})
}

// referenceFinal is the final answer as the emulator computed it before
// it had caches: every image measured and read, the hash over the bytes.
func referenceFinal(cfg Config, p *process, images map[string][]byte) assure.Process {
	p.mu.Lock()
	in := struct {
		base                          assure.Process
		firstUpload, startedAt, dueAt time.Time
		country                       string
	}{p.base(), p.firstUpload, p.startedAt, p.dueAt(), p.country}
	p.mu.Unlock()
	f := Facts{ProcessType: in.base.ProcessType, Now: in.startedAt, FirstUpload: in.firstUpload,
		Expiry: cfg.TransactionExpiry, Mix: cfg.OutcomeMix, Country: in.country}
	var depictions []string
	h := sha256.New()
	for _, dep := range depictionOrder() {
		if img, ok := images[dep]; ok {
			depictions = append(depictions, dep)
			h.Write(img)
		}
	}
	copy(f.Hash[:], h.Sum(nil))
	var front, selfie measured
	if f.FirstUpload.IsZero() || f.Now.Sub(f.FirstUpload) <= f.Expiry {
		front = measure(images[assure.DepictionFront])
		f.Unreadable = !front.decoded
		if b, ok := images[assure.DepictionBack]; ok && !measure(b).decoded {
			f.Unreadable = true
		}
		if s, ok := images[assure.DepictionSelfie]; ok {
			selfie = measure(s)
			f.Unreadable = f.Unreadable || !selfie.decoded
		}
		f.Grey = front.grey
		f.Front = extract(images[assure.DepictionFront])
		if in.base.ProcessType == pictureid.ProcessDocumentSelfie {
			f.Selfie = extract(images[assure.DepictionSelfie])
		}
	}
	base := in.base
	base.UpdatedAt = assure.NewTime(in.dueAt)
	return buildFinal(shapeInput{base: base, depictions: depictions, front: front, selfie: selfie}, Decide(f))
}

// TestOutcomesWithCachesEqualOutcomesWithout runs image sets of every rule
// twice (the second time from the caches), with images in memory and
// spilled to files, and compares each answer with referenceFinal.
func TestOutcomesWithCachesEqualOutcomesWithout(t *testing.T) {
	const D, DS = pictureid.ProcessDocument, pictureid.ProcessDocumentSelfie
	with := func(mut func(*specimen.Data)) specimen.Data {
		d := holder()
		mut(&d)
		return d
	}
	front := testimage.FrontJPEG(t, holder())
	corrupt := front[:len(front)*2/3]
	type set struct {
		name    string
		typ     string
		doc     int
		imgs    map[string][]byte
		expired bool // start after the transaction expiry
	}
	sets := []set{
		{"accepted", DS, 137, map[string][]byte{"front": front, "selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))}, false},
		{"accepted two pages, PNG front", DS, 136, map[string][]byte{
			"front":  testimage.Embed(t, testimage.PNG(t, testimage.Color(120, 80, 5)), with(func(d *specimen.Data) { d.DocumentID = 136 })),
			"back":   testimage.JPEG(t, testimage.Color(120, 80, 6)),
			"selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false)),
		}, false},
		{"same front, document only", D, 137, map[string][]byte{"front": front}, false},
		{"underage", D, 137, map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfBirth = "2010-06-01" }))}, false},
		{"image quality", D, 137, map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DocumentNumber = "" }))}, false},
		{"other person", DS, 137, map[string][]byte{"front": front, "selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-9", false))}, false},
		{"lookalike", DS, 137, map[string][]byte{"front": front, "selfie": testimage.SelfieJPEG(t, testimage.SelfieData("person-7", true))}, false},
		{"expired document", D, 137, map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.DateOfExpiry = "2025-12-31" }))}, false},
		{"grey", D, 137, map[string][]byte{"front": testimage.Embed(t, testimage.JPEG(t, testimage.Grey(160, 100)), holder())}, false},
		{"corrupt front", D, 137, map[string][]byte{"front": corrupt}, false},
		{"corrupt back", D, 136, map[string][]byte{"front": front, "back": corrupt}, false},
		{"hash outcome", DS, 222, map[string][]byte{"front": testimage.JPEG(t, testimage.Color(64, 48, 3)), "selfie": testimage.JPEG(t, testimage.Color(48, 64, 103))}, false},
		{"hash outcome, selfie and front swapped", DS, 222, map[string][]byte{"front": testimage.JPEG(t, testimage.Color(48, 64, 103)), "selfie": testimage.JPEG(t, testimage.Color(64, 48, 3))}, false},
		{"transaction expired (nothing measured)", DS, 137, map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.FirstName = "LATE" })), "selfie": testimage.JPEG(t, testimage.Color(20, 30, 7))}, true},
		{"the same images in time", DS, 137, map[string][]byte{"front": testimage.FrontJPEG(t, with(func(d *specimen.Data) { d.FirstName = "LATE" })), "selfie": testimage.JPEG(t, testimage.Color(20, 30, 7))}, false},
	}
	for _, spill := range []bool{false, true} {
		name := "in memory"
		if spill {
			name = "spilled"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				if spill {
					c.ImageDir = t.TempDir()
				}
			})
			t.Cleanup(func() { require.NoError(t, e.emu.Close()) })
			for round := range 2 {
				for _, s := range sets {
					d := e.createDossier()
					p := e.createProcess(d, s.typ, s.doc)
					require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, s.imgs).code, s.name)
					if s.expired {
						e.clock.Advance(e.emu.cfg.TransactionExpiry + time.Second)
					}
					require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code, s.name)
					e.clock.Advance(e.emu.cfg.Processing.Max + time.Second)
					got := e.getProcess(d, p.ProcessID)
					proc, ok := e.emu.store.processByID(p.ProcessID)
					require.True(t, ok)
					want := referenceFinal(e.emu.cfg, proc, s.imgs)
					assert.Equal(t, jsonOf(t, want), jsonOf(t, got), "%s, round %d", s.name, round)
					if s.expired {
						assert.Equal(t, assure.StatusFailed, got.Status, s.name)
					}
				}
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestSpilledImages(t *testing.T) {
	root := t.TempDir()
	e := newEnv(t, func(c *Config) { c.ImageDir = root })
	folders, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, folders, 1, "a private folder in image_dir")
	dir := filepath.Join(root, folders[0].Name())
	files := func() int {
		es, err := os.ReadDir(dir)
		require.NoError(t, err)
		return len(es)
	}

	front := testimage.FrontJPEG(t, holder())
	selfie := testimage.SelfieJPEG(t, testimage.SelfieData("person-1", false))
	d := e.createDossier()
	p := e.createProcess(d, pictureid.ProcessDocumentSelfie, 137)
	require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": front, "selfie": selfie}).code)
	size := int64(len(front) + len(selfie))
	assert.Equal(t, imageStats{Images: 2, Bytes: size, MemoryBytes: size}, e.imageStats(), "in memory until started")
	assert.Equal(t, 0, files())

	require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code)
	assert.Equal(t, imageStats{Images: 2, Bytes: size}, e.imageStats(), "in files once the outcome is computed")
	assert.Equal(t, 2, files())

	r := e.do(http.MethodGet, procPath(d, p.ProcessID)+"/images?depiction=selfie", nil)
	require.Equal(t, http.StatusOK, r.code)
	assert.True(t, bytes.Equal(selfie, r.body))

	e.clock.Advance(e.emu.cfg.Processing.Max + time.Second)
	require.Equal(t, assure.StatusAccepted, e.getProcess(d, p.ProcessID).Status)
	r = e.do(http.MethodGet, procPath(d, p.ProcessID)+"/download", nil)
	require.Equal(t, http.StatusOK, r.code)
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	require.NoError(t, err)
	f, err := zr.Open("front.jpg")
	require.NoError(t, err)
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(front, got))

	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/assure/dossiers/"+d, nil).code)
	assert.Equal(t, imageStats{}, e.imageStats())
	assert.Equal(t, 0, files(), "files removed with the last process using them")

	require.NoError(t, e.emu.Close())
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "Close removes the folder")
}

func TestSpilledImageUnreadableIsAServerError(t *testing.T) {
	root := t.TempDir()
	e := newEnv(t, func(c *Config) { c.ImageDir = root })
	imgs := map[string][]byte{"front": testimage.JPEG(t, testimage.Color(40, 30, 1)), "back": testimage.JPEG(t, testimage.Color(40, 30, 2))}
	d, p := e.flow(pictureid.ProcessDocument, 136, imgs)
	require.NoError(t, e.emu.Close()) // the files are gone
	r := e.do(http.MethodGet, procPath(d, p)+"/images?depiction=front", nil)
	assert.Equal(t, http.StatusInternalServerError, r.code, "%s", r.body)
}

func TestNewWithMissingImageDir(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ImageDir = filepath.Join(t.TempDir(), "missing")
	_, err := New(cfg)
	assert.ErrorContains(t, err, "image_dir")
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	l := newLRU[int, string](2)
	l.put(1, "a")
	l.put(2, "b")
	_, _ = l.get(1) // 2 is now the least recent
	l.put(3, "c")
	_, ok := l.get(2)
	assert.False(t, ok)
	v, ok := l.get(1)
	assert.True(t, ok)
	assert.Equal(t, "a", v)
	l.put(1, "A")
	v, _ = l.get(1)
	assert.Equal(t, "A", v)
	assert.Equal(t, 2, l.len())
}

func TestIdleImagesBoundedByBytes(t *testing.T) {
	s := newImageStore(10, "")
	var imgs []*storedImage
	for i := range 4 {
		data := bytes.Repeat([]byte{byte(i)}, 4)
		img := s.add(sha256.Sum256(data), data, pictureid.JPEG, true)
		imgs = append(imgs, img)
	}
	s.release(imgs...)
	st := s.stats()
	assert.Equal(t, 2, st.Idle, "two 4-byte images fit in 10 bytes")
	assert.Equal(t, int64(8), st.IdleBytes)
	assert.Nil(t, s.acquire(imgs[0].key), "the first released went first")
	assert.Same(t, imgs[3], s.acquire(imgs[3].key))
	assert.Equal(t, 1, s.stats().Idle)
}

package pipeline

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/report"
	"reverify/internal/source"
)

// A record keeps the images' digests, not the images: their bytes must leave
// memory with the submitter although the record lives on (polling, the
// writer's 1,000-row buffer). Regression: the row pointed into the Image, so
// the bytes of up to ~3,000 records stayed in memory (121 MB of 148 MB live
// heap in a 2,000-record benchmark; GBs with real photos).
func TestImageColumnsDoNotHoldTheImages(t *testing.T) {
	var freed atomic.Int32
	row := rowOf(t, &freed)

	deadline := time.Now().Add(5 * time.Second)
	for freed.Load() < 3 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	assert.EqualValues(t, 3, freed.Load(), "images still reachable from the row")
	require.NotNil(t, row.FrontSHA256)
	assert.Equal(t, "front-digest", *row.FrontSHA256)
	assert.Equal(t, "back-digest", *row.BackSHA256)
	assert.Equal(t, "selfie-digest", *row.SelfieSHA256)
	runtime.KeepAlive(row)
}

//go:noinline
func rowOf(t *testing.T, freed *atomic.Int32) *report.Row {
	image := func(digest string) *source.Image {
		img := &source.Image{Bytes: make([]byte, 1<<20), SHA256: digest}
		runtime.AddCleanup(img, func(*atomic.Int32) { freed.Add(1) }, freed)
		return img
	}
	imgs := &source.Images{Front: image("front-digest"), Back: image("back-digest"), Selfie: image("selfie-digest")}
	rec := &record{rec: source.Record{ID: "r"}}
	rec.setImages(imgs)
	// Changing the image afterwards does not change the record either.
	imgs.Front.SHA256 = "changed"
	rec.images = nil // as the submitter does
	rec.st.finish(&assure.Process{ProcessID: "p", Status: assure.StatusAccepted}, time.Now())
	p := &Pipeline{opt: Options{RunID: "run"}}
	row := p.row(rec)
	require.Equal(t, "front-digest", *row.FrontSHA256)
	return &row
}

package emulator

import (
	"container/list"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"reverify/internal/specimen"
)

// The emulator's cost is the decoding of images (a 1000×630 JPEG is several
// milliseconds of CPU); everything else is a few microseconds. So:
//
//   - each distinct image (by the SHA-256 of its bytes) is stored once,
//     however many processes use it, and released when the last live process
//     using it is deleted; an image used more than once (a manifest over an
//     image pool) then stays available for the next record that uses it,
//     least recently released first out beyond maxIdleImageBytes, while an
//     image used once (a real archive) is dropped at once;
//   - each distinct image is analysed (decoded, measured, its specimen data
//     read) at most once while its analysis stays among the analysisEntries
//     most recently used;
//   - a data URL already accepted (same text, by the SHA-256 of the text) is
//     not base64-decoded, checked nor hashed again: the text's digest names
//     its image;
//   - the outcome hash (SHA-256 of front || back || selfie) of a combination
//     of images already seen is remembered.
//
// Analyses, accepted data URLs and outcome hashes depend only on content and
// on the configuration, which never changes: they survive Reset.

// Bounds of the caches. An analysis is a few hundred bytes, an upload or a
// hash entry about two hundred: at most about 17 MB together.
const (
	analysisEntries   = 1 << 14
	uploadEntries     = 1 << 14
	hashEntries       = 1 << 14
	maxIdleImageBytes = 64 << 20
)

// imageKey is the SHA-256 of an image's bytes.
type imageKey [sha256.Size]byte

// uploadKey is the SHA-256 of a data URL's text, as sent.
type uploadKey [sha256.Size]byte

// storedImage is one distinct image. key, size and mime never change.
type storedImage struct {
	key  imageKey
	size int64
	mime string // image/jpeg or image/png

	// Under imageStore.mu.
	data     []byte        // the bytes; nil once spilled to file
	file     string        // the file holding them once spilled
	spilling bool          // being written to a file
	gone     bool          // no longer stored (its file is removed)
	refs     int           // depictions of live processes using it
	used     bool          // referenced at least once
	keep     bool          // used again: kept idle once unreferenced
	idle     *list.Element // in imageStore.idle while refs == 0
}

// imageStore keeps each distinct image once, in memory or, with a
// directory, in a file once its process is started. Its lock is a leaf:
// nothing else is locked while it is held; files are written, read and
// removed outside it.
type imageStore struct {
	maxIdle int64
	dir     string // "": images stay in memory

	mu        sync.Mutex
	images    map[imageKey]*storedImage // referenced and idle
	idle      list.List                 // *storedImage with refs 0, least recently released first
	idleBytes int64
	files     uint64 // files written: names them
}

func newImageStore(maxIdle int64, dir string) *imageStore {
	return &imageStore{maxIdle: maxIdle, dir: dir, images: map[imageKey]*storedImage{}}
}

// acquire returns the image of key with one more reference, or nil when it
// is not stored.
func (s *imageStore) acquire(key imageKey) *storedImage {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.images[key]
	if !ok {
		return nil
	}
	s.ref(img)
	return img
}

// add returns the image of key with one more reference, storing data (whose
// SHA-256 is key) unless an image of that key is already stored. again says
// that the image was stored before (and dropped): it is one to keep.
func (s *imageStore) add(key imageKey, data []byte, mime string, again bool) *storedImage {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.images[key]
	if !ok {
		img = &storedImage{key: key, size: int64(len(data)), mime: mime, data: data, keep: again}
		s.images[key] = img
	}
	s.ref(img)
	return img
}

func (s *imageStore) ref(img *storedImage) {
	if img.idle != nil {
		s.idle.Remove(img.idle)
		img.idle = nil
		s.idleBytes -= img.size
	}
	img.keep = img.keep || img.used
	img.used = true
	img.refs++
}

// release drops one reference to each image. An image no longer referenced
// is dropped, or, if it was used more than once, stays idle until maxIdle
// bytes of more recently released ones push it out.
func (s *imageStore) release(imgs ...*storedImage) {
	var dead []string
	s.mu.Lock()
	for _, img := range imgs {
		if img == nil {
			continue
		}
		img.refs--
		if img.refs > 0 {
			continue
		}
		if !img.keep {
			dead = s.forget(img, dead)
			continue
		}
		img.idle = s.idle.PushBack(img)
		s.idleBytes += img.size
	}
	for s.idleBytes > s.maxIdle {
		dead = s.evict(s.idle.Front().Value.(*storedImage), dead)
	}
	s.mu.Unlock()
	removeFiles(dead)
}

func (s *imageStore) evict(img *storedImage, dead []string) []string {
	s.idle.Remove(img.idle)
	img.idle = nil
	s.idleBytes -= img.size
	return s.forget(img, dead)
}

// forget drops img from the store; its file, if any, is appended to dead.
func (s *imageStore) forget(img *storedImage, dead []string) []string {
	if s.images[img.key] == img {
		delete(s.images, img.key)
	}
	img.gone = true
	if img.file != "" {
		dead = append(dead, img.file)
	}
	return dead
}

// removeFiles removes spilled files of dropped images. A file that cannot
// be removed stays until Close removes the directory.
func removeFiles(names []string) {
	for _, n := range names {
		_ = os.Remove(n)
	}
}

// dropIdle forgets every unreferenced image (Reset).
func (s *imageStore) dropIdle() {
	var dead []string
	s.mu.Lock()
	for s.idle.Len() > 0 {
		dead = s.evict(s.idle.Front().Value.(*storedImage), dead)
	}
	s.mu.Unlock()
	removeFiles(dead)
}

// bytes returns the image's bytes, read from its file once spilled.
func (s *imageStore) bytes(img *storedImage) ([]byte, error) {
	s.mu.Lock()
	data, file := img.data, img.file
	s.mu.Unlock()
	if data != nil {
		return data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read image %x: %w", img.key[:8], err)
	}
	if int64(len(data)) != img.size {
		return nil, fmt.Errorf("read image %x: %d bytes, want %d", img.key[:8], len(data), img.size)
	}
	return data, nil
}

// spill writes the images still in memory to files in the store's
// directory and drops their bytes from memory. Without a directory it does
// nothing. An image that cannot be written stays in memory.
func (s *imageStore) spill(imgs map[string]*storedImage) error {
	if s.dir == "" {
		return nil
	}
	var errs []error
	for _, img := range imgs {
		s.mu.Lock()
		if img.data == nil || img.spilling || img.gone {
			s.mu.Unlock()
			continue
		}
		img.spilling = true
		s.files++
		name := filepath.Join(s.dir, fmt.Sprintf("%x-%d", img.key[:8], s.files))
		data := img.data
		s.mu.Unlock()

		err := os.WriteFile(name, data, 0o600)
		s.mu.Lock()
		img.spilling = false
		ok := err == nil && !img.gone
		if ok {
			img.data, img.file = nil, name
		}
		s.mu.Unlock()
		if !ok {
			_ = os.Remove(name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("spill image %x: %w", img.key[:8], err))
		}
	}
	return errors.Join(errs...)
}

// imageStats describe the stored images.
type imageStats struct {
	Images      int   // distinct images stored (referenced or idle)
	Bytes       int64 // their bytes
	MemoryBytes int64 // of which in memory (the others in files)
	Idle        int   // unreferenced images
	IdleBytes   int64
}

func (s *imageStore) stats() imageStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := imageStats{Images: len(s.images), Idle: s.idle.Len(), IdleBytes: s.idleBytes}
	for _, img := range s.images {
		st.Bytes += img.size
		st.MemoryBytes += int64(len(img.data))
	}
	return st
}

// analysis is what the outcome rules learn from one image.
type analysis struct {
	measured
	specimen *specimen.Data // nil: no specimen data (or unreadable)
}

// analysisEntry computes its analysis once, whoever asks first (a failed
// read of a spilled image is tried again by the next one).
type analysisEntry struct {
	mu   sync.Mutex
	done bool
	a    analysis
}

// hashKey names the images of a process, in depiction order.
type hashKey struct {
	keys    [3]imageKey
	present [3]bool
}

// imageCache is the emulator's stored images and the caches over them.
type imageCache struct {
	store *imageStore

	mu       sync.Mutex // guards the three LRUs (leaf lock)
	analyses *lru[imageKey, *analysisEntry]
	uploads  *lru[uploadKey, imageKey] // accepted data URLs: their image
	hashes   *lru[hashKey, [sha256.Size]byte]

	// decodes counts analyses run: each decodes one image fully (tests
	// check that a distinct image is decoded once).
	decodes atomic.Int64
}

func newImageCache(dir string) *imageCache {
	return &imageCache{
		store:    newImageStore(maxIdleImageBytes, dir),
		analyses: newLRU[imageKey, *analysisEntry](analysisEntries),
		uploads:  newLRU[uploadKey, imageKey](uploadEntries),
		hashes:   newLRU[hashKey, [sha256.Size]byte](hashEntries),
	}
}

// analyse returns the analysis of img (the zero analysis for nil: not
// decoded, no specimen data), decoding it only the first time. It fails
// only when a spilled image cannot be read back.
func (c *imageCache) analyse(img *storedImage) (analysis, error) {
	if img == nil {
		return analysis{}, nil
	}
	c.mu.Lock()
	e, ok := c.analyses.get(img.key)
	if !ok {
		e = &analysisEntry{}
		c.analyses.put(img.key, e)
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		data, err := c.store.bytes(img)
		if err != nil {
			return analysis{}, err
		}
		c.decodes.Add(1)
		e.a = analysis{measured: measure(data), specimen: extract(data)}
		e.done = true
	}
	return e.a, nil
}

// upload returns the image a data URL with this text digest was accepted
// as, if it was.
func (c *imageCache) upload(k uploadKey) (imageKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploads.get(k)
}

func (c *imageCache) rememberUpload(k uploadKey, img imageKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploads.put(k, img)
}

// outcomeHash is SHA-256 of the images' bytes concatenated in depiction
// order (front, back, selfie; absent ones add nothing).
func (c *imageCache) outcomeHash(images map[string]*storedImage) ([sha256.Size]byte, error) {
	var hk hashKey
	n := 0
	var only *storedImage
	for i, dep := range depictionOrder() {
		if img, ok := images[dep]; ok {
			hk.keys[i], hk.present[i] = img.key, true
			n++
			only = img
		}
	}
	if n == 1 {
		return only.key, nil // the hash of one image is its key
	}
	c.mu.Lock()
	sum, ok := c.hashes.get(hk)
	c.mu.Unlock()
	if ok {
		return sum, nil
	}
	h := sha256.New()
	for _, dep := range depictionOrder() {
		if img, ok := images[dep]; ok {
			data, err := c.store.bytes(img)
			if err != nil {
				return sum, err
			}
			h.Write(data)
		}
	}
	copy(sum[:], h.Sum(nil))
	c.mu.Lock()
	c.hashes.put(hk, sum)
	c.mu.Unlock()
	return sum, nil
}

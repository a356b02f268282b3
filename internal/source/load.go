package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"reverify/internal/blob"
	"reverify/internal/pictureid"
)

// Images are a record's fetched images; nil fields were not named, not
// needed (a selfie for a "document" process) or could not be read.
type Images struct {
	Front, Back, Selfie *Image
}

// Image is one fetched image. Bytes are the object as stored; they never
// leave memory through this package (no logging, no copies on disk).
type Image struct {
	URI   string
	Bytes []byte
	// ContentType, Format, Width and Height are set when the image passed
	// CheckImage (even if it is too small); zero otherwise.
	ContentType string // "image/jpeg" or "image/png"
	Format      string // FormatJPEG or FormatPNG
	Width       int
	Height      int
	SHA256      string // hex digest of Bytes
}

// Load fetches the record's images (sequentially, each capped at
// Limits.MaxImageBytes: a larger object is never read) and runs the
// preflight checks.
//
// problems are every reason to skip the record: the record's own listing
// problems first, then one per failed check (a missing front and a corrupt
// back are both reported). A record with problems must not be submitted;
// Images then still holds the images that could be read, for their hashes.
// A record with a bad_manifest_line problem is not fetched at all.
//
// err is only for infrastructure failures and wraps ErrRetry (temporary:
// retry the record later) or ErrAbort (access denied or another failure
// retrying cannot fix: stop the run), or is the context's error. With err
// set, images and problems are nil.
func (a *Archive) Load(ctx context.Context, r Record) (*Images, []Problem, error) {
	problems := append([]Problem(nil), r.Problems...)
	imgs := &Images{}
	if r.hasProblem(CodeBadManifestLine) {
		return imgs, problems, nil
	}
	processType := r.ProcessType
	if processType == "" {
		processType = a.cfg.DefaultProcessType
	}
	slots := [3]struct {
		role, uri string
		dst       **Image
		missing   string
	}{
		{RoleFront, r.Front, &imgs.Front, CodeMissingFront},
		{RoleBack, r.Back, &imgs.Back, CodeMissingBack},
		{RoleSelfie, r.Selfie, &imgs.Selfie, CodeMissingSelfie},
	}
	for _, s := range slots {
		if s.role == RoleSelfie && processType != pictureid.ProcessDocumentSelfie {
			continue // not sent for a "document" process: not checked either
		}
		if s.uri == "" {
			where := "the manifest line names no " + s.role + " image"
			if strings.HasSuffix(r.Origin, "/") {
				where = fmt.Sprintf("the folder has no %s image (%[1]s.jpg, %[1]s.jpeg or %[1]s.png)", s.role)
			}
			switch s.role {
			case RoleFront:
				problems = append(problems, problemf(&r, CodeMissingFront, s.role, "%s", where))
			case RoleSelfie:
				problems = append(problems, problemf(&r, CodeMissingSelfie, s.role,
					"%s, and the process type %s needs one", where, pictureid.ProcessDocumentSelfie))
			}
			continue
		}
		img, p, err := a.fetch(ctx, &r, s.role, s.uri, s.missing)
		if err != nil {
			return nil, nil, err
		}
		*s.dst = img
		if p != nil {
			problems = append(problems, *p)
		}
	}
	return imgs, problems, nil
}

// fetch reads and checks one image. A problem comes with the image when
// its bytes could be read.
func (a *Archive) fetch(ctx context.Context, r *Record, role, uri, missing string) (*Image, *Problem, error) {
	lim := a.cfg.Limits
	fail := func(code, format string, args ...any) *Problem {
		p := problemf(r, code, role, format, args...)
		return &p
	}
	st, key, err := a.resolve(ctx, uri)
	if err != nil {
		if errors.Is(err, ErrAbort) {
			return nil, nil, err
		}
		return nil, fail(missing, "%s image: invalid location: %v", role, err), nil
	}
	b, err := st.Get(ctx, key, lim.MaxImageBytes)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return nil, fail(missing, "%s image %s does not exist", role, uri), nil
	case errors.Is(err, blob.ErrTooLarge):
		return nil, fail(CodeTooLarge, "%s image %s is larger than %s (limits.max_image_bytes)",
			role, uri, byteSize(lim.MaxImageBytes)), nil
	case err != nil:
		return nil, nil, a.storeErr(ctx, "read "+role+" image of record "+r.ID, err)
	}
	sum := sha256.Sum256(b)
	img := &Image{URI: uri, Bytes: b, SHA256: hex.EncodeToString(sum[:])}
	info, code, reason := CheckImage(b)
	if code != "" {
		return img, fail(code, "%s image %s: %s", role, uri, reason), nil
	}
	img.Format, img.ContentType, img.Width, img.Height = info.Format, info.ContentType, info.Width, info.Height
	if px := int64(info.Width) * int64(info.Height); px > lim.MaxPixels {
		return img, fail(CodeTooLarge, "%s image %s declares %d×%d pixels (%s), more than %s (limits.max_pixels)",
			role, uri, info.Width, info.Height, pixels(px), pixels(lim.MaxPixels)), nil
	}
	if !lim.bigEnough(info.Width, info.Height) {
		return img, fail(CodeTooSmall, "%s image %s is %d×%d pixels, below the %d×%d minimum (limits.min_width, min_height)",
			role, uri, info.Width, info.Height, lim.MinWidth, lim.MinHeight), nil
	}
	return img, nil, nil
}

// bigEnough applies the minimum dimensions in either orientation.
func (l Limits) bigEnough(w, h int) bool {
	return max(w, h) >= max(l.MinWidth, l.MinHeight) && min(w, h) >= min(l.MinWidth, l.MinHeight)
}

// pixels renders a pixel count for messages: "3,600,000,000 pixels".
func pixels(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " pixels"
}

// byteSize renders a size for messages: "10 MiB", "512 KiB", "1000 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

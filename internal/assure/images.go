package assure

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reverify/internal/pictureid"
)

// Image is one image to upload. ContentType is "image/jpeg" or "image/png";
// when empty it is taken from the bytes.
type Image struct {
	Data        []byte
	ContentType string
}

// Images are the depictions of one set-images call; nil ones are not sent.
type Images struct {
	Front, Back, Selfie *Image
}

// imagesBody returns a body factory for {"front":"data:…;base64,…",…}. The
// body is produced on the fly from the image bytes, base64 encoded in small
// chunks: the encoded payload is never held in memory as a whole, and each
// retry gets a fresh reader over the same bytes. Its length is exact, so the
// request carries a Content-Length.
func imagesBody(imgs Images) (func() (io.Reader, int64), error) {
	type part struct {
		key string
		img *Image
		ct  string
	}
	var parts []part
	for _, p := range []part{{"front", imgs.Front, ""}, {"back", imgs.Back, ""}, {"selfie", imgs.Selfie, ""}} {
		if p.img == nil {
			continue
		}
		if len(p.img.Data) == 0 {
			return nil, fmt.Errorf("%s image is empty", p.key)
		}
		p.ct = p.img.ContentType
		if p.ct == "" {
			p.ct = pictureid.Sniff(p.img.Data)
		}
		if p.ct != pictureid.JPEG && p.ct != pictureid.PNG {
			return nil, fmt.Errorf("%s image: content type %q is not image/jpeg or image/png", p.key, p.ct)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, errors.New("no image to upload")
	}
	return func() (io.Reader, int64) {
		var readers []io.Reader
		var n int64
		for i, p := range parts {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			head := sep + `"` + p.key + `":"data:` + p.ct + `;base64,`
			readers = append(readers, bytes.NewReader([]byte(head)), &base64Reader{src: p.img.Data})
			n += int64(len(head)) + int64(base64.StdEncoding.EncodedLen(len(p.img.Data))) + 1
			readers = append(readers, bytes.NewReader([]byte(`"`)))
		}
		readers = append(readers, bytes.NewReader([]byte("}")))
		return io.MultiReader(readers...), n + 1
	}, nil
}

// base64Reader encodes src with standard base64 as it is read, 3 KiB of
// input at a time.
type base64Reader struct {
	src []byte
	buf [4096]byte
	out []byte // pending encoded bytes in buf
}

func (r *base64Reader) Read(p []byte) (int, error) {
	if len(r.out) == 0 {
		if len(r.src) == 0 {
			return 0, io.EOF
		}
		n := min(len(r.src), 3072) // multiple of 3: no padding mid-stream
		base64.StdEncoding.Encode(r.buf[:], r.src[:n])
		r.out = r.buf[:base64.StdEncoding.EncodedLen(n)]
		r.src = r.src[n:]
	}
	k := copy(p, r.out)
	r.out = r.out[k:]
	return k, nil
}

// Package blob is reverify's object storage: one small interface over an S3
// prefix and a local folder, used to read archives and to write reports,
// journals and sample archives.
//
// A Store is rooted at a URI (`s3://bucket/prefix` or `file:///path` or a
// plain path); keys are slash-separated and relative to that root. Objects
// written through a Store appear complete or not at all.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"reverify/internal/fault"
)

// Errors callers can test with errors.Is.
var (
	// ErrNotFound: the object (or bucket, or folder) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: the object is larger than the caller's cap.
	ErrTooLarge = errors.New("object larger than the size cap")
	// ErrAccessDenied: the credentials are missing, wrong or not allowed.
	// Nothing else of the run will work with them: fault.Abort.
	ErrAccessDenied = fault.New(fault.Abort, "access denied")
	// ErrNotCreated (wraps ErrNotFound): the store's root does not exist
	// yet, and the store creates it on its first write — an output nobody
	// has written to, which lists as empty for readers that allow it. A
	// missing S3 bucket is ErrNotFound only: writes cannot create it.
	ErrNotCreated = fmt.Errorf("the folder does not exist yet: %w", ErrNotFound)
)

// Object describes a stored object.
type Object struct {
	Key  string // relative to the store root
	Size int64
}

// Store is an object store rooted at a URI.
type Store interface {
	// URI returns the root URI of the store (s3://bucket/prefix or file:///abs/path).
	URI() string
	// KeyURI returns the full URI of key.
	KeyURI(key string) string
	// List calls fn for every object under prefix (relative to the root), in
	// lexical key order per folder, streaming: the whole listing is never held
	// in memory. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// Stat returns the object's size, or ErrNotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// Get reads the whole object. With max > 0 an object larger than max
	// bytes fails with ErrTooLarge without being read past max.
	Get(ctx context.Context, key string, max int64) ([]byte, error)
	// Open streams the object: the caller reads it at its own pace and must
	// Close the reader. A missing object is ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Put writes the object atomically.
	Put(ctx context.Context, key string, data []byte) error
	// Create starts a streamed write; the object appears only when the
	// writer's Close succeeds. Abort discards it.
	Create(ctx context.Context, key string) (Writer, error)
	// Delete removes the object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// Appender is a store that can append to an object in place and make what
// was appended durable (a local folder: one file per object). Stores without
// it (S3) write whole objects only; a caller that needs a growing log writes
// a series of objects there instead (see internal/journal).
type Appender interface {
	// Append opens key for appending, creating it when missing.
	Append(ctx context.Context, key string) (AppendWriter, error)
}

// AppendWriter appends to one object.
type AppendWriter interface {
	io.Writer
	// Sync makes everything written so far durable.
	Sync() error
	Close() error
}

// Preparer is a store that has something to set up before it is written to
// (a local folder that does not exist yet).
type Preparer interface {
	Prepare(ctx context.Context) error
}

// Prepare readies s for writing, so that an output that cannot be written
// fails before any work is done, naming why: a local folder is created; other
// stores have nothing to prepare (an S3 prefix needs no creation, and a
// missing bucket fails at the first write).
func Prepare(ctx context.Context, s Store) error {
	if p, ok := s.(Preparer); ok {
		return p.Prepare(ctx)
	}
	return nil
}

// Writer is a streamed object write.
type Writer interface {
	io.Writer
	// Close completes the object; it is visible only after Close returns nil.
	Close() error
	// Abort discards everything written; the object does not appear.
	Abort() error
}

// Location is a parsed store URI.
type Location struct {
	Scheme string // "s3" or "file"
	Bucket string // s3 only
	Path   string // s3: key prefix without leading slash; file: absolute path
}

// String renders the location as a URI.
func (l Location) String() string {
	if l.Scheme == "s3" {
		if l.Path == "" {
			return "s3://" + l.Bucket
		}
		return "s3://" + l.Bucket + "/" + l.Path
	}
	return "file://" + filepath.ToSlash(l.Path)
}

// Join returns the location of key below l.
func (l Location) Join(key string) Location {
	out := l
	if l.Scheme == "s3" {
		out.Path = joinKey(l.Path, key)
	} else {
		out.Path = filepath.Join(l.Path, filepath.FromSlash(key))
	}
	return out
}

// IsURI reports whether s names a store explicitly (s3:// or file://), as
// opposed to a path relative to something.
func IsURI(s string) bool {
	return strings.HasPrefix(s, "s3://") || strings.HasPrefix(s, "file://")
}

// Parse parses `s3://bucket[/prefix]`, `file:///abs/path` or a plain local
// path (made absolute).
func Parse(s string) (Location, error) {
	switch {
	case s == "":
		return Location{}, errors.New("empty location")
	case strings.HasPrefix(s, "s3://"):
		rest := strings.TrimPrefix(s, "s3://")
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("%q: missing bucket name", s)
		}
		prefix = strings.Trim(prefix, "/")
		if strings.Contains(prefix, "//") {
			return Location{}, fmt.Errorf("%q: empty path segment", s)
		}
		return Location{Scheme: "s3", Bucket: bucket, Path: prefix}, nil
	case strings.HasPrefix(s, "file://"):
		// The path is taken literally (no percent-decoding): file names may
		// hold '%', '#' or '?', and Location.String writes them unescaped, so
		// every URI this package renders parses back to the same path.
		rest := strings.TrimPrefix(s, "file://")
		host, p := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			host, p = rest[:i], rest[i:]
		}
		if host != "" && host != "localhost" {
			return Location{}, fmt.Errorf("%q: file URIs need an empty host (file:///path)", s)
		}
		if p == "" {
			return Location{}, fmt.Errorf("%q: missing path", s)
		}
		return Location{Scheme: "file", Path: filepath.Clean(filepath.FromSlash(p))}, nil
	case strings.Contains(s, "://"):
		return Location{}, fmt.Errorf("%q: unsupported scheme (use s3://, file:// or a path)", s)
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return Location{}, fmt.Errorf("%q: %w", s, err)
	}
	return Location{Scheme: "file", Path: abs}, nil
}

// joinKey joins slash-separated key parts, ignoring empty ones.
func joinKey(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return path.Join(nonEmpty...)
}

// cleanKey validates a key relative to a store root: no absolute paths, no
// "..", no empty segments.
func cleanKey(key string) (string, error) {
	if key == "" {
		return "", errors.New("empty key")
	}
	if strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("key %q: must be relative", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("key %q: invalid segment %q", key, seg)
		}
	}
	return key, nil
}

// readCapped reads r fully; with max > 0 more than max bytes is ErrTooLarge.
// sizeHint (when > 0) sizes the buffer to avoid regrowth.
func readCapped(r io.Reader, max, sizeHint int64) ([]byte, error) {
	if max > 0 && sizeHint > max {
		return nil, fmt.Errorf("%d bytes: %w", sizeHint, ErrTooLarge)
	}
	var buf []byte
	if sizeHint > 0 {
		buf = make([]byte, 0, sizeHint+1)
	}
	lr := r
	if max > 0 {
		lr = io.LimitReader(r, max+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if max > 0 && int64(len(buf)) > max {
			return nil, fmt.Errorf("more than %d bytes: %w", max, ErrTooLarge)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

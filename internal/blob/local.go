package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Local is a Store over a local folder. Writes go to a temporary file in the
// target folder, are fsynced and renamed into place, so a reader never sees a
// partial object.
type Local struct {
	root string // absolute, cleaned
}

// NewLocal returns a store rooted at dir (created on first write).
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %q: %w", dir, err)
	}
	return &Local{root: filepath.Clean(abs)}, nil
}

// URI implements Store.
func (l *Local) URI() string { return Location{Scheme: "file", Path: l.root}.String() }

// KeyURI implements Store.
func (l *Local) KeyURI(key string) string {
	return Location{Scheme: "file", Path: l.root}.Join(key).String()
}

// Root is the absolute folder of the store.
func (l *Local) Root() string { return l.root }

func (l *Local) path(key string) (string, error) {
	k, err := cleanKey(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(k)), nil
}

// List implements Store. Folders are walked in lexical order; temporary files
// of unfinished writes are skipped.
func (l *Local) List(ctx context.Context, prefix string, fn func(Object) error) error {
	start := l.root
	if p := strings.Trim(prefix, "/"); p != "" {
		// A prefix may end inside a name ("rec-1" matches "rec-10/…"): walk
		// its folder and filter.
		start = filepath.Join(l.root, filepath.FromSlash(path2dir(p)))
	}
	info, err := os.Stat(start)
	if errors.Is(err, fs.ErrNotExist) {
		if start == l.root {
			return fmt.Errorf("list %s: %w", l.URI(), ErrNotFound)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", l.URI(), err)
	}
	if !info.IsDir() {
		return fmt.Errorf("list %s: %s is not a folder", l.URI(), start)
	}
	want := strings.TrimLeft(prefix, "/")
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("list %s: %w", l.URI(), err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if d.IsDir() || isTempName(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, want) {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while listing
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", l.URI(), err)
		}
		return fn(Object{Key: key, Size: fi.Size()})
	})
}

// path2dir returns the folder part of a key prefix: "a/b/c" → "a/b" when the
// prefix does not end with a slash, "a/b/" → "a/b".
func path2dir(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[:i]
	}
	return ""
}

// Stat implements Store.
func (l *Local) Stat(_ context.Context, key string) (Object, error) {
	p, err := l.path(key)
	if err != nil {
		return Object{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	if fi.IsDir() {
		return Object{}, fmt.Errorf("stat %s: is a folder: %w", l.KeyURI(key), ErrNotFound)
	}
	return Object{Key: key, Size: fi.Size()}, nil
}

// Get implements Store.
func (l *Local) Get(_ context.Context, key string, max int64) ([]byte, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", l.KeyURI(key), err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("get %s: is a folder: %w", l.KeyURI(key), ErrNotFound)
	}
	b, err := readCapped(f, max, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", l.KeyURI(key), err)
	}
	return b, nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, data []byte) error {
	w, err := l.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return err
	}
	return w.Close()
}

// Create implements Store.
func (l *Local) Create(_ context.Context, key string) (Writer, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	f, err := os.CreateTemp(filepath.Dir(p), tempPrefix+filepath.Base(p)+".*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	return &localWriter{f: f, final: p, uri: l.KeyURI(key)}, nil
}

// Delete implements Store.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	return nil
}

const tempPrefix = ".tmp-"

func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

type localWriter struct {
	f     *os.File
	final string
	uri   string
	done  bool
}

func (w *localWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.uri, err)
	}
	return n, nil
}

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	tmp := w.f.Name()
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: sync: %w", w.uri, err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: close: %w", w.uri, err)
	}
	if err := os.Rename(tmp, w.final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: rename: %w", w.uri, err)
	}
	// Make the rename durable too.
	if d, err := os.Open(filepath.Dir(w.final)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort %s: %w", w.uri, err)
	}
	return nil
}

func mapFSErr(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w (%v)", ErrAccessDenied, err)
	}
	return err
}

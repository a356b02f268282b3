package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Local is a Store over a local folder. Writes go to a temporary file in the
// target folder, are fsynced and renamed into place, so a reader never sees a
// partial object.
//
// What it writes holds personal data (images, reports, journals): every
// file it creates is private to the user running it (filePerm) and every
// folder it creates too (dirPerm). The umask can only narrow these; files
// and folders that already exist keep their modes.
type Local struct {
	root   string // absolute, cleaned
	noSync bool   // skip the fsyncs (NoSync)
}

// NoSync returns a store over the same folder whose writes are not fsynced:
// they still appear complete or not at all (temp file + rename), but a
// machine crash may lose recent ones. For bulk output that can be made again
// (sample archives), never for reports or journals.
func (l *Local) NoSync() *Local {
	c := *l
	c.noSync = true
	return &c
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

// Prepare implements Preparer: it creates the folder.
func (l *Local) Prepare(context.Context) error {
	if err := os.MkdirAll(l.root, dirPerm); err != nil {
		return fmt.Errorf("%s: cannot create the folder: %w", l.URI(), mapFSErr(err))
	}
	return nil
}

// Append implements Appender: the object is a file opened for appending.
func (l *Local) Append(_ context.Context, key string) (AppendWriter, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), dirPerm); err != nil {
		return nil, fmt.Errorf("append %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, filePerm)
	if err != nil {
		return nil, fmt.Errorf("append %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	return f, nil
}

// List implements Store. Keys come in the same order as S3's: byte-wise
// lexical order of the whole key (a folder "a" sorts as "a/", after "a-b"
// and "a.txt"), so both stores list an archive identically. Only one
// folder's entry names are held in memory at a time. Symbolic links to
// files are listed; links to folders are not followed; temporary files of
// unfinished writes and other non-regular files are skipped.
func (l *Local) List(ctx context.Context, prefix string, fn func(Object) error) error {
	want := strings.TrimLeft(prefix, "/")
	info, err := os.Stat(l.root)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list %s: %w", l.URI(), ErrNotCreated)
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", l.URI(), mapFSErr(err))
	}
	if !info.IsDir() {
		return fmt.Errorf("list %s: %s is not a folder", l.URI(), l.root)
	}
	return l.walk(ctx, "", want, fn)
}

// walk lists the folder whose key is dir ("" for the root) in key order,
// descending only into folders that can hold keys starting with want.
func (l *Local) walk(ctx context.Context, dir, want string, fn func(Object) error) error {
	entries, err := os.ReadDir(filepath.Join(l.root, filepath.FromSlash(dir)))
	if errors.Is(err, fs.ErrNotExist) && dir != "" {
		return nil // removed while listing
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", l.URI(), mapFSErr(err))
	}
	// S3 order: a folder's keys all start with "name/", so the folder sorts
	// among its siblings as "name/".
	sortKey := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	sort.Slice(entries, func(i, j int) bool { return sortKey(entries[i]) < sortKey(entries[j]) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := e.Name()
		if dir != "" {
			key = dir + "/" + key
		}
		if e.IsDir() {
			sub := key + "/"
			if strings.HasPrefix(sub, want) || strings.HasPrefix(want, sub) {
				if err := l.walk(ctx, key, want, fn); err != nil {
					return err
				}
			}
			continue
		}
		if isTempName(e.Name()) || !strings.HasPrefix(key, want) {
			continue
		}
		var fi fs.FileInfo
		switch {
		case e.Type().IsRegular():
			fi, err = e.Info()
		case e.Type()&fs.ModeSymlink != 0:
			// A link to a file is listed (Get follows it); a link to a
			// folder is not followed, so a link loop cannot trap a listing.
			fi, err = os.Stat(filepath.Join(l.root, filepath.FromSlash(key)))
			if err == nil && !fi.Mode().IsRegular() {
				continue
			}
		default:
			continue // sockets, devices, pipes
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while listing, or a dangling link
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", l.URI(), mapFSErr(err))
		}
		if err := fn(Object{Key: key, Size: fi.Size()}); err != nil {
			return err
		}
	}
	return nil
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

// Open implements Store.
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", l.KeyURI(key), err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: is a folder: %w", l.KeyURI(key), ErrNotFound)
	}
	return f, nil
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
	if err := os.MkdirAll(filepath.Dir(p), dirPerm); err != nil {
		return nil, fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	// CreateTemp creates its files 0600 (filePerm), narrowed by the umask;
	// the rename keeps that mode.
	f, err := os.CreateTemp(filepath.Dir(p), tempPrefix+filepath.Base(p)+".*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	return &localWriter{f: f, final: p, uri: l.KeyURI(key), noSync: l.noSync}, nil
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

// Modes of the files and folders a Local store creates: the owner's only.
// Nobody else running on the machine may read what a run wrote; who else
// should is for the owner to grant (a group's read bit, a copy elsewhere).
const (
	filePerm fs.FileMode = 0o600
	dirPerm  fs.FileMode = 0o700
)

func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

type localWriter struct {
	f      *os.File
	final  string
	uri    string
	done   bool
	noSync bool
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
	if !w.noSync {
		if err := w.f.Sync(); err != nil {
			w.f.Close()
			os.Remove(tmp)
			return fmt.Errorf("write %s: sync: %w", w.uri, err)
		}
	}
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: close: %w", w.uri, err)
	}
	if err := os.Rename(tmp, w.final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: rename: %w", w.uri, err)
	}
	if w.noSync {
		return nil
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

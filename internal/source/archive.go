package source

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"

	"reverify/internal/blob"
	"reverify/internal/fault"
)

// Error classes, in the one vocabulary of package fault. Every error
// returned by Open, Records and Load wraps one of them (or is the context's
// error), so fault.Of tells a run that should stop from a record worth
// retrying later.
var (
	// ErrConfig (fault.Config): the configuration is invalid; nothing was read.
	ErrConfig = fault.New(fault.Config, "invalid archive configuration")
	// ErrAbort (fault.Abort): the archive cannot be read as configured —
	// access denied, missing bucket, folder or manifest, an unreadable
	// manifest header, or a store error that retrying cannot fix. Stop the run.
	ErrAbort = fault.New(fault.Abort, "archive unusable")
	// ErrRetry (fault.Retry): a temporary storage failure (network,
	// throttling, 5xx after the S3 client's own retries). Retry the record,
	// or the listing, later.
	ErrRetry = fault.New(fault.Retry, "temporary storage failure")
	// ErrEmptyArchive (wrapped together with ErrAbort by Open): the folder
	// layout archive holds no objects at all, which usually means a
	// mistyped prefix. A caller that accepts empty archives can test for it.
	ErrEmptyArchive = errors.New("the archive holds no objects")
)

// Archive reads the records of one archive. It is safe for concurrent use:
// Load may run in many goroutines while Records runs.
type Archive struct {
	cfg      Config
	opener   *blob.Opener
	root     blob.Location
	manifest *blob.Location
	maxLine  int // longest manifest line kept (maxLineBytes; smaller in tests)

	mu     sync.Mutex
	stores map[string]blob.Store // by store root URI: one per bucket, one for local files
}

// Open validates cfg and checks that the archive can be read: the manifest
// can be opened (and a CSV manifest has the required columns), or, without
// a manifest, the archive root can be listed and holds at least one object.
// Errors name the bucket, folder or manifest and wrap ErrConfig or ErrAbort
// (or ErrRetry when the store was temporarily unavailable).
func Open(ctx context.Context, opener *blob.Opener, cfg Config) (*Archive, error) {
	if opener == nil {
		return nil, fmt.Errorf("%w: no store opener", ErrConfig)
	}
	cfg, root, manifest, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	a := &Archive{cfg: cfg, opener: opener, root: root, manifest: manifest, maxLine: maxLineBytes,
		stores: map[string]blob.Store{}}
	if manifest != nil {
		if err := a.checkManifest(ctx); err != nil {
			return nil, err
		}
		return a, nil
	}
	if err := a.checkRoot(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the configuration in use, defaults filled in.
func (a *Archive) Config() Config { return a.cfg }

// Records calls fn for every record of the archive, in order (folder key
// order, or manifest line order), streaming: neither the listing nor the
// manifest is held in memory. Problems of a record (bad manifest line,
// duplicate ID, bad meta.json, ...) are in Record.Problems; they never stop
// the listing. Records returns fn's error as is, the context's error, or an
// infrastructure error wrapping ErrAbort or ErrRetry.
//
// A manifest's repeated IDs are found in a first pass over it
// (repeatedIDs: a Bloom filter of about 1.2 bytes per line); a folder
// listing, in key order, cannot repeat a folder, and a store that lists
// out of key order stops the listing (ErrAbort).
func (a *Archive) Records(ctx context.Context, fn func(Record) error) error {
	if a.manifest != nil {
		return a.manifestRecords(ctx, true, fn)
	}
	return a.folderRecords(ctx, fn)
}

// checkRoot lists the archive root until its first object.
func (a *Archive) checkRoot(ctx context.Context) error {
	st, err := a.store(ctx, a.root)
	if err != nil {
		return err
	}
	found := false
	errStop := errors.New("stop")
	err = st.List(ctx, "", func(blob.Object) error { found = true; return errStop })
	switch {
	case err == nil && !found:
		return fmt.Errorf("%w: archive %s: %w (check the prefix)", ErrAbort, a.root, ErrEmptyArchive)
	case err == nil, errors.Is(err, errStop):
		return nil
	case errors.Is(err, blob.ErrNotFound) && a.root.Scheme == "s3":
		return fmt.Errorf("%w: archive %s: bucket %q does not exist: %w", ErrAbort, a.root, a.root.Bucket, err)
	case errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("%w: archive %s: folder %s does not exist: %w", ErrAbort, a.root, a.root.Path, err)
	}
	return a.storeErr(ctx, "archive "+a.root.String(), err)
}

// storeErr classifies an infrastructure error.
func (a *Archive) storeErr(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if fault.Of(err) == fault.Retry {
		return fmt.Errorf("%w: %s: %w", ErrRetry, what, err)
	}
	if errors.Is(err, blob.ErrAccessDenied) {
		return fmt.Errorf("%w: %s: access denied: check the credentials (keys, profile or role) and that they may read the bucket: %w",
			ErrAbort, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrAbort, what, err)
}

// store returns the store rooted at loc, opened once per Archive.
func (a *Archive) store(ctx context.Context, loc blob.Location) (blob.Store, error) {
	key := loc.String()
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, ok := a.stores[key]; ok {
		return st, nil
	}
	st, err := a.opener.OpenLocation(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrAbort, key, err)
	}
	a.stores[key] = st
	return st, nil
}

// resolve returns the store and key of an object URI: S3 objects through
// their bucket's store, local files through a store rooted at "/".
func (a *Archive) resolve(ctx context.Context, uri string) (blob.Store, string, error) {
	loc, err := blob.Parse(uri)
	if err != nil {
		return nil, "", err
	}
	root := loc
	var key string
	if loc.Scheme == "s3" {
		root.Path, key = "", loc.Path
	} else {
		root.Path, key = "/", strings.TrimPrefix(loc.Path, "/")
	}
	if err := checkKey(key); err != nil {
		return nil, "", fmt.Errorf("%s: %w", uri, err)
	}
	st, err := a.store(ctx, root)
	if err != nil {
		return nil, "", err
	}
	return st, key, nil
}

// checkKey rejects keys the stores refuse: empty, or with empty, "." or
// ".." segments.
func checkKey(key string) error {
	if key == "" {
		return errors.New("no object key")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid path segment %q", seg)
		}
	}
	return nil
}

// idKey is a 128-bit hash of a record ID: bounded memory per ID whatever
// its length, and no false duplicates in practice.
func idKey(id string) [16]byte {
	sum := sha256.Sum256([]byte(id))
	var k [16]byte
	copy(k[:], sum[:16])
	return k
}

package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"reverify/internal/blob"
)

// Manifest columns (CSV header names, JSON Lines keys). Other columns are
// free metadata (Record.Meta).
const (
	ColRecordID       = "record_id"
	ColFront          = "front"
	ColBack           = "back"
	ColSelfie         = "selfie"
	ColDocumentID     = "document_id"
	ColProcessType    = "process_type"
	ColPreviousStatus = "previous_status"
)

// knownColumn reports whether a column has a meaning of its own.
func knownColumn(name string) bool {
	switch name {
	case ColRecordID, ColFront, ColBack, ColSelfie, ColDocumentID, ColProcessType, ColPreviousStatus:
		return true
	}
	return false
}

// row is one manifest line, parsed but not yet checked.
type row struct {
	line   int
	values map[string]string // known columns, trimmed; "" when not given
	meta   map[string]string // other columns with a value
	bad    []string          // why the line cannot be used (bad_manifest_line)
	badMD  []string          // invalid field values (bad_metadata)
}

func (rw *row) badf(format string, args ...any) {
	rw.bad = append(rw.bad, fmt.Sprintf(format, args...))
}

// lineParser turns one non-blank line into a row; blank reports a line that
// holds no record (only spaces, or only empty CSV fields).
type lineParser interface {
	parse(line []byte, n int) (rw row, blank bool)
}

// manifestRecords streams the manifest and delivers one record per
// non-blank line (after the CSV header). dedupe finds repeated record IDs
// (a set of 128-bit hashes: 24 bytes a line); a count does without.
func (a *Archive) manifestRecords(ctx context.Context, dedupe bool, fn func(Record) error) error {
	st, key, err := a.resolve(ctx, a.manifest.String())
	if err != nil {
		return fmt.Errorf("%w: manifest %s: %w", ErrAbort, a.manifest, err)
	}
	rc, err := st.Open(ctx, key)
	if err != nil {
		return a.manifestErr(ctx, err)
	}
	defer rc.Close()
	return a.readManifest(ctx, rc, dedupe, fn)
}

// readManifest delivers the records of a manifest read from r.
func (a *Archive) readManifest(ctx context.Context, r io.Reader, dedupe bool, fn func(Record) error) error {
	lr := newLineReader(r, a.maxLine)
	parser, err := a.newParser(lr)
	if err != nil {
		if errors.Is(err, ErrAbort) {
			return err
		}
		return a.storeErr(ctx, "read manifest "+a.manifest.String(), err)
	}
	var seen lineSet
	if dedupe {
		seen = lineSet{}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, n, tooLong, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return a.storeErr(ctx, "read manifest "+a.manifest.String(), err)
		}
		var rw row
		if tooLong {
			rw = row{line: n}
			rw.badf("line %d is longer than %s", n, byteSize(int64(a.maxLine)))
		} else {
			var blank bool
			if rw, blank = parser.parse(line, n); blank {
				continue
			}
		}
		if err := fn(a.rowRecord(rw, seen)); err != nil {
			return err
		}
	}
}

// newParser reads what precedes the records (the CSV header) and returns
// the parser for the lines that follow.
func (a *Archive) newParser(lr *lineReader) (lineParser, error) {
	if a.cfg.ManifestFormat == FormatJSONL {
		return jsonlParser{}, nil
	}
	for {
		line, n, tooLong, err := lr.next()
		switch {
		case err == io.EOF:
			return nil, fmt.Errorf("%w: manifest %s: no header line (an empty CSV file)", ErrAbort, a.manifest)
		case err != nil:
			return nil, fmt.Errorf("read manifest %s: %w", a.manifest, err)
		case tooLong:
			return nil, fmt.Errorf("%w: manifest %s: header line %d is longer than %s", ErrAbort, a.manifest, n, byteSize(int64(a.maxLine)))
		case len(strings.TrimSpace(string(line))) == 0:
			continue
		}
		p, err := newCSVParser(line)
		if err != nil {
			return nil, fmt.Errorf("%w: manifest %s: header line %d: %w", ErrAbort, a.manifest, n, err)
		}
		return p, nil
	}
}

// checkManifest opens the manifest and reads its header, so that a wrong
// location, missing credentials or a header without the required columns
// fail before any work.
func (a *Archive) checkManifest(ctx context.Context) error {
	st, key, err := a.resolve(ctx, a.manifest.String())
	if err != nil {
		return fmt.Errorf("%w: manifest %s: %w", ErrAbort, a.manifest, err)
	}
	rc, err := st.Open(ctx, key)
	if err != nil {
		return a.manifestErr(ctx, err)
	}
	defer rc.Close()
	if _, err := a.newParser(newLineReader(rc, a.maxLine)); err != nil {
		if errors.Is(err, ErrAbort) {
			return err
		}
		return a.storeErr(ctx, "read manifest "+a.manifest.String(), err)
	}
	return nil
}

func (a *Archive) manifestErr(ctx context.Context, err error) error {
	if errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("%w: manifest %s does not exist: %w", ErrAbort, a.manifest, err)
	}
	return a.storeErr(ctx, "manifest "+a.manifest.String(), err)
}

// rowRecord checks a parsed line and makes it a record.
func (a *Archive) rowRecord(rw row, seen lineSet) Record {
	r := Record{Origin: fmt.Sprintf("%s:%d", a.manifest, rw.line)}
	id := rw.values[ColRecordID]
	if reason := checkID(id); reason != "" {
		if len(rw.bad) == 0 || id != "" {
			rw.badf("%s", reason)
		}
		id = fmt.Sprintf("line-%d", rw.line)
	}
	r.ID = id
	if first, dup := seen.add(id, rw.line); dup {
		r.addProblem(CodeDuplicateRecord, "", "record_id %q already appeared on line %d", clip(id), first)
	}
	uris := [3]*string{&r.Front, &r.Back, &r.Selfie}
	for i, role := range roles {
		v := rw.values[role]
		if v == "" {
			continue
		}
		uri, err := a.imageURI(v)
		if err != nil {
			rw.badf("%s: %v", role, err)
			continue
		}
		*uris[i] = uri
	}
	if len(rw.bad) > 0 {
		// Nothing on the line can be trusted: keep only the ID and the reasons.
		r.Front, r.Back, r.Selfie = "", "", ""
		for _, why := range rw.bad {
			r.addProblem(CodeBadManifestLine, "", "%s", why)
		}
		r.ProcessType = a.cfg.DefaultProcessType
		r.DocumentID = a.cfg.DefaultDocumentID
		return r
	}
	for _, why := range rw.badMD {
		r.addProblem(CodeBadMetadata, "", "%s", why)
	}
	r.applyFields(&a.cfg, rw.values[ColDocumentID], rw.values[ColProcessType], rw.values[ColPreviousStatus],
		fmt.Sprintf("line %d", rw.line))
	if len(rw.meta) > 0 {
		r.Meta = rw.meta
	}
	return r
}

// imageURI resolves an image path of a manifest: a full s3:// or file://
// URI, or a path relative to the archive root. A manifest read from S3
// cannot name local files: whoever can write to the bucket must not be able
// to make reverify read (and upload) a file of the machine it runs on.
func (a *Archive) imageURI(v string) (string, error) {
	if blob.IsURI(v) {
		loc, err := blob.Parse(v)
		if err != nil {
			return "", err
		}
		if loc.Scheme == "file" && a.manifest != nil && a.manifest.Scheme != "file" {
			return "", fmt.Errorf("%q: local path in a remote manifest (%s): name the image by an s3:// URI or a path relative to the archive", clip(v), a.manifest)
		}
		if loc.Scheme == "s3" {
			if loc.Path == "" {
				return "", fmt.Errorf("%q names a bucket, not an object", clip(v))
			}
			if err := checkKey(loc.Path); err != nil {
				return "", fmt.Errorf("%q: %v", clip(v), err)
			}
		}
		return loc.String(), nil
	}
	if strings.Contains(v, "://") {
		return "", fmt.Errorf("%q: unsupported scheme (use s3://, file:// or a path relative to the archive)", clip(v))
	}
	if strings.HasPrefix(v, "/") {
		return "", fmt.Errorf("%q is an absolute path: give a path relative to the archive, or a file:// URI", clip(v))
	}
	rel := strings.TrimPrefix(v, "./")
	if err := checkKey(rel); err != nil {
		return "", fmt.Errorf("%q: %v", clip(v), err)
	}
	return a.root.Join(rel).String(), nil
}

// lineSet remembers manifest record IDs (by a 128-bit hash) and the line
// each first appeared on.
type lineSet map[[16]byte]int

// add records id at line; for an ID seen before it reports the first line.
// A nil set finds none.
func (s lineSet) add(id string, line int) (first int, dup bool) {
	if s == nil {
		return 0, false
	}
	k := idKey(id)
	if first, dup := s[k]; dup {
		return first, true
	}
	s[k] = line
	return 0, false
}

// sortedKeys returns m's keys in order (for deterministic messages).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bits-and-blooms/bloom/v3"

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
// (repeatedIDs: the manifest is read twice); a count does without.
func (a *Archive) manifestRecords(ctx context.Context, dedupe bool, fn func(Record) error) error {
	st, key, err := a.resolve(ctx, a.manifest.String())
	if err != nil {
		return fmt.Errorf("%w: manifest %s: %w", ErrAbort, a.manifest, err)
	}
	open := func() (io.ReadCloser, error) {
		rc, err := st.Open(ctx, key)
		if err != nil {
			return nil, a.manifestErr(ctx, err)
		}
		return rc, nil
	}
	return a.readManifest(ctx, open, dedupe, fn)
}

// readManifest delivers the records of the manifest that open reads. With
// dedupe, a first pass finds the IDs that may repeat (repeatedIDs) and the
// second, which delivers the records, remembers the first line of those
// only.
func (a *Archive) readManifest(ctx context.Context, open func() (io.ReadCloser, error), dedupe bool, fn func(Record) error) error {
	var seen lineSet
	if dedupe {
		var err error
		if seen, err = a.repeatedIDs(ctx, open); err != nil {
			return err
		}
	}
	return a.eachManifestLine(ctx, open, func(rw row) error { return fn(a.rowRecord(rw, seen)) })
}

// eachManifestLine hands over every non-blank line of the manifest after its
// header, parsed (a line too long is a row that says so).
func (a *Archive) eachManifestLine(ctx context.Context, open func() (io.ReadCloser, error), fn func(row) error) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	lr := newLineReader(rc, a.maxLine)
	parser, err := a.newParser(lr)
	if err != nil {
		if errors.Is(err, ErrAbort) {
			return err
		}
		return a.storeErr(ctx, "read manifest "+a.manifest.String(), err)
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
		if err := fn(rw); err != nil {
			return err
		}
	}
}

// repeatedIDs reads the manifest once and returns the record IDs that may
// appear on more than one line: every ID that does, and a few that a Bloom
// filter of the IDs seen mistook for repeated (under 1 % of the lines).
// Memory follows the lines by about 1.2 bytes each (the filter), not by a set
// of every ID (24 bytes a line, 24 MB per million), plus the candidates.
func (a *Archive) repeatedIDs(ctx context.Context, open func() (io.ReadCloser, error)) (lineSet, error) {
	var f seenFilter
	cands := lineSet{}
	err := a.eachManifestLine(ctx, open, func(rw row) error {
		id := rw.values[ColRecordID]
		if checkID(id) != "" {
			return nil // named by its line: never repeated
		}
		if k := idKey(id); f.testAndAdd(k) {
			cands[k] = 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cands, nil
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
	// The ID is kept, by the journal and the part being written, for as long
	// as the record's row is not committed (tens of thousands of records):
	// a copy of its own, so that it does not keep the whole manifest line it
	// was cut from (a CSV field shares the line's memory).
	r.ID = strings.Clone(id)
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

// lineSet holds the manifest record IDs that may repeat (by a 128-bit
// hash: repeatedIDs) and, once seen, the line each first appeared on (0:
// not yet).
type lineSet map[[16]byte]int

// add records id at line; for an ID seen before it reports the first line.
// A nil set finds none.
func (s lineSet) add(id string, line int) (first int, dup bool) {
	if s == nil {
		return 0, false
	}
	k := idKey(id)
	first, maybe := s[k]
	switch {
	case !maybe:
		return 0, false
	case first == 0:
		s[k] = line
		return 0, false
	}
	return first, true
}

// seenFilter is a scalable Bloom filter (Almeida et al., 2007) of record ID
// hashes: it answers "maybe seen" for every ID seen and, wrongly, for under
// 1 % of the others, in about 1.2 bytes per ID whatever the count. It grows
// by adding a filter of twice the capacity once the newest is full, each
// with half the false-positive rate of the one before, so the rates sum to
// less than twice the first's.
type seenFilter struct {
	filters []*bloom.BloomFilter
	n, cap  uint // IDs in the newest filter, and its capacity
}

const (
	seenFirstCapacity = 1 << 16
	seenFirstFP       = 0.004
)

// testAndAdd adds k and reports whether it may have been added before.
func (s *seenFilter) testAndAdd(k [16]byte) bool {
	maybe := false
	for _, f := range s.filters {
		if f.Test(k[:]) {
			maybe = true
			break
		}
	}
	if len(s.filters) == 0 || s.n >= s.cap {
		s.cap = seenFirstCapacity << len(s.filters)
		fp := seenFirstFP / float64(uint(1)<<len(s.filters))
		s.filters = append(s.filters, bloom.NewWithEstimates(s.cap, fp))
		s.n = 0
	}
	if !maybe {
		s.filters[len(s.filters)-1].Add(k[:])
		s.n++
	}
	return maybe
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

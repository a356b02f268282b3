package journal

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"reverify/internal/blob"
)

// State is what the earlier attempts of a run shard left, folded from their
// journals (and completed by the caller from the Parquet parts and the API).
type State struct {
	// RunStart is the start of the run's first attempt.
	RunStart time.Time
	// Records are the records the journal (or the API) says something of.
	// A record the parts say is committed, and of which nothing else is
	// known, is not among them: it is in done, 16 bytes per record instead
	// of a map entry (a resume of a million committed rows holds 16 MB).
	Records map[string]*Record
	done    doneSet
	// Attempts counts the earlier attempts found.
	Attempts int
	// FinalObjects are the journal objects holding final entries: what
	// Writer.Adopt takes the committed results out of.
	FinalObjects []string
	// Deletions are the dossiers the caller deleted while resuming (a
	// record's stray second dossier), for the attempt's dossier log.
	Deletions []Entry
}

// Record is what the journal knows of one record.
type Record struct {
	Dossier string
	Process string
	Pages   int
	Started bool
	// Final is the record's outcome when it was final but its row may not be
	// in a committed part.
	Final   *Final
	Deleted bool
	// Committed: a committed part holds the record's row.
	Committed bool
	// Attempt is the attempt of the record's last dossier, process, started
	// or final entry ("" when it has none): an attempt later than the one
	// whose row a committed part holds took the record up again (a timeout
	// polled again, an error redriven).
	Attempt string
}

// NewState returns the state of a run shard without earlier attempts.
func NewState() *State { return &State{Records: map[string]*Record{}} }

// doneSet is a set of record ids held as sorted 128-bit FNV-1a hashes: the
// committed records of a resume, a million of them in 16 MB. Two ids share
// a hash with a probability of about n²/2¹²⁹ (10⁻²⁷ for a million): never in
// practice. Adds go to a tail that the next lookup sorts in.
type doneSet struct {
	sorted []idHash
	tail   []idHash
}

type idHash [2]uint64

func hashID(id string) idHash {
	h := fnv.New128a()
	h.Write([]byte(id))
	var b [16]byte
	h.Sum(b[:0])
	return idHash{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a idHash) cmp(b idHash) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

func (d *doneSet) add(id string) { d.tail = append(d.tail, hashID(id)) }

// mergeTail is how long the unsorted tail may grow before a lookup merges
// it in: lookups between adds (a resume's few timeouts among its rows) scan
// a short tail instead of sorting the whole set each time.
const mergeTail = 4096

func (d *doneSet) has(id string) bool {
	h := hashID(id)
	if len(d.tail) >= mergeTail {
		d.merge()
	}
	if slices.Contains(d.tail, h) {
		return true
	}
	_, ok := slices.BinarySearchFunc(d.sorted, h, idHash.cmp)
	return ok
}

// merge sorts the tail into the sorted hashes (one pass over them).
func (d *doneSet) merge() {
	slices.SortFunc(d.tail, idHash.cmp)
	if len(d.sorted) == 0 {
		// The first merge (a resume's, once every part is read): in
		// place, not into a second copy of the whole set.
		d.sorted, d.tail = slices.Compact(d.tail), nil
		return
	}
	out := make([]idHash, 0, len(d.sorted)+len(d.tail))
	i, j := 0, 0
	for i < len(d.sorted) || j < len(d.tail) {
		var next idHash
		switch {
		case j == len(d.tail) || (i < len(d.sorted) && d.sorted[i].cmp(d.tail[j]) <= 0):
			next = d.sorted[i]
			i++
		default:
			next = d.tail[j]
			j++
		}
		if n := len(out); n == 0 || out[n-1] != next {
			out = append(out, next)
		}
	}
	d.sorted, d.tail = out, nil
}

// Lookup returns what is known of a record, or nil (also on a nil State).
func (s *State) Lookup(id string) *Record {
	if s == nil {
		return nil
	}
	if r := s.Records[id]; r != nil {
		return r
	}
	if s.done.has(id) {
		return &Record{Committed: true}
	}
	return nil
}

// Forget drops what is known of the records, once nothing looks them up any
// more (the attempt's pipeline has ended): the end of an attempt reads every
// part again for its summary, and need not hold the resume's 16 bytes a
// committed record meanwhile. Lookup then knows no record.
func (s *State) Forget() {
	if s != nil {
		s.Records, s.done = map[string]*Record{}, doneSet{}
	}
}

// Record returns the record's entry, creating one (committed when done says
// so).
func (s *State) Record(id string) *Record {
	r := s.Records[id]
	if r == nil {
		r = &Record{Committed: s.done.has(id)}
		s.Records[id] = r
	}
	return r
}

// maxExpected bounds ExpectCommitted's reservation (16 bytes each: 256 MiB);
// a larger shard's set grows as it is filled.
const maxExpected = 1 << 24

// ExpectCommitted reserves room for about n more committed records (a hint:
// the previous summary's rows), so that the set is not copied as it grows
// (a resume marks every committed row: a million records would allocate
// three times the set's 16 MB on the way). A wrong hint costs nothing
// but the room.
func (s *State) ExpectCommitted(n int) {
	if n > 0 {
		s.done.tail = slices.Grow(s.done.tail, min(n, maxExpected))
	}
}

// MarkCommitted records that a committed part holds the record's row (the
// parts themselves are the source of truth): its outcome is no longer needed.
// A record of which nothing else is known goes to the compact set.
func (s *State) MarkCommitted(id string) {
	if r := s.Records[id]; r != nil {
		r.Committed, r.Final = true, nil
		return
	}
	s.done.add(id)
}

// PendingFinals are the records whose final entries are still needed: their
// outcome is known and their row is not committed (Writer.Adopt).
func (s *State) PendingFinals() []string {
	var ids []string
	for id, r := range s.Records {
		if r.Final != nil && !r.Committed {
			ids = append(ids, id)
		}
	}
	return ids
}

// apply folds one entry of attempt in. Entries must come in the order they
// were written, attempt after attempt.
func (s *State) apply(e *Entry, attempt string) {
	switch e.Type {
	case TypeRun:
		if !e.RunStart.IsZero() && (s.RunStart.IsZero() || e.RunStart.Before(s.RunStart)) {
			s.RunStart = e.RunStart
		}
		return
	case TypeCommitted:
		for _, id := range e.Records {
			s.MarkCommitted(id)
		}
		return
	}
	r := s.Record(e.Record)
	if e.Type == TypeDeleted {
		r.Deleted = true
		return
	}
	// A record's entries come before its committed one in an attempt: one
	// after it is a later attempt taking the record up again, whose row is
	// not committed until a committed entry (or part) says so.
	r.Committed, r.Attempt = false, attempt
	switch e.Type {
	case TypeDossier:
		if r.Dossier != e.Dossier {
			*r = Record{Dossier: e.Dossier, Attempt: attempt}
		}
	case TypeProcess:
		r.Dossier, r.Process, r.Pages, r.Started = e.Dossier, e.Process, e.Pages, false
	case TypeStarted:
		r.Dossier, r.Process, r.Started = e.Dossier, e.Process, true
	case TypeFinal:
		// A final entry names the record's dossier and process: it may be
		// all the journal holds of a record that an attempt took up from
		// the API's lists (the attempt before it killed before its first
		// checkpoint), and the next attempt deletes the dossier it names.
		if e.Dossier != "" {
			r.Dossier = e.Dossier
		}
		if e.Process != "" {
			r.Process = e.Process
		}
		if e.Final != nil {
			r.Final = e.Final
		}
	}
}

// Read folds every attempt's journal below prefix into a State. Lines that
// do not decode (a line cut by a crash) are skipped; an entry of a version
// this package does not read is an error that says what to do.
func Read(ctx context.Context, store blob.Store, prefix string) (*State, error) {
	keys, err := objects(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	st := NewState()
	attempts := map[string]bool{}
	for _, key := range keys {
		if err := readObject(ctx, store, key, attemptOf(prefix, key), st, attempts); err != nil {
			return nil, err
		}
	}
	st.Attempts = len(attempts)
	return st, nil
}

// objects lists the journal objects below prefix in the order they were
// written. Attempt ids start with their number (report.AttemptID): sorting
// the keys puts the attempts in the order they ran, and each attempt's
// objects in order. The fold depends on it: a later attempt's entries must
// come after an earlier one's.
func objects(ctx context.Context, store blob.Store, prefix string) ([]string, error) {
	var keys []string
	err := store.List(ctx, prefix, func(o blob.Object) error {
		if strings.HasSuffix(o.Key, ".jsonl") {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return nil, fail(fmt.Errorf("read: %w", err))
	}
	sort.Strings(keys)
	return keys, nil
}

// Each hands over every entry of every attempt below prefix, in the order
// they were written, with the attempt that wrote it (for a log in this
// format that is not folded into a State: the dossier log).
func Each(ctx context.Context, store blob.Store, prefix string, fn func(attempt string, e Entry) error) error {
	keys, err := objects(ctx, store, prefix)
	if err != nil {
		return err
	}
	for _, key := range keys {
		err := eachLine(ctx, store, key, func(e *Entry) error {
			if e == nil {
				return nil
			}
			return fn(attemptOf(prefix, key), *e)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachLine decodes the entries of one object; a line cut by a crash (or
// otherwise undecodable, but not blank) is handed over as nil.
func eachLine(ctx context.Context, store blob.Store, key string, fn func(*Entry) error) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return fail(fmt.Errorf("read %s: %w", store.KeyURI(key), err))
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		e, ok, derr := decode(line)
		switch {
		case derr != nil:
			return fail(fmt.Errorf("read %s: %w", store.KeyURI(key), derr))
		case ok:
			if ferr := fn(&e); ferr != nil {
				return ferr
			}
		case len(bytes.TrimSpace(line)) > 0:
			if ferr := fn(nil); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fail(fmt.Errorf("read %s: %w", store.KeyURI(key), err))
		}
	}
}

// attemptOf is the attempt whose journal object key is: <prefix><attempt>.jsonl
// (an appended journal) or <prefix><attempt>/<seq>.jsonl (checkpoints).
func attemptOf(prefix, key string) string {
	rest := strings.TrimPrefix(key, prefix)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return strings.TrimSuffix(rest, ".jsonl")
}

func readObject(ctx context.Context, store blob.Store, key, attempt string, st *State, attempts map[string]bool) error {
	finals := false
	return eachLine(ctx, store, key, func(e *Entry) error {
		switch {
		case e == nil, e.Type == TypeFinal:
			// A cut line may be part of a final entry: compaction drops it.
			if !finals {
				finals = true
				st.FinalObjects = append(st.FinalObjects, key)
			}
		case e.Type == TypeRun:
			attempts[e.Attempt] = true
		}
		if e != nil {
			st.apply(e, attempt)
		}
		return nil
	})
}

// wire is an entry of any version this package reads: version 2, and
// version 1, whose final entries held the finished report row under "row".
type wire struct {
	Entry
	Row json.RawMessage `json:"row,omitempty"`
}

// decode reads one line: ok is false for a line that does not decode (cut
// by a crash, or empty); err is set for an entry of an unknown version.
func decode(line []byte) (e Entry, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return Entry{}, false, nil
	}
	var w wire
	if json.Unmarshal(line, &w) != nil {
		return Entry{}, false, nil
	}
	switch w.V {
	case Version:
	case 1:
		if w.Type == TypeFinal && len(w.Row) > 0 {
			f, cerr := finalFromV1(w.Row)
			if cerr != nil {
				return Entry{}, false, nil // as a cut line: the record is redone
			}
			w.Final = f
		}
	default:
		return Entry{}, false, fmt.Errorf("journal entry of format version %d: this reverify reads versions 1 and %d; "+
			"resume the run with the reverify that wrote it, or start a new run id", w.V, Version)
	}
	return w.Entry, true, nil
}

// v1Row holds the fields of a version 1 final entry's row (a report row
// encoded with Go's field names) that a row is made from.
type v1Row struct {
	Outcome      string
	ErrorCode    string
	ErrorMessage *string
	ResultJSON   json.RawMessage
	APICalls     int32
	Retries      int32
	Polls        int32
	SubmittedAt  *time.Time
	CompletedAt  *time.Time
	FrontSHA256  *string
	BackSHA256   *string
	SelfieSHA256 *string
	ResultZipURI *string
}

// finalFromV1 turns a version 1 final row into a Final: the process answer
// it kept (ResultJSON) and everything else a row is made from.
func finalFromV1(raw json.RawMessage) (*Final, error) {
	var r v1Row
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if r.Outcome == "" {
		return nil, errors.New("final row without an outcome")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	tm := func(p *time.Time) time.Time {
		if p == nil {
			return time.Time{}
		}
		return *p
	}
	f := &Final{
		Outcome: r.Outcome, ErrorCode: r.ErrorCode, ErrorMessage: str(r.ErrorMessage),
		Images:      Images{Front: str(r.FrontSHA256), Back: str(r.BackSHA256), Selfie: str(r.SelfieSHA256)},
		Effort:      Effort{Calls: r.APICalls, Retries: r.Retries, Polls: r.Polls},
		SubmittedAt: tm(r.SubmittedAt), CompletedAt: tm(r.CompletedAt), ResultZip: str(r.ResultZipURI),
	}
	if len(r.ResultJSON) > 0 && string(r.ResultJSON) != "null" {
		f.Process = r.ResultJSON
	}
	return f, nil
}

package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"reverify/internal/blob"
	"reverify/internal/fault"
)

// DefaultFlushEvery is the checkpoint interval on stores that cannot append.
const DefaultFlushEvery = 2 * time.Second

// Writer writes the journal of one attempt below a prefix of a store.
//
// Where the store can append (blob.Appender: a local folder) it is one
// append-only object per attempt (<prefix><attempt>.jsonl), written by group
// commit: a durable Append returns after the write that holds it was synced.
//
// Elsewhere (S3) it is a series of checkpoint objects
// (<prefix><attempt>/<seq>.jsonl), one per flush interval holding the
// entries since the previous one; Append does not wait for them. A crash
// loses at most the last interval, which reconciliation with the API
// recovers — as long as the API still holds it: before a step that destroys
// the API's copy (deleting a dossier), the caller calls Sync, which writes a
// checkpoint at once (group commit: every entry buffered goes in it) and
// waits for it.
//
// Every error is fault.Abort: a run that cannot journal cannot promise
// anything. Errors are sticky.
type Writer struct {
	flushEvery time.Duration
	sink       sink
	waitSync   bool          // durable appends wait for their write (appendable stores)
	kick       chan struct{} // Sync asks the checkpoint flusher for a checkpoint now

	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	seq     uint64 // entries appended
	synced  uint64 // entries on storage
	err     error  // sticky
	closing bool
	closed  chan struct{} // closed by Close
	done    chan struct{} // closed when the flusher ends

	// Compaction (compact.go): the final entries on storage whose rows are
	// not yet committed, and where every final entry went. A log kept whole
	// (OpenLog) tracks none of it: it would grow with every record.
	store       blob.Store
	whole       bool
	bufFinals   []string            // records of the final entries in buf
	bufRecs     []string            // records named by the entries in buf (with repeats)
	writing     []string            // bufRecs of the write under way
	bufCommits  bool                // buf holds a committed entry
	commits     map[string]bool     // objects holding committed entries
	pending     map[string]bool     // records whose final entry is still needed
	tracked     map[string][]string // object -> records of the final entries it holds
	holds       map[string][]string // object -> records its entries name (this attempt's objects)
	objs        []string            // this attempt's objects, oldest first
	finished    map[string]bool     // records with a final entry here that is not an error
	droppable   map[string]bool     // committed finished records: every entry of theirs can go
	adopted     []string            // earlier attempts' objects holding final entries
	rotate      bool                // compaction asks the flusher to seal the current object
	rotations   uint64
	flusherGone bool
	passMu      sync.Mutex    // one compaction pass at a time
	compact     chan struct{} // kicks the compactor
	compacted   chan struct{} // closed when the compactor ends
	cerr        error         // the last compaction error (retried by the next pass)
}

type sink interface {
	// write writes data and returns the key of the object that holds it.
	write(ctx context.Context, data []byte) (string, error)
	// current is the object the next write appends to ("" when every
	// write is an object of its own).
	current() string
	// seal ends the current object: the next write goes to a new one.
	seal(ctx context.Context) error
	close() error
}

// Open starts the journal of an attempt below prefix in store. flushEvery is
// the checkpoint interval where the store cannot append (0: the default).
// Its entries are compacted as the records' rows are committed (compact.go).
func Open(ctx context.Context, store blob.Store, prefix, attempt string, flushEvery time.Duration) (*Writer, error) {
	return open(ctx, store, prefix, attempt, flushEvery, false)
}

// OpenLog starts an attempt's log below prefix, written as Open's journal
// but kept whole: nothing is ever taken out of it (the dossier logs, the
// evidence of deletion), so the writer keeps nothing per record in memory.
// Committed only appends its entry; Adopt does nothing.
func OpenLog(ctx context.Context, store blob.Store, prefix, attempt string, flushEvery time.Duration) (*Writer, error) {
	return open(ctx, store, prefix, attempt, flushEvery, true)
}

func open(ctx context.Context, store blob.Store, prefix, attempt string, flushEvery time.Duration, whole bool) (*Writer, error) {
	j := &Writer{flushEvery: flushEvery, kick: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{}),
		store: store, whole: whole, pending: map[string]bool{}, tracked: map[string][]string{},
		holds: map[string][]string{}, finished: map[string]bool{}, droppable: map[string]bool{}, commits: map[string]bool{},
		compact: make(chan struct{}, 1), compacted: make(chan struct{})}
	if j.flushEvery <= 0 {
		j.flushEvery = DefaultFlushEvery
	}
	j.cond = sync.NewCond(&j.mu)
	if a, ok := store.(blob.Appender); ok {
		as := &appendSink{store: store, app: a, prefix: prefix + attempt + "/"}
		if err := as.seal(ctx); err != nil {
			return nil, fail(err)
		}
		j.sink, j.waitSync = as, true
		j.flushEvery = 0
	} else {
		j.sink = &objectSink{store: store, prefix: prefix + attempt + "/"}
	}
	go j.flusher(context.WithoutCancel(ctx))
	if whole {
		close(j.compacted)
	} else {
		go j.compactor(context.WithoutCancel(ctx))
	}
	return j, nil
}

// Begin opens the journal of an attempt and writes its run entry (the
// attempt's id and start, the run's first start), which is on storage when
// Begin returns, on every store: on S3 a checkpoint is written at once
// instead of after the first interval. A later attempt must learn that this
// one ran, and so reconcile with the API, even when this one dies in its
// first seconds: else the verifications it started are started again.
func Begin(ctx context.Context, store blob.Store, prefix, attempt string, started, runStart time.Time, flushEvery time.Duration) (*Writer, error) {
	if runStart.IsZero() {
		runStart = started
	}
	j, err := Open(ctx, store, prefix, attempt, flushEvery)
	if err != nil {
		return nil, err
	}
	err = j.Append(ctx, Entry{Type: TypeRun, Time: started.UTC(), Attempt: attempt, RunStart: runStart.UTC()})
	if err == nil {
		err = j.Sync(ctx)
	}
	if err != nil {
		_ = j.Close()
		return nil, err
	}
	return j, nil
}

// fail makes err the journal's error: fault.Abort, named "journal".
func fail(err error) error {
	return fault.Mark(fault.Abort, fmt.Errorf("journal: %w", err))
}

// Append adds an entry, stamped with the format version and, when it has
// none, the current time. A durable entry (Entry.Durable) is on storage when
// Append returns where the store can append; elsewhere it is in the next
// checkpoint (see Sync).
func (j *Writer) Append(ctx context.Context, e Entry) error {
	e.V = Version
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	line, err := encode(e)
	if err != nil {
		return fail(fmt.Errorf("encode entry: %w", err))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if j.closing {
		return fail(errors.New("closed"))
	}
	j.buf = append(append(j.buf, line...), '\n')
	j.seq++
	if e.Type == TypeFinal && !j.whole {
		// Its result is needed until the record's row is committed.
		j.bufFinals = append(j.bufFinals, e.Record)
		j.pending[e.Record] = true
		if e.Final != nil && e.Final.Outcome != outcomeError {
			j.finished[e.Record] = true
		} else {
			delete(j.finished, e.Record)
		}
	}
	if e.Record != "" && !j.whole {
		j.bufRecs = append(j.bufRecs, e.Record)
	}
	if e.Type == TypeCommitted {
		j.bufCommits = true
	}
	my := j.seq
	j.cond.Broadcast()
	if !e.Durable() || !j.waitSync {
		return nil
	}
	for j.synced < my && j.err == nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.cond.Wait()
	}
	return j.err
}

// encode renders an entry as one line, without escaping HTML characters, so
// that a process answer is kept as the API sent it (compacted).
func encode(e Entry) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Committed records that a committed Parquet part holds these records' rows.
// It has the form of report.WriterConfig.OnCommit. The entry is a shortcut
// for the next resume (the parts themselves say what is committed), so it is
// not waited for; a journal that cannot take it fails at its next durable
// entry.
//
// Once a part is committed the results of its rows are no longer needed in
// the journal: the compactor removes their final entries (compact.go).
func (j *Writer) Committed(part string, recordIDs []string) {
	_ = j.Append(context.Background(), Entry{Type: TypeCommitted, Records: recordIDs, Part: part})
	if j.whole {
		return
	}
	j.mu.Lock()
	for _, id := range recordIDs {
		delete(j.pending, id)
		if j.finished[id] {
			delete(j.finished, id)
			j.droppable[id] = true
		}
	}
	j.mu.Unlock()
	j.kickCompactor()
}

// Sync returns once every entry appended before it is on storage. Where the
// store appends, durable appends already wait for their write, so that is at
// most one sync away; elsewhere it writes a checkpoint now instead of at the
// next interval.
func (j *Writer) Sync(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	my := j.seq
	if j.synced >= my || j.err != nil {
		return j.err
	}
	select {
	case j.kick <- struct{}{}:
	default: // a checkpoint is already asked for; it takes everything buffered
	}
	for j.synced < my && j.err == nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.cond.Wait()
	}
	return j.err
}

// Mark returns how many entries were appended so far: an entry appended
// before the call is on storage once Await(Mark()) returns.
func (j *Writer) Mark() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// Await returns once the first mark entries are on storage, without asking
// for a checkpoint: where the store cannot append it waits for the next
// periodic one (at most the flush interval), so that however many records
// are finishing, a shard writes one checkpoint per interval. Where the store
// appends, durable entries are on storage when Append returns, and the rest
// follow with the next write.
//
// It is Sync for callers that can wait: deleting a dossier waits for the
// final entry of its record this way (the pipeline's deleters), and a
// dossier deleted a second later costs nothing, while a checkpoint per
// record cost an S3 PUT per record.
func (j *Writer) Await(ctx context.Context, mark uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.synced >= mark || j.err != nil {
		return j.err
	}
	stop := context.AfterFunc(ctx, func() {
		j.mu.Lock()
		j.cond.Broadcast()
		j.mu.Unlock()
	})
	defer stop()
	for j.synced < mark && j.err == nil && !j.flusherGone {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		j.cond.Wait()
	}
	if j.err == nil && j.synced < mark {
		return fail(errors.New("closed before the entries were written"))
	}
	return j.err
}

// flusher writes buffered entries: at once where the store appends (group
// commit: the entries that arrive during one sync go together in the next
// write), every flushEvery for checkpoint objects, or at once when Sync asks.
func (j *Writer) flusher(ctx context.Context) {
	defer close(j.done)
	defer func() {
		j.mu.Lock()
		j.flusherGone = true
		j.cond.Broadcast()
		j.mu.Unlock()
	}()
	var tick <-chan time.Time
	if j.flushEvery > 0 {
		t := time.NewTicker(j.flushEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		if tick != nil {
			select {
			case <-tick:
			case <-j.kick:
			case <-j.closed:
			}
		}
		j.mu.Lock()
		for tick == nil && len(j.buf) == 0 && !j.closing && !j.rotate {
			j.cond.Wait()
		}
		closing, rotate := j.closing, j.rotate
		data, upTo, finals, recs, commits := j.buf, j.seq, j.bufFinals, j.bufRecs, j.bufCommits
		j.buf, j.bufFinals, j.bufRecs, j.writing, j.bufCommits = nil, nil, nil, recs, false
		j.mu.Unlock()

		var err error
		var key string
		if len(data) > 0 {
			key, err = j.sink.write(ctx, data)
		}
		if err == nil && rotate {
			err = j.sink.seal(ctx)
		}

		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = fail(err)
		}
		if err == nil {
			j.synced = upTo
			j.track(key, finals, recs, commits)
		}
		j.writing = nil
		if rotate {
			j.rotate = false
			j.rotations++
		}
		j.cond.Broadcast()
		stop := j.err != nil || (closing && len(j.buf) == 0)
		j.mu.Unlock()
		if stop {
			return
		}
	}
}

// Close writes what is buffered and closes the journal.
func (j *Writer) Close() error {
	j.mu.Lock()
	if j.closing {
		j.mu.Unlock()
		return fail(errors.New("closed twice"))
	}
	j.closing = true
	j.cond.Broadcast()
	j.mu.Unlock()
	close(j.closed)
	<-j.done
	<-j.compacted
	cerr := j.sink.close()
	j.mu.Lock()
	failed := j.err
	j.mu.Unlock()
	if failed != nil {
		return failed
	}
	if cerr != nil {
		return fail(cerr)
	}
	if j.whole {
		return nil
	}
	// Nothing is written any more: the last pass takes every final entry
	// whose row is committed out of the journal, the last object included.
	return j.compactPass(context.Background(), false)
}

// segmentKey names an attempt's n-th journal object.
func segmentKey(prefix string, n int) string { return fmt.Sprintf("%s%08d.jsonl", prefix, n) }

// appendSink appends to the attempt's current segment object and syncs every
// write; seal starts the next one.
type appendSink struct {
	store  blob.Store
	app    blob.Appender // store, appending
	prefix string
	n      int
	key    string
	w      blob.AppendWriter
	empty  bool // nothing written to the current segment
}

func (s *appendSink) write(_ context.Context, data []byte) (string, error) {
	s.empty = false
	if _, err := s.w.Write(data); err != nil {
		return "", err
	}
	return s.key, s.w.Sync()
}

func (s *appendSink) current() string { return s.key }

func (s *appendSink) seal(ctx context.Context) error {
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			return err
		}
		s.w = nil
	}
	s.n++
	key := segmentKey(s.prefix, s.n)
	w, err := s.app.Append(ctx, key)
	if err != nil {
		return err
	}
	s.key, s.w, s.empty = key, w, true
	return nil
}

// close closes the current segment, and removes it when a seal left it
// empty (the reader skips an empty one; this only keeps the folder tidy).
func (s *appendSink) close() error {
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	if err == nil && s.empty && s.n > 1 {
		err = s.store.Delete(context.Background(), s.key)
	}
	return err
}

// objectSink writes each batch as the next checkpoint object.
type objectSink struct {
	store  blob.Store
	prefix string
	n      int
}

func (s *objectSink) write(ctx context.Context, data []byte) (string, error) {
	s.n++
	key := segmentKey(s.prefix, s.n)
	return key, s.store.Put(ctx, key, data)
}

func (s *objectSink) current() string { return "" }

func (s *objectSink) seal(context.Context) error { return nil }

func (s *objectSink) close() error { return nil }

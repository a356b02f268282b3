package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"reverify/internal/blob"
	"reverify/internal/report"
)

// JournalPrefix is the journal folder of a run shard, below the output root.
func JournalPrefix(runID string, shard, count int) string {
	return report.ShardPrefix(runID, shard, count) + "journal/"
}

// StoreJournal writes the journal of one attempt below the output root.
//
// On a local output it is one append-only file per attempt
// (journal/<attempt>.jsonl), written by group commit: a durable Append
// returns after the write that holds it was fsynced.
//
// On S3 it is a series of checkpoint objects (journal/<attempt>/<seq>.jsonl),
// one per FlushEvery (default 2 s) holding the entries since the previous
// one; Append does not wait for them. A crash loses at most the last
// interval, and reconciliation with the API's process list recovers what the
// lost entries said — as long as the API still holds it: before a step that
// destroys the API's copy (deleting a dossier), the pipeline calls Sync,
// which writes a checkpoint at once (group commit: every entry buffered
// goes in it) and waits for it.
type StoreJournal struct {
	flushEvery time.Duration
	sink       journalSink
	waitSync   bool
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
}

type journalSink interface {
	write(ctx context.Context, data []byte) error
	close() error
}

// OpenJournal starts the journal of an attempt in store (the output root).
func OpenJournal(ctx context.Context, store blob.Store, runID string, shard, count int, attempt string, flushEvery time.Duration) (*StoreJournal, error) {
	prefix := JournalPrefix(runID, shard, count)
	j := &StoreJournal{flushEvery: flushEvery, kick: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{})}
	if j.flushEvery <= 0 {
		j.flushEvery = 2 * time.Second
	}
	j.cond = sync.NewCond(&j.mu)
	if local, ok := store.(*blob.Local); ok {
		path := filepath.Join(local.Root(), filepath.FromSlash(prefix), attempt+".jsonl")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		j.sink, j.waitSync = &fileSink{f: f}, true
		j.flushEvery = 0
	} else {
		j.sink = &objectSink{store: store, prefix: prefix + attempt + "/"}
	}
	go j.flusher(context.WithoutCancel(ctx))
	return j, nil
}

// BeginAttempt opens the journal of the next attempt of a run shard, given
// what earlier attempts left (resume), and returns it with the attempt's id.
// The id starts with the attempt's number, so the journal folder lists the
// attempts in the order they ran, which is the order ReadJournal folds them.
// The run entry (attempt id, this attempt's start, the run's first start) is
// on storage when it returns, on every store: on S3 a checkpoint is written
// at once instead of after the first interval. A later attempt must learn
// that this one ran, and so reconcile with the API, even when this one dies
// in its first seconds: else the verifications it started are started again.
func BeginAttempt(ctx context.Context, store blob.Store, runID string, shard, count int, resume *ResumeState,
	started time.Time, flushEvery time.Duration) (*StoreJournal, string, error) {
	attempt := report.AttemptID(resume.Attempts+1, started)
	runStart := resume.RunStart
	if runStart.IsZero() {
		runStart = started
	}
	j, err := OpenJournal(ctx, store, runID, shard, count, attempt, flushEvery)
	if err != nil {
		return nil, "", err
	}
	err = j.Append(ctx, Entry{Type: EntryRun, Time: started.UTC(), Attempt: attempt, RunStart: runStart.UTC()}, true)
	if err == nil {
		err = j.Sync(ctx)
	}
	if err != nil {
		_ = j.Close()
		return nil, "", err
	}
	return j, attempt, nil
}

// Append implements Journal.
// The entry is stamped with the format version this journal writes (and
// ReadJournal reads), and with the current time when it has none.
func (j *StoreJournal) Append(ctx context.Context, e Entry, durable bool) error {
	e.V = JournalVersion
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode entry: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if j.closing {
		return errors.New("journal closed")
	}
	j.buf = append(append(j.buf, line...), '\n')
	j.seq++
	my := j.seq
	j.cond.Broadcast()
	if !durable || !j.waitSync {
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

// Sync returns once every entry appended before it is on storage. On a
// file, where durable appends already wait for their fsync, that is at most
// one fsync away; on an object store it writes a checkpoint now instead of
// at the next interval.
func (j *StoreJournal) Sync(ctx context.Context) error {
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

// flusher writes buffered entries: at once for a file (group commit: the
// entries that arrive during one fsync go together in the next), every
// flushEvery for checkpoint objects, or at once when Sync asks.
func (j *StoreJournal) flusher(ctx context.Context) {
	defer close(j.done)
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
		for tick == nil && len(j.buf) == 0 && !j.closing {
			j.cond.Wait()
		}
		closing := j.closing
		data, upTo := j.buf, j.seq
		j.buf = nil
		j.mu.Unlock()

		var err error
		if len(data) > 0 {
			err = j.sink.write(ctx, data)
		}

		j.mu.Lock()
		if err != nil && j.err == nil {
			j.err = fmt.Errorf("journal: %w", err)
		}
		if err == nil {
			j.synced = upTo
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
func (j *StoreJournal) Close() error {
	j.mu.Lock()
	if j.closing {
		j.mu.Unlock()
		return errors.New("journal: closed twice")
	}
	j.closing = true
	j.cond.Broadcast()
	j.mu.Unlock()
	close(j.closed)
	<-j.done
	cerr := j.sink.close()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if cerr != nil {
		return fmt.Errorf("journal: %w", cerr)
	}
	return nil
}

type fileSink struct{ f *os.File }

func (s *fileSink) write(_ context.Context, data []byte) error {
	if _, err := s.f.Write(data); err != nil {
		return err
	}
	return s.f.Sync()
}

func (s *fileSink) close() error { return s.f.Close() }

type objectSink struct {
	store  blob.Store
	prefix string
	n      int
}

func (s *objectSink) write(ctx context.Context, data []byte) error {
	s.n++
	return s.store.Put(ctx, fmt.Sprintf("%s%08d.jsonl", s.prefix, s.n), data)
}

func (s *objectSink) close() error { return nil }

// ReadJournal folds every earlier attempt's journal of a run shard into a
// ResumeState. Lines that do not decode (a line cut by a crash) are skipped;
// entries of an unknown version are an error.
func ReadJournal(ctx context.Context, store blob.Store, runID string, shard, count int) (*ResumeState, error) {
	prefix := JournalPrefix(runID, shard, count)
	var keys []string
	err := store.List(ctx, prefix, func(o blob.Object) error {
		if strings.HasSuffix(o.Key, ".jsonl") {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	// Attempt ids start with their number (report.AttemptID): sorting the
	// keys puts the attempts in the order they ran, and each attempt's
	// checkpoints in order. The fold depends on it: a later attempt's
	// entries must come after an earlier one's.
	sort.Strings(keys)
	st := &ResumeState{Records: map[string]*RecordState{}}
	attempts := map[string]bool{}
	for _, key := range keys {
		if err := readJournalObject(ctx, store, key, st, attempts); err != nil {
			return nil, err
		}
	}
	st.Attempts = len(attempts)
	return st, nil
}

func readJournalObject(ctx context.Context, store blob.Store, key string, st *ResumeState, attempts map[string]bool) error {
	rc, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("read journal %s: %w", store.KeyURI(key), err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var e Entry
			if jerr := json.Unmarshal(line, &e); jerr == nil {
				if e.V != JournalVersion {
					return fmt.Errorf("read journal %s: entry version %d (this reverify reads version %d)", store.KeyURI(key), e.V, JournalVersion)
				}
				st.apply(&e)
				if e.Type == EntryRun {
					attempts[e.Attempt] = true
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read journal %s: %w", store.KeyURI(key), err)
		}
	}
}

// apply folds one entry in.
func (st *ResumeState) apply(e *Entry) {
	if e.Type == EntryRun {
		if !e.RunStart.IsZero() && (st.RunStart.IsZero() || e.RunStart.Before(st.RunStart)) {
			st.RunStart = e.RunStart
		}
		return
	}
	if e.Type == EntryCommitted {
		for _, id := range e.Records {
			r := st.record(id)
			r.Committed, r.Row = true, nil // the row is in Parquet: drop it
		}
		return
	}
	r := st.record(e.Record)
	switch e.Type {
	case EntryDossier:
		if r.Dossier != e.Dossier {
			*r = RecordState{Dossier: e.Dossier, Committed: r.Committed}
		}
	case EntryProcess:
		r.Dossier, r.Process, r.Pages, r.Started = e.Dossier, e.Process, e.Pages, false
	case EntryStarted:
		r.Dossier, r.Process, r.Started = e.Dossier, e.Process, true
	case EntryFinal:
		if !r.Committed && e.Row != nil {
			if string(e.Row.ResultJSON) == "null" {
				e.Row.ResultJSON = nil // JSON null is a NULL column, not the text "null"
			}
			r.Row = e.Row
		}
	case EntryDeleted:
		r.Deleted = true
	}
}

func (st *ResumeState) record(id string) *RecordState {
	r := st.Records[id]
	if r == nil {
		r = &RecordState{}
		st.Records[id] = r
	}
	return r
}

// MarkCommitted records that these records have committed rows (from the
// Parquet parts themselves, the source of truth).
func (st *ResumeState) MarkCommitted(id string) {
	r := st.record(id)
	r.Committed, r.Row = true, nil
}

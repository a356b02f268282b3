package journal

// Compaction: a final entry holds the API's answer — the person's name,
// birth date, document number — because the row is made from it if the
// attempt dies before the row is committed. Once a committed Parquet part
// holds the row, the entry is no longer needed, and it is taken out of the
// journal: every journal object holding final entries whose rows are all
// committed is written again without them (atomically: a local temp file
// renamed over it, an S3 object replaced whole). Everything else in it —
// the ids of dossiers and processes, the committed entries — stays, so a
// resume folds the same state (a committed record's final is dropped by the
// fold anyway: State.MarkCommitted).
//
// The compactor runs beside the pipeline, a pass after each commit (passes
// coalesce under load, like group commit), and a last pass at Close, when
// nothing is written any more. Objects of earlier attempts (Adopt) are
// compacted the same way. The window: a committed row's result stays in the
// journal until the pass after its commit, which on a local disk is
// milliseconds later; at the end of an attempt whose rows are all committed
// the journal holds no result at all. A final entry whose row is not
// committed (the attempt failed to write its part) stays, so that the next
// attempt writes the row without paying again.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"reverify/internal/blob"
)

// Adopt hands the writer the journal objects of earlier attempts that hold
// final entries (State.FinalObjects) and the records whose final entries are
// still needed: those whose rows are not committed (this attempt writes
// them, or polls again). Every other final entry in those objects is taken
// out at the compactor's next pass. Call it before the first Committed.
func (j *Writer) Adopt(objects, pending []string) {
	j.mu.Lock()
	for _, id := range pending {
		j.pending[id] = true
	}
	j.adopted = append(j.adopted, objects...)
	j.mu.Unlock()
	if len(objects) > 0 {
		j.kickCompactor()
	}
}

// Compact runs a compaction pass now and returns its error (the compactor
// runs them by itself; tests use it to observe the journal after one).
func (j *Writer) Compact(ctx context.Context) error {
	return j.compactPass(ctx, true)
}

func (j *Writer) kickCompactor() {
	select {
	case j.compact <- struct{}{}:
	default: // a pass is asked for already; it sees this too
	}
}

// track records, under j.mu, that object key holds the final entries of
// records; a record already committed makes the compactor look at it.
func (j *Writer) track(key string, records []string) {
	if key == "" || len(records) == 0 {
		return
	}
	j.tracked[key] = append(j.tracked[key], records...)
	for _, id := range records {
		if !j.pending[id] {
			j.kickCompactor()
			return
		}
	}
}

func (j *Writer) compactor(ctx context.Context) {
	defer close(j.compacted)
	for {
		select {
		case <-j.compact:
		case <-j.closed:
			return
		}
		err := j.compactPass(ctx, true)
		j.mu.Lock()
		j.cerr = err
		j.mu.Unlock()
	}
}

// compactPass rewrites every object holding a final entry no longer needed.
// live: the flusher still writes (the object it appends to is sealed first);
// otherwise (Close) every object may be rewritten as it is.
func (j *Writer) compactPass(ctx context.Context, live bool) error {
	j.passMu.Lock() // one pass at a time: two would rewrite one object at once
	defer j.passMu.Unlock()
	j.mu.Lock()
	todo := j.adopted
	j.adopted = nil
	for key, records := range j.tracked {
		if slices.ContainsFunc(records, func(id string) bool { return !j.pending[id] }) {
			todo = append(todo, key)
		}
	}
	cur := j.sink.current()
	j.mu.Unlock()
	slices.Sort(todo)
	todo = slices.Compact(todo)

	var errs []error
	for _, key := range todo {
		if live && key == cur && cur != "" {
			if !j.sealCurrent() {
				j.requeue(key)
				continue // the flusher is ending: Close's pass takes it
			}
		}
		kept, err := j.rewrite(ctx, key)
		j.mu.Lock()
		switch {
		case err != nil:
			if _, ok := j.tracked[key]; !ok {
				j.adopted = append(j.adopted, key) // an earlier attempt's: try again
			}
			errs = append(errs, err)
		case len(kept) == 0:
			delete(j.tracked, key)
		default:
			j.tracked[key] = kept
		}
		j.mu.Unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return fail(fmt.Errorf("take committed results out: %w", err))
	}
	return nil
}

func (j *Writer) requeue(key string) {
	j.mu.Lock()
	if _, ok := j.tracked[key]; !ok {
		j.adopted = append(j.adopted, key)
	}
	j.mu.Unlock()
}

// sealCurrent asks the flusher to end the object it appends to and waits
// for it; false when the flusher ended first.
func (j *Writer) sealCurrent() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	want := j.rotations + 1
	j.rotate = true
	j.cond.Broadcast()
	for j.rotations < want && j.err == nil && !j.flusherGone {
		j.cond.Wait()
	}
	return j.rotations >= want
}

// rewrite writes object key again without the final entries of records no
// longer pending (and without lines cut by a crash: they decode to nothing
// and a cut final line may hold part of a result), and returns the records
// of the final entries it kept. An object with nothing to take out is left
// as it is.
func (j *Writer) rewrite(ctx context.Context, key string) ([]string, error) {
	rc, err := j.store.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", j.store.KeyURI(key), err)
	}
	defer rc.Close()
	w, err := j.store.Create(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", j.store.KeyURI(key), err)
	}
	var kept []string
	dropped := 0
	br := bufio.NewReaderSize(rc, 1<<20)
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			_ = w.Abort()
			return nil, fmt.Errorf("read %s: %w", j.store.KeyURI(key), rerr)
		}
		if len(line) > 0 {
			e, ok, derr := decode(line)
			keep := true
			switch {
			case derr != nil: // a version this reverify does not read: left as it is
			case !ok:
				keep = false
				if len(bytes.TrimSpace(line)) > 0 {
					dropped++
				}
			case e.Type == TypeFinal:
				j.mu.Lock()
				keep = j.pending[e.Record]
				j.mu.Unlock()
				if keep {
					kept = append(kept, e.Record)
				} else {
					dropped++
				}
			}
			if keep {
				if line[len(line)-1] != '\n' {
					line = append(line, '\n')
				}
				if _, err := w.Write(line); err != nil {
					_ = w.Abort()
					return nil, fmt.Errorf("rewrite %s: %w", j.store.KeyURI(key), err)
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if dropped == 0 {
		return kept, w.Abort()
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", j.store.KeyURI(key), err)
	}
	return kept, nil
}

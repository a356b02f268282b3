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
//
// A committed record that ended with an outcome of the API or a timeout
// (not an error) needs nothing of its entries any more: the parts say it is
// committed, and a timeout's row holds the ids a later attempt polls. Every
// entry of such a record in this attempt's objects is taken out too — its
// dossier, process, started, final and deleted entries — and so are the
// committed entries, a shortcut that a resume, which reads the parts, does
// not need. The journal keeps about nothing per committed record. An
// object left with nothing is deleted. The entries of an error row's
// record stay but for its final: reconciliation compares the process an
// earlier attempt journaled with the API's (see pipeline.LoadResume).
//
// So that a resume reads a bounded number of objects, once more than
// mergeAbove of this attempt's objects are sealed, the pass merges them into
// the newest of them (what is left of each, in order) and deletes the
// others. A crash between the two leaves the older ones beside the merged
// one: a reader folds their entries twice, which ends in the same state
// (each entry comes again, in the same order, after them).

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

// outcomeError is the outcome of an error row (report.OutcomeError).
const outcomeError = "error"

// mergeAbove is how many sealed objects of an attempt a pass leaves before
// it merges them into one.
const mergeAbove = 16

// Adopt hands the writer the journal objects of earlier attempts that hold
// final entries (State.FinalObjects) and the records whose final entries are
// still needed: those whose rows are not committed (this attempt writes
// them, or polls again). Every other final entry in those objects is taken
// out at the compactor's next pass. Call it before the first Committed.
func (j *Writer) Adopt(objects, pending []string) {
	if j.whole {
		return // nothing is compacted
	}
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
// finals, entries naming recs, and committed entries (commits); a record
// already committed, or a committed entry, makes the compactor look at it.
func (j *Writer) track(key string, finals, recs []string, commits bool) {
	if key == "" || j.whole {
		return
	}
	if commits {
		j.commits[key] = true
		j.kickCompactor()
	}
	if n := len(j.objs); n == 0 || j.objs[n-1] != key {
		j.objs = append(j.objs, key)
	}
	if len(recs) > 0 {
		j.holds[key] = append(j.holds[key], recs...)
	}
	if len(finals) > 0 {
		j.tracked[key] = append(j.tracked[key], finals...)
	}
	if slices.ContainsFunc(finals, func(id string) bool { return !j.pending[id] }) ||
		slices.ContainsFunc(recs, func(id string) bool { return j.droppable[id] }) {
		j.kickCompactor()
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
	for key, records := range j.holds {
		if slices.ContainsFunc(records, func(id string) bool { return j.droppable[id] }) {
			todo = append(todo, key)
		}
	}
	for key := range j.commits {
		todo = append(todo, key)
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
		res, err := j.rewrite(ctx, key)
		j.mu.Lock()
		_, ours := j.holds[key]
		switch {
		case err != nil:
			if _, ok := j.tracked[key]; !ok && !ours {
				j.adopted = append(j.adopted, key) // an earlier attempt's: try again
			}
			errs = append(errs, err)
		default:
			j.settle(key, res)
		}
		j.mu.Unlock()
	}
	if err := j.merge(ctx, live); err != nil {
		errs = append(errs, err)
	}
	j.mu.Lock()
	j.pruneDroppable()
	j.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fail(fmt.Errorf("take committed results out: %w", err))
	}
	return nil
}

// settle records, under j.mu, what a rewrite of key left (no committed
// entry: a rewrite drops them).
func (j *Writer) settle(key string, res rewritten) {
	delete(j.commits, key)
	if len(res.finals) == 0 {
		delete(j.tracked, key)
	} else {
		j.tracked[key] = res.finals
	}
	if _, ours := j.holds[key]; ours {
		j.holds[key] = res.recs
	}
	if res.gone {
		delete(j.tracked, key)
		delete(j.holds, key)
		j.objs = slices.DeleteFunc(j.objs, func(k string) bool { return k == key })
	}
}

// pruneDroppable forgets, under j.mu, the droppable records no object or
// buffer names any more, so that the set follows the records in flight,
// not the records done.
func (j *Writer) pruneDroppable() {
	if len(j.droppable) == 0 {
		return
	}
	named := map[string]bool{}
	for _, recs := range j.holds {
		for _, id := range recs {
			named[id] = true
		}
	}
	for _, ids := range [][]string{j.bufRecs, j.writing} {
		for _, id := range ids {
			named[id] = true
		}
	}
	for id := range j.droppable {
		if !named[id] {
			delete(j.droppable, id)
		}
	}
}

// merge folds this attempt's sealed objects into the newest of them once
// there are more than mergeAbove (live: the one the flusher appends to is
// not sealed and stays). The merged object is written whole, then the
// others are deleted.
func (j *Writer) merge(ctx context.Context, live bool) error {
	j.mu.Lock()
	sealed := slices.Clone(j.objs)
	if cur := j.sink.current(); live && cur != "" {
		sealed = slices.DeleteFunc(sealed, func(k string) bool { return k == cur })
	}
	j.mu.Unlock()
	if len(sealed) <= mergeAbove {
		return nil
	}
	into := sealed[len(sealed)-1]
	var data []byte
	for _, key := range sealed {
		b, err := j.readAll(ctx, key)
		if err != nil {
			return err
		}
		data = append(data, b...)
	}
	if err := j.store.Put(ctx, into, data); err != nil {
		return fmt.Errorf("merge into %s: %w", j.store.KeyURI(into), err)
	}
	j.mu.Lock()
	var finals, recs []string
	commits := false
	for _, key := range sealed {
		finals = append(finals, j.tracked[key]...)
		recs = append(recs, j.holds[key]...)
		commits = commits || j.commits[key]
	}
	j.settle(into, rewritten{finals: finals, recs: recs})
	if commits {
		j.commits[into] = true // a later pass drops them
	}
	j.mu.Unlock()
	for _, key := range sealed[:len(sealed)-1] {
		if err := j.store.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("merge: delete %s: %w", j.store.KeyURI(key), err)
		}
		j.mu.Lock()
		j.settle(key, rewritten{gone: true})
		j.mu.Unlock()
	}
	return nil
}

// readAll reads a whole object; a missing one is empty. Its last line ends
// with a newline.
func (j *Writer) readAll(ctx context.Context, key string) ([]byte, error) {
	rc, err := j.store.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", j.store.KeyURI(key), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", j.store.KeyURI(key), err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b, nil
}

// rewritten is what a rewrite left in an object: the records of its final
// entries and the records its entries name; gone: nothing, and it was
// deleted.
type rewritten struct {
	finals, recs []string
	gone         bool
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
// longer pending, without every entry of droppable records (and their ids
// in committed entries), and without lines cut by a crash (they decode to
// nothing and a cut final line may hold part of a result). An object with
// nothing to take out is left as it is; one with nothing left is deleted.
func (j *Writer) rewrite(ctx context.Context, key string) (rewritten, error) {
	var res rewritten
	rc, err := j.store.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		res.gone = true
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("read %s: %w", j.store.KeyURI(key), err)
	}
	defer rc.Close()
	var out bytes.Buffer
	dropped, kept := 0, 0
	br := bufio.NewReaderSize(rc, 1<<20)
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return res, fmt.Errorf("read %s: %w", j.store.KeyURI(key), rerr)
		}
		if len(line) > 0 {
			newLine, keep := j.filter(line, &res)
			switch {
			case keep:
				kept++
				if !bytes.Equal(newLine, line) {
					dropped++ // a committed entry that lost ids: written again
				}
				if newLine[len(newLine)-1] != '\n' {
					newLine = append(newLine, '\n')
				}
				out.Write(newLine)
			case len(bytes.TrimSpace(line)) > 0:
				dropped++
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	switch {
	case dropped == 0:
		return res, nil
	case kept == 0:
		if err := j.store.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return res, fmt.Errorf("delete %s: %w", j.store.KeyURI(key), err)
		}
		res.gone = true
		return res, nil
	}
	if err := j.store.Put(ctx, key, out.Bytes()); err != nil {
		return res, fmt.Errorf("rewrite %s: %w", j.store.KeyURI(key), err)
	}
	return res, nil
}

// filter decides what of one line a rewrite keeps, noting in res the
// records the kept line names.
func (j *Writer) filter(line []byte, res *rewritten) ([]byte, bool) {
	e, ok, derr := decode(line)
	switch {
	case derr != nil:
		return line, true // a version this reverify does not read: left as it is
	case !ok:
		return line, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case e.Type == TypeCommitted:
		return line, false // the parts say the same
	case e.Record != "" && j.droppable[e.Record]:
		return line, false
	case e.Type == TypeFinal:
		if !j.pending[e.Record] {
			return line, false
		}
		res.finals = append(res.finals, e.Record)
	}
	if e.Record != "" {
		res.recs = append(res.recs, e.Record)
	}
	return line, true
}

package report

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"reverify/internal/blob"
)

// A later attempt may write a record's row again: a `timeout` row's process
// re-polled to its final status, an `error` row redriven. The new row
// supersedes the old: every row of a record that a later attempt also wrote
// is removed by rewriting the part that holds it (Supersede), so one glob
// over the output gives one row per record. Rows of the same attempt never
// supersede each other.
//
// What a row is the row of is its key (Row.Key): its record — except the row
// of a listing's repeated record ID (skipped, duplicate_record), which is its
// line's: it never stands for the record's own row, neither in resuming nor
// in superseding.

// SkipDuplicateRecord is the skip reason of a row written for a repeated
// record ID (source.CodeDuplicateRecord; a pipeline test holds them equal).
const SkipDuplicateRecord = "duplicate_record"

// RowKey is the key of a row: its record ID, or for a repeated record ID's
// row DuplicateKey(origin).
func RowKey(recordID, origin string, skipReasons []string) string {
	if slices.Contains(skipReasons, SkipDuplicateRecord) {
		return DuplicateKey(origin)
	}
	return recordID
}

// DuplicateKey is the key of the row of a repeated record ID's line; no
// record ID has it (record IDs hold no NUL).
func DuplicateKey(origin string) string { return "\x00duplicate " + origin }

// Key is the row's key (RowKey).
func (r *Row) Key() string { return RowKey(r.RecordID, r.Origin, r.SkipReasons) }

// CommittedRow is what resuming needs of a committed row.
type CommittedRow struct {
	RecordID    string   `parquet:"record_id"`
	Origin      string   `parquet:"origin"`
	SkipReasons []string `parquet:"skip_reasons,list"`
	Outcome     string   `parquet:"outcome"`
	ErrorCode   string   `parquet:"error_code"`
	DossierID   *string  `parquet:"dossier_id,optional"`
	ProcessID   *string  `parquet:"process_id,optional"`
}

// Key is the row's key (RowKey).
func (r *CommittedRow) Key() string { return RowKey(r.RecordID, r.Origin, r.SkipReasons) }

// CommittedPart is a committed part as EachCommittedRow reads it.
type CommittedPart struct {
	PartInfo
	// RewrittenFrom is the key of the part this one was rewritten from
	// (Supersede), "" for a part the writer wrote.
	RewrittenFrom string
}

// Metadata keys of a rewritten part (besides reverify.run_id and
// reverify.attempt, the attempt whose rows it holds).
const (
	metaRewrittenFrom = "reverify.rewritten_from"
	metaRewrittenBy   = "reverify.rewritten_by"
)

// EachCommittedRow calls fn for every committed row of a run shard, part by
// part in the order they were written — attempt after attempt (attempt ids
// begin with their number), then by seq — so a later attempt's row of a
// record comes after an earlier one's. (A rewritten part keeps the attempt
// of its rows.) Only the columns of CommittedRow are decoded.
func EachCommittedRow(ctx context.Context, store blob.Store, runID string, shard, count int, fn func(part CommittedPart, r CommittedRow) error) error {
	parts, err := shardParts(ctx, store, runID, shard, count)
	if err != nil {
		return err
	}
	sortParts(parts)
	for _, p := range parts {
		err := readPartFile(ctx, store, p.Key, func(f *parquet.File, uri string) error {
			cp := CommittedPart{PartInfo: p}
			cp.RewrittenFrom, _ = f.Lookup(metaRewrittenFrom)
			return readFileAs(ctx, f, uri, func(rows []CommittedRow) error {
				for _, r := range rows {
					if err := fn(cp, r); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SupersedeResult says what Supersede did.
type SupersedeResult struct {
	Rows      int // superseded rows removed
	Rewritten int // parts rewritten without them
	Deleted   int // parts whose every row was superseded, deleted
	Repaired  int // parts left by a rewrite cut short, deleted
}

// Supersede removes, from the parts of a run shard, every row whose key a
// later attempt also wrote; attempt (the one calling) is recorded in the
// rewritten parts. A part holding such rows is rewritten without them —
// written whole as a new part of the same attempt (the next free seq of that
// attempt, its metadata naming the part it replaces), then the old part
// deleted — or deleted when nothing of it is left. Between the two steps a
// reader sees the kept rows twice, in the old part and the new; a crash there
// leaves both, and the next call deletes the old, which the new names.
func Supersede(ctx context.Context, store blob.Store, runID string, shard, count int, attempt string) (SupersedeResult, error) {
	var res SupersedeResult
	// First pass: the parts, and the latest attempt that wrote each key —
	// kept only for the keys of rows after the first attempt's (a first
	// attempt's row is superseded only by a later one), as 128-bit hashes:
	// the memory follows the rows later attempts wrote again, not the
	// shard's size (collisions: about n²/2¹²⁹, never in practice).
	var parts []CommittedPart
	latest := map[keyHash]string{}
	first := ""
	err := EachCommittedRow(ctx, store, runID, shard, count, func(p CommittedPart, r CommittedRow) error {
		if len(parts) == 0 || parts[len(parts)-1].Key != p.Key {
			parts = append(parts, p)
			if first == "" || p.Attempt < first {
				first = p.Attempt // parts come attempt after attempt: the first is first
			}
		}
		if p.Attempt == first {
			return nil
		}
		h := hashKey(r.Key())
		if a, ok := latest[h]; !ok || p.Attempt > a {
			latest[h] = p.Attempt
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("supersede: %w", err)
	}
	// A rewrite cut short: the new part is complete (parts are committed
	// whole), the old one it names is deleted now. Their rows are of the
	// same attempt, so which rows are latest does not change.
	exists := map[string]bool{}
	next := map[string]int{} // the next free seq of each attempt
	for _, p := range parts {
		exists[p.Key] = true
		next[p.Attempt] = max(next[p.Attempt], p.Seq+1)
	}
	gone := map[string]bool{}
	for _, p := range parts {
		if p.RewrittenFrom != "" && exists[p.RewrittenFrom] && !gone[p.RewrittenFrom] {
			if err := store.Delete(ctx, p.RewrittenFrom); err != nil {
				return res, fmt.Errorf("supersede: delete %s: %w", store.KeyURI(p.RewrittenFrom), err)
			}
			gone[p.RewrittenFrom] = true
			res.Repaired++
		}
	}
	if len(latest) == 0 {
		return res, nil // one attempt's rows: nothing supersedes anything
	}
	// Second pass, part by part: the keys of each part that a later attempt
	// wrote again.
	for _, p := range parts {
		if gone[p.Key] {
			continue
		}
		old := map[string]bool{}
		total := 0
		err := readPartFile(ctx, store, p.Key, func(f *parquet.File, uri string) error {
			return readFileAs(ctx, f, uri, func(rows []CommittedRow) error {
				for i := range rows {
					total++
					k := rows[i].Key()
					if a, ok := latest[hashKey(k)]; ok && a > p.Attempt {
						old[k] = true
					}
				}
				return nil
			})
		})
		if err != nil {
			return res, fmt.Errorf("supersede: %w", err)
		}
		if len(old) == 0 {
			continue
		}
		key := PartKey(runID, shard, count, next[p.Attempt], p.Attempt)
		kept, err := rewritePart(ctx, store, p.PartInfo, old, key, runID, attempt)
		if err != nil {
			return res, err
		}
		res.Rows += total - kept
		if kept > 0 {
			res.Rewritten++
			next[p.Attempt]++
		} else {
			res.Deleted++
		}
		if err := store.Delete(ctx, p.Key); err != nil {
			return res, fmt.Errorf("supersede: delete %s: %w", store.KeyURI(p.Key), err)
		}
	}
	return res, nil
}

// keyHash is a row key's 128-bit FNV-1a hash.
type keyHash [16]byte

func hashKey(k string) keyHash {
	h := fnv.New128a()
	h.Write([]byte(k))
	var out keyHash
	h.Sum(out[:0])
	return out
}

// rewritePart writes the rows of p whose key is not in drop to key, as rows
// of p's attempt rewritten by attempt, and returns how many it kept (none:
// nothing is written).
func rewritePart(ctx context.Context, store blob.Store, p PartInfo, drop map[string]bool, key, runID, attempt string) (int, error) {
	var keep []Row
	err := readPart(ctx, store, p.Key, func(r Row) error {
		if !drop[r.Key()] {
			keep = append(keep, r)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("supersede: %w", err)
	}
	if len(keep) == 0 {
		return 0, nil
	}
	w, err := store.Create(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("supersede: create %s: %w", store.KeyURI(key), err)
	}
	pq := parquet.NewGenericWriter[Row](w, parquet.Compression(newZstdCodec()),
		parquet.MaxRowsPerRowGroup(DefaultRowGroupRows),
		parquet.KeyValueMetadata("reverify.run_id", runID),
		parquet.KeyValueMetadata("reverify.attempt", p.Attempt),
		parquet.KeyValueMetadata(metaRewrittenFrom, p.Key),
		parquet.KeyValueMetadata(metaRewrittenBy, attempt))
	for i := range keep {
		keep[i].normalize(time.Now())
	}
	if _, err := pq.Write(keep); err == nil {
		err = pq.Close()
	}
	if err != nil {
		_ = w.Abort()
		return 0, fmt.Errorf("supersede: write %s: %w", store.KeyURI(key), err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("supersede: commit %s: %w", store.KeyURI(key), err)
	}
	return len(keep), nil
}

// sortParts orders parts as they were written: attempt, then seq.
func sortParts(parts []PartInfo) {
	slices.SortFunc(parts, func(a, b PartInfo) int {
		if c := strings.Compare(a.Attempt, b.Attempt); c != 0 {
			return c
		}
		return a.Seq - b.Seq
	})
}

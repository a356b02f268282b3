package report

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"reverify/internal/blob"
)

// Keys below the output root. See the package documentation for the layout.
const (
	// RunsPrefix is the folder of every run below the output root.
	RunsPrefix = "runs/"
	// SummaryName is the file name of a shard's summary. The leading
	// underscore marks it as metadata for Hive-style readers (Athena/Trino,
	// Spark skip files starting with '_' or '.'), so a table over the parts'
	// folders reads only Parquet.
	SummaryName = "_summary.json"
	// PartExt is the file extension of a part.
	PartExt = ".parquet"

	maxIDLen = 128
)

// ValidateRunID checks that a run id is safe as a path segment and readable
// in logs: 1 to 128 letters, digits, '-', '_' or '.', not starting with '.'.
func ValidateRunID(id string) error {
	if err := validateID(id); err != nil {
		return fmt.Errorf("run id %q: %w", id, err)
	}
	return nil
}

// validateAttempt checks an attempt id with the same rule as run ids. Any
// such id parses back from a part name: the sequence comes first and has no
// '-'.
func validateAttempt(id string) error {
	if err := validateID(id); err != nil {
		return fmt.Errorf("attempt id %q: %w", id, err)
	}
	return nil
}

func validateID(id string) error {
	switch {
	case id == "":
		return errors.New("empty")
	case len(id) > maxIDLen:
		return fmt.Errorf("longer than %d characters", maxIDLen)
	case id[0] == '.':
		return errors.New("must not start with '.'")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("invalid character %q (use letters, digits, '-', '_', '.')", c)
		}
	}
	return nil
}

// validateShard checks 0 <= shard < count.
func validateShard(shard, count int) error {
	if count < 1 || shard < 0 || shard >= count {
		return fmt.Errorf("shard %d of %d: need 0 <= shard < count", shard, count)
	}
	return nil
}

// ShardPrefix is the folder of one shard of a run, with a trailing slash:
// `runs/<run_id>/shard-<K>-of-<N>/`.
func ShardPrefix(runID string, shard, count int) string {
	return RunsPrefix + runID + "/shard-" + strconv.Itoa(shard) + "-of-" + strconv.Itoa(count) + "/"
}

// RunPrefix is the folder of a run, with a trailing slash: `runs/<run_id>/`.
func RunPrefix(runID string) string { return RunsPrefix + runID + "/" }

// JournalPrefix is the folder of a shard's journal (internal/journal), with
// a trailing slash: `runs/<run_id>/shard-<K>-of-<N>/journal/`.
func JournalPrefix(runID string, shard, count int) string {
	return ShardPrefix(runID, shard, count) + "journal/"
}

// DossierLogPrefix is the folder of a shard's dossier log, with a trailing
// slash: `runs/<run_id>/shard-<K>-of-<N>/dossiers/`. It records every dossier
// an attempt created and every deletion with the API's answer (the evidence
// of deletion), in the journal's format, without personal data.
func DossierLogPrefix(runID string, shard, count int) string {
	return ShardPrefix(runID, shard, count) + "dossiers/"
}

// CleanupLogPrefix is the folder of the dossier log of `batch cleanup`:
// `runs/<run_id>/cleanup/dossiers/`.
func CleanupLogPrefix(runID string) string { return RunPrefix(runID) + "cleanup/dossiers/" }

// ResultKey is the key of a record's full-result zip:
// `runs/<run_id>/results/<name>.zip`, one flat object per record. The name
// is the record id with every byte outside A-Z a-z 0-9 . _ - written as %XX
// (so '/' and '%' too): different ids never share a key, whatever they hold
// ("..", "a//b", "_.."). An id whose name would pass 200 bytes — more than a
// local file name may hold — keeps the first 120 bytes of its name, then
// '~' (which an encoded name never holds) and the id's SHA-256: still one
// key per id.
func ResultKey(runID, recordID string) string {
	return RunPrefix(runID) + "results/" + resultName(recordID) + ".zip"
}

const (
	maxResultName  = 200 // bytes of an encoded name kept as is
	resultNameHead = 120 // bytes of it kept before the digest otherwise
)

func resultName(id string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	name := b.String()
	if len(name) <= maxResultName {
		return name
	}
	head := name[:resultNameHead]
	if i := strings.LastIndexByte(head[max(0, len(head)-2):], '%'); i >= 0 {
		head = head[:len(head)-2+i] // do not cut an escape in two
	}
	sum := sha256.Sum256([]byte(id))
	return head + "~" + hex.EncodeToString(sum[:])
}

// LeaseKey is the key of a shard's lease (internal/lease): a lock file
// locally, a lease object on S3.
func LeaseKey(runID string, shard, count int) string {
	return ShardPrefix(runID, shard, count) + "_lease"
}

// SummaryKey is the key of a shard's _summary.json.
func SummaryKey(runID string, shard, count int) string {
	return ShardPrefix(runID, shard, count) + SummaryName
}

// PartKey is the key of part seq of an attempt.
func PartKey(runID string, shard, count, seq int, attempt string) string {
	return fmt.Sprintf("%spart-%05d-%s%s", ShardPrefix(runID, shard, count), seq, attempt, PartExt)
}

// PartInfo is what a part's key says about it.
type PartInfo struct {
	Key        string // relative to the output root
	RunID      string
	Shard      int
	ShardCount int
	Seq        int
	Attempt    string
}

// ParsePartKey parses `runs/<run_id>/shard-<K>-of-<N>/part-<seq>-<attempt>.parquet`.
func ParsePartKey(key string) (PartInfo, bool) {
	rest, ok := strings.CutPrefix(key, RunsPrefix)
	if !ok {
		return PartInfo{}, false
	}
	segs := strings.Split(rest, "/")
	if len(segs) != 3 || validateID(segs[0]) != nil {
		return PartInfo{}, false
	}
	shard, count, ok := parseShardDir(segs[1])
	if !ok {
		return PartInfo{}, false
	}
	name, ok := strings.CutSuffix(segs[2], PartExt)
	if !ok {
		return PartInfo{}, false
	}
	name, ok = strings.CutPrefix(name, "part-")
	if !ok {
		return PartInfo{}, false
	}
	seqS, attempt, ok := strings.Cut(name, "-")
	if !ok || validateID(attempt) != nil {
		return PartInfo{}, false
	}
	seq, err := strconv.Atoi(seqS)
	if err != nil || seq < 0 {
		return PartInfo{}, false
	}
	return PartInfo{Key: key, RunID: segs[0], Shard: shard, ShardCount: count, Seq: seq, Attempt: attempt}, true
}

// parseShardDir parses `shard-<K>-of-<N>`.
func parseShardDir(s string) (shard, count int, ok bool) {
	rest, ok := strings.CutPrefix(s, "shard-")
	if !ok {
		return 0, 0, false
	}
	ks, ns, ok := strings.Cut(rest, "-of-")
	if !ok {
		return 0, 0, false
	}
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || validateShard(k, n) != nil {
		return 0, 0, false
	}
	return k, n, true
}

// parseSummaryKey parses `runs/<run_id>/shard-<K>-of-<N>/_summary.json`.
func parseSummaryKey(key string) (runID string, shard, count int, ok bool) {
	rest, ok := strings.CutPrefix(key, RunsPrefix)
	if !ok {
		return "", 0, 0, false
	}
	segs := strings.Split(rest, "/")
	if len(segs) != 3 || segs[2] != SummaryName || validateID(segs[0]) != nil {
		return "", 0, 0, false
	}
	shard, count, ok = parseShardDir(segs[1])
	return segs[0], shard, count, ok
}

// NewAttemptID returns a unique id for this process's attempt at a run:
// the UTC time (to the second) and 8 random hex digits, e.g.
// `20261127T010203Z-9f86d081`. Ids of later attempts sort after earlier
// ones only to the second: attempts that follow each other within a
// second sort at random. Resumable runs use AttemptID.
func NewAttemptID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// AttemptID returns the id of attempt number n (1 for the first) of a run
// shard: "a", n as at least six digits, then NewAttemptID(now), e.g.
// `a000003-20261127T010203Z-9f86d081`. The ids of a run shard's attempts
// sort in the order the attempts ran (attempt n+1 is made after reading
// the n before it), whatever the clocks say and however fast a crashed
// attempt is restarted; ids of the older form (no "a" prefix) sort first.
func AttemptID(n int, now time.Time) string {
	return fmt.Sprintf("a%06d-%s", max(n, 0), NewAttemptID(now))
}

// isPartKey reports whether key names a part (by its file name; temporary
// files of unfinished local writes start with '.').
func isPartKey(key string) bool {
	base := path.Base(key)
	return strings.HasSuffix(base, PartExt) && !strings.HasPrefix(base, ".")
}

// ShardID names one shard of a run.
type ShardID struct{ Shard, Count int }

// Shards lists the shards of a run that have anything in the output (parts,
// summaries, journals), in key order.
func Shards(ctx context.Context, store blob.Store, runID string) ([]ShardID, error) {
	if err := ValidateRunID(runID); err != nil {
		return nil, err
	}
	prefix := RunPrefix(runID)
	seen := map[ShardID]bool{}
	var out []ShardID
	err := store.List(ctx, prefix, func(o blob.Object) error {
		dir, _, ok := strings.Cut(strings.TrimPrefix(o.Key, prefix), "/")
		if !ok {
			return nil
		}
		if k, n, ok := parseShardDir(dir); ok && !seen[ShardID{k, n}] {
			seen[ShardID{k, n}] = true
			out = append(out, ShardID{k, n})
		}
		return nil
	})
	if err != nil && !missingLocalRoot(err) {
		return nil, fmt.Errorf("list shards under %s: %w", store.KeyURI(prefix), err)
	}
	return out, nil
}

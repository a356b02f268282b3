// Package sample chooses a seeded, stratified sample of an archive's
// records (run.sample, run.sample_seed): N records, or P percent, of a
// shard, each stratum — a previous status and a document id — given its
// share of the sample (largest remainders), and within a stratum every
// record the same chance. The choice depends only on the records, their
// order and the seed, so a resume of the run (the same archive: its
// definition says so) takes the same sample.
//
// It reads the archive twice: a first pass counts the strata (a count per
// distinct previous status and document id, nothing per record), the second
// hands over the chosen records, choosing in one pass by selection
// sampling (Knuth's Algorithm S, with each record's uniform draw a hash of
// the seed and its id).
package sample

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"reverify/internal/source"
)

// Spec is a parsed run.sample: Count records, or Percent of them.
type Spec struct {
	Count   int64
	Percent float64
}

// None reports whether s chooses every record (run.sample empty).
func (s Spec) None() bool { return s.Count == 0 && s.Percent == 0 }

func (s Spec) String() string {
	switch {
	case s.Count > 0:
		return strconv.FormatInt(s.Count, 10)
	case s.Percent > 0:
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	}
	return ""
}

// Parse reads run.sample: "" (every record), "N" (a positive count) or
// "P%" (0 < P ≤ 100).
func Parse(v string) (Spec, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Spec{}, nil
	}
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(f > 0 && f <= 100) {
			return Spec{}, fmt.Errorf("want N (a count) or P%% with 0 < P <= 100 (got %q)", v)
		}
		return Spec{Percent: f}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return Spec{}, fmt.Errorf("want N (a count > 0) or P%% with 0 < P <= 100 (got %q)", v)
	}
	return Spec{Count: n}, nil
}

// Lister is what a sample reads of an archive.
type Lister interface {
	Records(ctx context.Context, fn func(source.Record) error) error
	Load(ctx context.Context, r source.Record) (*source.Images, []source.Problem, error)
}

// Archive is an archive of which only the sample's records are listed. N
// is the shard's: keep tells the shard's records (nil: all).
type Archive struct {
	Lister
	spec Spec
	seed int64
	keep func(id string) bool

	mu         sync.Mutex
	population int64 // the shard's records, once counted
	chosen     int64
}

// New samples inner's records as spec says, with seed.
func New(inner Lister, spec Spec, seed int64, keep func(id string) bool) *Archive {
	return &Archive{Lister: inner, spec: spec, seed: seed, keep: keep}
}

// Population is the number of the shard's records the sample was chosen
// from, and the sample's size; both 0 before Records or Count ran.
func (a *Archive) Population() (population, chosen int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.population, a.chosen
}

func stratum(r *source.Record) string {
	return strings.ToLower(strings.TrimSpace(r.PreviousStatus)) + "\x00" + strconv.Itoa(r.DocumentID)
}

// plan counts the strata of the shard's records and returns how many to
// take of each.
func (a *Archive) plan(ctx context.Context) (map[string]*quota, error) {
	counts := map[string]*quota{}
	var total int64
	err := a.Lister.Records(ctx, func(r source.Record) error {
		if a.keep != nil && !a.keep(r.ID) {
			return nil
		}
		total++
		k := stratum(&r)
		q := counts[k]
		if q == nil {
			q = &quota{}
			counts[k] = q
		}
		q.size++
		return nil
	})
	if err != nil {
		return nil, err
	}
	target := a.spec.Count
	switch {
	case a.spec.Percent > 0:
		target = int64(math.Round(a.spec.Percent / 100 * float64(total)))
	case a.spec.None():
		target = total
	}
	target = min(target, total)
	// Largest remainders: each stratum its share, rounded down, then one
	// more to the strata with the largest fractions until target.
	keys := slices.Sorted(maps.Keys(counts))
	var given int64
	type rest struct {
		key  string
		frac float64
	}
	var rests []rest
	for _, k := range keys {
		q := counts[k]
		exact := float64(target) * float64(q.size) / float64(max(total, 1))
		q.take = int64(math.Floor(exact))
		given += q.take
		rests = append(rests, rest{k, exact - float64(q.take)})
	}
	slices.SortStableFunc(rests, func(x, y rest) int {
		switch {
		case x.frac > y.frac:
			return -1
		case x.frac < y.frac:
			return 1
		}
		return 0
	})
	for i := 0; given < target && i < len(rests); i++ {
		if q := counts[rests[i].key]; q.take < q.size {
			q.take++
			given++
		}
	}
	a.mu.Lock()
	a.population, a.chosen = total, target
	a.mu.Unlock()
	return counts, nil
}

type quota struct{ size, take, seen, taken int64 }

// Records hands over the sample's records of the shard, in the archive's
// order (the shard's other records are handed over too, for the caller's
// shard filter to drop: the sample only removes chosen-against records).
func (a *Archive) Records(ctx context.Context, fn func(source.Record) error) error {
	if a.spec.None() {
		return a.Lister.Records(ctx, fn)
	}
	counts, err := a.plan(ctx)
	if err != nil {
		return err
	}
	return a.Lister.Records(ctx, func(r source.Record) error {
		if a.keep != nil && !a.keep(r.ID) {
			return fn(r)
		}
		q := counts[stratum(&r)]
		if q == nil || q.seen >= q.size {
			// Not silently dropped: the sample would no longer be the one
			// counted.
			return fmt.Errorf("%w: sample: the archive changed between its two readings (more records of a previous status and document id than counted); rerun once it stays the same", source.ErrAbort)
		}
		// Algorithm S: take it with chance (still to take) / (still to see).
		left := q.size - q.seen
		q.seen++
		if q.taken >= q.take {
			return nil
		}
		if draw(a.seed, r.ID)*float64(left) >= float64(q.take-q.taken) {
			return nil
		}
		q.taken++
		return fn(r)
	})
}

// Count is the sample's size (pipeline.Counter: the progress total); the
// shard is the one New was given, as the pipeline's keep says too.
func (a *Archive) Count(ctx context.Context, _ func(id string) bool, _ func(n int64)) (int64, error) {
	if _, err := a.plan(ctx); err != nil {
		return 0, err
	}
	_, chosen := a.Population()
	return chosen, nil
}

// draw is a record's uniform number in [0, 1): a hash of the seed and its
// id.
func draw(seed int64, id string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(id))
	// splitmix64's finalizer: FNV alone mixes the last bytes of similar ids
	// (rec-000001, rec-000002) into too few bits.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

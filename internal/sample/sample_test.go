package sample

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/source"
)

// listed is an archive of records in memory (the sample's logic only).
type listed []source.Record

func (l listed) Records(_ context.Context, fn func(source.Record) error) error {
	for _, r := range l {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (listed) Load(context.Context, source.Record) (*source.Images, []source.Problem, error) {
	return nil, nil, nil
}

// 1,000 records in strata of 600 (accepted, doc 1), 300 (rejected, doc 1)
// and 100 (accepted, doc 2).
func archive() listed {
	var l listed
	for i := range 1000 {
		r := source.Record{ID: fmt.Sprintf("rec-%06d", i), PreviousStatus: "accepted", DocumentID: 1}
		switch {
		case i%10 == 3, i%10 == 6, i%10 == 9:
			r.PreviousStatus = "Rejected"
		case i%10 == 0:
			r.DocumentID = 2
		}
		l = append(l, r)
	}
	return l
}

func take(t *testing.T, a *Archive) map[string]int {
	t.Helper()
	per := map[string]int{}
	require.NoError(t, a.Records(context.Background(), func(r source.Record) error {
		per[fmt.Sprintf("%s/%d", r.PreviousStatus, r.DocumentID)]++
		return nil
	}))
	return per
}

func TestSampleIsStratifiedExactAndSeeded(t *testing.T) {
	arch := archive()
	a := New(arch, Spec{Count: 50}, 7, nil)
	assert.Equal(t, map[string]int{"accepted/1": 30, "Rejected/1": 15, "accepted/2": 5}, take(t, a), "each stratum its share")
	pop, chosen := a.Population()
	assert.EqualValues(t, 1000, pop)
	assert.EqualValues(t, 50, chosen)

	ids := func(seed int64, spec Spec) []string {
		var out []string
		require.NoError(t, New(arch, spec, seed, nil).Records(context.Background(), func(r source.Record) error {
			out = append(out, r.ID)
			return nil
		}))
		return out
	}
	assert.Equal(t, ids(7, Spec{Count: 50}), ids(7, Spec{Count: 50}), "the same seed, the same sample")
	assert.NotEqual(t, ids(7, Spec{Count: 50}), ids(8, Spec{Count: 50}), "another seed, another sample")
	assert.Len(t, ids(1, Spec{Percent: 10}), 100)
	assert.Len(t, ids(1, Spec{Count: 5000}), 1000, "at most every record")
	assert.Len(t, ids(1, Spec{}), 1000, "no sample: every record")

	// Uniform within a stratum: over many seeds, early and late records of
	// the largest stratum are taken about equally often.
	early, late := 0, 0
	for seed := range int64(200) {
		for _, id := range ids(seed, Spec{Count: 50}) {
			var n int
			fmt.Sscanf(id, "rec-%d", &n)
			if n < 500 {
				early++
			} else {
				late++
			}
		}
	}
	assert.InDelta(t, 1.0, float64(early)/float64(late), 0.1, "early %d, late %d", early, late)

	// Only the shard's records are sampled; the others pass through for
	// the shard filter.
	inShard := func(id string) bool { return id[len(id)-1]%2 == 0 }
	s := New(arch, Spec{Count: 20}, 3, inShard)
	n, others := 0, 0
	require.NoError(t, s.Records(context.Background(), func(r source.Record) error {
		if inShard(r.ID) {
			n++
		} else {
			others++
		}
		return nil
	}))
	assert.Equal(t, 20, n)
	assert.Equal(t, 500, others)
	c, err := s.Count(context.Background(), inShard, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 20, c)
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Spec{"": {}, "10": {Count: 10}, " 2.5% ": {Percent: 2.5}, "100%": {Percent: 100}} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"0", "-3", "x", "0%", "101%", "1.5", "%"} {
		_, err := Parse(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "12.5%", Spec{Percent: 12.5}.String())
}

// growing lists one more record at each reading.
type growing struct{ n *int }

func (g growing) Records(_ context.Context, fn func(source.Record) error) error {
	*g.n++
	for i := range 10 + *g.n {
		if err := fn(source.Record{ID: fmt.Sprintf("r%d", i), PreviousStatus: "accepted", DocumentID: 1}); err != nil {
			return err
		}
	}
	return nil
}

func (growing) Load(context.Context, source.Record) (*source.Images, []source.Problem, error) {
	return nil, nil, nil
}

// An archive that changes between the two readings stops the listing
// (the sample would not be the one counted), instead of dropping records.
func TestAChangedArchiveStops(t *testing.T) {
	n := 0
	err := New(growing{&n}, Spec{Count: 3}, 1, nil).Records(context.Background(), func(source.Record) error { return nil })
	require.ErrorIs(t, err, source.ErrAbort)
	assert.ErrorContains(t, err, "changed between its two readings")
}

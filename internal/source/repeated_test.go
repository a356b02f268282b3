package source

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/pictureid"
)

// The filter says "maybe seen" for every ID added before, however many
// filters it grew to, and for few others, in about a byte or two per ID.
func TestSeenFilterFindsEveryRepeat(t *testing.T) {
	const n = 300_000
	var f seenFilter
	falsePositives := 0
	for i := range n {
		if f.testAndAdd(idKey(fmt.Sprintf("rec-%d", i))) {
			falsePositives++
		}
	}
	for i := 0; i < n; i += 997 {
		assert.True(t, f.testAndAdd(idKey(fmt.Sprintf("rec-%d", i))), "rec-%d was added", i)
	}
	assert.Less(t, float64(falsePositives)/n, 0.01, "share of new IDs taken for repeats")
	var bits uint
	for _, b := range f.filters {
		bits += b.Cap()
	}
	assert.Less(t, float64(bits)/8/n, 3.0, "bytes per ID")
	assert.Greater(t, len(f.filters), 2, "the filter grew")
}

// Repeated IDs far apart in a long manifest (past the first filter's
// capacity) are each found, with the line of their first appearance, and
// no other line is marked.
func TestRepeatedIDsFarApartInALongManifest(t *testing.T) {
	const lines = 70_000
	var b strings.Builder
	b.WriteString("record_id,front\n")
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, "r%d,img/front.jpg\n", i)
	}
	// Manifest lines: the header is line 1, so r<i> is on line i+1.
	b.WriteString("r2,img/front.jpg\n")     // line lines+2
	b.WriteString("r69999,img/front.jpg\n") // line lines+3
	b.WriteString("r2,img/front.jpg\n")     // line lines+4
	be := localBackend(t)
	be.put(t, "manifest.csv", []byte(b.String()))
	a, err := Open(context.Background(), be.opener, Config{Archive: be.root, Manifest: be.uri("manifest.csv"),
		DefaultProcessType: pictureid.ProcessDocument, DefaultDocumentID: 137})
	require.NoError(t, err)
	dups := map[int]string{}
	total := 0
	require.NoError(t, a.Records(context.Background(), func(r Record) error {
		total++
		if r.Repeated() {
			_, detail, _ := strings.Cut(r.Problems[0].Detail, "): ")
			dups[total+1] = detail
		}
		return nil
	}))
	assert.Equal(t, lines+3, total)
	assert.Equal(t, map[int]string{
		lines + 2: `record_id "r2" already appeared on line 3`,
		lines + 3: `record_id "r69999" already appeared on line 70000`,
		lines + 4: `record_id "r2" already appeared on line 3`,
	}, dups)
}

// reversedStore lists its keys in reverse order: a store that does not list
// in key order.
type reversedStore struct{ blob.Store }

func (s reversedStore) List(ctx context.Context, prefix string, fn func(blob.Object) error) error {
	var all []blob.Object
	if err := s.Store.List(ctx, prefix, func(o blob.Object) error { all = append(all, o); return nil }); err != nil {
		return err
	}
	slices.Reverse(all)
	for _, o := range all {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// A folder archive on a store that lists out of key order stops with an
// error that says so (a record folder's keys could be split between
// records), instead of keeping every folder's id to find one listed twice.
func TestFolderArchiveOutOfKeyOrderStops(t *testing.T) {
	ctx := context.Background()
	b := localBackend(t)
	for _, id := range []string{"a", "a-b", "c"} {
		b.put(t, id+"/front.jpg", jpegBytes(t, 400, 300))
	}
	a, err := Open(ctx, b.opener, Config{Archive: b.root, DefaultProcessType: pictureid.ProcessDocument, DefaultDocumentID: 137})
	require.NoError(t, err)
	var ids []string
	require.NoError(t, a.Records(ctx, func(r Record) error { ids = append(ids, r.ID); return nil }))
	assert.Equal(t, []string{"a-b", "a", "c"}, ids, "key order: \"a-b/\" sorts before \"a/\"")

	st, err := a.store(ctx, a.root)
	require.NoError(t, err)
	a.stores[a.root.String()] = reversedStore{st}
	ids = nil
	err = a.Records(ctx, func(r Record) error { ids = append(ids, r.ID); return nil })
	require.ErrorIs(t, err, ErrAbort)
	assert.ErrorContains(t, err, "not in key order")
	assert.Equal(t, []string{"c"}, ids, "the records before it were handed over")
}

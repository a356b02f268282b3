package specimen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/fakes3"
)

// hashes returns the SHA-256 of every object of the store.
func hashes(t *testing.T, st blob.Store) map[string][32]byte {
	t.Helper()
	ctx := context.Background()
	out := map[string][32]byte{}
	require.NoError(t, st.List(ctx, "", func(o blob.Object) error {
		b, err := st.Get(ctx, o.Key, 0)
		if err != nil {
			return err
		}
		out[o.Key] = sha256.Sum256(b)
		return nil
	}))
	return out
}

func localStore(t *testing.T) blob.Store {
	t.Helper()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	return st
}

// checkArchive verifies an archive against its index files and returns the
// expected lines.
func checkArchive(t *testing.T, st blob.Store, count int) []ExpectedLine {
	t.Helper()
	ctx := context.Background()
	objects := map[string]bool{}
	require.NoError(t, st.List(ctx, "", func(o blob.Object) error { objects[o.Key] = true; return nil }))

	raw, err := st.Get(ctx, ExpectedName, 0)
	require.NoError(t, err)
	var lines []ExpectedLine
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var l ExpectedLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&l), sc.Text())
		lines = append(lines, l)
	}
	require.Len(t, lines, count, "one line per record")

	raw, err = st.Get(ctx, ManifestName, 0)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, count+1)
	assert.Equal(t, ManifestHeader(), rows[0])

	folders := map[string]bool{}
	for k := range objects {
		if id, _, ok := strings.Cut(k, "/"); ok {
			folders[id] = true
		}
	}
	assert.Len(t, folders, count, "one folder per record")
	seenCases := map[Case]bool{}
	for i, l := range lines {
		assert.Equal(t, RecordID(i), l.RecordID, "records in order")
		assert.True(t, objects[l.RecordID+"/"+MetaName], "%s has a folder with meta.json", l.RecordID)
		assert.Equal(t, l.Case.Expected(), Expectation{l.Outcome, l.Reason})
		seenCases[l.Case] = true

		row := rows[i+1]
		assert.Equal(t, l.RecordID, row[0])
		assert.Equal(t, string(l.Case), row[7])
		assert.Equal(t, l.ProcessType, row[5])
		for _, p := range row[1:4] {
			if p != "" {
				assert.True(t, objects[p], "manifest path %s exists", p)
				assert.True(t, strings.HasPrefix(p, l.RecordID+"/"))
			}
		}
		// every image in the folder is in the manifest
		for _, role := range []string{RoleFront, RoleBack, RoleSelfie} {
			for _, ext := range []string{".jpg", ".png"} {
				if objects[l.RecordID+"/"+role+ext] {
					assert.Contains(t, row[1:4], l.RecordID+"/"+role+ext)
				}
			}
		}
	}
	if count >= len(Cases()) {
		assert.Len(t, seenCases, len(Cases()), "every case appears")
	}
	return lines
}

func TestGenerateLocal(t *testing.T) {
	st := localStore(t)
	sum, err := Generate(context.Background(), st, Options{Count: 30, Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, 30, sum.Records)
	assert.Equal(t, st.URI(), sum.URI)
	total := 0
	for _, n := range sum.Cases {
		total += n
	}
	assert.Equal(t, 30, total)

	h := hashes(t, st)
	assert.Equal(t, sum.Objects, len(h))
	var size int64
	require.NoError(t, st.List(context.Background(), "", func(o blob.Object) error { size += o.Size; return nil }))
	assert.Equal(t, size, sum.Bytes)

	lines := checkArchive(t, st, 30)
	got := map[Case]int{}
	for _, l := range lines {
		got[l.Case]++
	}
	assert.Equal(t, sum.Cases, got)
}

func TestGenerateDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b, c := localStore(t), localStore(t), localStore(t)
	_, err := Generate(ctx, a, Options{Count: 14, Seed: 3, Workers: 1, Concurrency: 1})
	require.NoError(t, err)
	_, err = Generate(ctx, b, Options{Count: 14, Seed: 3, Workers: 3, Concurrency: 7})
	require.NoError(t, err)
	_, err = Generate(ctx, c, Options{Count: 14, Seed: 4})
	require.NoError(t, err)
	ha, hb, hc := hashes(t, a), hashes(t, b), hashes(t, c)
	assert.Equal(t, ha, hb, "same seed: byte-identical archive, whatever the concurrency")
	assert.NotEqual(t, ha[ExpectedName], hc[ExpectedName], "another seed: another archive")
	differ := 0
	for k, v := range ha {
		if hc[k] != v {
			differ++
		}
	}
	assert.Greater(t, differ, len(ha)/2, "most objects differ with another seed")
}

func TestGenerateS3(t *testing.T) {
	ctx := context.Background()
	st := fakes3.Start(t, "archive").Store(t, "archive", "specimen/run1")

	sum, err := Generate(ctx, st, Options{Count: 16, Seed: 5})
	require.NoError(t, err)
	assert.Equal(t, "s3://archive/specimen/run1", sum.URI)
	checkArchive(t, st, 16)

	local := localStore(t)
	_, err = Generate(ctx, local, Options{Count: 16, Seed: 5})
	require.NoError(t, err)
	assert.Equal(t, hashes(t, local), hashes(t, st), "S3 and local archives are the same")

	_, err = Generate(ctx, st, Options{Count: 16, Seed: 5})
	assert.ErrorIs(t, err, ErrNotEmpty)
}

func TestGenerateRefusesNonEmpty(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	require.NoError(t, st.Put(ctx, "notes.txt", []byte("keep me")))
	_, err := Generate(ctx, st, Options{Count: 3, Seed: 1})
	require.ErrorIs(t, err, ErrNotEmpty)
	_, err = st.Stat(ctx, ExpectedName)
	assert.ErrorIs(t, err, blob.ErrNotFound, "nothing written")

	_, err = Generate(ctx, st, Options{Count: 3, Seed: 1, Force: true})
	require.NoError(t, err)
	b, err := st.Get(ctx, "notes.txt", 0)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(b), "other objects are left in place")
	checkArchiveIndexOnly(t, st, 3)
}

func checkArchiveIndexOnly(t *testing.T, st blob.Store, count int) {
	t.Helper()
	raw, err := st.Get(context.Background(), ExpectedName, 0)
	require.NoError(t, err)
	assert.Equal(t, count, bytes.Count(raw, []byte("\n")))
}

// hookStore calls hook before every Put; an error from hook fails the Put.
type hookStore struct {
	blob.Store
	mu   sync.Mutex
	puts int
	hook func(n int) error
}

func (h *hookStore) Put(ctx context.Context, key string, data []byte) error {
	h.mu.Lock()
	h.puts++
	n := h.puts
	h.mu.Unlock()
	if err := h.hook(n); err != nil {
		return err
	}
	return h.Store.Put(ctx, key, data)
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &hookStore{Store: localStore(t), hook: func(n int) error {
		if n == 10 {
			cancel()
		}
		return nil
	}}
	_, err := Generate(ctx, st, Options{Count: 200, Seed: 1})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, st.puts, 200, "stopped early")
	_, err = st.Stat(context.Background(), ExpectedName)
	assert.ErrorIs(t, err, blob.ErrNotFound, "an interrupted archive has no expected.jsonl")
	_, err = st.Stat(context.Background(), ManifestName)
	assert.ErrorIs(t, err, blob.ErrNotFound)
}

func TestGenerateStoreError(t *testing.T) {
	boom := errors.New("disk full")
	st := &hookStore{Store: localStore(t), hook: func(n int) error {
		if n == 5 {
			return boom
		}
		return nil
	}}
	_, err := Generate(context.Background(), st, Options{Count: 40, Seed: 1})
	assert.ErrorIs(t, err, boom)
	_, err = st.Stat(context.Background(), ExpectedName)
	assert.ErrorIs(t, err, blob.ErrNotFound)
}

func TestGenerateOptions(t *testing.T) {
	ctx := context.Background()
	_, err := Generate(ctx, localStore(t), Options{Count: 0})
	assert.ErrorContains(t, err, "count must be positive")
	_, err = Generate(ctx, localStore(t), Options{Count: 3, Mix: Mix{CaseAccepted: 0}})
	assert.ErrorContains(t, err, "add up to zero")

	st := localStore(t)
	sum, err := Generate(ctx, st, Options{Count: 4, Seed: 1, Mix: Mix{CaseExpired: 1}})
	require.NoError(t, err)
	assert.Equal(t, map[Case]int{CaseExpired: 4}, sum.Cases)
	for _, l := range checkArchive(t, st, 4) {
		assert.Equal(t, Expectation{OutcomeInconclusive, ReasonNonExpired}, Expectation{l.Outcome, l.Reason})
	}
}

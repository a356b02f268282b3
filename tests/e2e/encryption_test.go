package e2e

import (
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"reverify/internal/testutil/s3server"
)

// With output.s3.sse set, every object a whole run writes to its S3 output
// asks for that encryption: checked on the requests as they reach versitygw
// (through a recording proxy, see s3server.Recording), whatever wrote them —
// the run definition, the lease, journal checkpoints, Parquet parts, the
// summary. Setting only the encryption keys keeps source.s3's client (the
// endpoint comes from REVERIFY_SOURCE_S3_*). internal/blob's
// TestS3WritesAskForServerSideEncryption checks each write method of the
// store, multipart uploads included.
func TestS3OutputIsEncrypted(t *testing.T) {
	s3 := StartS3(t)
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Out: s3.URI("archive"), Count: 30, Seed: seedS3, S3: s3})
	proxied, rec := s3.Recording(t)
	viaProxy := &S3{Server: proxied, Bucket: s3.Bucket}

	const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	out := viaProxy.URI("reports")
	res := RunBatch(t, RunSpec{Emulator: emu, S3: viaProxy, Source: arch.URI, Output: out, RunID: "e2e-sse",
		Sets: []string{"output.s3.sse=aws:kms", "output.s3.kms_key_id=" + key, "output.max_rows_per_part=10"}})
	RequireExit(t, res, ExitIncomplete) // skipped rows

	kinds := map[string]int{} // object name without numbers -> writes
	for _, w := range rec.Writes() {
		switch w.Kind {
		case s3server.KindPut, s3server.KindCopy, s3server.KindCreateUpload:
			assert.Equal(t, "aws:kms", w.SSE, "%s %s", w.Kind, w.Key)
			assert.Equal(t, key, w.KMSKeyID, "%s %s", w.Kind, w.Key)
			kinds[objectKind(w.Key)]++
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	t.Logf("objects written: %v", kinds)
	for _, want := range []string{".parquet", "_summary.json", "_definition", "_lease", "journal"} {
		found := false
		for _, n := range names {
			found = found || strings.Contains(n, want)
		}
		assert.True(t, found, "no %s object among the writes: %v", want, names)
	}

	rows := ReadRows(t, FetchOutput(t, s3.URI("reports"), s3))
	AssertOutcomes(t, rows, arch.Expected)
}

// objectKind names an object by its path below the run, digits dropped and
// folders below the shard's left out, so the writes group by kind:
// .../runs/e2e-sse/shard-0-of-1/_lease -> shard--of-/_lease.
func objectKind(key string) string {
	if _, rest, ok := strings.Cut(key, "/runs/"); ok {
		if _, below, ok := strings.Cut(rest, "/"); ok {
			key = below
		}
	}
	key = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, key)
	if strings.Count(key, "/") > 2 {
		key = path.Join(path.Dir(path.Dir(key)), path.Base(key))
	}
	return key
}

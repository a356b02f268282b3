package report

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

// A manifest lists the parts as written; VerifyOutput passes them, finds a
// shard without a manifest, and names what is missing, extra or changed.
func TestManifestVerifiesTheParts(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	writeRun(t, st, "m", 0, 2, "a", outcomeRow("a", OutcomeAccepted, "", 5), outcomeRow("b", OutcomeTimeout, "", 5))
	writeRun(t, st, "m", 1, 2, "a", outcomeRow("c", OutcomeSkipped, "corrupt", 0))

	tot0, parts, err := ShardTotals(ctx, st, "m", 0, 2)
	require.NoError(t, err)
	assert.EqualValues(t, 2, tot0.Records)
	require.NotEmpty(t, parts)
	tot := Totals{Outcomes: map[string]int64{OutcomeAccepted: 1, OutcomeTimeout: 1, OutcomeSkipped: 4, OutcomeError: 2}}
	require.NoError(t, WriteManifest(ctx, st, Manifest{RunID: "m", Shard: 0, ShardCount: 2, Parts: parts,
		Verifications: tot.Verifications()}))
	m, err := ReadManifest(ctx, st, "m", 0, 2)
	require.NoError(t, err)
	assert.EqualValues(t, 2, m.Rows)
	assert.EqualValues(t, 2, m.Verifications, "accepted and timeout were started; skipped and error rows not")

	checks, err := VerifyOutput(ctx, st, "")
	require.NoError(t, err)
	require.Len(t, checks, 2)
	assert.True(t, checks[0].Good(), "%+v", checks[0])
	assert.True(t, checks[1].NoManifest)
	assert.False(t, checks[1].Good())

	// Another part appears, a listed one is replaced by other bytes.
	b, err := st.Get(ctx, parts[0].Key, 0)
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, ShardPrefix("m", 0, 2)+"part-00042-a000002-20260101T000000Z-cafe0001.parquet", b))
	require.NoError(t, st.Put(ctx, parts[0].Key, append(b, 0)))
	checks, err = VerifyOutput(ctx, st, "m")
	require.NoError(t, err)
	assert.Equal(t, []string{parts[0].Key}, checks[0].Changed)
	assert.Len(t, checks[0].Extra, 1)
	require.NoError(t, st.Delete(ctx, parts[0].Key))
	checks, err = VerifyOutput(ctx, st, "m")
	require.NoError(t, err)
	assert.Equal(t, []string{parts[0].Key}, checks[0].Missing)

	_, err = VerifyOutput(ctx, st, "none")
	assert.ErrorIs(t, err, ErrNoOutput)
	_, err = ReadManifest(ctx, st, "m", 1, 2)
	assert.True(t, errors.Is(err, blob.ErrNotFound))
}

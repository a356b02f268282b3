package journal

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

// v1Fixture is an output folder written by reverify before the journal had a
// package of its own (format version 1: final entries held the report row
// under Go's field names): 16 specimen records, 11 of them final — 7 with a
// result, their dossiers deleted, and 4 timeouts — with the journal's
// committed entry removed, as if the attempt died before its Parquet part
// was committed. internal/pipeline resumes it end to end (TestV1JournalResumes).
const v1Fixture = "../pipeline/testdata/v1-run/out"

const v1Prefix = "runs/v1-fixture/shard-0-of-1/journal/"

// A version 1 journal folds into the same state a version 2 one would: the
// row it held becomes the Final it is made from.
func TestVersion1JournalIsRead(t *testing.T) {
	store, err := blob.NewLocal(v1Fixture)
	require.NoError(t, err)
	st, err := Read(context.Background(), store, v1Prefix)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Attempts)
	assert.False(t, st.RunStart.IsZero())
	require.Len(t, st.Records, 11)

	outcomes := map[string]int{}
	for id, r := range st.Records {
		require.NotNil(t, r.Final, id)
		assert.True(t, r.Started, id)
		assert.NotEmpty(t, r.Dossier, id)
		assert.NotEmpty(t, r.Process, id)
		f := r.Final
		outcomes[f.Outcome]++
		assert.NotEmpty(t, f.Images.Front, id)
		assert.Positive(t, f.Effort.Calls, id)
		assert.Positive(t, f.Effort.Polls, id)
		assert.False(t, f.SubmittedAt.IsZero(), id)
		assert.False(t, f.CompletedAt.IsZero(), id)
		if f.Outcome == "timeout" {
			assert.Equal(t, "deadline", f.ErrorCode, id)
			assert.Contains(t, f.ErrorMessage, "no final status", id)
			assert.Empty(t, f.Process, id)
			assert.False(t, r.Deleted, "a timeout keeps its dossier: %s", id)
			continue
		}
		assert.True(t, r.Deleted, id)
		var p struct {
			ProcessID string `json:"processId"`
			Status    string `json:"status"`
		}
		require.NoError(t, json.Unmarshal(f.Process, &p), id)
		assert.Equal(t, r.Process, p.ProcessID, id)
		assert.Equal(t, f.Outcome, p.Status, id)
	}
	assert.Equal(t, map[string]int{"accepted": 2, "rejected": 2, "inconclusive": 3, "timeout": 4}, outcomes)
	assert.Equal(t, Effort{Calls: 6, Polls: 2}, st.Records["rec-000001"].Final.Effort)
	assert.Equal(t, Effort{Calls: 5, Polls: 1}, st.Records["rec-000002"].Final.Effort)
}

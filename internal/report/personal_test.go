package report

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// _summary.json records the personal-data policy the rows were written
// under (and the hash key's id); a merged summary keeps them when every
// shard agrees, else says mixed; the table shows the policy.
func TestSummaryRecordsThePersonalDataPolicy(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	for shard, policy := range []string{"hash", "hash", "omit"} {
		run := "agree"
		if shard == 2 {
			run, shard = "differ", 0
		}
		writeRun(t, st, run, shard, 2, "a", outcomeRow("r", OutcomeAccepted, "", 9))
		keyID := ""
		if policy == "hash" {
			keyID = "201adb32d880c89a"
		}
		require.NoError(t, WriteSummary(ctx, st, Summary{RunID: run, Shard: shard, ShardCount: 2,
			RunStats: RunStats{PersonalData: policy, HashKeyID: keyID}}))
	}
	writeRun(t, st, "differ", 1, 2, "a", outcomeRow("s", OutcomeAccepted, "", 9))
	require.NoError(t, WriteSummary(ctx, st, Summary{RunID: "differ", Shard: 1, ShardCount: 2,
		RunStats: RunStats{PersonalData: "include"}}))

	b, err := st.Get(ctx, SummaryKey("agree", 0, 2), 1<<20)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"personal_data": "hash"`)
	assert.Contains(t, string(b), `"hash_key_id": "201adb32d880c89a"`)

	agree, err := SummarizeRun(ctx, st, "agree")
	require.NoError(t, err)
	assert.Equal(t, AllShards, agree.Shard)
	assert.Equal(t, "hash", agree.PersonalData)
	assert.Equal(t, "201adb32d880c89a", agree.HashKeyID)
	differ, err := SummarizeRun(ctx, st, "differ")
	require.NoError(t, err)
	assert.Equal(t, "mixed", differ.PersonalData)
	assert.Empty(t, differ.HashKeyID, "no shard hashed")

	var buf bytes.Buffer
	require.NoError(t, RenderTable(&buf, agree))
	assert.Contains(t, buf.String(), "\npersonal data hash\n")
}

// The policy and the hash key are part of a run's definition: a later
// attempt with another is refused. A definition recorded before the policy
// existed holds every column: it is include.
func TestDefinitionHoldsThePersonalDataPolicy(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	def := Definition{DryRun: true, BaseURL: "bundled emulator", TokenURL: "bundled emulator", Archive: "file:///a",
		ShardCount: 1, DefaultDocumentID: 137, DefaultProcessType: "documentSelfie", CreatedAt: time.Now()}

	hashed := def
	hashed.PersonalData, hashed.HashKeyID = "hash", "201adb32d880c89a"
	require.NoError(t, CheckDefinition(ctx, st, "run-hash", hashed))
	require.NoError(t, CheckDefinition(ctx, st, "run-hash", hashed))
	other := hashed
	other.HashKeyID = "0123456789abcdef"
	err := CheckDefinition(ctx, st, "run-hash", other)
	assert.ErrorIs(t, err, ErrDefinitionChanged)
	assert.Contains(t, err.Error(), `the hash key (output.hash_key_file; its key id): "201adb32d880c89a" at the first attempt, "0123456789abcdef" now`)
	omit := def
	omit.PersonalData = "omit"
	err = CheckDefinition(ctx, st, "run-hash", omit)
	assert.ErrorIs(t, err, ErrDefinitionChanged)
	assert.Contains(t, err.Error(), `output.personal_data: "hash" at the first attempt, "omit" now`)

	// An older definition, without the field.
	require.NoError(t, st.Put(ctx, DefinitionKey("run-old"),
		[]byte(`{"v":1,"dry_run":true,"api_base_url":"bundled emulator","api_token_url":"bundled emulator","source_archive":"file:///a",`+
			`"shard_count":1,"source_default_document_id":137,"source_default_process_type":"documentSelfie","source_max_image_bytes":0,`+
			`"source_max_pixels":0,"source_min_width":0,"source_min_height":0,"output_download_results":false,"created_at":"2026-11-01T00:00:00Z"}`)))
	err = CheckDefinition(ctx, st, "run-old", omit)
	assert.ErrorIs(t, err, ErrDefinitionChanged)
	assert.Contains(t, err.Error(), `output.personal_data: "include" at the first attempt, "omit" now`)
	included := def
	included.PersonalData = "include"
	require.NoError(t, CheckDefinition(ctx, st, "run-old", included))
}

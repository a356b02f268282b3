package report

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/fault"
)

// The first attempt records the run's definition; a later one with the same
// passes, one with another is refused (fault.Config), naming each
// differing setting with both values.
func TestDefinitionIsFixedAtTheFirstAttempt(t *testing.T) {
	ctx := context.Background()
	store, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	first := Definition{DryRun: true, BaseURL: "bundled emulator", TokenURL: "bundled emulator",
		Archive: "file:///data/archive", ShardCount: 1, DefaultDocumentID: 137, DefaultProcessType: "documentSelfie",
		MaxImageBytes: 4 << 20, MaxPixels: 25_000_000, MinWidth: 300, MinHeight: 200, CreatedAt: time.Now()}
	require.NoError(t, CheckDefinition(ctx, store, "run-1", first))
	_, err = store.Stat(ctx, "runs/run-1/_definition.json")
	require.NoError(t, err)

	again := first
	again.CreatedAt = time.Now().Add(time.Hour) // not part of the definition
	require.NoError(t, CheckDefinition(ctx, store, "run-1", again))

	other := first
	other.DryRun, other.BaseURL, other.TokenURL = false, "https://api.signicat.com/assure", "https://api.signicat.com/auth/open/connect/token"
	other.ShardCount = 2
	other.Archive = "s3://bucket/archive"
	err = CheckDefinition(ctx, store, "run-1", other)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrDefinitionChanged)
	assert.Equal(t, fault.Config, fault.Of(err))
	for _, want := range []string{
		`run.dry_run: "true" at the first attempt, "false" now`,
		`api.base_url: "bundled emulator" at the first attempt, "https://api.signicat.com/assure" now`,
		`source.archive: "file:///data/archive" at the first attempt, "s3://bucket/archive" now`,
		`the shard count (run.shard K/N): "1" at the first attempt, "2" now`,
		"Use a new --run-id",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "source.min_width", "only what differs")
}

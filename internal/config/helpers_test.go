package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/blob"
)

func TestShardAndEffectiveRate(t *testing.T) {
	c := Default()
	k, n := c.Shard()
	assert.Equal(t, [2]int{0, 1}, [2]int{k, n})
	assert.Equal(t, 20.0, c.EffectiveRate())

	c.Run.Shard = "3/10"
	k, n = c.Shard()
	assert.Equal(t, [2]int{3, 10}, [2]int{k, n})
	assert.InDelta(t, 2.0, c.EffectiveRate(), 1e-12, "rate/N")

	c.API.RatePerShard = 5
	assert.Equal(t, 5.0, c.EffectiveRate(), "rate_per_shard wins")

	c.Run.Shard = ""
	k, n = c.Shard()
	assert.Equal(t, [2]int{0, 1}, [2]int{k, n})
}

// Every configuration batch run accepts keeps a record's set images and
// start verification inside the provider's 15 minutes between the first
// image and the start (see assure.RetryPolicy).
func TestRetryBudgetFitsTheSubmitWindow(t *testing.T) {
	c := withCreds(Default())
	require.NoError(t, c.Validate())
	assert.LessOrEqual(t, c.API.Retry.WorstSubmit(c.API.RequestTimeout), assure.SubmitWindow)
	assert.Equal(t, 6*time.Minute+6*time.Second, c.API.Retry.WorstSubmit(c.API.RequestTimeout),
		"the defaults: set images 2m + 30s; start 2m + 30s, then 33s of wait and 33s of read-back")

	c.API.Retry.MaxElapsed = 6*time.Minute + 27*time.Second // 2×6m27s + 4×30s + 2×3s = 15m: just fits
	require.NoError(t, c.Validate())

	c.API.Retry.MaxElapsed = 7 * time.Minute
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "api.retry.max_elapsed: with api.request_timeout 30s")
	assert.Contains(t, err.Error(), "may take 16m6s")
	assert.Contains(t, err.Error(), "more than the 15m0s")
	assert.Contains(t, err.Error(), "at most 6m27s (got 7m0s)")

	c.API.Retry.MaxElapsed = time.Minute
	c.API.RequestTimeout = 7 * time.Minute
	assert.ErrorContains(t, c.Validate(), "api.retry.max_elapsed")
}

func TestS3Options(t *testing.T) {
	c := Default()
	c.Source.S3 = blob.S3Options{Region: "eu-west-1", Endpoint: "http://127.0.0.1:7070", PathStyle: true}
	assert.Equal(t, c.Source.S3, c.SourceS3())
	assert.Equal(t, c.Source.S3, c.OutputS3(), "empty output.s3 falls back to source.s3")
	c.Output.S3 = blob.S3Options{Region: "us-east-1"}
	assert.Equal(t, blob.S3Options{Region: "us-east-1"}, c.OutputS3(), "any output.s3 key set: output.s3 as is")

	// The encryption keys are the output's own: setting only them keeps
	// source.s3's client.
	c.Output.S3 = blob.S3Options{SSE: blob.SSEKMS, KMSKeyID: "alias/reports"}
	want := c.Source.S3
	want.SSE, want.KMSKeyID = blob.SSEKMS, "alias/reports"
	assert.Equal(t, want, c.OutputS3(), "only output.s3.sse and kms_key_id: source.s3's client, output.s3's encryption")
	assert.Empty(t, c.SourceS3().SSE)
	c.Output.S3.Region = "eu-north-1"
	assert.Equal(t, blob.S3Options{Region: "eu-north-1", SSE: blob.SSEKMS, KMSKeyID: "alias/reports"}, c.OutputS3())
}

func TestEffectivePollScalesInDryRuns(t *testing.T) {
	c := Default()
	assert.Equal(t, c.Poll, c.EffectivePoll(), "real runs: unchanged")
	c.Run.DryRun = true
	c.Emulator.TimeScale = 0.01
	p := c.EffectivePoll()
	assert.Equal(t, 200*time.Millisecond, p.InitialDelay)
	assert.Equal(t, 600*time.Millisecond, p.MaxInterval)
	assert.Equal(t, 18*time.Second, p.Deadline)
	assert.Equal(t, c.Poll.Multiplier, p.Multiplier)
	assert.Equal(t, c.Poll.Jitter, p.Jitter)
}

// The old name of api.retry.max_pause is refused with the new one, in YAML
// and in the environment: a setting is never silently ignored.
func TestMaxRetryAfterWasRenamed(t *testing.T) {
	_, err := Load([]byte("api:\n  retry:\n    max_retry_after: 1m\n"), creds)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "renamed api.retry.max_pause")
	_, err = Load(nil, append([]string{"REVERIFY_API_RETRY_MAX_RETRY_AFTER=1m"}, creds...))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_pause")
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/configs"
	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/config"
	"reverify/internal/pipeline"
	"reverify/internal/privacy"
	"reverify/internal/report"
	"reverify/internal/source"
	"reverify/internal/specimen"
)

func loadConfig(t *testing.T, env []string, sets ...string) config.Config {
	t.Helper()
	var settings []config.Setting
	for _, s := range sets {
		k, v, _ := strings.Cut(s, "=")
		settings = append(settings, config.Setting{Key: k, Value: v, Source: "test"})
	}
	cfg, err := config.Load(configs.Example(), env, settings...)
	require.NoError(t, err)
	return cfg
}

// Every setting reaches the part it configures, once, through the mapping
// functions of wire.go.
func TestConfigurationMapsOntoTheParts(t *testing.T) {
	env := []string{"SIGNICAT_CLIENT_ID=id-1", "SIGNICAT_CLIENT_SECRET=secret-1"}
	cfg := loadConfig(t, env, "run.dry_run=false", "run.run_id=map-1", "run.shard=2/4", "run.limit=7",
		"api.rate=40", "api.burst=3", "api.request_timeout=45s", "api.token_renew_before=30s", "api.token_timeout=4m",
		"api.retry.max_attempts=6", "api.retry.base_delay=100ms", "api.retry.max_delay=2s",
		"api.retry.max_pause=20s", "api.retry.max_elapsed=90s",
		"source.archive=s3://bucket/archive", "source.manifest=s3://bucket/m.csv", "source.default_document_id=58",
		"source.default_process_type=document", "source.max_image_bytes=5MiB", "source.max_pixels=1000000", "source.min_width=300", "source.min_height=250",
		"output.max_rows_per_part=123", "output.max_part_age=3m", "output.keep_dossiers=true",
		"concurrency.uploads=5", "concurrency.in_flight=50", "concurrency.poll_workers=3", "concurrency.finalizers=2",
		"poll.initial_delay=15s", "poll.deadline=20m", "failure_threshold.min_records=9", "failure_threshold.max_error_share=0.25",
		"run.grace_period=7s")

	assert.Equal(t, assure.Config{
		BaseURL: assure.DefaultBaseURL, TokenURL: assure.DefaultTokenURL, ClientID: "id-1", ClientSecret: "secret-1",
		Rate: 10, Burst: 3, RequestTimeout: 45 * time.Second, TokenRenewBefore: 30 * time.Second, TokenTimeout: 4 * time.Minute,
		Retry: assure.RetryPolicy{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second,
			MaxPause: 20 * time.Second, MaxElapsed: 90 * time.Second},
	}, assureConfig(cfg), "the shard's share of api.rate: 40/4")

	auto := assureConfig(loadConfig(t, env, "run.dry_run=false", "run.shard=1/4", "api.rate=auto", "api.max_rate=80", "api.start_rate=8"))
	assert.Equal(t, assure.AdaptiveRate{Max: 20, Start: 2}, auto.Adaptive, "api.rate: auto: the shard's share of max_rate and start_rate, 80/4 and 8/4")
	assert.Zero(t, auto.Rate)

	assert.Equal(t, source.Config{Archive: "s3://bucket/archive", Manifest: "s3://bucket/m.csv", DefaultDocumentID: 58,
		DefaultProcessType: "document", Limits: source.Limits{MaxImageBytes: 5 << 20, MaxPixels: 1_000_000, MinWidth: 300, MinHeight: 250}},
		sourceConfig(cfg))

	wc := writerConfig(cfg, 2, 4, "a000001-x", nil)
	assert.Equal(t, report.WriterConfig{RunID: "map-1", Shard: 2, ShardCount: 4, Attempt: "a000001-x",
		MaxRowsPerPart: 123, MaxPartAge: 3 * time.Minute}, wc)

	log := slog.New(slog.DiscardHandler)
	opt := pipelineOptions(cfg, log)
	assert.Equal(t, pipeline.Options{RunID: "map-1", Shard: 2, ShardCount: 4, Limit: 7,
		Concurrency: pipeline.Concurrency{Uploads: 5, InFlight: 50, PollWorkers: 3, Finalizers: 2},
		Poll:        cfg.Poll, KeepDossiers: true, PersonalData: privacy.Omit,
		Threshold:   pipeline.Threshold{MinRecords: 9, MaxErrorShare: 0.25},
		GracePeriod: 7 * time.Second, Logger: log}, opt)
	assert.Equal(t, 15*time.Second, opt.Poll.InitialDelay, "real runs poll in real time")

	dry := loadConfig(t, nil, "emulator.time_scale=0.01", "poll.initial_delay=20s")
	assert.Equal(t, 200*time.Millisecond, pipelineOptions(dry, log).Poll.InitialDelay, "dry runs poll in the emulator's time")
	assert.True(t, pipelineOptions(dry, log).DryRun)

	// output.personal_data and its key reach the pipeline; the key's id (not
	// the key) the definition.
	keyFile := filepath.Join(t.TempDir(), "hash.key")
	require.NoError(t, os.WriteFile(keyFile, []byte("reverify-test-key-0123456789abcdef\n"), 0o600))
	hashed := loadConfig(t, []string{config.EnvHashKeyFile + "=" + keyFile}, "output.personal_data=hash")
	opt = pipelineOptions(hashed, log)
	assert.Equal(t, privacy.Hash, opt.PersonalData)
	assert.Equal(t, privacy.Key("reverify-test-key-0123456789abcdef"), opt.HashKey)
	assert.Equal(t, "201adb32d880c89a", hashKeyID(hashed))
	assert.Empty(t, hashKeyID(dry), "no key id without the hash policy")
	included := loadConfig(t, nil, "output.personal_data=include", "output.download_results=true")
	opt = pipelineOptions(included, log)
	assert.Equal(t, privacy.Include, opt.PersonalData)
	assert.True(t, opt.DownloadResults)
}

// wire builds a whole attempt; a second one of the same run shard resumes
// the first.
func TestWireBuildsAnAttemptThatResumes(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	archive, err := blob.NewLocal(filepath.Join(dir, "archive"))
	require.NoError(t, err)
	_, err = specimen.Generate(ctx, archive, specimen.Options{Count: 12, Seed: 4})
	require.NoError(t, err)
	cfg := loadConfig(t, nil, "run.run_id=wired", "source.archive="+archive.URI(), "output.uri="+filepath.Join(dir, "out"),
		"emulator.time_scale=0.001", "api.rate=1000")
	log := slog.New(slog.DiscardHandler)

	for n, want := range []string{"a000001-", "a000002-"} {
		a, err := wire(ctx, cfg, log, nil)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(a.id, want), a.id)
		assert.Equal(t, n, a.resume.Attempts)
		require.NotNil(t, a.emulator, "a dry run serves the bundled emulator")
		res, err := a.pipeline.Run(ctx)
		require.NoError(t, err)
		require.NoError(t, a.close())
		if n == 0 {
			assert.EqualValues(t, 12, res.Totals.Records)
			assert.Positive(t, res.Calls.Calls, "the meter counts the client's calls")
		} else {
			assert.EqualValues(t, 12, res.Resumed, "the second attempt finds every row committed")
			assert.Zero(t, res.Totals.Records)
		}
	}
	var rows int
	require.NoError(t, report.ReadRun(ctx, mustLocal(t, filepath.Join(dir, "out")), "wired", func(report.Row) error {
		rows++
		return nil
	}))
	assert.Equal(t, 12, rows)
}

// What stops an attempt before its work begins says whose fault it is: the
// configuration (exit 2) or the world (exit 1).
func TestWireClassifiesWhatStopsIt(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	archive := filepath.Join(dir, "archive")
	require.NoError(t, os.MkdirAll(filepath.Join(archive, "rec-1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(archive, "rec-1", "front.jpg"), []byte("x"), 0o644))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))

	for _, c := range []struct {
		name string
		sets []string
		want int
		says string
	}{
		{"output below a regular file", []string{"source.archive=" + archive, "output.uri=" + filepath.Join(file, "out")}, ExitFatal, "cannot create the folder"},
		{"missing manifest", []string{"source.archive=" + archive, "source.manifest=" + filepath.Join(dir, "none.csv"), "output.uri=" + filepath.Join(dir, "o1")}, ExitFatal, "does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := loadConfig(t, nil, append(c.sets, "emulator.time_scale=0.001")...)
			a, err := wire(ctx, cfg, log, nil)
			require.Error(t, err)
			assert.Nil(t, a)
			assert.Equal(t, c.want, exitFor(err), "%v", err)
			assert.Contains(t, err.Error(), c.says)
		})
	}
	// Configuration errors found past config.Validate are exit 2 as well.
	assert.Equal(t, ExitUsage, exitFor(fmt.Errorf("open archive: %w", source.ErrConfig)))
	assert.Equal(t, ExitUsage, exitFor(&assure.ConfigError{Msg: "base URL"}))
	assert.Equal(t, ExitFatal, exitFor(fmt.Errorf("list: %w", source.ErrAbort)))
	assert.Equal(t, ExitInterrupted, exitFor(context.Canceled))
}

func mustLocal(t *testing.T, dir string) *blob.Local {
	t.Helper()
	l, err := blob.NewLocal(dir)
	require.NoError(t, err)
	return l
}

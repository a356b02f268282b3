package config

import (
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/pictureid"
	"reverify/internal/pipeline"
	"reverify/internal/privacy"
)

// Config is reverify's whole configuration. The yaml tags are the keys of
// the YAML file; nested keys are addressed with dots (api.retry.max_attempts)
// by Set, by REVERIFY_* environment variables and in error messages.
type Config struct {
	Run              RunConfig            `yaml:"run"`
	Source           SourceConfig         `yaml:"source"`
	Output           OutputConfig         `yaml:"output"`
	API              APIConfig            `yaml:"api"`
	Concurrency      pipeline.Concurrency `yaml:"concurrency"`
	Poll             pipeline.PollConfig  `yaml:"poll"`
	FailureThreshold pipeline.Threshold   `yaml:"failure_threshold"`
	Emulator         EmulatorConfig       `yaml:"emulator"`
	Logging          LoggingConfig        `yaml:"logging"`
	Metrics          MetricsConfig        `yaml:"metrics"`
}

// RunConfig identifies the run and bounds it.
type RunConfig struct {
	// RunID names the run; rerunning with the same id resumes it. Load
	// generates one when empty (see docs/configuration.md).
	RunID string `yaml:"run_id"`
	// Shard is "K/N" (0-based K). Load fills it when empty: from
	// AWS_BATCH_JOB_ARRAY_INDEX, else "0/1".
	Shard string `yaml:"shard"`
	// ShardCount is N when the shard comes from AWS_BATCH_JOB_ARRAY_INDEX.
	ShardCount int `yaml:"shard_count"`
	// Limit caps the records processed by this shard (0: all).
	Limit int `yaml:"limit"`
	// DryRun starts the bundled emulator in-process and points the client at it.
	DryRun bool `yaml:"dry_run"`
	// MaxDuration is the time budget of the run: intake stops in time to
	// drain before it ends (0: none).
	MaxDuration time.Duration `yaml:"max_duration"`
	// GracePeriod is how long in-flight processes are still polled after
	// SIGINT/SIGTERM.
	GracePeriod time.Duration `yaml:"grace_period"`
	// LeaseTTL is the period of an S3 output's lease (one writer per run
	// shard): renewed every third of it; a killed holder's runs out within it.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Redrive says which committed error rows of earlier attempts this
	// attempt re-attempts: none, retryable or all (timeout rows are always
	// polled again).
	Redrive pipeline.Redrive `yaml:"redrive"`
	// Sample chooses a seeded sample stratified by previous status and
	// document id: "N" records or "P%" of the shard ("": every record).
	// SampleSeed seeds it. Both are part of the run's definition.
	Sample     string `yaml:"sample"`
	SampleSeed int64  `yaml:"sample_seed"`
	// SkipVerifiedSince (a date, YYYY-MM-DD, or an RFC 3339 time) leaves
	// out the records that have a final row completed since then in an
	// earlier run under History (an output root; "": output.uri). Both are
	// part of the run's definition.
	SkipVerifiedSince string `yaml:"skip_verified_since"`
	History           string `yaml:"history"`
}

// VerifiedSince is run.skip_verified_since as a time (ok false: not set or
// not valid; Validate says which).
func (r RunConfig) VerifiedSince() (time.Time, bool) {
	v := strings.TrimSpace(r.SkipVerifiedSince)
	if v == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, v)
	return t.UTC(), err == nil
}

// SourceConfig describes the archive of images.
type SourceConfig struct {
	// Archive is s3://bucket/prefix, file:///path or a local path.
	Archive string `yaml:"archive"`
	// Manifest optionally lists the records (.csv or .jsonl); a relative
	// path resolves against Archive.
	Manifest string `yaml:"manifest"`
	// DefaultDocumentID applies to records that do not name a document type.
	DefaultDocumentID int `yaml:"default_document_id"`
	// DefaultProcessType is "documentSelfie" or "document".
	DefaultProcessType string `yaml:"default_process_type"`
	// MaxImageBytes is the largest image accepted by preflight.
	MaxImageBytes Size `yaml:"max_image_bytes"`
	// MaxPixels is the most pixels (width × height) an image may declare.
	MaxPixels int64 `yaml:"max_pixels"`
	// MinWidth and MinHeight are the smallest image dimensions accepted by
	// preflight, in pixels.
	MinWidth  int `yaml:"min_width"`
	MinHeight int `yaml:"min_height"`
	// S3 configures the S3 client for s3:// archives.
	S3 blob.S3Options `yaml:"s3"`
}

// OutputConfig describes where the reports go.
type OutputConfig struct {
	// URI is a local folder or s3://bucket/prefix.
	URI string `yaml:"uri"`
	// MaxRowsPerPart rolls a Parquet part after this many rows.
	MaxRowsPerPart int `yaml:"max_rows_per_part"`
	// MaxPartAge rolls a Parquet part after this long.
	MaxPartAge time.Duration `yaml:"max_part_age"`
	// PersonalData is what the report's identifier columns (names, date of
	// birth, document and personal numbers, result_json) hold: omit (NULL,
	// the default), hash (a keyed HMAC) or include (package privacy).
	PersonalData privacy.Policy `yaml:"personal_data"`
	// HashKeyFile names the file holding the HMAC key of personal_data:
	// hash; REVERIFY_HASH_KEY_FILE overrides it.
	HashKeyFile string `yaml:"hash_key_file"`
	// DownloadResults stores each final process's full-result zip: the
	// images and the whole result, so only with personal_data: include.
	DownloadResults bool `yaml:"download_results"`
	// KeepDossiers keeps dossiers after their outcome is recorded (the
	// default deletes them).
	KeepDossiers bool `yaml:"keep_dossiers"`
	// S3 configures the S3 client for an s3:// output; all empty means the
	// same as source.s3 (see Config.OutputS3).
	S3 blob.S3Options `yaml:"s3"`

	// HashKey is the key read from the hash key file, under personal_data:
	// hash only; never from YAML, never printed.
	HashKey privacy.Key `yaml:"-"`
}

// APIConfig describes the Assure API and how hard to use it.
type APIConfig struct {
	// BaseURL of the Assure API.
	BaseURL string `yaml:"base_url"`
	// TokenURL of the OAuth2 token endpoint.
	TokenURL string `yaml:"token_url"`
	// ClientSecretFile names a file holding the client secret.
	ClientSecretFile string `yaml:"client_secret_file"`
	// Rate is the API request rate of the whole job, shared by its shards,
	// or auto: each shard adapts its own rate to the API's answers, up to
	// MaxRate/N (see Config.AdaptiveRate).
	Rate Rate `yaml:"rate"`
	// MaxRate is the ceiling of the whole job under rate: auto; each shard's
	// is MaxRate/N (unless RatePerShard). Unused with a fixed rate.
	MaxRate float64 `yaml:"max_rate"`
	// StartRate is the first rate of the whole job under rate: auto, shared
	// like MaxRate; 0 starts at a tenth of the ceiling. Unused with a fixed
	// rate.
	StartRate float64 `yaml:"start_rate"`
	// RatePerShard, when > 0, is this shard's rate instead of Rate/N, or
	// under rate: auto its ceiling instead of MaxRate/N.
	RatePerShard float64 `yaml:"rate_per_shard"`
	// Burst is the token bucket's size.
	Burst int `yaml:"burst"`
	// RequestTimeout bounds one HTTP attempt.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Retry is the call policy of every API call (assure.RetryPolicy).
	Retry assure.RetryPolicy `yaml:"retry"`
	// TokenRenewBefore renews a cached token this long before it expires.
	TokenRenewBefore time.Duration `yaml:"token_renew_before"`
	// TokenTimeout stops the run (exit 1) once no token could be had for
	// this long.
	TokenTimeout time.Duration `yaml:"token_timeout"`

	// ClientID and ClientSecret come only from SIGNICAT_CLIENT_ID and
	// SIGNICAT_CLIENT_SECRET (or the secret file); never from YAML, never
	// printed.
	ClientID     string `yaml:"-"`
	ClientSecret string `yaml:"-"`
}

// EmulatorConfig configures the in-process emulator of dry runs.
type EmulatorConfig struct {
	// TimeScale shrinks every emulated delay, and the poll timings.
	TimeScale float64 `yaml:"time_scale"`
	// Scenario optionally names an emulator scenario YAML file.
	Scenario string `yaml:"scenario"`
	// Seed drives the emulator's deterministic draws.
	Seed int64 `yaml:"seed"`
}

// LoggingConfig configures the logs.
type LoggingConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is auto (JSON when stderr is not a terminal), json or text.
	Format string `yaml:"format"`
	// ProgressInterval is the period of progress lines when stderr is not
	// a terminal.
	ProgressInterval time.Duration `yaml:"progress_interval"`
}

// MetricsConfig says where `batch run` sends its metrics (docs/metrics.md).
type MetricsConfig struct {
	// Format is none or emf: CloudWatch Embedded Metric Format lines on
	// stderr, which AWS Batch's awslogs driver ships to CloudWatch Logs and
	// CloudWatch turns into metrics.
	Format string `yaml:"format"`
	// Interval is the period of the EMF lines and of the pushes.
	Interval time.Duration `yaml:"interval"`
	// Namespace is the CloudWatch namespace of the EMF metrics.
	Namespace string `yaml:"namespace"`
	// PushURL is a Prometheus Pushgateway's base URL ("": no pushes).
	PushURL string `yaml:"push_url"`
	// Job is the Pushgateway's job label.
	Job string `yaml:"job"`
}

// Metrics formats (metrics.format).
const (
	MetricsNone = "none"
	MetricsEMF  = "emf"
)

// Default returns the built-in defaults, as Load would resolve them with an
// empty environment: a run id generated from the current time and shard
// "0/1". It validates once credentials are set or dry_run is on.
func Default() Config {
	c := defaults()
	c.Run.RunID = NewRunID(time.Now())
	c.Run.Shard = "0/1"
	return c
}

// defaults returns the built-in defaults with run.run_id and run.shard
// empty: Load derives those after every layer is applied.
func defaults() Config {
	return Config{
		Run: RunConfig{
			ShardCount:  1,
			GracePeriod: 20 * time.Second,
			LeaseTTL:    time.Minute,
			Redrive:     pipeline.RedriveNone,
			SampleSeed:  1,
		},
		Source: SourceConfig{
			Archive:            "./archive",
			DefaultDocumentID:  137,
			DefaultProcessType: pictureid.ProcessDocumentSelfie,
			MaxImageBytes:      4 * MiB,
			MaxPixels:          25_000_000,
			MinWidth:           200,
			MinHeight:          200,
		},
		Output: OutputConfig{
			URI:            "./out",
			MaxRowsPerPart: 50000,
			MaxPartAge:     2 * time.Minute,
			PersonalData:   privacy.Omit,
		},
		API: APIConfig{
			BaseURL:        assure.DefaultBaseURL,
			TokenURL:       assure.DefaultTokenURL,
			Rate:           Rate{PerSecond: 20},
			Burst:          10,
			RequestTimeout: 30 * time.Second,
			Retry: assure.RetryPolicy{
				MaxAttempts: 4,
				BaseDelay:   250 * time.Millisecond,
				MaxDelay:    10 * time.Second,
				MaxPause:    30 * time.Second,
				MaxElapsed:  2 * time.Minute,
			},
			TokenRenewBefore: 60 * time.Second,
			TokenTimeout:     5 * time.Minute,
		},
		Concurrency: pipeline.Concurrency{Uploads: 16, InFlight: 2000, PollWorkers: 8, Finalizers: 4},
		Poll: pipeline.PollConfig{
			InitialDelay: 20 * time.Second,
			Multiplier:   2,
			MaxInterval:  60 * time.Second,
			Jitter:       0.2,
			Deadline:     30 * time.Minute,
			BulkStatus:   true,
		},
		FailureThreshold: pipeline.Threshold{MinRecords: 50, MaxErrorShare: 0.5},
		Emulator:         EmulatorConfig{TimeScale: 0.01, Seed: 1},
		Logging:          LoggingConfig{Level: "info", Format: "auto", ProgressInterval: 30 * time.Second},
		Metrics:          MetricsConfig{Format: MetricsNone, Interval: 60 * time.Second, Namespace: "reverify", Job: "reverify"},
	}
}

// NewRunID returns the generated run id for t: run-YYYYMMDDTHHMMSSZ (UTC).
func NewRunID(t time.Time) string { return "run-" + t.UTC().Format("20060102T150405Z") }

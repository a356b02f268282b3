package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withCreds(c Config) Config {
	c.API.ClientID, c.API.ClientSecret = fakeID, fakeSecret
	return c
}

func TestDefaultsValidate(t *testing.T) {
	require.NoError(t, withCreds(Default()).Validate())
	d := Default()
	d.Run.DryRun = true
	require.NoError(t, d.Validate())
	err := Default().Validate()
	assert.Equal(t, "api.client_id: required: set SIGNICAT_CLIENT_ID (or run with run.dry_run: true)\n"+
		"api.client_secret: required: set SIGNICAT_CLIENT_SECRET, SIGNICAT_CLIENT_SECRET_FILE or api.client_secret_file (or run with run.dry_run: true)",
		err.Error())
}

// Many wrong fields at once: Validate lists every one, one line each,
// starting with the field's dotted name.
func TestValidateListsEveryWrongField(t *testing.T) {
	c := withCreds(Default())
	bad := map[string]func(*Config){
		"run.run_id":                        func(c *Config) { c.Run.RunID = "has space" },
		"run.shard":                         func(c *Config) { c.Run.Shard = "3/3" },
		"run.shard_count":                   func(c *Config) { c.Run.ShardCount = 0 },
		"run.limit":                         func(c *Config) { c.Run.Limit = -1 },
		"run.max_duration":                  func(c *Config) { c.Run.MaxDuration = -time.Second },
		"run.grace_period":                  func(c *Config) { c.Run.GracePeriod = -time.Second },
		"source.archive":                    func(c *Config) { c.Source.Archive = "ftp://host/x" },
		"source.manifest":                   func(c *Config) { c.Source.Manifest = "records.xlsx" },
		"source.default_document_id":        func(c *Config) { c.Source.DefaultDocumentID = 0 },
		"source.default_process_type":       func(c *Config) { c.Source.DefaultProcessType = "selfie" },
		"source.max_image_bytes":            func(c *Config) { c.Source.MaxImageBytes = 0 },
		"source.max_pixels":                 func(c *Config) { c.Source.MaxPixels = 0 },
		"source.min_width":                  func(c *Config) { c.Source.MinWidth = -1 },
		"source.min_height":                 func(c *Config) { c.Source.MinHeight = -1 },
		"source.s3.endpoint":                func(c *Config) { c.Source.S3.Endpoint = "127.0.0.1:7070" },
		"source.s3.max_attempts":            func(c *Config) { c.Source.S3.MaxAttempts = -1 },
		"output.uri":                        func(c *Config) { c.Output.URI = "s3://" },
		"output.max_rows_per_part":          func(c *Config) { c.Output.MaxRowsPerPart = 0 },
		"output.max_part_age":               func(c *Config) { c.Output.MaxPartAge = 0 },
		"output.s3.endpoint":                func(c *Config) { c.Output.S3.Endpoint = "ftp://x" },
		"output.s3.max_attempts":            func(c *Config) { c.Output.S3.MaxAttempts = -2 },
		"output.s3.sse":                     func(c *Config) { c.Output.S3.SSE = "aes256" },
		"output.s3.kms_key_id":              func(c *Config) { c.Output.S3.KMSKeyID = "alias/reports" },
		"source.s3.sse":                     func(c *Config) { c.Source.S3.SSE = "AES256" },
		"source.s3.kms_key_id":              func(c *Config) { c.Source.S3.KMSKeyID = "alias/archive" },
		"api.base_url":                      func(c *Config) { c.API.BaseURL = "api.signicat.com/assure" },
		"api.token_url":                     func(c *Config) { c.API.TokenURL = "ftp://x/token" },
		"api.rate":                          func(c *Config) { c.API.Rate = Rate{PerSecond: -3} },
		"api.rate_per_shard":                func(c *Config) { c.API.RatePerShard = -1 },
		"api.burst":                         func(c *Config) { c.API.Burst = 0 },
		"api.request_timeout":               func(c *Config) { c.API.RequestTimeout = 0 },
		"api.retry.max_attempts":            func(c *Config) { c.API.Retry.MaxAttempts = 0 },
		"api.retry.base_delay":              func(c *Config) { c.API.Retry.BaseDelay = 0 },
		"api.retry.max_delay":               func(c *Config) { c.API.Retry.MaxDelay = -1 },
		"api.retry.max_pause":               func(c *Config) { c.API.Retry.MaxPause = 0 },
		"api.retry.max_elapsed":             func(c *Config) { c.API.Retry.MaxElapsed = 0 },
		"api.token_timeout":                 func(c *Config) { c.API.TokenTimeout = 0 },
		"run.lease_ttl":                     func(c *Config) { c.Run.LeaseTTL = 0 },
		"run.redrive":                       func(c *Config) { c.Run.Redrive = "some" },
		"api.token_renew_before":            func(c *Config) { c.API.TokenRenewBefore = -time.Second },
		"api.client_id":                     func(c *Config) { c.API.ClientID = "" },
		"api.client_secret":                 func(c *Config) { c.API.ClientSecret = "" },
		"concurrency.uploads":               func(c *Config) { c.Concurrency.Uploads = 0 },
		"concurrency.in_flight":             func(c *Config) { c.Concurrency.InFlight = 0 },
		"concurrency.poll_workers":          func(c *Config) { c.Concurrency.PollWorkers = 0 },
		"concurrency.finalizers":            func(c *Config) { c.Concurrency.Finalizers = -1 },
		"poll.initial_delay":                func(c *Config) { c.Poll.InitialDelay = -time.Second },
		"poll.multiplier":                   func(c *Config) { c.Poll.Multiplier = 0.5 },
		"poll.max_interval":                 func(c *Config) { c.Poll.MaxInterval = 0 },
		"poll.jitter":                       func(c *Config) { c.Poll.Jitter = 1 },
		"poll.deadline":                     func(c *Config) { c.Poll.Deadline = 0 },
		"failure_threshold.min_records":     func(c *Config) { c.FailureThreshold.MinRecords = 0 },
		"failure_threshold.max_error_share": func(c *Config) { c.FailureThreshold.MaxErrorShare = 0 },
		"emulator.time_scale":               func(c *Config) { c.Emulator.TimeScale = 2 },
		"logging.level":                     func(c *Config) { c.Logging.Level = "verbose" },
		"logging.format":                    func(c *Config) { c.Logging.Format = "xml" },
		"logging.progress_interval":         func(c *Config) { c.Logging.ProgressInterval = 0 },
		"metrics.format":                    func(c *Config) { c.Metrics.Format = "statsd" },
		"metrics.interval":                  func(c *Config) { c.Metrics.Interval = 0 },
		"metrics.namespace":                 func(c *Config) { c.Metrics.Namespace = "AWS/Batch" },
		"metrics.push_url":                  func(c *Config) { c.Metrics.PushURL = "pushgateway:9091" },
		"metrics.job":                       func(c *Config) { c.Metrics.Job = " " },
	}
	base := c
	for field, mutate := range bad {
		one := base
		mutate(&one)
		var errs Errors
		require.True(t, errors.As(one.Validate(), &errs), field)
		assert.Equal(t, []string{field}, errs.Fields(), "only %s is wrong", field)
		mutate(&c)
	}
	err := c.Validate()
	var errs Errors
	require.True(t, errors.As(err, &errs))
	assert.ElementsMatch(t, keys(bad), errs.Fields())
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, len(bad))
	for i, line := range lines {
		assert.True(t, strings.HasPrefix(line, errs[i].Field+": "), line)
	}
	assert.Contains(t, lines, "api.rate: must be > 0 or auto (got -3)")
	assert.Contains(t, lines, `run.run_id: must be 1 to 128 characters from A-Z a-z 0-9 . _ -, not starting with '.' (got "has space")`)
	assert.Contains(t, lines, `source.default_process_type: must be documentSelfie or document (got "selfie")`)
	assert.Contains(t, lines, "poll.jitter: must be in [0, 1) (got 1)")
	assert.Contains(t, lines, `logging.level: must be one of debug, info, warn, error (got "verbose")`)
}

func keys(m map[string]func(*Config)) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValidateBoundaries(t *testing.T) {
	ok := []func(*Config){
		func(c *Config) { c.Poll.Jitter = 0 },
		func(c *Config) { c.Poll.Multiplier = 1 },
		func(c *Config) { c.Poll.InitialDelay = 0 },
		func(c *Config) { c.FailureThreshold.MaxErrorShare = 1 },
		func(c *Config) { c.Emulator.TimeScale = 1 },
		func(c *Config) { c.Run.RunID = strings.Repeat("a", 128) },
		func(c *Config) { c.Run.RunID = "Nightly_2026.11-27" },
		func(c *Config) { c.Run.Shard = "" },
		func(c *Config) { c.Run.Shard = "9999/10000" },
		func(c *Config) { c.Source.Manifest = "lists/records.CSV" },
		func(c *Config) { c.Source.Manifest = "s3://bucket/m.jsonl" },
		func(c *Config) { c.Source.MinWidth, c.Source.MinHeight = 0, 0 },
		func(c *Config) { c.Source.Archive, c.Output.URI = "file:///data/archive", "s3://bucket" },
		func(c *Config) { c.API.BaseURL = "http://127.0.0.1:8080/assure" },
		func(c *Config) { c.API.Retry.MaxDelay = c.API.Retry.BaseDelay },
		func(c *Config) { c.API.Rate, c.API.MaxRate = Rate{Auto: true}, 60 },
		func(c *Config) { c.API.Rate, c.API.MaxRate, c.API.StartRate = Rate{Auto: true}, 60, 60 },
		func(c *Config) { c.API.Rate, c.API.RatePerShard = Rate{Auto: true}, 5 }, // the shard's ceiling
		func(c *Config) { c.API.MaxRate, c.API.StartRate = 60, 600 },             // unused with a fixed rate
		func(c *Config) { c.API.Rate, c.API.MaxRate = Rate{Auto: true}, 0.001 },  // tiny, but a ceiling
		func(c *Config) { c.Metrics.Format, c.Metrics.Interval = MetricsEMF, time.Millisecond },
		func(c *Config) { c.Metrics.Namespace = "Team/reverify: nightly #2_x.y-z" },
		func(c *Config) { c.Metrics.Namespace = strings.Repeat("n", 255) },
		func(c *Config) { c.Metrics.PushURL = "https://pushgateway.example:9091/prefix/" },
	}
	for i, mutate := range ok {
		c := withCreds(Default())
		mutate(&c)
		assert.NoError(t, c.Validate(), "case %d", i)
	}
	bad := []struct {
		field  string
		mutate func(*Config)
	}{
		{"run.run_id", func(c *Config) { c.Run.RunID = strings.Repeat("a", 129) }},
		{"run.run_id", func(c *Config) { c.Run.RunID = ".hidden" }},
		{"run.run_id", func(c *Config) { c.Run.RunID = "a/b" }},
		{"run.shard", func(c *Config) { c.Run.Shard = "-1/3" }},
		{"api.rate", func(c *Config) { c.API.Rate = Rate{PerSecond: math.Inf(1)} }},
		{"api.max_rate", func(c *Config) { c.API.Rate = Rate{Auto: true} }},
		{"api.max_rate", func(c *Config) { c.API.MaxRate = -1 }},
		{"api.start_rate", func(c *Config) { c.API.Rate, c.API.MaxRate, c.API.StartRate = Rate{Auto: true}, 60, 61 }},
		{"api.start_rate", func(c *Config) { c.API.StartRate = math.NaN() }},
		{"api.retry.max_delay", func(c *Config) { c.API.Retry.MaxDelay = c.API.Retry.BaseDelay - 1 }},
		{"emulator.time_scale", func(c *Config) { c.Emulator.TimeScale = 0 }},
		{"poll.multiplier", func(c *Config) { c.Poll.Multiplier = math.NaN() }},
		{"source.manifest", func(c *Config) { c.Source.Manifest = "s3:///m.csv" }},
		{"metrics.namespace", func(c *Config) { c.Metrics.Namespace = "" }},
		{"metrics.namespace", func(c *Config) { c.Metrics.Namespace = "   " }},
		{"metrics.namespace", func(c *Config) { c.Metrics.Namespace = strings.Repeat("n", 256) }},
		{"metrics.namespace", func(c *Config) { c.Metrics.Namespace = "names{}" }},
		{"metrics.push_url", func(c *Config) { c.Metrics.PushURL = "ftp://gw" }},
		{"metrics.push_url", func(c *Config) { c.Metrics.PushURL = "https://user:secret@gw" }},
		{"metrics.job", func(c *Config) { c.Metrics.Job = "" }},
	}
	for _, tc := range bad {
		c := withCreds(Default())
		tc.mutate(&c)
		var errs Errors
		require.True(t, errors.As(c.Validate(), &errs), tc.field)
		assert.Equal(t, []string{tc.field}, errs.Fields())
	}
}

func TestParseShard(t *testing.T) {
	good := map[string][2]int{"": {0, 1}, "0/1": {0, 1}, "3/10": {3, 10}, "9/10": {9, 10}}
	for in, want := range good {
		k, n, err := parseShard(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]int{k, n}, in)
	}
	for _, in := range []string{"3", "3/3", "10/3", "-1/3", "1/0", "a/b", "1/2/3", "+1/2", " 1/2", "1/"} {
		_, _, err := parseShard(in)
		assert.Error(t, err, in)
	}
}

// output.s3.sse asks S3 to encrypt every object written: one of the values
// S3 knows, a KMS key only with aws:kms; source.s3 is only read, so it may
// not ask (it would do nothing).
func TestValidateS3Encryption(t *testing.T) {
	for _, ok := range []struct{ sse, key string }{{"", ""}, {"AES256", ""}, {"aws:kms", ""}, {"aws:kms", "alias/reports"}} {
		c := withCreds(Default())
		c.Output.URI = "s3://bucket/reports"
		c.Output.S3.SSE, c.Output.S3.KMSKeyID = ok.sse, ok.key
		assert.NoError(t, c.Validate(), "%+v", ok)
	}
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.Output.S3.SSE = "aws:kms:dsse" },
			`output.s3.sse: must be "" (none asked for: the bucket's default encryption applies), AES256 (SSE-S3) or aws:kms (SSE-KMS) (got "aws:kms:dsse")`},
		{func(c *Config) { c.Output.S3.SSE, c.Output.S3.KMSKeyID = "AES256", "alias/reports" },
			`output.s3.kms_key_id: is only for output.s3.sse: aws:kms (got output.s3.sse "AES256")`},
		{func(c *Config) { c.Output.S3.KMSKeyID = "alias/reports" },
			`output.s3.kms_key_id: is only for output.s3.sse: aws:kms (got output.s3.sse "")`},
		{func(c *Config) { c.Source.S3.SSE = "aws:kms" },
			`source.s3.sse: must be empty: the archive is only read, never written; to encrypt what reverify writes, set output.s3.sse (got "aws:kms")`},
		{func(c *Config) { c.Source.S3.KMSKeyID = "alias/archive" },
			`source.s3.kms_key_id: must be empty: the archive is only read, never written; to encrypt what reverify writes with a KMS key, ` +
				`set output.s3.sse: aws:kms and output.s3.kms_key_id (got "alias/archive")`},
	} {
		c := withCreds(Default())
		tc.mutate(&c)
		err := c.Validate()
		if assert.Error(t, err, tc.want) {
			assert.Equal(t, tc.want, err.Error())
		}
	}
}

// The encryption keys load from YAML and REVERIFY_* like any other, reach
// the output's S3 options, and a refused one stops Load naming the key.
func TestLoadS3Encryption(t *testing.T) {
	c, err := Load([]byte("output:\n  uri: s3://bucket/reports\n  s3:\n    sse: aws:kms\n    kms_key_id: alias/reports\n"), creds)
	require.NoError(t, err)
	assert.Equal(t, "aws:kms", c.OutputS3().SSE)
	assert.Equal(t, "alias/reports", c.OutputS3().KMSKeyID)
	c, err = Load(nil, append([]string{"REVERIFY_OUTPUT_S3_SSE=AES256"}, creds...))
	require.NoError(t, err)
	assert.Equal(t, "AES256", c.OutputS3().SSE)
	_, err = Load([]byte("source:\n  s3:\n    sse: AES256\n"), creds)
	assert.ErrorContains(t, err, "source.s3.sse: must be empty: the archive is only read")
	_, err = Load(nil, append([]string{"REVERIFY_OUTPUT_S3_SSE=kms"}, creds...))
	assert.ErrorContains(t, err, `output.s3.sse: must be ""`)
}

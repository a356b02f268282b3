package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The schema of the issue, key for key: the yaml tags must produce exactly it.
func TestKeysMatchTheSchema(t *testing.T) {
	s3 := func(p string) []string {
		return []string{p + ".region", p + ".endpoint", p + ".path_style", p + ".checksum_when_required", p + ".max_attempts",
			p + ".sse", p + ".kms_key_id"}
	}
	var want []string
	want = append(want, "run.run_id", "run.shard", "run.shard_count", "run.limit", "run.dry_run", "run.max_duration", "run.grace_period", "run.lease_ttl", "run.redrive", "run.sample", "run.sample_seed", "run.skip_verified_since", "run.history",
		"source.archive", "source.manifest", "source.default_document_id", "source.default_process_type",
		"source.max_image_bytes", "source.max_pixels", "source.min_width", "source.min_height")
	want = append(want, s3("source.s3")...)
	want = append(want, "output.uri", "output.max_rows_per_part", "output.max_part_age", "output.personal_data", "output.hash_key_file",
		"output.download_results", "output.keep_dossiers")
	want = append(want, s3("output.s3")...)
	want = append(want, "api.base_url", "api.token_url", "api.client_secret_file", "api.rate", "api.max_rate", "api.start_rate", "api.rate_per_shard", "api.burst",
		"api.request_timeout", "api.retry.max_attempts", "api.retry.base_delay", "api.retry.max_delay",
		"api.retry.max_pause", "api.retry.max_elapsed", "api.token_renew_before", "api.token_timeout",
		"concurrency.uploads", "concurrency.in_flight", "concurrency.poll_workers", "concurrency.finalizers",
		"poll.initial_delay", "poll.multiplier", "poll.max_interval", "poll.jitter", "poll.deadline", "poll.bulk_status", "poll.list_interval",
		"failure_threshold.min_records", "failure_threshold.max_error_share",
		"emulator.time_scale", "emulator.scenario", "emulator.seed",
		"logging.level", "logging.format", "logging.progress_interval",
		"metrics.format", "metrics.interval", "metrics.namespace", "metrics.push_url", "metrics.job")
	assert.Equal(t, want, Keys())
}

func TestEnvNames(t *testing.T) {
	assert.Equal(t, "REVERIFY_API_RATE", EnvName("api.rate"))
	assert.Equal(t, "REVERIFY_SOURCE_S3_ENDPOINT", EnvName("source.s3.endpoint"))
	assert.Equal(t, "REVERIFY_API_RETRY_MAX_ATTEMPTS", EnvName("api.retry.max_attempts"))
	seen := map[string]string{}
	for _, k := range Keys() {
		n := EnvName(k)
		require.NotContains(t, seen, n, "%s and %s share a variable", k, seen[n])
		seen[n] = k
		assert.False(t, reservedEnv(n), n)
	}
}

func TestSetByDottedKey(t *testing.T) {
	c := Default()
	require.NoError(t, c.Set("run.limit", "10"))
	require.NoError(t, c.Set("api.rate", "2.5"))
	require.NoError(t, c.Set("output.download_results", "true"))
	require.NoError(t, c.Set("poll.deadline", "45m"))
	require.NoError(t, c.Set("source.max_image_bytes", "512KiB"))
	require.NoError(t, c.Set("source.archive", "s3://bucket/prefix"))
	require.NoError(t, c.Set("source.s3.endpoint", "http://127.0.0.1:7070"))
	require.NoError(t, c.Set("emulator.seed", "-42"))
	require.NoError(t, c.Set("run.max_duration", "0"))
	assert.Equal(t, 10, c.Run.Limit)
	assert.Equal(t, Rate{PerSecond: 2.5}, c.API.Rate)
	assert.True(t, c.Output.DownloadResults)
	assert.Equal(t, 45*time.Minute, c.Poll.Deadline)
	assert.Equal(t, 512*KiB, c.Source.MaxImageBytes)
	assert.Equal(t, "s3://bucket/prefix", c.Source.Archive)
	assert.Equal(t, "http://127.0.0.1:7070", c.Source.S3.Endpoint)
	assert.Equal(t, int64(-42), c.Emulator.Seed)
	assert.Zero(t, c.Run.MaxDuration)
}

func TestSetErrorsNameTheKey(t *testing.T) {
	cases := []struct{ key, value, msg string }{
		{"run.limit", "ten", `run.limit: invalid integer "ten"`},
		{"run.limit", "1.5", `run.limit: invalid integer "1.5"`},
		{"run.limit", "99999999999999999999", `run.limit: invalid integer`},
		{"api.rate", "fast", `api.rate: invalid rate "fast" (a number of requests per second, or auto)`},
		{"api.rate", "NaN", `api.rate: invalid rate "NaN"`},
		{"api.rate", "+Inf", `api.rate: invalid rate "+Inf"`},
		{"api.max_rate", "lots", `api.max_rate: invalid number "lots"`},
		{"run.dry_run", "yes", `run.dry_run: invalid boolean "yes"`},
		{"poll.deadline", "30", `poll.deadline: invalid duration "30"`},
		{"poll.deadline", "5 minutes", `poll.deadline: invalid duration`},
		{"source.max_image_bytes", "10MB", `source.max_image_bytes: invalid size "10MB"`},
		{"api.ratee", "1", "api.ratee: unknown key (did you mean api.rate?)"},
		{"nonsense", "1", "nonsense: unknown key"},
		{"api.retry", "1", "api.retry: is a section, not a value; set one of its keys (api.retry.max_attempts"},
		{"api.client_secret", "x", "api.client_secret: secrets are not read from the configuration: set SIGNICAT_CLIENT_SECRET"},
		{"api.client_id", "x", "api.client_id: the client id is not read from the configuration: set SIGNICAT_CLIENT_ID"},
		{"source.s3.secret_access_key", "x", "source.s3.secret_access_key: S3 credentials are not read from the configuration"},
	}
	for _, tc := range cases {
		c := Default()
		before := c
		err := c.Set(tc.key, tc.value)
		require.Error(t, err, tc.key)
		assert.True(t, strings.HasPrefix(err.Error(), tc.msg), "got %q, want prefix %q", err, tc.msg)
		assert.Equal(t, before, c, "a failed Set must not change the config")
	}
}

// Every key can be set through Set (and therefore through the environment
// and flags), whatever its type.
func TestEveryKeyIsSettable(t *testing.T) {
	s := newSchema()
	for _, l := range s.leaves {
		var text string
		var want any
		switch {
		case l.typ == durationType:
			text, want = "1h2m3s", time.Hour+2*time.Minute+3*time.Second
		case l.typ == sizeType:
			text, want = "3MiB", 3*MiB
		case l.typ == rateType:
			text, want = "auto", Rate{Auto: true}
		case l.typ.Kind() == reflect.String:
			text, want = "some-value", reflect.ValueOf("some-value").Convert(l.typ).Interface()
		case l.typ.Kind() == reflect.Bool:
			text, want = "true", true
		case l.typ.Kind() == reflect.Int:
			text, want = "12345", 12345
		case l.typ.Kind() == reflect.Int64:
			text, want = "12345", int64(12345)
		case l.typ.Kind() == reflect.Float64:
			text, want = "0.125", 0.125
		default:
			t.Fatalf("%s: type %s not covered", l.key, l.typ)
		}
		var c Config
		require.NoError(t, c.Set(l.key, text), l.key)
		assert.Equal(t, want, reflect.ValueOf(c).FieldByIndex(l.index).Interface(), l.key)
	}
}

func TestClosestKey(t *testing.T) {
	s := newSchema()
	assert.Equal(t, "run.limit", s.closest("run.limt"))
	assert.Equal(t, "poll.max_interval", s.closest("poll.max_intervall"))
	assert.Equal(t, "", s.closest("completely.different"))
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
	assert.Equal(t, 0, editDistance("", ""))
}

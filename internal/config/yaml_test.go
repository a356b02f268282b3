package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decode applies yaml over the defaults and returns the config and problems.
func decode(t *testing.T, yaml string) (Config, Errors) {
	t.Helper()
	c := defaults()
	errs := c.applyYAML([]byte(yaml))
	return c, errs
}

func TestYAMLValues(t *testing.T) {
	c, errs := decode(t, `
run:
  run_id: nightly-2026-11-27
  limit: 5
  dry_run: true
  max_duration: 0
source:
  archive: s3://bucket/prefix
  max_image_bytes: 512KiB
  s3: {region: eu-west-1, path_style: true}
api:
  rate: 7.5
  retry:
    base_delay: 100ms
poll:
  deadline: 1h30m
emulator:
  seed: 7
`)
	require.Empty(t, errs)
	assert.Equal(t, "nightly-2026-11-27", c.Run.RunID)
	assert.Equal(t, 5, c.Run.Limit)
	assert.True(t, c.Run.DryRun)
	assert.Equal(t, "s3://bucket/prefix", c.Source.Archive)
	assert.Equal(t, 512*KiB, c.Source.MaxImageBytes)
	assert.Equal(t, "eu-west-1", c.Source.S3.Region)
	assert.True(t, c.Source.S3.PathStyle)
	assert.Equal(t, Rate{PerSecond: 7.5}, c.API.Rate)
	assert.Equal(t, 100*time.Millisecond, c.API.Retry.BaseDelay)
	assert.Equal(t, 90*time.Minute, c.Poll.Deadline)
	assert.Equal(t, int64(7), c.Emulator.Seed)
	// Untouched keys keep their defaults.
	assert.Equal(t, 4, c.API.Retry.MaxAttempts)
	assert.Equal(t, 10, c.API.Burst)
}

func TestYAMLEmptyAndNull(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n", "~\n", "---\n"} {
		c, errs := decode(t, doc)
		require.Empty(t, errs, "%q", doc)
		assert.Equal(t, defaults(), c, "%q", doc)
	}
	// A key without a value, or an empty section, keeps the default.
	c, errs := decode(t, "api:\n  rate:\npoll:\nsource:\n  s3: {}\n")
	require.Empty(t, errs)
	assert.Equal(t, defaults(), c)
}

func TestYAMLUnknownKeysNameKeyAndLine(t *testing.T) {
	_, errs := decode(t, "run:\n  limt: 3\napi:\n  retry:\n    max_atempts: 2\nfoo: 1\nrate: 3\npoll:\n  burst: 2\n")
	assert.Equal(t, []string{"run.limt", "api.retry.max_atempts", "foo", "rate", "poll.burst"}, errs.Fields())
	assert.Equal(t, "run.limt: line 2: unknown key (did you mean run.limit?)", errs[0].Error())
	assert.Equal(t, "api.retry.max_atempts: line 5: unknown key (did you mean api.retry.max_attempts?)", errs[1].Error())
	assert.Equal(t, "foo: line 6: unknown key", errs[2].Error())
	assert.Equal(t, "rate: line 7: unknown key (did you mean api.rate?)", errs[3].Error())
	assert.Equal(t, "poll.burst: line 9: unknown key (did you mean api.burst?)", errs[4].Error())
}

func TestYAMLRefusesSecrets(t *testing.T) {
	_, errs := decode(t, "api:\n  rate: 3\n  client_secret: hunter2\n  client_id: me\nsource:\n  s3:\n    secret_access_key: x\n")
	require.Len(t, errs, 3)
	assert.Equal(t, "api.client_secret", errs[0].Field)
	assert.Contains(t, errs[0].Msg, "line 3")
	assert.Contains(t, errs[0].Msg, "SIGNICAT_CLIENT_SECRET")
	assert.NotContains(t, errs.Error(), "hunter2", "the secret must not be echoed")
	assert.Equal(t, "api.client_id", errs[1].Field)
	assert.Contains(t, errs[1].Msg, "SIGNICAT_CLIENT_ID")
	assert.Equal(t, "source.s3.secret_access_key", errs[2].Field)
	assert.Contains(t, errs[2].Msg, "AWS credential chain")
}

func TestYAMLWrongValuesCollectsAll(t *testing.T) {
	_, errs := decode(t, `
run:
  limit: many
  dry_run: yes
api:
  rate: [1, 2]
  retry: 3
poll:
  deadline: 30
source:
  max_image_bytes: 1.5GiB
  manifest:
    nested: x
`)
	assert.Equal(t, []string{"run.limit", "run.dry_run", "api.rate", "api.retry", "poll.deadline", "source.max_image_bytes", "source.manifest"}, errs.Fields())
	lines := strings.Split(errs.Error(), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, `run.limit: line 3: invalid integer "many"`, lines[0])
	assert.Equal(t, `api.rate: line 6: expected a single value, got a list`, lines[2])
	assert.Contains(t, lines[3], "api.retry: line 7: this section must be a mapping of keys (max_attempts, base_delay")
	assert.Contains(t, lines[5], "fractions are not supported")
	assert.Equal(t, `source.manifest: line 13: expected a single value, got a mapping`, lines[6])
}

func TestYAMLDuplicateKey(t *testing.T) {
	_, errs := decode(t, "api:\n  rate: 1\n  rate: 2\n")
	require.Len(t, errs, 1)
	assert.Equal(t, "api.rate: line 3: duplicate key (first set at line 2)", errs[0].Error())
}

func TestYAMLTopLevelMustBeMapping(t *testing.T) {
	_, errs := decode(t, "- run\n- api\n")
	require.Len(t, errs, 1)
	assert.Equal(t, "yaml", errs[0].Field)
	assert.Contains(t, errs[0].Msg, "the configuration must be a mapping of keys (run, source, output, api")
}

func TestYAMLSyntaxErrorAndManyDocuments(t *testing.T) {
	_, errs := decode(t, "run:\n  limit: 1\n   dry_run: true\n")
	require.Len(t, errs, 1)
	assert.Equal(t, "yaml", errs[0].Field)
	assert.Contains(t, errs[0].Msg, "line 3")

	_, errs = decode(t, "run: {limit: 1}\n---\nrun: {limit: 2}\n")
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "more than one YAML document")
}

func TestYAMLAnchorsAndMerge(t *testing.T) {
	c, errs := decode(t, `
source:
  s3: &store {region: eu-north-1, endpoint: "http://127.0.0.1:7070", path_style: true}
output:
  s3:
    <<: *store
    region: eu-west-1
`)
	require.Empty(t, errs)
	assert.Equal(t, "eu-north-1", c.Source.S3.Region)
	assert.Equal(t, "eu-west-1", c.Output.S3.Region, "explicit keys override merged ones")
	assert.Equal(t, "http://127.0.0.1:7070", c.Output.S3.Endpoint)
	assert.True(t, c.Output.S3.PathStyle)
}

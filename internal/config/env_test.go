package config

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dry is a YAML that validates without credentials.
const dry = "run:\n  dry_run: true\n"

func TestEnvOverridesEveryType(t *testing.T) {
	c, err := Load([]byte(dry), []string{
		"REVERIFY_API_RATE=50",                              // float
		"REVERIFY_RUN_LIMIT=7",                              // int
		"REVERIFY_OUTPUT_KEEP_DOSSIERS=true",                // bool
		"REVERIFY_POLL_DEADLINE=45m",                        // duration
		"REVERIFY_SOURCE_MAX_IMAGE_BYTES=2MiB",              // size
		"REVERIFY_SOURCE_ARCHIVE=s3://bucket/archive",       // string
		"REVERIFY_SOURCE_S3_ENDPOINT=http://127.0.0.1:7070", // nested
		"REVERIFY_EMULATOR_SEED=99",                         // int64
		"PATH=/usr/bin",                                     // not ours
	})
	require.NoError(t, err)
	assert.Equal(t, Rate{PerSecond: 50}, c.API.Rate)
	assert.Equal(t, 7, c.Run.Limit)
	assert.True(t, c.Output.KeepDossiers)
	assert.Equal(t, 45*time.Minute, c.Poll.Deadline)
	assert.Equal(t, 2*MiB, c.Source.MaxImageBytes)
	assert.Equal(t, "s3://bucket/archive", c.Source.Archive)
	assert.Equal(t, "http://127.0.0.1:7070", c.Source.S3.Endpoint)
	assert.Equal(t, int64(99), c.Emulator.Seed)
}

func TestPrecedence(t *testing.T) {
	yaml := dry + "api:\n  rate: 5\n  burst: 3\nrun_limit_is_not_here: {}\n"
	_, err := Load([]byte(yaml), nil)
	require.Error(t, err) // sanity: the unknown top-level key is refused

	yaml = dry + "api:\n  rate: 5\n  burst: 3\n  request_timeout: 1m\n"
	env := []string{"REVERIFY_API_RATE=6", "REVERIFY_API_BURST=4"}
	c, err := Load([]byte(yaml), env, Setting{Key: "api.rate", Value: "7"})
	require.NoError(t, err)
	assert.Equal(t, Rate{PerSecond: 7}, c.API.Rate, "a setting (flag) beats env")
	assert.Equal(t, 4, c.API.Burst, "env beats YAML")
	assert.Equal(t, time.Minute, c.API.RequestTimeout, "YAML beats defaults")
	assert.Equal(t, 2000, c.Concurrency.InFlight, "defaults remain")
}

func TestEnvUnknownVariableRefused(t *testing.T) {
	_, err := Load([]byte(dry), []string{"REVERIFY_API_RATEE=5", "REVERIFY_NOTHING=1", "REVERIFY_API_CLIENT_SECRET=hunter2",
		"REVERIFY_RUN_LIMITS=x", "REVERIFY_MAX_ATTEMPTS=3"})
	var errs Errors
	require.True(t, errors.As(err, &errs))
	assert.Equal(t, []string{"REVERIFY_API_CLIENT_SECRET", "REVERIFY_API_RATEE", "REVERIFY_MAX_ATTEMPTS", "REVERIFY_NOTHING", "REVERIFY_RUN_LIMITS"}, errs.Fields())
	assert.Contains(t, errs[0].Msg, "SIGNICAT_CLIENT_SECRET")
	assert.Contains(t, errs[1].Msg, "did you mean REVERIFY_API_RATE?")
	assert.Contains(t, errs[2].Msg, "did you mean REVERIFY_SOURCE_S3_MAX_ATTEMPTS or REVERIFY_OUTPUT_S3_MAX_ATTEMPTS or REVERIFY_API_RETRY_MAX_ATTEMPTS?")
	assert.Equal(t, "unknown variable: no configuration key has this name (REVERIFY_ + the dotted key upper-cased, dots as underscores: REVERIFY_API_RATE)", errs[3].Msg)
	assert.Contains(t, errs[4].Msg, "did you mean REVERIFY_RUN_LIMIT?")
	assert.NotContains(t, err.Error(), "hunter2")
}

// REVERIFY_RUN_ID, the name a person guesses (and the AWS Batch example
// sets), names run.run_id like REVERIFY_RUN_RUN_ID; the two disagreeing is
// an error, not a silent choice.
func TestEnvRunIDAlias(t *testing.T) {
	c, err := Load([]byte(dry), []string{"REVERIFY_RUN_ID=nightly-1"})
	require.NoError(t, err)
	assert.Equal(t, "nightly-1", c.Run.RunID)
	c, err = Load([]byte(dry), []string{"REVERIFY_RUN_ID=same", "REVERIFY_RUN_RUN_ID=same"})
	require.NoError(t, err)
	assert.Equal(t, "same", c.Run.RunID)
	_, err = Load([]byte(dry), []string{"REVERIFY_RUN_ID=a", "REVERIFY_RUN_RUN_ID=b"})
	require.ErrorContains(t, err, "disagree")
}

// The test suites' own variables are all REVERIFY_TEST_*: exported as the
// test docs say, they do not make `batch run` refuse its environment.
func TestEnvTestVariablesAreNotConfiguration(t *testing.T) {
	_, err := Load([]byte(dry), []string{"REVERIFY_TEST_BIN=/x/batch", "REVERIFY_TEST_SOAK=1",
		"REVERIFY_TEST_SOAK_FIGURES=/x/f.md", "REVERIFY_TEST_CASE_FIGURES=/x/c.md", "REVERIFY_TEST_BENCH_RATE=5"})
	require.NoError(t, err)
}

func TestEnvReservedAndEmptyIgnored(t *testing.T) {
	c, err := Load([]byte(dry), []string{
		"REVERIFY_TEST_S3_ENDPOINT=http://x", "REVERIFY_TEST_ANYTHING=1",
		"REVERIFY_CACHE=/tmp/c", "REVERIFY_REQUIRE_S3=1", "REVERIFY_VERSITYGW=/bin/v",
		"REVERIFY_REQUIRE_PUSHGATEWAY=1", "REVERIFY_PUSHGATEWAY=/usr/bin/prometheus-pushgateway",
		"REVERIFY_API_RATE=", // empty: as if unset
	})
	require.NoError(t, err)
	assert.Equal(t, Rate{PerSecond: 20}, c.API.Rate)
}

func TestEnvBadValueNamesKeyAndVariable(t *testing.T) {
	_, err := Load([]byte(dry), []string{"REVERIFY_API_BURST=lots", "REVERIFY_POLL_JITTER=0.5.1"})
	require.Error(t, err)
	assert.Equal(t, "api.burst: REVERIFY_API_BURST: invalid integer \"lots\"\npoll.jitter: REVERIFY_POLL_JITTER: invalid number \"0.5.1\"", err.Error())
}

func TestEnvFirstDuplicateWins(t *testing.T) {
	env := parseEnviron([]string{"A=1", "A=2", "B", "=x", "C=x=y"})
	assert.Equal(t, environ{"A": "1", "C": "x=y"}, env)
}

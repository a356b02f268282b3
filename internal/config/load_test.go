package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	fakeID     = "client-id-4711"
	fakeSecret = "s3cr3t-Very-Long-Secret-Value"
)

var creds = []string{EnvClientID + "=" + fakeID, EnvClientSecret + "=" + fakeSecret}

func errFields(t *testing.T, err error) []string {
	t.Helper()
	var errs Errors
	require.True(t, errors.As(err, &errs), "want config.Errors, got %v", err)
	return errs.Fields()
}

func TestLoadDefaultsNeedCredentialsUnlessDryRun(t *testing.T) {
	_, err := Load(nil, nil)
	assert.Equal(t, []string{"api.client_id", "api.client_secret"}, errFields(t, err))

	c, err := Load(nil, creds)
	require.NoError(t, err)
	assert.Equal(t, fakeID, c.API.ClientID)
	assert.Equal(t, fakeSecret, c.API.ClientSecret)

	c, err = Load([]byte(dry), nil)
	require.NoError(t, err)
	assert.Empty(t, c.API.ClientSecret)
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(file, []byte("  "+fakeSecret+"\n\n"), 0o600))
	id := EnvClientID + "=" + fakeID

	c, err := Load(nil, []string{id, EnvClientSecretFile + "=" + file})
	require.NoError(t, err)
	assert.Equal(t, fakeSecret, c.API.ClientSecret, "trimmed")
	assert.Equal(t, file, c.API.ClientSecretFile)

	c, err = Load([]byte("api:\n  client_secret_file: "+file+"\n"), []string{id})
	require.NoError(t, err)
	assert.Equal(t, fakeSecret, c.API.ClientSecret)

	// SIGNICAT_CLIENT_SECRET_FILE overrides the key.
	other := filepath.Join(dir, "other")
	require.NoError(t, os.WriteFile(other, []byte("other-secret"), 0o600))
	c, err = Load([]byte("api:\n  client_secret_file: "+file+"\n"), []string{id, EnvClientSecretFile + "=" + other})
	require.NoError(t, err)
	assert.Equal(t, "other-secret", c.API.ClientSecret)
}

func TestSecretProblems(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	id := EnvClientID + "=" + fakeID

	_, err := Load(nil, []string{id, EnvClientSecretFile + "=" + filepath.Join(dir, "missing")})
	assert.Equal(t, []string{"api.client_secret_file"}, errFields(t, err), "no second 'required' line")
	assert.Contains(t, err.Error(), "cannot read the client secret")

	_, err = Load(nil, []string{id, EnvClientSecretFile + "=" + empty})
	assert.Equal(t, []string{"api.client_secret_file"}, errFields(t, err))
	assert.Contains(t, err.Error(), "is empty")

	_, err = Load(nil, []string{id, EnvClientSecret + "=" + fakeSecret, EnvClientSecretFile + "=" + empty})
	assert.Equal(t, []string{"api.client_secret_file"}, errFields(t, err))
	assert.Contains(t, err.Error(), "one way only")
	assert.NotContains(t, err.Error(), fakeSecret)
}

func TestRunIDGenerated(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	c, err := load([]byte(dry), nil, now, nil)
	require.NoError(t, err)
	assert.Equal(t, "run-20261127T020405Z", c.Run.RunID)

	c, err = Load([]byte(dry), nil)
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^run-\d{8}T\d{6}Z$`), c.Run.RunID)
	assert.Regexp(t, regexp.MustCompile(`^run-\d{8}T\d{6}Z$`), Default().Run.RunID)

	// An explicit empty run_id is generated too; an explicit one is kept.
	c, err = Load([]byte(dry+"  run_id: \"\"\n"), nil)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(c.Run.RunID, "run-"))
	c, err = Load([]byte(dry), []string{"REVERIFY_RUN_RUN_ID=nightly-2026-11-27", EnvBatchJobID + "=abc"})
	require.NoError(t, err)
	assert.Equal(t, "nightly-2026-11-27", c.Run.RunID)
}

func TestRunIDFromAWSBatchJob(t *testing.T) {
	for id, want := range map[string]string{
		"6e0c4bf1-8f2e-4a43-b7d5-0d1f2f0e6a11:17": "batch-6e0c4bf1-8f2e-4a43-b7d5-0d1f2f0e6a11", // array child
		"6e0c4bf1-8f2e-4a43-b7d5-0d1f2f0e6a11":    "batch-6e0c4bf1-8f2e-4a43-b7d5-0d1f2f0e6a11", // single job
	} {
		c, err := Load([]byte(dry), []string{EnvBatchJobID + "=" + id})
		require.NoError(t, err)
		assert.Equal(t, want, c.Run.RunID)
	}
}

func TestShardFromAWSBatchArrayIndex(t *testing.T) {
	cases := []struct {
		name   string
		yaml   string
		env    []string
		set    []Setting
		shard  string
		count  int
		fields []string
	}{
		{name: "no batch", shard: "0/1", count: 1},
		{name: "index with shard_count", yaml: "  shard_count: 10\n", env: []string{EnvBatchArrayIndex + "=3"}, shard: "3/10", count: 10},
		{name: "index with env shard_count", env: []string{EnvBatchArrayIndex + "=3", "REVERIFY_RUN_SHARD_COUNT=4"}, shard: "3/4", count: 4},
		{name: "array size fills count", env: []string{EnvBatchArrayIndex + "=7", EnvBatchArraySize + "=20"}, shard: "7/20", count: 20},
		{name: "array size agrees", yaml: "  shard_count: 20\n", env: []string{EnvBatchArrayIndex + "=7", EnvBatchArraySize + "=20"}, shard: "7/20", count: 20},
		{name: "array size disagrees", yaml: "  shard_count: 10\n", env: []string{EnvBatchArrayIndex + "=7", EnvBatchArraySize + "=20"}, fields: []string{"run.shard_count"}},
		{name: "index beyond count", env: []string{EnvBatchArrayIndex + "=3"}, fields: []string{"run.shard"}},
		{name: "garbage index", env: []string{EnvBatchArrayIndex + "=x"}, fields: []string{"run.shard"}},
		{name: "explicit shard wins", yaml: "  shard: 1/2\n", env: []string{EnvBatchArrayIndex + "=7", EnvBatchArraySize + "=20"}, shard: "1/2", count: 1},
		{name: "flag wins", env: []string{EnvBatchArrayIndex + "=7"}, set: []Setting{{Key: "run.shard", Value: "2/5"}}, shard: "2/5", count: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load([]byte(dry+tc.yaml), tc.env, tc.set...)
			if tc.fields != nil {
				assert.Equal(t, tc.fields, errFields(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.shard, c.Run.Shard)
			assert.Equal(t, tc.count, c.Run.ShardCount)
		})
	}
}

func TestSettingErrorsNameKeyAndSource(t *testing.T) {
	_, err := Load([]byte(dry), nil,
		Setting{Key: "run.limit", Value: "x", Source: "--limit"},
		Setting{Key: "run.nope", Value: "1"})
	require.Error(t, err)
	assert.Equal(t, "run.limit: --limit: invalid integer \"x\"\nrun.nope: unknown key", err.Error())
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte(dry+"  limit: 3\n"), 0o600))
	c, err := LoadFile(p, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, c.Run.Limit)
	_, err = LoadFile(p+".missing", nil)
	assert.Equal(t, []string{"config"}, errFields(t, err))
}

func TestLoadCollectsEveryKindOfProblem(t *testing.T) {
	yaml := "run:\n  dry_run: false\n  limt: 1\napi:\n  rate: -3\n"
	_, err := Load([]byte(yaml), []string{"REVERIFY_LOGGING_LEVEL=loud", "REVERIFY_X=1"},
		Setting{Key: "poll.jitter", Value: "2"})
	assert.Equal(t, []string{
		"run.limt", "REVERIFY_X",
		"api.rate", "api.client_id", "api.client_secret", "poll.jitter", "logging.level",
	}, errFields(t, err))
	for _, line := range strings.Split(err.Error(), "\n") {
		assert.Regexp(t, `^(REVERIFY_[A-Z_]+|[a-z_.]+): `, line)
	}
	assert.Contains(t, err.Error(), "api.rate: must be > 0 or auto (got -3)")
}

package main

import (
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/testutil/s3server"
)

// printedS3 runs `batch run --print-config` and returns source.s3 and
// output.s3 of the configuration it prints.
func printedS3(t *testing.T, args ...string) (source, output blob.S3Options) {
	t.Helper()
	code, out, errOut := runBatch(t, nil, append([]string{"run", "--print-config"}, args...)...)
	require.Equal(t, ExitOK, code, errOut)
	var c struct {
		Source struct {
			S3 blob.S3Options `yaml:"s3"`
		} `yaml:"source"`
		Output struct {
			S3 blob.S3Options `yaml:"s3"`
		} `yaml:"output"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(out), &c), out)
	return c.Source.S3, c.Output.S3
}

// --s3-endpoint, --s3-region and --s3-path-style of `batch run` are those of
// `batch specimen` and `batch report`: one store for the archive and the
// output. They set source.s3, which the output follows; when output.s3 has
// client keys of its own they set output.s3 too, and --set still wins.
func TestRunS3FlagsSetTheArchiveAndTheOutput(t *testing.T) {
	const ep = "http://127.0.0.1:7070"
	flags := []string{"--s3-endpoint", ep, "--s3-region", "eu-west-1", "--s3-path-style"}

	src, out := printedS3(t, flags...)
	assert.Equal(t, blob.S3Options{Endpoint: ep, Region: "eu-west-1", PathStyle: true}, src)
	assert.Equal(t, blob.S3Options{}, out, "output.s3 stays empty: the output follows source.s3")

	// output.s3 of its own (a file): the flags given reach it; the keys
	// not given keep the file's values.
	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("run:\n  dry_run: true\nsource:\n  s3:\n    region: us-west-2\n    path_style: true\n"+
		"output:\n  s3:\n    region: ap-south-1\n    max_attempts: 7\n"), 0o600))
	src, out = printedS3(t, "--config", file, "--s3-endpoint", ep)
	assert.Equal(t, blob.S3Options{Endpoint: ep, Region: "us-west-2", PathStyle: true}, src)
	assert.Equal(t, blob.S3Options{Endpoint: ep, Region: "ap-south-1", MaxAttempts: 7}, out)

	// --set after the flags wins, whatever the order on the command line.
	src, out = printedS3(t, "--set", "output.s3.endpoint=http://127.0.0.1:9090", "--s3-endpoint", ep)
	assert.Equal(t, ep, src.Endpoint)
	assert.Equal(t, "http://127.0.0.1:9090", out.Endpoint)

	// A bad endpoint is refused, naming the key, once.
	code, _, errOut := runBatch(t, nil, "run", "--print-config", "--s3-endpoint", "ftp://x")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "source.s3.endpoint")
	assert.NotContains(t, errOut, "output.s3.endpoint")
}

// Every command reaches an S3-compatible store by --s3-endpoint, or by
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when none is configured (the AWS
// SDK's variables), a configured endpoint winning over them: specimen, run,
// cleanup and report against versitygw.
func TestEveryCommandTakesTheS3Endpoint(t *testing.T) {
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	// The commands take credentials from the AWS default chain.
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", s3server.Region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + l.Addr().String() // nothing listens there
	require.NoError(t, l.Close())

	cfg := emulator.DefaultConfig()
	cfg.TimeScale = 0.001
	emu, err := emulator.New(cfg)
	require.NoError(t, err)
	api := httptest.NewServer(emu)
	t.Cleanup(api.Close)
	creds := []string{"SIGNICAT_CLIENT_ID=" + cfg.ClientID, "SIGNICAT_CLIENT_SECRET=" + cfg.ClientSecret}
	endpoints := []string{"--assure-url", api.URL + "/assure", "--token-url", api.URL + "/auth/open/connect/token"}
	s3Flags := []string{"--s3-endpoint", srv.Endpoint, "--s3-path-style"}
	archive, output := "s3://"+bucket+"/archive", "s3://"+bucket+"/out"

	// AWS_ENDPOINT_URL_S3 alone.
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint)
	code, _, errOut := runBatch(t, nil, "specimen", "--out", archive, "--count", "12", "--seed", "3", "--s3-path-style")
	require.Equal(t, ExitOK, code, errOut)

	// The flags win over a wrong AWS_ENDPOINT_URL_S3.
	t.Setenv("AWS_ENDPOINT_URL_S3", dead)
	args := append([]string{"run", "--run-id", "s3-flags", "--source", archive, "--output", output, "--rate", "1000",
		"--set", "poll.initial_delay=20ms", "--set", "poll.max_interval=50ms", "--set", "logging.level=warn"}, endpoints...)
	code, _, errOut = runBatch(t, creds, slices.Concat(args, s3Flags)...)
	require.Contains(t, []int{ExitOK, ExitIncomplete}, code, errOut)
	cleanup := slices.Concat([]string{"cleanup", "--run-id", "s3-flags", "--list", "--output", output}, endpoints)
	code, out, errOut := runBatch(t, creds, slices.Concat(cleanup, s3Flags)...)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "run s3-flags: 0 dossiers left at the API")
	code, _, errOut = runBatch(t, creds, cleanup...)
	assert.Equal(t, ExitFatal, code)
	assert.Contains(t, errOut, dead[len("http://"):], "without the flags the output is at the dead AWS_ENDPOINT_URL_S3")

	// AWS_ENDPOINT_URL alone: report, and run's output.
	t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint)
	require.NoError(t, os.Unsetenv("AWS_ENDPOINT_URL_S3"))
	code, out, errOut = runBatch(t, nil, "report", "--s3-path-style", output)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "run s3-flags")
	code, _, errOut = runBatch(t, creds, slices.Concat(args, []string{"--run-id", "s3-env", "--s3-path-style"})...)
	require.Contains(t, []int{ExitOK, ExitIncomplete}, code, errOut)
	code, out, errOut = runBatch(t, nil, "report", "--s3-endpoint", srv.Endpoint, "--s3-path-style", "--run-id", "s3-env", output)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "run s3-env")
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

func runBatch(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Environ: func() []string { return env }}
	code := m.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestRunPrintConfigRedactsSecrets(t *testing.T) {
	env := []string{"SIGNICAT_CLIENT_ID=my-client", "SIGNICAT_CLIENT_SECRET=s3cr3t-value"}
	code, out, errOut := runBatch(t, env, "run", "--print-config", "--dry-run=false", "--rate", "7",
		"--source", "s3://bucket/archive", "--set", "poll.deadline=10m")
	require.Equal(t, ExitOK, code, errOut)
	assert.NotContains(t, out, "s3cr3t-value")
	assert.Contains(t, out, "rate: 7")
	assert.Contains(t, out, "s3://bucket/archive")
	assert.Contains(t, out, "deadline: 10m")
}

func TestRunRejectsBadConfigNamingTheField(t *testing.T) {
	code, _, errOut := runBatch(t, nil, "run", "--rate", "-3")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "api.rate")

	code, _, errOut = runBatch(t, nil, "run", "--set", "poll.deadlin=1m")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "poll.deadline", "suggests the key")

	code, _, errOut = runBatch(t, nil, "run", "--dry-run=false")
	assert.Equal(t, ExitUsage, code, "no credentials for a real run")
	assert.Contains(t, errOut, "SIGNICAT_CLIENT_ID")

	code, _, _ = runBatch(t, []string{"REVERIFY_API_RAET=3"}, "run", "--print-config")
	assert.Equal(t, ExitUsage, code, "a misspelt REVERIFY_ variable is refused")
}

// The embedded default runs a dry run of ./archive into ./out.
func TestRunEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)

	code, _, errOut := runBatch(t, nil, "specimen", "--out", "archive", "--count", "30", "--seed", "2")
	require.Equal(t, ExitOK, code, errOut)
	code, out, errOut := runBatch(t, nil, "run", "--set", "emulator.time_scale=0.001", "--set", "api.rate=1000",
		"--set", "logging.level=warn")
	require.Equal(t, ExitIncomplete, code, "the specimen archive has broken inputs: skipped rows: %s", errOut)
	assert.Contains(t, out, "skipped", "the summary table, on stdout")
	assert.Contains(t, out, "total")
	assert.Contains(t, out, "DRY RUN")
	assert.NotContains(t, errOut, "total", "stderr holds only log lines")

	// --json: one JSON object, the fields of _summary.json; stderr: one
	// JSON log line each, every one saying DRY RUN.
	code, out, errOut = runBatch(t, nil, "run", "--json", "--run-id", "json-1", "--set", "emulator.time_scale=0.001",
		"--set", "api.rate=1000")
	require.Equal(t, ExitIncomplete, code, errOut)
	var sum report.Summary
	dec := json.NewDecoder(strings.NewReader(out))
	require.NoError(t, dec.Decode(&sum), out)
	assert.False(t, dec.More(), "one object")
	assert.Equal(t, "json-1", sum.RunID)
	assert.EqualValues(t, 30, sum.Records)
	assert.True(t, sum.DryRun)
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), "a log line that is not JSON: %q", line)
		assert.Equal(t, "DRY RUN", l["mode"], line)
	}
	entries, err := filepath.Glob(filepath.Join(dir, "out", "runs", "*", "shard-0-of-1", "part-*.parquet"))
	require.NoError(t, err)
	assert.NotEmpty(t, entries)
}

func TestExitCodes(t *testing.T) {
	incomplete := report.Totals{Outcomes: map[string]int64{report.OutcomeAccepted: 3, report.OutcomeSkipped: 1}, Records: 4}
	final := report.Totals{Outcomes: map[string]int64{report.OutcomeAccepted: 3, report.OutcomeRejected: 1}, Records: 4}
	for _, tc := range []struct {
		name string
		res  pipeline.Result
		err  error
		want int
	}{
		{"all final", pipeline.Result{Totals: final}, nil, ExitOK},
		{"some skipped", pipeline.Result{Totals: incomplete}, nil, ExitIncomplete},
		{"threshold", pipeline.Result{}, fmt.Errorf("x: %w", pipeline.ErrThreshold), ExitThreshold},
		{"stopped", pipeline.Result{Stopped: true, Totals: final}, nil, ExitInterrupted},
		{"second signal", pipeline.Result{Stopped: true}, context.Canceled, ExitInterrupted},
		{"fatal", pipeline.Result{}, &assure.APIError{StatusCode: 401}, ExitFatal},
		{"other", pipeline.Result{}, errors.New("list records: boom"), ExitFatal},
	} {
		assert.Equal(t, tc.want, exitCode(tc.res, tc.err, tc.res.Totals), tc.name)
	}
}

// A rerun never rewrites history: the rerun of a run that finished with
// skipped rows finds nothing to do, and still exits 3 and reports the run's
// rows; _summary.json lists both attempts. (It used to exit 0 and overwrite
// the summary with records: 0, exit_code: 0.)
func TestRerunReportsTheWholeRun(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errOut := runBatch(t, nil, "specimen", "--out", "archive", "--count", "20", "--seed", "5")
	require.Equal(t, ExitOK, code, errOut)
	args := []string{"run", "--run-id", "again", "--set", "emulator.time_scale=0.001", "--set", "api.rate=1000", "--set", "logging.level=warn"}
	code, _, errOut = runBatch(t, nil, args...)
	require.Equal(t, ExitIncomplete, code, errOut)

	code, stdout, errOut := runBatch(t, nil, args...)
	require.Equal(t, ExitIncomplete, code, "the run still has skipped rows: %s", errOut)
	assert.Contains(t, stdout, "records 20", "the table shows the run's rows")

	out, err := blob.NewLocal(filepath.Join(dir, "out"))
	require.NoError(t, err)
	sum, err := report.ReadSummary(context.Background(), out, "again", 0, 1)
	require.NoError(t, err)
	assert.EqualValues(t, 20, sum.Records)
	require.NotNil(t, sum.ExitCode)
	assert.Equal(t, ExitIncomplete, *sum.ExitCode)
	require.Len(t, sum.History, 2)
	assert.EqualValues(t, 20, sum.History[0].Records)
	assert.Equal(t, ExitIncomplete, sum.History[0].ExitCode)
	assert.Zero(t, sum.History[1].Records, "the rerun committed nothing")
	assert.Equal(t, sum.Attempt, sum.History[1].Attempt)
	assert.True(t, strings.HasPrefix(sum.History[1].Attempt, "a000002-"), sum.History[1].Attempt)

	// batch report agrees.
	code, stdout, errOut = runBatch(t, nil, "report", "out")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, stdout, "exit code 3")
	assert.Contains(t, stdout, "records 20")
}

// An endpoint given explicitly is a run against it, never silently the
// bundled emulator of the embedded default; asking for both is an error.
func TestAnExplicitEndpointIsARealRun(t *testing.T) {
	creds := []string{"SIGNICAT_CLIENT_ID=c", "SIGNICAT_CLIENT_SECRET=s"}
	code, out, errOut := runBatch(t, creds, "run", "--print-config")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "dry_run: true", "the embedded default alone: a dry run")

	for _, args := range [][]string{
		{"--assure-url", "http://127.0.0.1:1/assure", "--token-url", "http://127.0.0.1:1/token"},
		{"--set", "api.base_url=http://127.0.0.1:1/assure", "--set", "api.token_url=http://127.0.0.1:1/token"},
	} {
		code, out, errOut = runBatch(t, creds, append([]string{"run", "--print-config"}, args...)...)
		require.Equal(t, ExitOK, code, errOut)
		assert.Contains(t, out, "dry_run: false", "%v", args)
	}
	code, out, errOut = runBatch(t, append(creds, "REVERIFY_API_BASE_URL=http://127.0.0.1:1/assure",
		"REVERIFY_API_TOKEN_URL=http://127.0.0.1:1/token"), "run", "--print-config")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "dry_run: false", "an endpoint in the environment")

	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"--dry-run", "--assure-url", "http://127.0.0.1:1/assure"}},
		{nil, []string{"--token-url", "http://127.0.0.1:1/token", "--set", "run.dry_run=true"}},
		{[]string{"REVERIFY_API_BASE_URL=http://127.0.0.1:1/assure"}, []string{"--dry-run"}},
	} {
		code, _, errOut = runBatch(t, append(creds, c.env...), append([]string{"run", "--print-config"}, c.args...)...)
		assert.Equal(t, ExitUsage, code, "%v %v", c.env, c.args)
		assert.Contains(t, errOut, "give one of them")
	}
}

// Log fields have one type whatever logged them: durations are numbers of
// seconds (key_s), maps are JSON objects, in text logs too.
func TestLogFieldsAreTyped(t *testing.T) {
	for _, text := range []bool{false, true} {
		var b bytes.Buffer
		opts := &slog.HandlerOptions{ReplaceAttr: typedAttr(text)}
		var h slog.Handler = slog.NewJSONHandler(&b, opts)
		if text {
			h = slog.NewTextHandler(&b, opts)
		}
		slog.New(h).Info("x", "grace_period", 90*time.Second, "eta_s", 1500*time.Millisecond,
			"outcomes", map[string]int64{"accepted": 3})
		out := b.String()
		if text {
			assert.Contains(t, out, "grace_period_s=90 ")
			assert.Contains(t, out, "eta_s=1.5 ")
			assert.Contains(t, out, `outcomes="{\"accepted\":3}"`)
			assert.NotContains(t, out, "map[")
		} else {
			assert.Contains(t, out, `"grace_period_s":90,`)
			assert.Contains(t, out, `"eta_s":1.5,`)
			assert.Contains(t, out, `"outcomes":{"accepted":3}`)
		}
	}
	assert.Equal(t, time.Duration(0), elapsed(time.Time{}, time.Now()), "an early failure: 0, not -2562047h")
	assert.Equal(t, time.Duration(0), elapsed(time.Now(), time.Now().Add(-time.Hour)))
}

// -v logs at debug level with a line per API call (method, path template,
// status, latency, attempt; no ids, no bodies); -q only warnings; two of
// -v, -q, --log-level at once is an error.
func TestVerbosityFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errOut := runBatch(t, nil, "specimen", "--out", "archive", "--count", "6", "--seed", "3")
	require.Equal(t, ExitOK, code, errOut)
	args := []string{"run", "--set", "emulator.time_scale=0.001", "--set", "api.rate=1000"}

	code, _, errOut = runBatch(t, nil, append(args, "-v", "--run-id", "v")...)
	require.Contains(t, []int{ExitOK, ExitIncomplete}, code, errOut)
	calls := 0
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		if l["msg"] != "api call" {
			continue
		}
		calls++
		assert.Equal(t, "DEBUG", l["level"])
		for _, k := range []string{"endpoint", "method", "path", "status", "latency_s", "attempt"} {
			assert.Contains(t, l, k, line)
		}
		assert.NotRegexp(t, `[0-9a-f]{8}-[0-9a-f]{4}-`, l["path"], "a template, not ids")
	}
	assert.Positive(t, calls)

	code, _, errOut = runBatch(t, nil, append(args, "-q", "--run-id", "q")...)
	require.Contains(t, []int{ExitOK, ExitIncomplete}, code, errOut)
	assert.NotContains(t, errOut, `"level":"INFO"`)

	code, _, errOut = runBatch(t, nil, append(args, "-v", "-q")...)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "give one")
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

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
	code, _, errOut = runBatch(t, nil, "run", "--set", "emulator.time_scale=0.001", "--set", "api.rate=1000",
		"--set", "logging.level=warn")
	require.Equal(t, ExitIncomplete, code, "the specimen archive has broken inputs: skipped rows: %s", errOut)
	assert.Contains(t, errOut, "skipped")
	assert.Contains(t, errOut, "total")
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

	code, _, errOut = runBatch(t, nil, args...)
	require.Equal(t, ExitIncomplete, code, "the run still has skipped rows: %s", errOut)
	assert.Contains(t, errOut, "records 20", "the table shows the run's rows")

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
	code, stdout, errOut := runBatch(t, nil, "report", "out")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, stdout, "exit code 3")
	assert.Contains(t, stdout, "records 20")
}

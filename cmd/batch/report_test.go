package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/report"
	"reverify/internal/testutil/fakes3"
)

// runMain runs `batch <args>` and returns the exit code, stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	code := m.Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// writeReportOutput writes two runs below st.
func writeReportOutput(t *testing.T, st blob.Store) {
	t.Helper()
	ctx := context.Background()
	for _, run := range []string{"run-a", "run-b"} {
		w, err := report.NewWriter(st, report.WriterConfig{RunID: run, ShardCount: 1, Attempt: "x"})
		require.NoError(t, err)
		require.NoError(t, w.Write(ctx,
			report.Row{RecordID: "1", Outcome: report.OutcomeAccepted, APICalls: 9},
			report.Row{RecordID: "2", Outcome: report.OutcomeRejected, Reason: "NotUnderage", APICalls: 9},
			report.Row{RecordID: "3", Outcome: report.OutcomeSkipped, Reason: "corrupt"},
		))
		require.NoError(t, w.Close(ctx))
	}
}

func TestReportCommandTables(t *testing.T) {
	dir := t.TempDir()
	st, err := blob.NewLocal(dir)
	require.NoError(t, err)
	writeReportOutput(t, st)

	code, out, errOut := runMain(t, "report", dir)
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "run run-a  shard 0 of 1\n")
	assert.Contains(t, out, "run run-b  shard 0 of 1\n")
	assert.Contains(t, out, "rejected      1   33.3%  NotUnderage 1\n")
	assert.Contains(t, out, "total         3  100.0%\n")

	// file:// URI, flags after the positional argument, one run.
	code, out, errOut = runMain(t, "report", "file://"+filepath.ToSlash(dir), "--run-id", "run-b")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "run run-b")
	assert.NotContains(t, out, "run-a")
}

func TestReportCommandJSON(t *testing.T) {
	dir := t.TempDir()
	st, err := blob.NewLocal(dir)
	require.NoError(t, err)
	writeReportOutput(t, st)

	code, out, errOut := runMain(t, "report", "--json", dir)
	require.Equal(t, ExitOK, code, errOut)
	var sums []report.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sums))
	require.Len(t, sums, 2)
	assert.Equal(t, "run-a", sums[0].RunID)
	assert.Equal(t, int64(3), sums[0].Records)
	assert.Equal(t, map[string]int64{"accepted": 1, "rejected": 1, "skipped": 1}, sums[0].Outcomes)
	assert.Equal(t, int64(18), sums[1].APICalls)
}

func TestReportCommandErrors(t *testing.T) {
	dir := t.TempDir()
	st, err := blob.NewLocal(dir)
	require.NoError(t, err)
	writeReportOutput(t, st)

	for name, tc := range map[string]struct {
		args    []string
		code    int
		message string
	}{
		"missing output":       {[]string{"report", filepath.Join(dir, "nope")}, ExitFatal, "no report output at file://"},
		"empty output":         {[]string{"report", t.TempDir()}, ExitFatal, "no report output"},
		"unknown run":          {[]string{"report", "--run-id", "run-z", dir}, ExitFatal, `no output of run "run-z"`},
		"bad run id":           {[]string{"report", "--run-id", "a/b", dir}, ExitUsage, "--run-id"},
		"unknown flag":         {[]string{"report", "--frobnicate", dir}, ExitUsage, "frobnicate"},
		"no output uri":        {[]string{"report", "--json"}, ExitUsage, "need exactly one <output-uri>"},
		"two output uris":      {[]string{"report", dir, dir}, ExitUsage, "need exactly one <output-uri>"},
		"bad scheme":           {[]string{"report", "http://host/x"}, ExitUsage, "unsupported scheme"},
		"help":                 {[]string{"report", "-h"}, ExitOK, "usage: batch report"},
		"dash-dash ends flags": {[]string{"report", "--", "--json"}, ExitFatal, "no report output"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runMain(t, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, errOut, tc.message)
			assert.Empty(t, out)
		})
	}
}

func TestReportCommandS3(t *testing.T) {
	srv := fakes3.Start(t, "bucket")
	// The command takes credentials from the AWS default chain.
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	writeReportOutput(t, srv.Store(t, "bucket", "out"))

	code, out, errOut := runMain(t, "report", "--s3-endpoint", srv.URL, "--s3-region", "us-east-1",
		"--s3-path-style", "s3://bucket/out")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "run run-a")
	assert.Contains(t, out, "run run-b")

	code, _, errOut = runMain(t, "report", "--s3-endpoint", srv.URL, "--s3-region", "us-east-1",
		"--s3-path-style", "s3://bucket/elsewhere")
	assert.Equal(t, ExitFatal, code)
	assert.Contains(t, errOut, "no report output at s3://bucket/elsewhere")
}

func TestReportCommandHTML(t *testing.T) {
	dir := t.TempDir()
	st, err := blob.NewLocal(dir)
	require.NoError(t, err)
	writeReportOutput(t, st)
	page := filepath.Join(t.TempDir(), "report.html")

	code, out, errOut := runMain(t, "report", dir, "--run-id", "run-b", "--html", page)
	require.Equal(t, ExitOK, code, errOut)
	assert.Empty(t, out, "the page goes to the file, not the tables to stdout")
	assert.Contains(t, errOut, "wrote "+page+" (1 run)")
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	assert.Contains(t, string(b), "Run run-b")
	assert.NotContains(t, string(b), "Run run-a")
	fi, err := os.Stat(page)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	left, err := filepath.Glob(filepath.Join(filepath.Dir(page), ".*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file left beside the page")

	code, out, _ = runMain(t, "report", dir, "--html", "-")
	require.Equal(t, ExitOK, code)
	assert.True(t, strings.HasPrefix(out, "<!DOCTYPE html>"))
	assert.Contains(t, out, "Run run-a")

	for _, other := range []string{"--json", "--changed"} {
		code, _, errOut = runMain(t, "report", dir, other, "--html", page)
		assert.Equal(t, ExitUsage, code, other)
		assert.Contains(t, errOut, "--html writes a page")
	}
	code, _, errOut = runMain(t, "report", dir, "--html", filepath.Join(t.TempDir(), "no", "such", "dir", "r.html"))
	assert.Equal(t, ExitFatal, code)
	assert.Contains(t, errOut, "--html:")
	code, _, errOut = runMain(t, "report", t.TempDir(), "--html", page)
	assert.Equal(t, ExitFatal, code)
	assert.Contains(t, errOut, "no report output")
}

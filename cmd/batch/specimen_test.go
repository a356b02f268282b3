package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runSpecimen(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runMain(t, append([]string{"specimen"}, args...)...)
}

func TestSpecimenCommandWritesArchive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	code, out, errOut := runSpecimen(t, "--out", dir, "--count", "20", "--seed", "3")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "wrote 20 records")
	assert.Contains(t, out, "black_and_white")
	assert.Contains(t, out, "inconclusive (NotBlackAndWhite)")
	assert.Contains(t, out, "expected.jsonl")

	exp, err := os.ReadFile(filepath.Join(dir, "expected.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 20, bytes.Count(exp, []byte("\n")))
	man, err := os.ReadFile(filepath.Join(dir, "manifest.csv"))
	require.NoError(t, err)
	assert.Equal(t, 21, bytes.Count(man, []byte("\n")))
	_, err = os.Stat(filepath.Join(dir, "rec-000020", "meta.json"))
	require.NoError(t, err)

	// A second run refuses the non-empty folder unless forced.
	code, _, errOut = runSpecimen(t, "--out", dir, "--count", "20", "--seed", "3")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--force")
	code, _, errOut = runSpecimen(t, "--out", "file://"+dir, "--count", "20", "--seed", "3", "--force")
	require.Equal(t, ExitOK, code, errOut)
	again, err := os.ReadFile(filepath.Join(dir, "expected.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, exp, again, "same seed, same expected outcomes")
}

func TestSpecimenCommandMix(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runSpecimen(t, "--out", dir, "--count", "5", "--mix", "expired=1,corrupt_jpeg=1")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "expired")
	assert.Contains(t, out, "corrupt_jpeg")
	assert.NotContains(t, out, "accepted   ")
	exp, err := os.ReadFile(filepath.Join(dir, "expected.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 5, strings.Count(string(exp), `"reason":"NonExpired"`)+strings.Count(string(exp), `"reason":"corrupt"`))
}

func TestSpecimenCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "--out is required"},
		{[]string{"--out", dir, "--count", "0"}, "--count"},
		{[]string{"--out", dir, "--count", "x"}, "-count"},
		{[]string{"--out", dir, "--mix", "accepted=1,nope=2"}, "--mix"},
		{[]string{"--out", dir, "--mix", "accepted=0"}, "--mix"},
		{[]string{"--out", dir, "--concurrency", "0"}, "--concurrency"},
		{[]string{"--out", "http://example.com/x"}, "--out"},
		{[]string{"--out", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"--bogus"}, "bogus"},
	} {
		code, _, errOut := runSpecimen(t, tc.args...)
		assert.Equal(t, ExitUsage, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.msg, "%v", tc.args)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written on usage errors")

	code, _, errOut := runSpecimen(t, "-h")
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, errOut, "usage: batch specimen")
}

func TestSpecimenCommandInterrupted(t *testing.T) {
	dir := t.TempDir()
	sigs := make(chan os.Signal, 1)
	sigs <- os.Interrupt
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Signals: sigs}
	code := m.Run(context.Background(), []string{"specimen", "--out", dir, "--count", "2000"})
	assert.Equal(t, ExitInterrupted, code, errOut.String())
	_, err := os.Stat(filepath.Join(dir, "expected.jsonl"))
	assert.True(t, os.IsNotExist(err), "no expected.jsonl for an interrupted archive")
}

package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	assert.Equal(t, "reverify v1.2.3 (commit abc123, modified, 2026-12-01T00:00:00Z) go1.26.8", versionLine(bi))
	assert.Equal(t, "reverify (devel) (commit unknown) go1.26.8", versionLine(&debug.BuildInfo{GoVersion: "go1.26.8"}))
}

func TestVersionCommandAndFlag(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb}
		assert.Equal(t, ExitOK, m.Run(context.Background(), args), errb.String())
		assert.Regexp(t, `^reverify \S+ \(commit [^)]*\) go1\.`, out.String())
	}
}

// panicWriter panics on the first write: a bug anywhere in a command.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

// A panic exits 1 (fatal, retried by AWS Batch), not Go's 2 (the code of a
// configuration error), and says where it happened.
func TestPanicExitsFatal(t *testing.T) {
	var errb bytes.Buffer
	m := &Main{Stdout: panicWriter{}, Stderr: &errb}
	assert.Equal(t, ExitFatal, m.Run(context.Background(), []string{"version"}))
	assert.Contains(t, errb.String(), "panic: boom")
	assert.Contains(t, errb.String(), "versionCmd", "with its stack")
}

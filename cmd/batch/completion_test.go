package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bash script completes subcommands and each command's own flags, read
// from the flag sets the commands define (a new flag needs no edit here).
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	code, script, errOut := runBatch(t, nil, "completion", "bash")
	require.Equal(t, ExitOK, code, errOut)
	path := filepath.Join(t.TempDir(), "batch.bash")
	require.NoError(t, os.WriteFile(path, []byte(script), 0o600))
	complete := func(words ...string) []string {
		t.Helper()
		args := append([]string{"-c", `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _batch; printf '%s\n' "${COMPREPLY[@]}"`,
			path}, words...)
		cmd := exec.Command(bash, args...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return strings.Fields(string(out))
	}
	assert.Equal(t, []string{"run"}, complete("batch", "ru"))
	assert.ElementsMatch(t, []string{"cleanup", "completion"}, complete("batch", "c"))
	assert.Equal(t, []string{"--redrive"}, complete("batch", "run", "--red"))
	assert.Contains(t, complete("batch", "run", "-"), "-v")
	assert.Equal(t, []string{"--list", "--log-level"}, complete("batch", "cleanup", "--l"))
	assert.Equal(t, []string{"zsh"}, complete("batch", "completion", "z"))

	code, zsh, _ := runBatch(t, nil, "completion", "zsh")
	require.Equal(t, ExitOK, code)
	assert.True(t, strings.HasPrefix(zsh, "#compdef batch\n"))
	assert.Contains(t, zsh, "bashcompinit")

	code, _, _ = runBatch(t, nil, "completion", "fish")
	assert.Equal(t, ExitUsage, code)
}

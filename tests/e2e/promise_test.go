package e2e

// The promise on paths the crash loop does not walk (issue "Keep the promise
// on every path"): reruns, histories, stalls.

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seedPromise = 41

// A rerun of a run that finished with skipped rows finds nothing to do and
// still exits 3; _summary.json keeps the run's rows and lists both
// attempts, and `batch report` agrees. The rerun used to exit 0 and write
// records: 0, exit_code: 0 over the earlier summary.
func TestRerunKeepsTheRunsHistory(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 30, Seed: seedPromise})
	emu := StartEmulator(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "history"}
	RequireExit(t, RunBatch(t, spec), ExitIncomplete)
	before := emu.Counters()

	res := RunBatch(t, spec)
	RequireExit(t, res, ExitIncomplete)
	assert.Equal(t, before.VerificationsStarted, emu.Counters().VerificationsStarted, "nothing redone")

	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)
	s := sums[0]
	assert.EqualValues(t, 30, s.Records)
	require.NotNil(t, s.ExitCode)
	assert.Equal(t, ExitIncomplete, *s.ExitCode)
	require.Len(t, s.History, 2)
	assert.EqualValues(t, 30, s.History[0].Records)
	assert.Zero(t, s.History[1].Records)
	assert.Equal(t, ExitIncomplete, s.History[1].ExitCode)

	rep := RunCommand(t, Command{Args: []string{"report", out}, Env: BaseEnv(t)})
	RequireExit(t, rep, ExitOK)
	assert.Contains(t, rep.Stdout, "exit code 3")
	assert.Contains(t, rep.Stdout, "records 30")
}

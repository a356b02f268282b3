package e2e

// Stops that are asked for: SIGTERM drains within the grace period and
// exits 5, a second signal exits at once, --max-duration stops intake in
// time; each run is then resumed with the same run id and finishes with the
// crash loop's guarantees.

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
)

const seedSignals = 53

// slowProcessing makes verifications take 2.5–4 s of real time at the
// harness's time scale (42–67 emulated minutes), so that processes are
// still running when a stop comes, and the grace period (2 s) ends before
// the last of them does.
func slowProcessing(c *emulator.Config) {
	c.Processing.Median = 3000 * time.Second
	c.Processing.Min = 2500 * time.Second
	c.Processing.Max = 4000 * time.Second
}

// resumeAndCheck reruns spec to its end and checks the guarantees: exit 3
// (the archive's broken inputs), one row per record as expected, no process
// started twice, one verification per record that reaches the API, no
// dossier left, and at most maxExtra processes created beyond the records.
// It returns the rerun's result.
func resumeAndCheck(t *testing.T, spec RunSpec, emu *Emulator, arch *Archive, maxExtra int) Result {
	t.Helper()
	res := RunBatch(t, spec)
	RequireExit(t, res, ExitIncomplete)
	assert.Contains(t, res.Stderr, "resuming run", "the rerun resumes")
	rows := ReadRows(t, FetchOutput(t, spec.Output, spec.S3))
	AssertOutcomes(t, rows, arch.Expected)
	c := emu.Counters()
	AssertEmulatorClean(t, c, arch.NonSkipped())
	extra := c.ProcessesCreated - int64(arch.NonSkipped())
	assert.GreaterOrEqual(t, extra, int64(0))
	assert.LessOrEqual(t, extra, int64(maxExtra), "processes created beyond one per record")
	return res
}

// SIGTERM mid-run: intake stops, the uploads in progress finish, started
// processes are polled for run.grace_period (2 s; they need 2.5–4 s), then
// the report and the journal are flushed and the binary exits 5 within the
// grace period plus a margin, saying it was interrupted. The rerun polls
// the processes the first one left and finishes with every guarantee; a
// clean stop leaves no unstarted process, so no process is created twice.
func TestSIGTERMDrainsWithinGracePeriod(t *testing.T) {
	const grace = 2 * time.Second
	emu := StartEmulator(t, slowProcessing)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 80, Seed: seedSignals})
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "sigterm",
		Sets: []string{"run.grace_period=" + grace.String(), "poll.max_interval=200ms"}, Args: []string{"--rate", "100"}}

	proc := StartBatch(t, spec)
	require.True(t, waitFor(proc, func() bool { return emu.Counters().VerificationsStarted >= 20 }),
		"20 verifications started:\n%s", proc.Stderr())
	sent := time.Now()
	require.NoError(t, proc.Signal(syscall.SIGTERM))
	res := proc.Wait()
	took := time.Since(sent)
	RequireExit(t, res, ExitInterrupted)
	t.Logf("SIGTERM to exit: %s (grace period %s)", took.Round(time.Millisecond), grace)
	assert.Less(t, took, grace+5*time.Second, "exit within the grace period plus a margin")
	assert.GreaterOrEqual(t, took, grace, "in-flight processes (2.5–4 s) are polled for the whole grace period")
	assert.Contains(t, res.Stderr, "signal: stopping intake")
	assert.Contains(t, res.Stdout, "interrupted: ", "the summary, on stdout")
	assert.Contains(t, res.Stdout, "rerun with --run-id sigterm to resume")
	sums := ReadSummaries(t, spec.Output)
	require.Len(t, sums, 1)
	assert.True(t, sums[0].Interrupted, "_summary.json says interrupted")
	require.NotNil(t, sums[0].ExitCode)
	assert.Equal(t, ExitInterrupted, *sums[0].ExitCode)
	assert.Less(t, sums[0].Records, int64(80), "not every record was done")

	resumeAndCheck(t, spec, emu, arch, 0)
}

// A second signal during the drain exits at once (exit 5) instead of
// waiting for the 30 s grace period, with a consistent journal: the rerun
// finishes with every guarantee. Creates cut short by the exit may leave
// processes that are replaced: at most concurrency.uploads (16).
func TestSecondSignalExitsAtOnce(t *testing.T) {
	emu := StartEmulator(t, slowProcessing)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 80, Seed: seedSignals})
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "second-signal",
		Sets: []string{"run.grace_period=30s", "poll.max_interval=200ms"}, Args: []string{"--rate", "100"}}

	proc := StartBatch(t, spec)
	require.True(t, waitFor(proc, func() bool { return emu.Counters().VerificationsStarted >= 20 }),
		"20 verifications started:\n%s", proc.Stderr())
	require.NoError(t, proc.Signal(syscall.SIGTERM))
	require.True(t, proc.WaitForOutput("signal: stopping intake", 10*time.Second), "first signal seen:\n%s", proc.Stderr())
	time.Sleep(200 * time.Millisecond)
	sent := time.Now()
	require.NoError(t, proc.Signal(syscall.SIGTERM))
	res := proc.Wait()
	took := time.Since(sent)
	RequireExit(t, res, ExitInterrupted)
	t.Logf("second signal to exit: %s", took.Round(time.Millisecond))
	assert.Less(t, took, 3*time.Second, "exits at once, not after the 30 s grace period")
	assert.Contains(t, res.Stderr, "second signal: exiting now")

	resumeAndCheck(t, spec, emu, arch, 16)
}

// --max-duration stops intake early enough to drain and write before the
// budget ends: exit 5 within the budget, and the rerun finishes the run.
// With a 6 s budget and a 0.5 s grace period intake stops at 3 s (half the
// budget: the usual "budget − grace − 10 s" would be negative), the four
// uploads in progress finish (≤ 16 calls at 60/s) and in-flight processes
// are polled for 0.5 s: the binary ends after about 4 s.
func TestMaxDurationStopsInTime(t *testing.T) {
	const budget = 6 * time.Second
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 100, Seed: seedSignals})
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "budget",
		// About 10 s of work at 60 requests/s.
		Sets: []string{"run.grace_period=500ms", "api.rate=60", "concurrency.uploads=4"}}

	budgeted := spec
	budgeted.Args = []string{"--max-duration", budget.String()}
	res := RunBatch(t, budgeted)
	RequireExit(t, res, ExitInterrupted)
	t.Logf("budget %s: exit 5 after %s", budget, res.Wall.Round(time.Millisecond))
	assert.Less(t, res.Wall, budget, "the binary ends before its budget")
	assert.Contains(t, res.Stderr, "time budget nearly used")
	assert.Contains(t, res.Stdout, "rerun with --run-id budget to resume")
	sums := ReadSummaries(t, spec.Output)
	require.Len(t, sums, 1)
	assert.True(t, sums[0].Interrupted)
	assert.Less(t, sums[0].Records, int64(100), "the budget cut the run short")

	resumeAndCheck(t, spec, emu, arch, 0)
}

// waitFor polls cond every 5 ms until it holds (true) or the process exits
// or a minute passes (false).
func waitFor(p *Proc, cond func() bool) bool {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		select {
		case <-p.Done():
			return cond()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return false
}

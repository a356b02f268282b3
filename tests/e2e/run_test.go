package e2e

// End-to-end tests of `batch run`: the built binary against an in-process
// emulator (time scale 0.001), archives written by `batch specimen`, output
// read back with DuckDB and compared with expected.jsonl.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
	"reverify/internal/report"
	"reverify/internal/specimen"
)

// Seeds of the archives (fixed: every run sees the same records).
const (
	seedS3     = 11
	seedLocal  = 11
	seedFaults = 23
	seedErrors = 31
)

// An archive in S3 (versitygw), read and reported to S3 by the built binary:
// every record gets exactly its expected row, skipped records cost nothing,
// the emulator is left clean, and `batch report` reads the S3 output back.
func TestS3ArchiveToS3Output(t *testing.T) {
	s3 := StartS3(t)
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Out: s3.URI("archive/2021"), Count: 150, Seed: seedS3, S3: s3})
	require.Len(t, arch.Expected, 150)
	require.Less(t, arch.NonSkipped(), 150, "the archive must hold broken inputs")

	out := s3.URI("reports/reverify")
	res := RunBatch(t, RunSpec{Emulator: emu, S3: s3, Source: arch.URI, Output: out, RunID: "e2e-s3"})
	RequireExit(t, res, ExitIncomplete) // skipped rows

	dir := FetchOutput(t, out, s3)
	rows := ReadRows(t, dir)
	AssertOutcomes(t, rows, arch.Expected)
	AssertEmulatorClean(t, emu.Counters(), arch.NonSkipped())
	for _, r := range rows {
		if r.Outcome != report.OutcomeSkipped {
			assert.NotNil(t, r.ProcessID, "%s: process_id", r.RecordID)
			assert.Positive(t, r.APICalls, "%s: api_calls", r.RecordID)
		}
	}

	sums := ReadSummaries(t, dir)
	require.Len(t, sums, 1, "one _summary.json")
	s := sums[0]
	assert.Equal(t, "e2e-s3", s.RunID)
	assert.EqualValues(t, 150, s.Records)
	require.NotNil(t, s.ExitCode)
	assert.Equal(t, ExitIncomplete, *s.ExitCode)
	assert.False(t, s.DryRun)

	rep := RunCommand(t, Command{Args: append(append([]string{"report"}, s3.Flags()...), out),
		Env: BaseEnv(t).With(s3.AWSEnv())})
	RequireExit(t, rep, ExitOK)
	for _, want := range []string{"run e2e-s3", "records 150", "accepted", "skipped", "total"} {
		assert.Contains(t, rep.Stdout, want, "batch report output")
	}
}

// The same archive in a local folder, described by its manifest: the
// manifest's relative image paths resolve against the archive, the outcomes
// are the same, and the manifest's previous_status fills previous_outcome.
func TestLocalArchiveWithManifest(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 150, Seed: seedLocal})
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Manifest: filepath.Join(arch.URI, specimen.ManifestName),
		Output: out, RunID: "e2e-manifest"})
	RequireExit(t, res, ExitIncomplete)

	rows := ReadRows(t, out)
	AssertOutcomes(t, rows, arch.Expected)
	AssertEmulatorClean(t, emu.Counters(), arch.NonSkipped())
	for _, r := range rows {
		if assert.NotNil(t, r.PreviousOutcome, "%s: previous_outcome from the manifest", r.RecordID) {
			assert.NotEmpty(t, *r.PreviousOutcome)
		}
	}
	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)
	assert.EqualValues(t, 150, sums[0].Records)
	assert.EqualValues(t, 150, sums[0].OutcomeCompared, "every manifest row has a previous status")
}

// A storm of faults on every endpoint (5% 5xx, 5% 429, 1% connection resets,
// half of them after the state changed): the outcomes are the same, only
// retried; nothing is paid twice and nothing is left behind.
func TestFaultStormSameOutcomes(t *testing.T) {
	emu := StartEmulator(t, func(c *emulator.Config) {
		c.Faults = FaultStorm(42)
		// A start whose answer a reset lost is read back only a request
		// timeout and a second later (6 s: 100 emulated minutes at this
		// scale), past the 15 minutes the API allows between upload and
		// start; widened, as in the storms: the resets are what is tested.
		c.TransactionExpiry = 24 * time.Hour
	})
	arch := WriteSpecimen(t, SpecimenSpec{Count: 120, Seed: seedFaults})
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "e2e-faults",
		// Short backoffs: the retries are what is tested, not their waits.
		// 8 attempts per call: at 6% of 5xx and resets, a call (or a submit
		// step whose outcome was unknown) fails for good with probability
		// 0.06^8 ≈ 2e-10, so every record reaches its final status.
		Sets: []string{"api.retry.base_delay=5ms", "api.retry.max_delay=50ms", "api.retry.max_attempts=8"}})
	RequireExit(t, res, ExitIncomplete)

	rows := ReadRows(t, out)
	AssertOutcomes(t, rows, arch.Expected)
	c := emu.Counters()
	AssertEmulatorClean(t, c, arch.NonSkipped())
	t.Logf("faults injected: %v", c.Faults)
	assert.Positive(t, c.Faults["server_error"], "server errors injected")
	assert.Positive(t, c.Faults["too_many_requests"], "429s injected")
	assert.Positive(t, c.Faults["reset_before_handler"]+c.Faults["reset_after_handler"], "resets injected")

	var retries int64
	for _, r := range rows {
		retries += r.Retries
	}
	assert.Positive(t, retries, "sum of the retries column")
	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)
	assert.Positive(t, sums[0].Retries, "the summary's retries")
	assert.Equal(t, retries, sums[0].Retries)
}

// README's first command, offline: in a fresh folder, a specimen archive in
// ./archive and `batch run` with no flag, no config file and no credentials
// runs the embedded dry-run configuration into ./out.
func TestEmbeddedDefaultDryRun(t *testing.T) {
	dir := t.TempDir()
	arch := WriteSpecimen(t, SpecimenSpec{Out: "archive", Count: 40, Seed: 1, Dir: dir})
	res := RunBatch(t, RunSpec{NoConfig: true, Dir: dir}) // BaseEnv only: no SIGNICAT_*, no REVERIFY_*
	RequireExit(t, res, ExitIncomplete)

	out := filepath.Join(dir, "out")
	rows := ReadRows(t, out)
	require.Len(t, rows, 40)
	AssertOutcomes(t, rows, arch.Expected)
	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)
	assert.True(t, sums[0].DryRun, "a dry run")
	assert.True(t, strings.HasPrefix(sums[0].RunID, "run-"), "derived run id %q", sums[0].RunID)
}

// The documented exit codes of failed runs.
func TestExitCodes(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 30, Seed: seedErrors})

	t.Run("wrong client secret is fatal (1)", func(t *testing.T) {
		const secret = "not-the-secret-9f3c7e"
		before := emu.Counters()
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: t.TempDir(), RunID: "e2e-badsecret",
			Env: Env{"SIGNICAT_CLIENT_SECRET": secret}})
		RequireExit(t, res, ExitFatal)
		assert.Contains(t, res.Stderr, "SIGNICAT_CLIENT_ID/SIGNICAT_CLIENT_SECRET", "the message names the credentials")
		assert.NotContains(t, res.Output(), secret, "the secret is never printed")
		after := emu.Counters()
		assert.Equal(t, before.DossiersCreated, after.DossiersCreated, "no dossier created")
	})

	t.Run("invalid configuration is a usage error (2)", func(t *testing.T) {
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: t.TempDir(), Args: []string{"--rate", "-1"}})
		RequireExit(t, res, ExitUsage)
		assert.Contains(t, res.Stderr, "api.rate")
	})

	t.Run("records that all fail trip the failure threshold (4)", func(t *testing.T) {
		// An API that refuses every upload (its image limit is 1 KiB): every
		// record that reaches it ends in error.
		emu := StartEmulator(t, func(c *emulator.Config) { c.MaxImageBytes = 1024 })
		before := emu.Counters()
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: t.TempDir(), RunID: "e2e-threshold",
			Sets: []string{"failure_threshold.min_records=10"}}
		res := RunBatch(t, spec)
		RequireExit(t, res, ExitThreshold)
		assert.Contains(t, res.Stderr, "failure threshold")
		after := emu.Counters()
		assert.Equal(t, before.VerificationsStarted, after.VerificationsStarted, "no verification started")
		assert.Positive(t, after.Requests["setImages"]["400"]-before.Requests["setImages"]["400"], "uploads refused")

		// The abort cancels records in flight: their dossiers may be left;
		// `batch cleanup` finds and deletes them.
		t.Logf("dossiers left by the aborted run: %d", after.DossiersLive)
		clean := RunCommand(t, spec.CleanupCommand(t))
		RequireExit(t, clean, ExitOK)
		assert.Contains(t, clean.Stdout, "run e2e-threshold:")
		assert.Zero(t, emu.Counters().DossiersLive, "no dossier left after batch cleanup")
	})
}

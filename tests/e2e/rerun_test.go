package e2e

// No paid result abandoned (issue "Keep the promise on every path", item 4):
// what a rerun does with timeout and error rows, and that one glob over the
// output still gives one row per record.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/report"
	"reverify/internal/specimen"
)

const seedRerun = 43

// duplicateLine returns the manifest line of the first record expected to
// reach the API, and that record's id.
func duplicateLine(t *testing.T, arch *Archive) (line, id string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(arch.URI, specimen.ManifestName))
	require.NoError(t, err)
	for _, e := range arch.Expected {
		if e.Outcome == report.OutcomeSkipped {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, e.RecordID+",") {
				return l + "\n", e.RecordID
			}
		}
	}
	t.Fatal("no record reaches the API")
	return "", ""
}

// oneRowPerLine asserts, with DuckDB over the output's one glob, that every
// manifest line has exactly one row and returns the rows.
func oneRowPerLine(t *testing.T, out string, lines int) []Row {
	t.Helper()
	db := OpenDuckDB(t)
	n := QueryValue[int64](t, db, `SELECT count(*) FROM read_parquet(`+ParquetGlob(out)+`)`)
	distinct := QueryValue[int64](t, db, `SELECT count(DISTINCT origin) FROM read_parquet(`+ParquetGlob(out)+`)`)
	assert.EqualValues(t, lines, n, "rows")
	assert.EqualValues(t, lines, distinct, "one row per manifest line")
	return ReadRows(t, out)
}

func countOutcome(rows []Row, outcome string) int {
	n := 0
	for _, r := range rows {
		if r.Outcome == outcome {
			n++
		}
	}
	return n
}

func TestNoPaidResultIsAbandoned(t *testing.T) {
	// The archive's manifest, with a repeated record id at its end: its row
	// is its line's and must survive every rerun, once.
	arch := WriteSpecimen(t, SpecimenSpec{Count: 30, Seed: seedRerun})
	dup, dupID := duplicateLine(t, arch)
	manifest, lastLine := appendToManifest(t, arch, []byte(dup))

	// Timeouts, on a local output and on S3.
	t.Run("timeout rows are polled again and replaced", func(t *testing.T) {
		timeoutsReplaced(t, arch, manifest, lastLine, dupID, filepath.Join(t.TempDir(), "out"), nil)
	})
	t.Run("timeout rows are polled again and replaced, output on S3", func(t *testing.T) {
		s3 := StartS3(t)
		timeoutsReplaced(t, arch, manifest, lastLine, dupID, s3.URI("out"), s3)
	})

	// Errors: an outage (every create answered 5xx) leaves error rows. A
	// rerun leaves them; --redrive re-attempts them; a record the API
	// refuses (an image larger than it takes: 400) stays an error under
	// --redrive and is re-attempted only by --redrive all.
	t.Run("--redrive re-attempts retryable error rows, --redrive all every one", func(t *testing.T) {
		// A copy of an image the archive checks accept, made larger than the
		// emulator takes (bytes after a JPEG's end are ignored by decoders).
		front, err := os.ReadFile(filepath.Join(arch.URI, dupID, "front.jpg"))
		require.NoError(t, err)
		big := append(bytes.Clone(front), make([]byte, 300<<10)...)
		require.NoError(t, os.WriteFile(filepath.Join(arch.URI, "big-front.jpg"), big, 0o644))
		f := strings.Split(strings.TrimSuffix(dup, "\n"), ",")
		f[0], f[1] = "too-big", "big-front.jpg"
		manifest, lastLine := appendToManifest(t, arch, []byte(strings.Join(f, ",")+"\n"))
		lines := len(arch.Expected) + 1

		emu := StartEmulator(t, func(c *emulator.Config) { c.MaxImageBytes = 200 << 10 })
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1, Endpoints: map[assure.Endpoint]emulator.FaultSpec{
			assure.EndpointCreateDossier: {ServerError: 1}}}))
		out := filepath.Join(t.TempDir(), "out")
		spec := RunSpec{Emulator: emu, Source: arch.URI, Manifest: manifest, Output: out, RunID: "redrive",
			Sets: []string{"failure_threshold.max_error_share=1", "api.retry.max_attempts=2"}}
		RequireExit(t, RunBatch(t, spec), ExitIncomplete)
		rows := oneRowPerLine(t, out, lines)
		require.Equal(t, arch.NonSkipped()+1, countOutcome(rows, report.OutcomeError), "the outage failed every record")
		for _, r := range rows {
			if r.Outcome == report.OutcomeError {
				assert.Regexp(t, `^http_5\d\d$`, r.ErrorCode, r.RecordID)
			}
		}
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1}))

		// A plain rerun leaves error rows as they are.
		RequireExit(t, RunBatch(t, spec), ExitIncomplete)
		assert.Zero(t, emu.Counters().DossiersCreated, "nothing re-attempted without --redrive")
		assert.Equal(t, arch.NonSkipped()+1, countOutcome(oneRowPerLine(t, out, lines), report.OutcomeError))

		// --redrive: the outage's errors are re-attempted; the 400 is new.
		redrive := spec
		redrive.Args = []string{"--redrive"}
		res := RunBatch(t, redrive)
		RequireExit(t, res, ExitIncomplete)
		rows = oneRowPerLine(t, out, lines)
		extra, rest := splitByOrigin(t, rows, lastLine)
		AssertOutcomes(t, rest, arch.Expected)
		require.Len(t, extra, 1)
		tooBig := extra[lastLine+1]
		assert.Equal(t, "too-big", tooBig.RecordID)
		assert.Equal(t, report.OutcomeError, tooBig.Outcome)
		assert.Equal(t, "http_400", tooBig.ErrorCode)
		c := emu.Counters()
		AssertEmulatorClean(t, c, arch.NonSkipped())
		RecordCase(t, Case{Name: fmt.Sprintf("item 4: %d error rows of an outage (5xx), a plain rerun (nothing redone), then `--redrive`",
			arch.NonSkipped()+1), Reaching: arch.NonSkipped(), Last: res, Counters: c, Output: out})

		// --redrive again: a 400 would fail the same way; it is left alone.
		RequireExit(t, RunBatch(t, redrive), ExitIncomplete)
		assert.Equal(t, c.DossiersCreated, emu.Counters().DossiersCreated, "a permanent error is not redriven")

		// --redrive all (its value as the next argument): it is tried again.
		redrive.Args = []string{"--redrive", "all"}
		res = RunBatch(t, redrive)
		RequireExit(t, res, ExitIncomplete)
		assert.Equal(t, c.DossiersCreated+1, emu.Counters().DossiersCreated, "only the 400 is tried again")
		rows = oneRowPerLine(t, out, lines)
		extra, _ = splitByOrigin(t, rows, lastLine)
		assert.Equal(t, "http_400", extra[lastLine+1].ErrorCode)
		AssertEmulatorClean(t, emu.Counters(), arch.NonSkipped())
		RecordCase(t, Case{Name: "item 4: a 400 left alone by `--redrive`, tried again by `--redrive all`", Reaching: arch.NonSkipped(),
			Last: res, Counters: emu.Counters(), Output: out})
	})
}

// timeoutsReplaced runs the archive (its manifest with the repeated line
// dupID at lastLine+1) into output with a poll.deadline that ends before any
// process is final, then reruns it: the rerun polls the same processes
// (nothing created or started again) and their final rows replace the
// timeouts.
func timeoutsReplaced(t *testing.T, arch *Archive, manifest string, lastLine int, dupID, output string, s3 *S3) {
	lines := len(arch.Expected) + 1
	emu := StartEmulator(t, slowProcessing)
	spec := RunSpec{Emulator: emu, Source: arch.URI, Manifest: manifest, Output: output, S3: s3, RunID: "timeouts",
		Sets: []string{"poll.deadline=1s"}}
	RequireExit(t, RunBatch(t, spec), ExitIncomplete)
	rows := oneRowPerLine(t, FetchOutput(t, output, s3), lines)
	require.Equal(t, arch.NonSkipped(), countOutcome(rows, report.OutcomeTimeout), "every verification timed out")
	before := emu.Counters()
	assert.EqualValues(t, arch.NonSkipped(), before.DossiersLive, "timed-out records keep their dossiers")

	spec.Sets = nil
	res := RunBatch(t, spec)
	RequireExit(t, res, ExitIncomplete) // the archive's broken inputs stay skipped
	assert.Contains(t, res.Stderr, "superseded rows removed")
	out := FetchOutput(t, output, s3)
	rows = oneRowPerLine(t, out, lines)
	extra, rest := splitByOrigin(t, rows, lastLine)
	AssertOutcomes(t, rest, arch.Expected)
	require.Len(t, extra, 1)
	assert.Equal(t, dupID, extra[lastLine+1].RecordID)
	assert.Equal(t, []string{report.SkipDuplicateRecord}, extra[lastLine+1].SkipReasons)
	after := emu.Counters()
	AssertEmulatorClean(t, after, arch.NonSkipped())
	assert.Equal(t, before.ProcessesCreated, after.ProcessesCreated, "no process created again")
	assert.Equal(t, before.DossiersCreated, after.DossiersCreated, "no dossier created again")

	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)
	assert.EqualValues(t, lines, sums[0].Records)
	assert.Zero(t, sums[0].Outcomes[report.OutcomeTimeout], "the summary counts the replaced rows once")
	assert.EqualValues(t, 1, sums[0].DuplicateRecords, "only the repeated line's row repeats a record id")
	RecordCase(t, Case{Name: fmt.Sprintf("item 4: %d timeout rows, then a rerun: the same processes polled, final rows replace them",
		arch.NonSkipped()), Reaching: arch.NonSkipped(), Last: res, Counters: after, Output: out})
}

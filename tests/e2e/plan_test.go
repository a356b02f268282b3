package e2e

// batch plan: the same configuration as a run, nothing paid. Its counts are
// what the run then does (to verify = verifications started, the skipped
// records and their reasons = the run's skipped rows), and the emulator sees
// a token and the document types list at most (--offline: nothing).

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/report"
)

const seedPlan = 89

// planLines runs `batch plan` for spec with extra flags and decodes its
// JSON lines: the skipped records and the plan.
func planLines(t *testing.T, spec RunSpec, extra ...string) (skips []map[string]any, plan map[string]any) {
	t.Helper()
	cmd := spec.Command(t)
	cmd.Args = append(append([]string{"plan"}, cmd.Args[1:]...), append([]string{"--json"}, extra...)...)
	res := RunCommand(t, cmd)
	RequireExit(t, res, ExitOK)
	for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		switch m["kind"] {
		case "skip":
			skips = append(skips, m)
		case "plan":
			require.Nil(t, plan, "one plan line")
			plan = m
		default:
			t.Fatalf("unknown line %s", l)
		}
	}
	require.NotNil(t, plan, "the plan line")
	return skips, plan
}

func TestPlanSaysWhatTheRunDoes(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 50, Seed: seedPlan})
	out := filepath.Join(t.TempDir(), "out")
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "planned"}

	skips, plan := planLines(t, spec, "--unit-price", "0.25")
	c := emu.Counters()
	assert.Zero(t, c.DossiersCreated, "nothing paid")
	assert.Equal(t, int64(2), TotalRequests(c), "a token and the document types: %v", c.Requests)
	assert.NoFileExists(t, out, "the output is not touched")
	assert.EqualValues(t, 50, plan["records"])
	assert.EqualValues(t, arch.NonSkipped(), plan["to_verify"])
	assert.EqualValues(t, 50-arch.NonSkipped(), plan["skipped"])
	assert.Equal(t, "yes", plan["document_ids_checked"])
	assert.InDelta(t, 0.25*float64(arch.NonSkipped()), plan["cost"], 0.005)
	assert.Greater(t, plan["api_calls"], float64(6*arch.NonSkipped())-1)
	assert.Positive(t, plan["wall_s"])
	byType := plan["by_process_type"].(map[string]any)
	var typed float64
	for _, n := range byType {
		typed += n.(float64)
	}
	assert.EqualValues(t, 50, typed)

	// --offline: not a single request.
	emu.Reset()
	_, off := planLines(t, spec, "--offline")
	assert.Zero(t, TotalRequests(emu.Counters()))
	assert.Equal(t, "no (--offline)", off["document_ids_checked"])
	assert.Equal(t, plan["to_verify"], off["to_verify"])

	// The run: the same records skipped, for the same reasons, and one
	// verification per record the plan would verify.
	emu.Reset()
	RequireExit(t, RunBatch(t, spec), ExitIncomplete)
	assert.EqualValues(t, plan["to_verify"], emu.Counters().VerificationsStarted)
	want := map[string][]string{}
	for _, r := range ReadRows(t, out) {
		if r.Outcome == report.OutcomeSkipped {
			want[r.RecordID] = r.SkipReasons
		}
	}
	got := map[string][]string{}
	for _, s := range skips {
		var codes []string
		for _, c := range s["codes"].([]any) {
			codes = append(codes, c.(string))
		}
		got[s["record_id"].(string)] = codes
		assert.NotEmpty(t, s["detail"])
	}
	assert.Equal(t, want, got, "the records a run skips, and why")

	// Adaptive rate: the wall time at the ceiling too.
	spec.Sets = []string{"api.rate=auto", "api.max_rate=300"}
	_, auto := planLines(t, spec, "--offline")
	assert.Equal(t, "auto", auto["rate_mode"])
	require.Contains(t, auto, "wall_at_max_rate_s")
	assert.LessOrEqual(t, auto["wall_at_max_rate_s"], auto["wall_s"])

	// The text form: the skipped records, then the plan.
	cmd := spec.Command(t)
	cmd.Args = append(append([]string{"plan"}, cmd.Args[1:]...), "--offline")
	res := RunCommand(t, cmd)
	RequireExit(t, res, ExitOK)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "plan  shard 0 of 1") })
	require.GreaterOrEqual(t, i, 0, res.Stdout)
	assert.Len(t, lines[:i], len(skips), "one line per skipped record before the plan")
	assert.Contains(t, res.Stdout, "wall time about")
	assert.Contains(t, res.Stdout, "at api.max_rate")
}

// --sample: the run verifies the sample only (one row per chosen record),
// a rerun takes the same sample (nothing more paid), another sample under
// the same run id is refused, and plan shows the sample.
func TestSampleIsPartOfTheRun(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 60, Seed: seedPlan})
	out := filepath.Join(t.TempDir(), "out")
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "sampled", Args: []string{"--sample", "12", "--seed", "5"}}

	_, plan := planLines(t, spec, "--offline")
	assert.EqualValues(t, 12, plan["records"])
	require.Contains(t, plan, "sample")
	assert.EqualValues(t, 60, plan["sample"].(map[string]any)["of_records"])

	res := RunBatch(t, spec)
	require.Contains(t, []int{ExitOK, ExitIncomplete}, res.ExitCode, res.String())
	rows := ReadRows(t, out)
	require.Len(t, rows, 12, "one row per sampled record")
	expected := map[string]string{}
	for _, e := range arch.Expected {
		expected[e.RecordID] = e.Outcome
	}
	for _, r := range rows {
		assert.Equal(t, expected[r.RecordID], r.Outcome, r.RecordID)
	}
	started := emu.Counters().VerificationsStarted
	assert.EqualValues(t, plan["to_verify"], started)

	again := RunBatch(t, spec)
	assert.Equal(t, res.ExitCode, again.ExitCode)
	assert.Len(t, ReadRows(t, out), 12, "the same sample")
	assert.Equal(t, started, emu.Counters().VerificationsStarted, "nothing paid again")

	spec.Args = []string{"--sample", "13", "--seed", "5"}
	refused := RunBatch(t, spec)
	RequireExit(t, refused, ExitUsage)
	assert.Contains(t, refused.Stderr, `run.sample: "12" at the first attempt, "13" now`)
}

// --skip-verified-since: a second run under the same output leaves out the
// records the first one verified (final rows since the date): it pays for
// nothing, and writes rows only for the records that had none final; plan
// says how many are left out. A date after the first run leaves out none.
func TestSkipVerifiedSinceIsIncremental(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 40, Seed: seedPlan})
	out := filepath.Join(t.TempDir(), "out")
	first := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "nightly-1"}
	RequireExit(t, RunBatch(t, first), ExitIncomplete)
	paid := emu.Counters().VerificationsStarted
	require.EqualValues(t, arch.NonSkipped(), paid)

	second := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "nightly-2",
		Args: []string{"--skip-verified-since", "2020-01-01"}}
	_, plan := planLines(t, second, "--offline")
	require.Contains(t, plan, "already_verified")
	assert.EqualValues(t, arch.NonSkipped(), plan["already_verified"].(map[string]any)["records"])
	assert.EqualValues(t, 40-arch.NonSkipped(), plan["records"])
	assert.EqualValues(t, 0, plan["to_verify"])

	RequireExit(t, RunBatch(t, second), ExitIncomplete) // the skipped records again
	assert.Equal(t, paid, emu.Counters().VerificationsStarted, "nothing paid again")
	sums := ReadSummaries(t, filepath.Join(out, "runs", "nightly-2"))
	require.Len(t, sums, 1)
	assert.EqualValues(t, 40-arch.NonSkipped(), sums[0].Records, "rows only for the records without a final row")
	assert.EqualValues(t, arch.NonSkipped(), sums[0].Extra["already_verified_records"])

	future := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "nightly-3",
		Args: []string{"--skip-verified-since", "2999-01-01"}}
	_, none := planLines(t, future, "--offline")
	assert.EqualValues(t, 40, none["records"], "nothing verified since then")
	assert.EqualValues(t, 0, none["already_verified"].(map[string]any)["records"])
}

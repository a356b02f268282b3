package e2e

// The crash loop over reruns (issue "Keep the promise on every path",
// item 4): a run ends with timeout and error rows; the reruns that take them
// up again — a --redrive, a plain rerun, another --redrive — are killed while
// they redrive and while they rewrite the parts holding the rows they
// replaced. The last rerun ends with every guarantee: one row per record as
// expected, every verification started once, no dossier left.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/report"
)

const (
	seedRerunLoop       = 53
	seedRerunLoopFaults = 59
)

// partKeys lists the Parquet parts below the output.
func partKeys(t *testing.T, store blob.Store) []string {
	t.Helper()
	parts, err := report.ListParts(context.Background(), store, report.RunsPrefix)
	require.NoError(t, err)
	keys := make([]string, len(parts))
	for i, p := range parts {
		keys[i] = p.Key
	}
	slices.Sort(keys)
	return keys
}

// killDuringRewrite waits for proc to begin removing the rows it replaced
// (its debug line), then kills it as soon as a part appears — the first
// rewritten part, whose source is deleted right after it (parts whose every
// row was replaced are deleted before, without a rewrite). It returns
// whether the kill landed there.
func killDuringRewrite(t *testing.T, proc *Proc, store blob.Store) bool {
	t.Helper()
	if !proc.WaitForOutput("removing the rows this attempt replaced", 3*time.Minute) {
		return false
	}
	before := map[string]bool{}
	for _, k := range partKeys(t, store) {
		before[k] = true
	}
	return proc.KillWhen(func() bool {
		for _, k := range partKeys(t, store) {
			if !before[k] {
				return true
			}
		}
		return false
	}, 0)
}

// cutRewrites counts the rewritten parts whose source part is still there
// (a rewrite killed between its two steps).
func cutRewrites(t *testing.T, store blob.Store) int {
	t.Helper()
	exists := map[string]bool{}
	for _, k := range partKeys(t, store) {
		exists[k] = true
	}
	cut := map[string]bool{}
	require.NoError(t, report.EachCommittedRow(context.Background(), store, "rerun-loop", 0, 1,
		func(p report.CommittedPart, _ report.CommittedRow) error {
			if p.RewrittenFrom != "" && exists[p.RewrittenFrom] {
				cut[p.Key] = true
			}
			return nil
		}))
	return len(cut)
}

// duplicateRows counts the rows beyond one per record in the output.
func duplicateRows(t *testing.T, dir string) int {
	rows := ReadRows(t, dir)
	seen := map[string]bool{}
	n := 0
	for _, r := range rows {
		if seen[r.RecordID] {
			n++
		}
		seen[r.RecordID] = true
	}
	return n
}

func TestCrashLoopRerun(t *testing.T) {
	t.Run("local", func(t *testing.T) { runRerunLoop(t, false) })
	t.Run("s3", func(t *testing.T) { runRerunLoop(t, true) })
}

func runRerunLoop(t *testing.T, onS3 bool) {
	const records = 120
	emu := StartEmulator(t, slowProcessing) // 2.5–4 s to a final status
	arch := WriteSpecimen(t, SpecimenSpec{Count: records, Seed: seedRerunLoop})
	nonSkipped := arch.NonSkipped()
	var s3 *S3
	out := filepath.Join(t.TempDir(), "out")
	if onS3 {
		s3 = StartS3(t)
		out = s3.URI("rerun/out")
	}
	store := OpenStore(t, out, s3)
	base := RunSpec{Emulator: emu, S3: s3, Source: arch.URI, Output: out, RunID: "rerun-loop",
		Sets: []string{
			"concurrency.uploads=" + fmt.Sprint(crashUploads),
			// Small parts: the rows a rerun replaces are spread over many, so
			// rewriting them takes long enough to be killed in.
			"output.max_rows_per_part=4",
			"api.retry.base_delay=5ms", "api.retry.max_delay=50ms",
			"run.lease_ttl=2s",
		},
		Timeout: 5 * time.Minute}
	with := func(args []string, sets ...string) RunSpec {
		s := base
		s.Sets = append(slices.Clone(base.Sets), sets...)
		s.Args = args
		return s
	}
	var f Figures
	var attempts []string
	began := time.Now()

	// Attempt 1: an outage fails 30% of the creates (no retry), and
	// poll.deadline ends before any process is final: every record that
	// reaches the API ends in error or timeout.
	require.NoError(t, emu.SetFaults(emulator.Faults{Seed: seedRerunLoopFaults, Endpoints: map[assure.Endpoint]emulator.FaultSpec{
		assure.EndpointCreateDossier: {ServerError: 0.3}}}))
	res := RunBatch(t, with(nil, "poll.deadline=1s", "api.retry.max_attempts=1", "failure_threshold.max_error_share=1"))
	RequireExit(t, res, ExitIncomplete)
	attempts = append(attempts, fmt.Sprintf("exit %d after %s", res.ExitCode, res.Wall.Round(time.Millisecond)))
	rows := ReadRows(t, FetchOutput(t, out, s3))
	errs, timeouts := countOutcome(rows, report.OutcomeError), countOutcome(rows, report.OutcomeTimeout)
	require.Positive(t, errs)
	require.Positive(t, timeouts)
	require.Equal(t, nonSkipped, errs+timeouts)
	first := fmt.Sprintf("outage (30%% of creates 5xx, no retry), poll.deadline=1s: %d error rows, %d timeout rows, %d parts",
		errs, timeouts, len(partKeys(t, store)))
	require.NoError(t, emu.SetFaults(emulator.Faults{Seed: seedRerunLoopFaults}))

	debug := "logging.level=debug"
	kills := 0
	// Attempt 2: --redrive, killed halfway through the redrive.
	created := emu.Counters().DossiersCreated
	proc := StartBatch(t, with([]string{"--redrive"}))
	killed := proc.KillWhen(func() bool { return emu.Counters().DossiersCreated >= created+int64(errs/2) }, 0)
	require.True(t, killed, "attempt 2 ended before the kill:\n%s", proc.Stderr())
	kills++
	attempts = append(attempts, fmt.Sprintf("--redrive: killed after %d of %d redriven records' dossiers were created",
		emu.Counters().DossiersCreated-created, errs))

	// Attempt 3: a plain rerun, which resumes what attempt 2 began and polls
	// the timeouts, killed within its part rewrite.
	proc = StartBatch(t, with(nil, debug))
	require.True(t, killDuringRewrite(t, proc, store), "attempt 3 was not killed in its rewrite:\n%s", tail(proc.Stderr(), 20))
	kills++
	d3 := duplicateRows(t, FetchOutput(t, out, s3))
	attempts = append(attempts, fmt.Sprintf("plain rerun: killed in its part rewrite, leaving %d duplicate rows, %d rewritten parts beside their sources",
		d3, cutRewrites(t, store)))
	assert.Positive(t, d3, "the kill left the rewrite's window open")

	// Attempt 4: --redrive, killed within its part rewrite too.
	proc = StartBatch(t, with([]string{"--redrive"}, debug))
	require.True(t, killDuringRewrite(t, proc, store), "attempt 4 was not killed in its rewrite:\n%s", tail(proc.Stderr(), 20))
	kills++
	d4 := duplicateRows(t, FetchOutput(t, out, s3))
	attempts = append(attempts, fmt.Sprintf("--redrive: killed in its part rewrite, leaving %d duplicate rows, %d rewritten parts beside their sources",
		d4, cutRewrites(t, store)))

	// Attempt 5: --redrive to the end.
	res = RunBatch(t, with([]string{"--redrive"}))
	RequireExit(t, res, ExitIncomplete) // the archive's broken inputs stay skipped
	attempts = append(attempts, fmt.Sprintf("--redrive: exit %d after %s", res.ExitCode, res.Wall.Round(time.Millisecond)))
	wall := time.Since(began)
	for i, a := range attempts {
		t.Logf("attempt %d: %s", i+1, a)
	}

	dir := FetchOutput(t, out, s3)
	rows = ReadRows(t, dir)
	AssertOutcomes(t, rows, arch.Expected)
	c := emu.Counters()
	AssertEmulatorClean(t, c, nonSkipped)
	// Each kill leaves at most concurrency.uploads processes created but
	// not started; the creates the outage failed created nothing.
	extra := c.ProcessesCreated - int64(nonSkipped)
	assert.GreaterOrEqual(t, extra, int64(0))
	assert.LessOrEqual(t, extra, int64(kills*crashUploads), "extra processes")
	outcomes := map[string]int{}
	for _, r := range rows {
		outcomes[r.Outcome]++
	}

	output := "local folder"
	if onS3 {
		output = "S3 (versitygw)"
	}
	attempts[0] = first + "; " + attempts[0]
	f.Add("date", "%s", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	f.Add("command", "make test (go test -run TestCrashLoopRerun)")
	f.Add("output", "%s", output)
	f.Add("records", "%d (%d reach the API)", records, nonSkipped)
	for i, a := range attempts {
		f.Add(fmt.Sprintf("attempt %d", i+1), "%s", a)
	}
	f.Add("kills (SIGKILL)", "%d", kills)
	f.Add("duplicate rows at the end", "%d", duplicateRows(t, dir))
	f.Add("rows as expected.jsonl", "%s", passFail(!t.Failed()))
	f.Add("outcomes", "%s", mapString(outcomes))
	f.Add("verifications started", "%d (records that reach the API: %d)", c.VerificationsStarted, nonSkipped)
	f.Add("max start requests per process", "%d", c.MaxStartRequestsPerProcess)
	f.Add("processes created", "%d: %d extra, bound kills × uploads = %d", c.ProcessesCreated, extra, kills*crashUploads)
	f.Add("leftover dossiers", "%d", c.DossiersLive)
	f.Add("parts at the end", "%d", len(partKeys(t, store)))
	f.Add("wall time (first start to final exit)", "%s", wall.Round(100*time.Millisecond))
	soakFigures(t, "crash loop over reruns", &f)
	res.Wall = wall
	RecordCase(t, Case{Name: fmt.Sprintf("item 4: crash loop over reruns: %d kills during a redrive and two part rewrites (time: all 5 attempts)", kills),
		Reaching: nonSkipped, Last: res, Counters: c, Output: dir})
}

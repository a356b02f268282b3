package e2e

// The crash loop: the proof of "never lose work, never pay twice". The built
// binary runs over a specimen archive against an emulator that fails 2% of
// every endpoint's requests with a 5xx and 2% with a 429; it is killed with
// SIGKILL at random moments (a seeded plan) and rerun with the same run id
// until it exits with a final code. Then every record has exactly its
// expected row, no process was started twice, every non-skipped record
// started exactly one verification, the extra processes stay within a
// stated bound, and no dossier is left.
//
//	make test: 200 records, 5 kills, api.rate 500; local output, then S3 output
//	make soak: 1,000 records, 10 kills, api.rate 200 (REVERIFY_TEST_SOAK=1;
//	           REVERIFY_TEST_SOAK_RATE changes the rate); prints the figures of
//	           RELIABILITY.md and appends them to $REVERIFY_TEST_SOAK_FIGURES

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
)

// Soak knobs (environment).
const (
	EnvSoak     = "REVERIFY_TEST_SOAK"      // set: the long version of the reliability tests
	EnvSoakRate = "REVERIFY_TEST_SOAK_RATE" // api.rate of the soak's crash loops (default 200)
	// EnvSoakFigures names a file the soak appends its figure tables to.
	EnvSoakFigures = "REVERIFY_TEST_SOAK_FIGURES"
	// EnvCrashSeed replaces the kill plan's seed (to explore other kill
	// moments; the tests' own seed is fixed).
	EnvCrashSeed = "REVERIFY_TEST_CRASH_SEED"
)

func soak() bool { return os.Getenv(EnvSoak) != "" }

const (
	seedCrash       = 41 // the archive
	seedCrashFaults = 43 // the emulator's fault draws
	seedCrashKills  = 47 // the kill plan
	// crashUploads is concurrency.uploads in the crash loop: at most this
	// many records are between their first paid call and a started
	// verification at any instant, so a kill loses at most this many
	// process-creation answers.
	crashUploads = 8
)

// CrashFaults is the crash loop's fault mix: 2% server errors and 2% 429s
// on every endpoint, the token and list endpoints included.
func CrashFaults(seed int64) emulator.Faults {
	return emulator.Faults{Seed: seed, Default: emulator.FaultSpec{
		ServerError: 0.02, TooManyRequests: 0.02, RetryAfter: time.Second,
	}}
}

// killPlan is when one attempt is killed.
type killPlan struct {
	kind  string        // startup, early or progress
	delay time.Duration // startup: after exec (before or during listing and reconciliation)
	k     int64         // early: after this attempt's k-th API request (token, reconciliation, first creates)
	frac  float64       // progress: once the emulator saw frac × the run's minimal request count
	extra time.Duration // then this long
}

func (k killPlan) String() string {
	switch k.kind {
	case "startup":
		return fmt.Sprintf("startup +%s", k.delay)
	case "early":
		return fmt.Sprintf("early: request %d of the attempt +%s", k.k, k.extra)
	}
	return fmt.Sprintf("progress %.0f%% +%s", k.frac*100, k.extra)
}

// newKillPlan draws n kills from seed: the first during startup, some
// early in an attempt (reconciliation, first creates), the rest at
// increasing points of progress between 5% and 80% of the minimal request
// count (so the run cannot finish before its last kill).
func newKillPlan(n int, seed uint64) []killPlan {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	plan := make([]killPlan, n)
	var fracs []float64
	for i := range plan {
		switch {
		case i == 0:
			plan[i] = killPlan{kind: "startup", delay: time.Duration(rng.IntN(100)) * time.Millisecond}
		case i%4 == 2:
			plan[i] = killPlan{kind: "early", k: 1 + rng.Int64N(40), extra: time.Duration(rng.IntN(10)) * time.Millisecond}
		default:
			plan[i] = killPlan{kind: "progress", extra: time.Duration(rng.IntN(25)) * time.Millisecond}
			fracs = append(fracs, 0.05+0.75*rng.Float64())
		}
	}
	// Progress points increase with the kill number.
	slices.Sort(fracs)
	j := 0
	for i := range plan {
		if plan[i].kind == "progress" {
			plan[i].frac = fracs[j]
			j++
		}
	}
	return plan
}

// crashLoop is one crash-loop configuration.
type crashLoop struct {
	records int
	kills   int
	rate    float64
	s3      bool
}

func TestCrashLoop(t *testing.T) {
	loop := crashLoop{records: 200, kills: 5, rate: 500}
	if soak() {
		loop = crashLoop{records: 1000, kills: 10, rate: 200}
		if v := os.Getenv(EnvSoakRate); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, EnvSoakRate)
			loop.rate = f
		}
	}
	t.Run("local", func(t *testing.T) { runCrashLoop(t, loop) })
	// The journal on S3 is checkpoints every 2 s: reconciliation with the
	// API covers what a kill loses of it.
	loop.s3 = true
	t.Run("s3", func(t *testing.T) { runCrashLoop(t, loop) })
}

func runCrashLoop(t *testing.T, cl crashLoop) {
	emu := StartEmulator(t, func(c *emulator.Config) { c.Faults = CrashFaults(seedCrashFaults) })
	arch := WriteSpecimen(t, SpecimenSpec{Count: cl.records, Seed: seedCrash})
	nonSkipped := arch.NonSkipped()
	require.Less(t, nonSkipped, cl.records, "the archive must hold broken inputs")

	var s3 *S3
	out := filepath.Join(t.TempDir(), "out")
	if cl.s3 {
		s3 = StartS3(t)
		out = s3.URI("crash/out")
	}
	spec := RunSpec{Emulator: emu, S3: s3, Source: arch.URI, Output: out, RunID: "crash-loop",
		Sets: []string{
			"api.rate=" + strconv.FormatFloat(cl.rate, 'f', -1, 64),
			"concurrency.uploads=" + strconv.Itoa(crashUploads),
			// Parts are committed during the run, not only at its end: the
			// kills also land between a part's commit and its journal entry.
			"output.max_part_age=1s",
			// Quick retries: the faults are what is tested, not the waits.
			"api.retry.base_delay=5ms", "api.retry.max_delay=50ms", "api.retry.max_attempts=6",
			// A killed attempt's S3 lease runs out within 2 s: the next one
			// waits for that.
			"run.lease_ttl=2s",
		},
		Timeout: 10 * time.Minute}

	// minRequests is the fewest API requests the run can make: six per
	// record that reaches the API (create dossier, create process, set
	// images, start, one poll, delete). Progress kills happen before 80% of
	// it, so the run is still going when they come.
	minRequests := int64(6 * nonSkipped)
	killSeed := uint64(seedCrashKills)
	if v := os.Getenv(EnvCrashSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, EnvCrashSeed)
		killSeed = n
	}
	plan := newKillPlan(cl.kills, killSeed)
	var attempts, moments []string
	var last Result
	kills := 0
	began := time.Now() // the first attempt's start
	for attempt := 1; ; attempt++ {
		require.LessOrEqual(t, attempt, cl.kills+3, "the run did not end after %d kills", kills)
		proc := StartBatch(t, spec)
		if kills < len(plan) {
			k := plan[kills]
			base := TotalRequests(emu.Counters())
			var cond func() bool
			extra := k.extra
			switch k.kind {
			case "startup":
				cond = func() bool { return true }
				extra = k.delay
			case "early":
				cond = func() bool { return TotalRequests(emu.Counters())-base >= k.k }
			default:
				target := int64(k.frac * float64(minRequests))
				cond = func() bool { return TotalRequests(emu.Counters()) >= target }
			}
			if proc.KillWhen(cond, extra) {
				kills++
				moments = append(moments, k.String())
				attempts = append(attempts, fmt.Sprintf("attempt %d: killed (%s) after %s, %d requests", attempt, k,
					time.Since(proc.Started()).Round(time.Millisecond), TotalRequests(emu.Counters())-base))
				continue
			}
		}
		last = proc.Wait()
		attempts = append(attempts, fmt.Sprintf("attempt %d: exit %d after %s", attempt, last.ExitCode, last.Wall.Round(time.Millisecond)))
		if last.ExitCode != ExitIncomplete {
			t.Fatalf("attempt %d (after %d kills) ended with a code that is not final:\n%s", attempt, kills, last)
		}
		break
	}
	wall := time.Since(began)
	t.Logf("attempts:\n  %s", strings.Join(attempts, "\n  "))
	RequireExit(t, last, ExitIncomplete) // skipped rows: the archive holds broken inputs
	assert.Equal(t, cl.kills, kills, "every planned kill landed before the run finished")

	// Every row of every part of every attempt, read with DuckDB.
	dir := FetchOutput(t, out, s3)
	rows := ReadRows(t, dir)
	AssertOutcomes(t, rows, arch.Expected)
	c := emu.Counters()
	AssertEmulatorClean(t, c, nonSkipped)
	if c.DossiersLive > 0 {
		explainLeftDossiers(t, emu, out, s3, rows)
	}

	// Extra processes: a kill leaves at most concurrency.uploads processes
	// created but not started (one per submitter, whether the journal names
	// it or its creation answer was lost), and the next attempt deletes each
	// and creates another. The faults here (5xx, 429) are answered before
	// the handler runs, so they create nothing. Hence at most kills × uploads
	// extra.
	extraProcesses := c.ProcessesCreated - int64(nonSkipped)
	bound := int64(kills * crashUploads)
	assert.GreaterOrEqual(t, extraProcesses, int64(0), "processes created")
	assert.LessOrEqual(t, extraProcesses, bound, "extra processes (created %d for %d records that reach the API)", c.ProcessesCreated, nonSkipped)
	extraDossiers := c.DossiersCreated - int64(nonSkipped)
	assert.LessOrEqual(t, extraDossiers, bound, "extra dossiers (created %d)", c.DossiersCreated)

	// Killed attempts left results in the journal; the last one, whose rows
	// are all committed, took every one out (issue "Personal data only
	// where the user wants it": the journal holds results only until their
	// rows are committed).
	finals := 0
	jstore := OpenStore(t, out, s3)
	require.NoError(t, jstore.List(context.Background(), "", func(o blob.Object) error {
		if !strings.Contains(o.Key, "/journal/") {
			return nil
		}
		b, err := jstore.Get(context.Background(), o.Key, 0)
		if err != nil {
			return err
		}
		finals += strings.Count(string(b), `"t":"final"`)
		return nil
	}))
	assert.Zero(t, finals, "final entries (results) left in the journal after the last attempt")

	parts := 0
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			parts++
		}
		return nil
	})
	dups := 0
	seen := map[string]bool{}
	var retries int64
	outcomes := map[string]int{}
	for _, r := range rows {
		if seen[r.RecordID] {
			dups++
		}
		seen[r.RecordID] = true
		retries += r.Retries
		outcomes[r.Outcome]++
	}
	var f Figures
	output := "local folder (journal: fsynced group commit)"
	if cl.s3 {
		output = "S3 (versitygw; journal: checkpoints every 2 s)"
	}
	f.Add("date", "%s", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if soak() {
		f.Add("command", "make soak (REVERIFY_TEST_SOAK=1: TestCrashLoop, TestFaultStorms)")
	} else {
		f.Add("command", "make test (go test -run TestCrashLoop)")
	}
	f.Add("machine", "%d CPUs, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	f.Add("output", "%s", output)
	f.Add("records", "%d (%d reach the API, %d skipped by preflight)", cl.records, nonSkipped, cl.records-nonSkipped)
	f.Add("api.rate, concurrency.uploads", "%g/s, %d", cl.rate, crashUploads)
	f.Add("kills (SIGKILL)", "%d", kills)
	f.Add("attempts", "%d", len(attempts))
	f.Add("rows (all parts of all attempts)", "%d in %d parts", len(rows), parts)
	f.Add("duplicate rows", "%d", dups)
	f.Add("rows as expected.jsonl", "%s", passFail(!t.Failed()))
	f.Add("outcomes", "%s", mapString(outcomes))
	f.Add("leftover dossiers", "%d", c.DossiersLive)
	f.Add("max start requests per process", "%d", c.MaxStartRequestsPerProcess)
	f.Add("verifications started", "%d (records that reach the API: %d)", c.VerificationsStarted, nonSkipped)
	f.Add("processes created", "%d: %d extra, bound kills × uploads = %d", c.ProcessesCreated, extraProcesses, bound)
	f.Add("dossiers created", "%d: %d extra", c.DossiersCreated, extraDossiers)
	f.Add("faults injected (all survived)", "%s", FaultsString(c))
	f.Add("API requests (emulator)", "%d", TotalRequests(c))
	f.Add("retries (rows' retries column)", "%d", retries)
	f.Add("kill moments", "%s", strings.Join(moments, "; "))
	f.Add("wall time (first start to final exit)", "%s", wall.Round(100*time.Millisecond))
	soakFigures(t, "crash loop", &f)
}

// explainLeftDossiers logs, for each dossier left at the emulator, its
// record's row and every line of the journal and dossier logs that names the
// record (ids, types and outcomes: the specimen holds no real person).
func explainLeftDossiers(t *testing.T, emu *Emulator, out string, s3 *S3, rows []Row) {
	t.Helper()
	store := OpenStore(t, out, s3)
	var keys []string
	require.NoError(t, store.List(context.Background(), "", func(o blob.Object) error {
		if strings.HasSuffix(o.Key, ".jsonl") {
			keys = append(keys, o.Key)
		}
		return nil
	}))
	slices.Sort(keys)
	lines := map[string][]string{}
	for _, k := range keys {
		b, err := store.Get(context.Background(), k, 0)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				lines[k] = append(lines[k], l)
			}
		}
	}
	n := 0
	for _, k := range keys {
		n += len(lines[k])
	}
	t.Logf("%d journal and dossier log objects, %d lines: %s", len(keys), n, strings.Join(keys, " "))
	for _, d := range emu.LiveDossiers() {
		id := d.ExternalReference[strings.LastIndex(d.ExternalReference, "/")+1:]
		var b strings.Builder
		fmt.Fprintf(&b, "dossier %s of %s left (created %s)\n", d.DossierID, id, d.CreatedAt.Time.Format(time.RFC3339Nano))
		for _, r := range rows {
			if r.RecordID == id {
				fmt.Fprintf(&b, "  row: %s dossier %s process %s calls %d polls %d retries %d\n", r.Outcome,
					deref(r.DossierID), deref(r.ProcessID), r.APICalls, r.Polls, r.Retries)
			}
		}
		for _, k := range keys {
			for _, l := range lines[k] {
				if strings.Contains(l, `"`+id+`"`) || strings.Contains(l, d.DossierID) {
					if i := strings.Index(l, `,"final":`); i > 0 {
						l = l[:i] + ",…"
					}
					if len(l) > 300 {
						l = l[:300] + "…"
					}
					fmt.Fprintf(&b, "  %s: %s\n", k, l)
				}
			}
		}
		t.Log(b.String())
	}
}

// soakFigures logs a figure table; in the soak it prints it to stdout (for
// RELIABILITY.md, verbatim) and appends it to $REVERIFY_TEST_SOAK_FIGURES.
func soakFigures(t *testing.T, title string, f *Figures) {
	table := f.String()
	if !soak() {
		t.Logf("%s figures:\n%s", title, table)
		return
	}
	fmt.Printf("\n%s figures (make soak):\n\n%s\n", t.Name(), table)
	if path := os.Getenv(EnvSoakFigures); path != "" {
		b, _ := os.ReadFile(path)
		b = fmt.Appendf(b, "### %s\n\n%s\n", t.Name(), table)
		require.NoError(t, os.WriteFile(path, b, 0o644), EnvSoakFigures)
	}
}

func passFail(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func mapString[V any](m map[string]V) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

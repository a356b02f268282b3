package e2e

// Fault storms: the API throttling everything, bursts of server errors and
// connection resets, tokens that expire during the run, the API losing its
// state, the archive's storage failing for some images, and an output that
// cannot be written. Each storm is set on the running emulator (or proxy)
// mid-run and lifted again; the run must finish with the expected outcomes
// and clean counters unless the storm is meant to change them.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/journal"
	"reverify/internal/report"
	"reverify/internal/specimen"
)

const seedStorms = 61

// wideTransactions widens the API's window between a process's first image
// upload and its start (15 minutes) to a day: at time scale 0.001 a storm of
// a few seconds is hours of API time, and a start delayed by it would find
// the transaction expired ("failed"), which measures the scale, not the
// storm.
func wideTransactions(c *emulator.Config) { c.TransactionExpiry = 24 * time.Hour }

// quickRetries make the client's and the pipeline's retries fast: the
// tests are about whether a storm is survived, not about the waits.
var quickRetries = []string{"api.retry.base_delay=5ms", "api.retry.max_delay=50ms"}

// stormLength is how long the 429 storm lasts: 5 s in make test, 30 s in
// the soak.
func stormLength() time.Duration {
	if soak() {
		return 30 * time.Second
	}
	return 5 * time.Second
}

// startedAtLeast waits until n verifications were started (the run is
// well under way) and fails the test if the process ends first.
func startedAtLeast(t *testing.T, proc *Proc, emu *Emulator, n int64) {
	t.Helper()
	if !waitFor(proc, func() bool { return emu.Counters().VerificationsStarted >= n }) {
		t.Fatalf("%d verifications never started:\n%s", n, proc.Wait())
	}
}

func TestFaultStorms(t *testing.T) {
	var figs Figures // one line per storm, printed by the soak
	defer func() { soakFigures(t, "fault storms", &figs) }()
	survived := func(t *testing.T) string {
		if t.Failed() {
			return "FAILED"
		}
		return "survived"
	}
	// 100% 429 with Retry-After for every endpoint, mid-run: the client
	// retries 429s until api.retry.max_elapsed (2 min), the client pauses every
	// call for the Retry-After. The Retry-After is 1000 emulated seconds,
	// sent as "Retry-After: 1" at time scale 0.001 (a smaller one would be
	// rounded to 0 and the client would fall back to its own backoff).
	t.Run("429 storm", func(t *testing.T) {
		emu := StartEmulator(t, wideTransactions)
		arch := WriteSpecimen(t, SpecimenSpec{Count: 150, Seed: seedStorms})
		out := filepath.Join(t.TempDir(), "out")
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "storm-429",
			Sets: append([]string{"api.rate=100", "poll.deadline=10m"}, quickRetries...)}
		proc := StartBatch(t, spec)
		startedAtLeast(t, proc, emu, 20)
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1, Default: emulator.FaultSpec{
			TooManyRequests: 1, RetryAfter: time.Duration(float64(time.Second) / DefaultTimeScale)}}))
		time.Sleep(stormLength())
		during := emu.Counters()
		require.NoError(t, emu.SetFaults(emulator.Faults{}))
		res := proc.Wait()
		RequireExit(t, res, ExitIncomplete)

		AssertOutcomes(t, ReadRows(t, out), arch.Expected)
		c := emu.Counters()
		AssertEmulatorClean(t, c, arch.NonSkipped())
		assert.Equal(t, c.ProcessesCreated, c.VerificationsStarted, "a 429 creates nothing: no process replaced")
		t.Logf("storm of %s: %d 429s answered", stormLength(), during.Faults["too_many_requests"])
		assert.Positive(t, during.Faults["too_many_requests"], "429s answered")
		sums := ReadSummaries(t, out)
		require.Len(t, sums, 1)
		assert.Positive(t, sums[0].Extra["rate_limit_pauses"], "the client paused every call for the Retry-After")
		figs.Add("429 storm", "%s of 100%% 429 (Retry-After: 1) on every endpoint: %d answered, the client paused %v times; %s, rows as expected, no dossier left",
			stormLength(), during.Faults["too_many_requests"], sums[0].Extra["rate_limit_pauses"], survived(t))
	})

	// Bursts of 25% 5xx and 25% connection resets (half of them after the
	// handler changed state: outcome unknown) on every endpoint. A call is
	// tried up to 20 times, so each one gets through (0.5^20).
	t.Run("5xx and reset bursts", func(t *testing.T) {
		emu := StartEmulator(t, wideTransactions)
		arch := WriteSpecimen(t, SpecimenSpec{Count: 150, Seed: seedStorms})
		out := filepath.Join(t.TempDir(), "out")
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "storm-5xx",
			Sets: append([]string{"api.rate=150", "api.retry.max_attempts=20"}, quickRetries...)}
		proc := StartBatch(t, spec)
		bursts := 2
		if soak() {
			bursts = 5
		}
		var c0 emulator.Counters
		for i := 0; i < bursts; i++ {
			startedAtLeast(t, proc, emu, int64(15+25*i))
			require.NoError(t, emu.SetFaults(emulator.Faults{Seed: int64(100 + i), Default: emulator.FaultSpec{
				ServerError: 0.25, Reset: 0.25}}))
			time.Sleep(1500 * time.Millisecond)
			require.NoError(t, emu.SetFaults(emulator.Faults{}))
			c0 = emu.Counters()
		}
		res := proc.Wait()
		RequireExit(t, res, ExitIncomplete)

		AssertOutcomes(t, ReadRows(t, out), arch.Expected)
		c := emu.Counters()
		AssertEmulatorClean(t, c, arch.NonSkipped())
		t.Logf("faults: %s", FaultsString(c0))
		assert.Positive(t, c.Faults["server_error"])
		assert.Positive(t, c.Faults["reset_after_handler"], "resets after the state changed")
		// A process is created twice only when a create's answer was lost
		// to a reset after the handler ran.
		assert.LessOrEqual(t, c.ProcessesCreated-c.VerificationsStarted, c.Requests["createProcess"]["reset"],
			"processes replaced ≤ create-process answers lost")
		figs.Add("5xx and reset bursts", "%d bursts of 1.5 s at 25%% 5xx + 25%% resets: %s; %d processes replaced (≤ %d create answers lost); %s, rows as expected",
			bursts, FaultsString(c), c.ProcessesCreated-c.VerificationsStarted, c.Requests["createProcess"]["reset"], survived(t))
	})

	// Tokens that live one second: the client renews them before they
	// expire (and refreshes once on a 401); no record fails.
	t.Run("token expires mid-run", func(t *testing.T) {
		emu := StartEmulator(t, func(c *emulator.Config) { c.TokenTTL = time.Second })
		arch := WriteSpecimen(t, SpecimenSpec{Count: 150, Seed: seedStorms})
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "token-ttl",
			Sets: []string{"api.rate=100"}})
		RequireExit(t, res, ExitIncomplete)
		AssertOutcomes(t, ReadRows(t, out), arch.Expected)
		c := emu.Counters()
		AssertEmulatorClean(t, c, arch.NonSkipped())
		t.Logf("run of %s: %d tokens issued, %d answers 401", res.Wall.Round(time.Millisecond), c.TokensIssued, sum401(c))
		assert.GreaterOrEqual(t, c.TokensIssued, int64(3), "tokens renewed during the run")
		figs.Add("token expiry", "token_ttl 1 s: %d tokens in %s (renewed before expiry: %d answers 401); %s, no record failed",
			c.TokensIssued, res.Wall.Round(100*time.Millisecond), sum401(c), survived(t))
	})

	// The API restarts and forgets everything (emulator Reset) while
	// processes are being polled: those answer 404, and their records get an
	// error row (http_404) naming the process; records being submitted
	// fail alike or go on in a new dossier; the run goes on, the others
	// finish as expected, nothing panics, exit 3. The failure threshold is
	// off (max_error_share 1): a third of the records may fail at once.
	t.Run("API restart loses state", func(t *testing.T) {
		emu := StartEmulator(t, func(c *emulator.Config) {
			c.Processing.Min, c.Processing.Median, c.Processing.Max = 500*time.Second, 800*time.Second, 1200*time.Second
		})
		arch := WriteSpecimen(t, SpecimenSpec{Count: 120, Seed: seedStorms})
		out := filepath.Join(t.TempDir(), "out")
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "api-restart",
			Sets: []string{"api.rate=150", "failure_threshold.max_error_share=1", "poll.max_interval=100ms"}}
		proc := StartBatch(t, spec)
		startedAtLeast(t, proc, emu, 30)
		emu.Reset()
		res := proc.Wait()
		RequireExit(t, res, ExitIncomplete)
		assert.NotContains(t, res.Stderr, "panic")

		rows := ReadRows(t, out)
		exp := map[string]specimen.ExpectedLine{}
		for _, e := range arch.Expected {
			exp[e.RecordID] = e
		}
		require.Len(t, rows, len(arch.Expected), "one row per record")
		lost, polled := 0, 0
		for _, r := range rows {
			e, ok := exp[r.RecordID]
			require.True(t, ok, r.RecordID)
			delete(exp, r.RecordID)
			if r.Outcome == e.Outcome && r.Reason == e.Reason {
				continue
			}
			lost++
			if !assert.Equal(t, "error", r.Outcome, "%s: lost by the restart: an error row", r.RecordID) {
				continue
			}
			assert.Equal(t, "http_404", r.ErrorCode, r.RecordID)
			require.NotNil(t, r.ErrorMessage, r.RecordID)
			if strings.HasPrefix(*r.ErrorMessage, "get process") {
				polled++
				require.NotNil(t, r.ProcessID, r.RecordID)
				assert.Contains(t, *r.ErrorMessage, *r.ProcessID, "%s: the message names the process", r.RecordID)
			}
		}
		assert.Empty(t, exp, "records without a row")
		t.Logf("records lost by the restart: %d (%d while being polled)", lost, polled)
		assert.Positive(t, polled, "processes polled across the restart answer 404")
		c := emu.Counters() // since the restart
		assert.Zero(t, c.DossiersLive, "dossiers created after the restart are deleted")
		assert.LessOrEqual(t, c.MaxStartRequestsPerProcess, int64(1))
		assert.Positive(t, c.VerificationsStarted, "records went on after the restart")
		figs.Add("API restart (state lost)", "after 30 starts: %d records lost → error http_404 (%d while polled, message naming the process), the other %d as expected, exit 3, no panic; %s",
			lost, polled, len(rows)-lost, survived(t))
	})

	// The archive on S3 behind a proxy that answers 500 to every GET of
	// three records' front images: after the S3 client's and the pipeline's
	// retries those records end as `error` / source_read; the rest is as
	// expected.
	t.Run("S3 read errors for some images", func(t *testing.T) {
		s3 := StartS3(t)
		proxy := StartFaultProxy(t, s3.Endpoint)
		emu := StartEmulator(t, nil)
		arch := WriteSpecimen(t, SpecimenSpec{Out: s3.URI("archive"), Count: 60, Seed: seedStorms, S3: s3})
		broken := map[string]bool{}
		exp := append([]specimen.ExpectedLine(nil), arch.Expected...)
		for i, e := range exp {
			if e.Outcome != report.OutcomeSkipped && len(broken) < 3 && i%7 == 3 {
				broken[e.RecordID] = true
				exp[i].Outcome, exp[i].Reason = report.OutcomeError, "source_read"
			}
		}
		require.Len(t, broken, 3)
		prefix := ObjectPath(s3.URI("archive")) + "/"
		proxy.SetRule(func(r *http.Request) int {
			id, file, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
			if r.Method == http.MethodGet && ok && broken[id] && strings.HasPrefix(file, "front.") {
				return http.StatusInternalServerError
			}
			return 0
		})
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, S3: s3.Via(proxy.URL()), Source: arch.URI, Output: out, RunID: "s3-read",
			Sets: append([]string{"source.s3.max_attempts=2"}, quickRetries...)})
		RequireExit(t, res, ExitIncomplete)
		rows := ReadRows(t, out)
		AssertOutcomes(t, rows, exp)
		for _, r := range rows {
			if broken[r.RecordID] {
				assert.Equal(t, "source_read", r.ErrorCode, r.RecordID)
				if assert.NotNil(t, r.ErrorMessage) {
					assert.Contains(t, *r.ErrorMessage, r.RecordID, "the message names the record")
				}
				assert.Nil(t, r.DossierID, "%s: nothing paid for an unreadable record", r.RecordID)
			}
		}
		t.Logf("proxy answered %v", proxy.Injected())
		assert.GreaterOrEqual(t, proxy.InjectedTotal(), int64(6), "each read retried")
		AssertEmulatorClean(t, emu.Counters(), arch.NonSkipped()-len(broken))
		figs.Add("S3 read errors", "500 to every GET of 3 records' front images (%d answered): those 3 → error source_read, nothing paid for them, the rest as expected; %s",
			proxy.InjectedTotal(), survived(t))
	})

	// An output below a regular file cannot be created, even as root: exit
	// 1 before any API call, the message naming the output.
	t.Run("output below a regular file", func(t *testing.T) {
		emu := StartEmulator(t, nil)
		arch := WriteSpecimen(t, SpecimenSpec{Count: 10, Seed: seedStorms})
		file := filepath.Join(t.TempDir(), "a-file")
		require.NoError(t, os.WriteFile(file, []byte("not a folder"), 0o644))
		out := filepath.Join(file, "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "unwritable"})
		RequireExit(t, res, ExitFatal)
		t.Logf("stderr: %s", lastLines(res.Stderr, 3))
		assert.Contains(t, res.Stderr, "output")
		assert.Contains(t, res.Stderr, out, "the message names the output")
		assert.Zero(t, TotalRequests(emu.Counters()), "no API call")
		figs.Add("output below a regular file", "exit 1 before any API call: %q", strings.TrimPrefix(lastLines(res.Stderr, 1), "batch run: "))
	})

	// An S3 output that starts refusing writes mid-run (403 to every PUT and
	// POST through the proxy): exit 1 with a message naming the output; the
	// journal objects written so far are intact; once the output accepts
	// writes again, a rerun finishes with every guarantee.
	t.Run("S3 output fails mid-run", func(t *testing.T) {
		s3 := StartS3(t)
		proxy := StartFaultProxy(t, s3.Endpoint)
		emu := StartEmulator(t, nil)
		arch := WriteSpecimen(t, SpecimenSpec{Count: 120, Seed: seedStorms})
		out := s3.URI("reports")
		spec := RunSpec{Emulator: emu, S3: s3.Via(proxy.URL()), Source: arch.URI, Output: out, RunID: "output-fails",
			Sets: append([]string{"api.rate=100", "output.s3.max_attempts=2", "output.s3.path_style=true",
				"output.s3.region=us-east-1", "output.s3.endpoint=" + proxy.URL()}, quickRetries...)}
		proc := StartBatch(t, spec)
		startedAtLeast(t, proc, emu, 40)
		// The journal checkpoints every 2 s (not per record): the output
		// fails once a checkpoint holding records is on it, so that there
		// is a journal to read back.
		store := s3.Store(t, out)
		if !waitFor(proc, func() bool {
			st, err := journal.Read(context.Background(), store, report.JournalPrefix("output-fails", 0, 1))
			return err == nil && len(st.Records) > 0
		}) {
			t.Fatalf("no journal checkpoint with records:\n%s", proc.Wait())
		}
		reports := ObjectPath(out) + "/"
		proxy.SetRule(func(r *http.Request) int {
			if (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.HasPrefix(r.URL.Path, reports) {
				return http.StatusForbidden
			}
			return 0
		})
		res := proc.Wait()
		RequireExit(t, res, ExitFatal)
		t.Logf("stderr: %s", lastLines(res.Stderr, 3))
		assert.Contains(t, res.Stderr, out, "the message names the output")
		assert.Positive(t, proxy.InjectedTotal())

		// The journal so far: every object readable, straight from the store.
		st, err := journal.Read(context.Background(), store, report.JournalPrefix("output-fails", 0, 1))
		require.NoError(t, err, "the journal written before the failure reads back")
		assert.Equal(t, 1, st.Attempts)
		assert.NotEmpty(t, st.Records, "entries were checkpointed before the failure")
		n := 0
		require.NoError(t, store.List(context.Background(), report.JournalPrefix("output-fails", 0, 1), func(o blob.Object) error {
			_, err := store.Get(context.Background(), o.Key, 0)
			n++
			return err
		}))
		t.Logf("journal: %d checkpoint objects, %d records", n, len(st.Records))

		proxy.SetRule(nil)
		resumeAndCheck(t, spec, emu, arch, 16)
		figs.Add("S3 output fails mid-run", "403 to every write after 40 starts: exit 1 naming the object; %d journal objects read back; the rerun finishes as expected; %s",
			n, survived(t))
	})
}

// sum401 counts the 401 answers (an expired or refused token) over every
// endpoint.
func sum401(c emulator.Counters) int64 {
	var n int64
	for _, m := range c.Requests {
		n += m["401"]
	}
	return n
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

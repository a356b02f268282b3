package e2e

// The promise on paths the crash loop does not walk (issue "Keep the promise
// on every path"): reruns, histories, stalls.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
	RecordCase(t, Case{Name: "item 7: a rerun of a finished run with skipped rows: nothing redone, exit 3 and the shard's history",
		Reaching: arch.NonSkipped(), Last: res, Counters: emu.Counters(), Output: out})
}

// Stalls are bounded and visible.
func TestStallsAreBoundedAndVisible(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 40, Seed: seedPromise})

	// A Retry-After of an hour on every poll: the pause every call waits is
	// capped (api.retry.max_pause), and SIGTERM mid-pause still exits within
	// the grace period and a second or two. It used to stall the whole run,
	// and stay alive for the pause after SIGTERM.
	t.Run("SIGTERM during a long Retry-After pause", func(t *testing.T) {
		const grace = 2 * time.Second
		emu := StartEmulator(t, slowProcessing)
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "paused",
			Sets: []string{"run.grace_period=" + grace.String(), "api.retry.max_pause=1m", "api.retry.max_elapsed=5m"}}
		proc := StartBatch(t, spec)
		require.True(t, waitFor(proc, func() bool { return emu.Counters().VerificationsStarted >= 10 }), "%s", proc.Stderr())
		// 3,600,000 emulated seconds at 0.001: "Retry-After: 3600".
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1, Endpoints: map[assure.Endpoint]emulator.FaultSpec{
			assure.EndpointGetProcess: {TooManyRequests: 1, RetryAfter: 3_600_000 * time.Second}}}))
		require.True(t, waitFor(proc, func() bool { return emu.Counters().Faults[emulator.FaultKindTooManyRequests] > 0 }))
		time.Sleep(500 * time.Millisecond) // the pause is on
		sent := time.Now()
		require.NoError(t, proc.Signal(syscall.SIGTERM))
		res := proc.Wait()
		took := time.Since(sent)
		RequireExit(t, res, ExitInterrupted)
		t.Logf("SIGTERM mid-pause to exit: %s (grace period %s)", took.Round(time.Millisecond), grace)
		assert.Less(t, took, grace+3*time.Second, "within the grace period and a second or two")
		res.Wall = took // from the signal
		RecordCase(t, Case{Name: "item 6: SIGTERM during a Retry-After of an hour (time to exit from the signal; dossiers kept for the rerun)",
			Reaching: arch.NonSkipped(), Last: res, Counters: emu.Counters(), Output: spec.Output})
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1}))
		// Creates cut short by the end of the drain: at most one per upload
		// slot (concurrency.uploads, 16), replaced by the rerun.
		res = resumeAndCheck(t, spec, emu, arch, 16)
		RecordCase(t, Case{Name: "item 6: … then the rerun", Reaching: arch.NonSkipped(), Last: res, Counters: emu.Counters(), Output: spec.Output})
	})

	// An unreachable token endpoint is exit 1 within seconds, before any
	// record is taken (it used to take 13 s and 16 calls per record).
	t.Run("unreachable token endpoint", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := l.Addr().String()
		require.NoError(t, l.Close())
		emu := StartEmulator(t, nil)
		began := time.Now()
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "no-token",
			Args: []string{"--token-url", "http://" + dead + "/token"}})
		took := time.Since(began)
		RequireExit(t, res, ExitFatal)
		t.Logf("exit 1 after %s: %s", took.Round(time.Millisecond), lastLines(res.Stderr, 1))
		assert.Less(t, took, 10*time.Second)
		assert.Contains(t, res.Stderr, "get an access token from http://"+dead+"/token")
		assert.Zero(t, TotalRequests(emu.Counters()), "no API call")
		RecordCase(t, Case{Name: "item 6: unreachable token endpoint: exit 1 before any record", Reaching: arch.NonSkipped(),
			Last: res, Counters: emu.Counters()})
	})

	// The token endpoint failing from mid-run: the failures are logged, the
	// progress line says the run waits for a token, and once no token could
	// be had for api.token_timeout the run stops with exit 1 (it used to run
	// on for minutes without a WARN line).
	t.Run("token endpoint failing mid-run", func(t *testing.T) {
		emu := StartEmulator(t, func(c *emulator.Config) { c.TokenTTL = 2 * time.Second; slowProcessing(c) })
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "token-down",
			Sets: []string{"api.token_timeout=4s", "api.token_renew_before=1s", "logging.progress_interval=1s"}}
		proc := StartBatch(t, spec)
		require.True(t, waitFor(proc, func() bool { return emu.Counters().VerificationsStarted >= 5 }), "%s", proc.Stderr())
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1, Endpoints: map[assure.Endpoint]emulator.FaultSpec{
			assure.EndpointToken: {ServerError: 1}}}))
		began := time.Now()
		res := proc.Wait()
		took := time.Since(began)
		RequireExit(t, res, ExitFatal)
		t.Logf("exit 1 %s after the token endpoint failed: %s", took.Round(time.Millisecond), lastLines(res.Stderr, 1))
		assert.Less(t, took, 30*time.Second)
		assert.Contains(t, res.Stderr, "token endpoint failing")
		assert.Contains(t, res.Stderr, "an access token (the token endpoint failing for")
		assert.Contains(t, res.Stderr, "api.token_timeout")
		assert.NotContains(t, res.Stderr, "refused the credentials", "a failing endpoint is not a refusal")
		res.Wall = took // from the failure
		RecordCase(t, Case{Name: "item 6: token endpoint failing mid-run: exit 1 after api.token_timeout (time from the failure; dossiers kept for the rerun)",
			Reaching: arch.NonSkipped(), Last: res, Counters: emu.Counters(), Output: spec.Output})
		require.NoError(t, emu.SetFaults(emulator.Faults{Seed: 1}))
		res = resumeAndCheck(t, spec, emu, arch, 10)
		RecordCase(t, Case{Name: "item 6: … then the rerun", Reaching: arch.NonSkipped(), Last: res, Counters: emu.Counters(), Output: spec.Output})
	})

	// Tokens of 2 s at 3 requests/s: a token is taken after the rate-limit
	// wait, so none expires while waiting there. The second 401 used to be
	// taken for refused credentials: exit 1.
	t.Run("short tokens and a slow rate", func(t *testing.T) {
		small := WriteSpecimen(t, SpecimenSpec{Count: 6, Seed: seedPromise, Mix: "accepted=1"})
		emu := StartEmulator(t, func(c *emulator.Config) { c.TokenTTL = 2 * time.Second })
		res := RunBatch(t, RunSpec{Emulator: emu, Source: small.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "slow-tokens",
			Sets: []string{"api.burst=1"}, Args: []string{"--rate", "3"}})
		RequireExit(t, res, ExitOK)
		c := emu.Counters()
		AssertEmulatorClean(t, c, small.NonSkipped())
		t.Logf("%d tokens issued, %d answers 401", c.TokensIssued, sum401(c))
		RecordCase(t, Case{Name: "item 6: 2 s tokens at 3 requests/s: no expiry while waiting for the rate", Reaching: small.NonSkipped(),
			Last: res, Counters: c})
	})
}

// A run id has one definition, fixed at its first attempt: a later attempt
// that would change what the run's records are or mean is refused before
// any API call (exit 2), naming each differing setting with both values;
// what only changes speed or patience may change.
func TestRunDefinitionIsFixed(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 20, Seed: seedPromise})
	other := WriteSpecimen(t, SpecimenSpec{Count: 20, Seed: seedPromise + 1})
	emu := StartEmulator(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	base := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "defined"}
	RequireExit(t, RunBatch(t, base), ExitIncomplete)
	before := TotalRequests(emu.Counters())
	runs := 1 // run ids the emulator has verified

	refused := func(t *testing.T, spec RunSpec, says ...string) {
		t.Helper()
		res := RunBatch(t, spec)
		RequireExit(t, res, ExitUsage)
		t.Logf("%s", lastLines(res.Stderr, 4))
		assert.Contains(t, res.Stderr, "the run id was first run with another definition")
		for _, s := range says {
			assert.Contains(t, res.Stderr, s)
		}
		assert.Equal(t, before, TotalRequests(emu.Counters()), "no API call")
		RecordCase(t, Case{Name: "item 1: a later attempt with another definition (" + strings.ReplaceAll(path.Base(t.Name()), "_", " ") + "): exit 2, no API call, naming the setting",
			Reaching: runs * arch.NonSkipped(), Last: res, Counters: emu.Counters(), Output: out})
	}
	t.Run("another shard count", func(t *testing.T) {
		spec := base
		spec.Args = []string{"--shard", "1/2"}
		refused(t, spec, `the shard count (run.shard K/N): "1" at the first attempt, "2" now`)
	})
	t.Run("another archive", func(t *testing.T) {
		spec := base
		spec.Source = other.URI
		refused(t, spec, "source.archive: ")
	})
	t.Run("a dry run of a real run", func(t *testing.T) {
		spec := RunSpec{Source: arch.URI, Output: out, RunID: "defined", Args: []string{"--dry-run"},
			Sets: []string{"emulator.time_scale=0.001"}}
		refused(t, spec, `run.dry_run: "false" at the first attempt, "true" now`)
	})
	t.Run("another default document id", func(t *testing.T) {
		spec := base
		spec.Sets = []string{"source.default_document_id=58"}
		refused(t, spec, `source.default_document_id: "137" at the first attempt, "58" now`)
	})
	t.Run("an edited manifest", func(t *testing.T) {
		manifest := filepath.Join(t.TempDir(), "manifest.csv")
		b, err := os.ReadFile(filepath.Join(arch.URI, "manifest.csv"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(manifest, b, 0o644))
		spec := base
		spec.RunID, spec.Manifest = "defined-by-manifest", manifest
		RequireExit(t, RunBatch(t, spec), ExitIncomplete)
		runs++
		before = TotalRequests(emu.Counters())
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		require.NoError(t, os.WriteFile(manifest, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o644))
		refused(t, spec, "the manifest's SHA-256: ")
	})
	t.Run("speed and patience may change", func(t *testing.T) {
		spec := base
		spec.Args = []string{"--rate", "50"}
		spec.Sets = []string{"concurrency.uploads=4", "poll.deadline=1h", "run.grace_period=5s"}
		RequireExit(t, RunBatch(t, spec), ExitIncomplete)
	})
}

// One writer per run shard: a second `batch run` on a live lease pays
// nothing and exits 1 saying who holds it; on S3 the lease of a killed
// holder runs out within run.lease_ttl and the next attempt takes it over.
// Two runs at once used to verify every record twice.
func TestOneWriterPerRunShard(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 40, Seed: seedPromise})
	for _, onS3 := range []bool{false, true} {
		name := "local"
		if onS3 {
			name = "s3"
		}
		t.Run(name, func(t *testing.T) {
			emu := StartEmulator(t, slowProcessing)
			var s3 *S3
			out := filepath.Join(t.TempDir(), "out")
			if onS3 {
				s3 = StartS3(t)
				out = s3.URI("lease/out")
			}
			spec := RunSpec{Emulator: emu, S3: s3, Source: arch.URI, Output: out, RunID: "one-writer",
				Sets: []string{"run.lease_ttl=2s"}}
			first := StartBatch(t, spec)
			require.True(t, waitFor(first, func() bool { return emu.Counters().VerificationsStarted >= 5 }), "%s", first.Stderr())

			// Every API call needs a token, and the holder's lasts the
			// emulator's 600 s: no token issued meanwhile is no API call by
			// the second run.
			began := time.Now()
			tokens := emu.Counters().TokensIssued
			second := RunBatch(t, spec)
			RequireExit(t, second, ExitFatal)
			assert.Equal(t, tokens, emu.Counters().TokensIssued, "the second run made no API call")
			t.Logf("second run refused after %s: %s", time.Since(began).Round(time.Millisecond), lastLines(second.Stderr, 1))
			assert.Contains(t, second.Stderr, "another attempt holds the run shard")
			assert.Contains(t, second.Stderr, fmt.Sprintf("pid %d", first.PID()))
			RecordCase(t, Case{Name: "item 2: a second `batch run` on a live lease: exit 1 naming the holder",
				Last: second, Verifications: "none: no token issued to it", Dossiers: "none made by it"})

			first.Kill()
			first.Wait()
			began = time.Now()
			third := RunBatch(t, spec)
			RequireExit(t, third, ExitIncomplete)
			took := time.Since(began)
			t.Logf("after kill -9, the next attempt finished in %s", took.Round(time.Millisecond))
			rows := ReadRows(t, FetchOutput(t, out, s3))
			AssertOutcomes(t, rows, arch.Expected)
			c := emu.Counters()
			AssertEmulatorClean(t, c, arch.NonSkipped())
			if onS3 {
				assert.Contains(t, third.Stderr, "took over the run shard's lease")
			}
			RecordCase(t, Case{Name: "item 2: the rerun after `kill -9` of the holder (S3: waits for its lease to run out)",
				Reaching: arch.NonSkipped(), Last: third, Counters: c, Output: FetchOutput(t, out, s3)})
		})
	}
}

// The output deleted mid-run, then a rerun: no journal, no rows, but the
// API still holds the run's dossiers and processes; the rerun finds them by
// their externalReference, polls what was started instead of starting it
// again, and leaves no dossier. (It used to verify them twice and leave
// their dossiers.) Records finished before the deletion are gone from the
// API with their dossiers: those are verified again — the journal was their
// only record.
func TestAFreshAttemptFindsWhatTheAPIHolds(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 40, Seed: seedPromise})
	emu := StartEmulator(t, slowProcessing)
	out := filepath.Join(t.TempDir(), "out")
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "lost-output"}
	first := StartBatch(t, spec)
	require.True(t, waitFor(first, func() bool { return emu.Counters().VerificationsStarted >= 15 }), "%s", first.Stderr())
	first.Kill()
	first.Wait()
	c := emu.Counters()
	finished := c.DossiersDeleted // each deleted with its final result
	t.Logf("at the kill: %d started, %d finished and deleted, %d dossiers live", c.VerificationsStarted, finished, c.DossiersLive)
	require.NoError(t, os.RemoveAll(out))

	res := RunBatch(t, spec)
	RequireExit(t, res, ExitIncomplete)
	assert.Contains(t, res.Stderr, "its output was lost; reconciling with the API")
	AssertOutcomes(t, ReadRows(t, out), arch.Expected)
	c = emu.Counters()
	assert.Zero(t, c.DossiersLive, "no dossier left")
	assert.LessOrEqual(t, c.MaxStartRequestsPerProcess, int64(1), "no process started twice")
	assert.EqualValues(t, int64(arch.NonSkipped())+finished, c.VerificationsStarted,
		"only the records finished before the deletion are verified again")
	RecordCase(t, Case{Name: fmt.Sprintf("item 3: output deleted after a kill, then a rerun: reconciled with the API "+
		"(%d records had finished before the deletion: those are verified again, their results were only in the lost output)", finished),
		Reaching: arch.NonSkipped(), Last: res, Counters: c, Output: out})
}

// An unknown outcome is read back only once it can no longer be in flight:
// a proxy holds the first creates and starts past the client's request
// timeout and then forwards them. The client reads their state back only a
// request timeout and a margin later, when they have arrived, so nothing is
// made or started twice. (A start read back at once looked pending, was
// started again — two start requests for one process — and five dossiers
// were left live.)
func TestUnknownOutcomesAreReadBackWhenNoLongerInFlight(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 20, Seed: seedPromise})
	// 1.5 s of real time is 25 emulated minutes at this scale: past the 15
	// minutes between upload and start the API allows. Widened: the hold
	// is what is tested, not the expiry.
	emu := StartEmulator(t, func(c *emulator.Config) { c.TransactionExpiry = 24 * time.Hour })
	const timeout = time.Second
	var creates, starts atomic.Int32
	proxy, forwarded := holdingProxy(t, emu.Server.URL, func(r *http.Request) time.Duration {
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // assure/dossiers[/d/processes/p]
		create := r.Method == http.MethodPost && len(segs) == 2 && segs[1] == "dossiers"
		start := r.Method == http.MethodPost && len(segs) == 5 && segs[3] == "processes"
		if (create && creates.Add(1) <= 4) || (start && starts.Add(1) <= 4) {
			return timeout * 3 / 2 // past the client's timeout, well before its read-back
		}
		return 0
	})
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "in-flight",
		Sets: []string{"api.request_timeout=" + timeout.String()}, Args: []string{"--assure-url", proxy.URL + "/assure"}})
	RequireExit(t, res, ExitIncomplete)
	forwarded.Wait() // every held request has reached the API
	AssertOutcomes(t, ReadRows(t, out), arch.Expected)
	c := emu.Counters()
	AssertEmulatorClean(t, c, arch.NonSkipped()) // no dossier left, no process started twice, one verification per record
	assert.EqualValues(t, arch.NonSkipped(), c.DossiersCreated, "no dossier made twice")
	assert.EqualValues(t, arch.NonSkipped(), c.ProcessesCreated)
	require.GreaterOrEqual(t, starts.Load(), int32(4), "starts were held")
	t.Logf("held 4 creates and 4 starts; max start requests per process %d", c.MaxStartRequestsPerProcess)
	RecordCase(t, Case{Name: "item 5: 4 creates and 4 starts held past the request timeout, then delivered",
		Reaching: arch.NonSkipped(), Last: res, Counters: c, Output: out})
}

// holdingProxy forwards every request to target, holding those that hold
// says for that long first. A held request is forwarded even when its client
// has given up on it, as a slow network or proxy would; the WaitGroup is done
// when every request has been forwarded.
func holdingProxy(t *testing.T, target string, hold func(*http.Request) time.Duration) (*httptest.Server, *sync.WaitGroup) {
	t.Helper()
	client := &http.Client{}
	var forwards sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		d := hold(r)
		out, err := http.NewRequestWithContext(context.Background(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		type answer struct {
			resp *http.Response
			body []byte
		}
		done := make(chan answer, 1)
		forwards.Add(1)
		go func() {
			defer forwards.Done()
			time.Sleep(d)
			resp, err := client.Do(out)
			if err != nil {
				done <- answer{}
				return
			}

			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- answer{resp, b}
		}()
		select {
		case a := <-done:
			if a.resp == nil {
				http.Error(w, "upstream failed", http.StatusBadGateway)
				return
			}
			for k, v := range a.resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(a.resp.StatusCode)
			_, _ = w.Write(a.body)
		case <-r.Context().Done(): // the client gave up; the request goes on
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &forwards
}

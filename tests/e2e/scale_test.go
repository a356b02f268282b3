package e2e

// BenchmarkScale measures `batch run` at scale (issue 12, item 7; the figures
// of docs/performance.md): N records listed by a manifest over a small pool
// of specimen records, against a standalone `batch emulator` in its own
// process (its CPU is not the batch's), then the same command again on the
// finished shard (the resume of a run with nothing left to do). It reports,
// it does not assert:
//
//	make scale                                          # 100,000 records, local output
//	make scale-s3                                       # the same, output on versitygw
//	REVERIFY_TEST_SCALE_RECORDS=1000000 make scale      # the one-million-record run
//
// Knobs (environment): REVERIFY_TEST_SCALE_RECORDS (default 100000),
// REVERIFY_TEST_SCALE_RATE (api.rate, default 600), REVERIFY_TEST_SCALE_S3=1
// (output on versitygw through a recording proxy that counts the writes),
// REVERIFY_TEST_SCALE_TIME_SCALE (the emulator's, default 0.01; the poll
// timings follow it), REVERIFY_TEST_SCALE_POOL (distinct specimen records,
// default 50), REVERIFY_TEST_SCALE_LIMIT (the emulator's global request limit
// in requests/s, default none) and REVERIFY_TEST_SCALE_FIGURES (a file the
// table is appended to).
//
// The pool and the manifests are generated once and cached under
// $REVERIFY_CACHE/scale (else the system temp folder). The emulator decides
// an outcome from the images, so outcomes repeat with the pool: the default
// specimen mix (the default pool of 50 at seed 1 holds 10 broken inputs, so
// 20% of the records are skipped by preflight), the rest verified.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
	"reverify/internal/report"
	"reverify/internal/specimen"
	"reverify/internal/testutil/s3server"
)

// Knobs of BenchmarkScale (environment).
const (
	EnvScaleRecords   = "REVERIFY_TEST_SCALE_RECORDS"    // records in the manifest (default 100000)
	EnvScaleRate      = "REVERIFY_TEST_SCALE_RATE"       // api.rate (default 600)
	EnvScaleS3        = "REVERIFY_TEST_SCALE_S3"         // 1: output on versitygw (default: a local folder)
	EnvScaleTimeScale = "REVERIFY_TEST_SCALE_TIME_SCALE" // emulator time scale (default 0.01)
	EnvScalePool      = "REVERIFY_TEST_SCALE_POOL"       // distinct specimen records (default 50)
	EnvScaleLimit     = "REVERIFY_TEST_SCALE_LIMIT"      // emulator global limit, requests/s (default: none)
	EnvScaleFigures   = "REVERIFY_TEST_SCALE_FIGURES"    // append the table to this file
	// EnvScaleSkipped=1: every line names a front image that does not
	// exist, so every record is skipped at its preflight and nothing is
	// paid: the listing, the duplicate check, the rows, the summary and the
	// resume at a size (a million) the emulator need not serve.
	EnvScaleSkipped = "REVERIFY_TEST_SCALE_SKIPPED"
	// EnvScaleSets: further --set key=value for the run, separated by
	// spaces (e.g. "poll.bulk_status=false" to compare polling each).
	EnvScaleSets = "REVERIFY_TEST_SCALE_SETS"

	scaleSeed     = 1
	scaleRunID    = "scale"
	scaleInFlight = 2000
	// scaleTimeout bounds each `batch run`: a million records at the
	// default rate take hours.
	scaleTimeout = 9 * time.Hour
)

func BenchmarkScale(b *testing.B) {
	records := envInt(b, EnvScaleRecords, 100_000)
	rate := envFloat(b, EnvScaleRate, 600)
	timeScale := envFloat(b, EnvScaleTimeScale, 0.01)
	pool := envInt(b, EnvScalePool, 50)
	limit := envFloat(b, EnvScaleLimit, 0) // 0: unset (envFloat refuses an explicit 0)
	useS3 := envBool(b, EnvScaleS3)
	ctx := context.Background()

	arch, manifest := cachedScaleManifest(b, records, pool, scaleSeed, envBool(b, EnvScaleSkipped))
	emu := startStandaloneEmulator(b, timeScale, limit)

	// The output: a local folder, or a bucket on versitygw written through
	// the recording proxy (reads of the figures go to versitygw directly).
	var (
		s3      *S3
		rec     *s3server.Recorder
		out     string
		outRoot blob.Store
		env     = BaseEnv(b).With(emu.credentials())
	)
	// The Go runtime's memory settings reach the batch process when set
	// (GOMEMLIMIT caps the heap's headroom: docs/performance.md).
	for _, k := range []string{"GOMEMLIMIT", "GOGC"} {
		if v := os.Getenv(k); v != "" {
			env = env.Set(k, v)
		}
	}
	if useS3 {
		s3 = StartS3(b)
		proxied, r := s3.Recording(b)
		rec = r
		via := &S3{Server: proxied, Bucket: s3.Bucket}
		out = via.URI("scale")
		outRoot = s3.Store(b, s3.URI("scale"))
		env = env.With(via.SourceEnv())
	} else {
		out = filepath.Join(b.TempDir(), "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			b.Fatal(err)
		}
		outRoot = OpenStore(b, out, nil)
	}

	cfgPath := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(scaleConfigYAML(rate, timeScale)), 0o644); err != nil {
		b.Fatal(err)
	}
	args := []string{"run", "--config", cfgPath, "--source", arch, "--manifest", manifest, "--output", out,
		"--run-id", scaleRunID, "--assure-url", emu.baseURL, "--token-url", emu.tokenURL}
	for _, kv := range strings.Fields(os.Getenv(EnvScaleSets)) {
		args = append(args, "--set", kv)
	}
	workDir := b.TempDir()

	// The run. The work is done once whatever b.N (make scale passes
	// -benchtime 1x): a second pass would be a resume, measured below.
	b.ResetTimer()
	emuCPU0, _ := procCPU(emu.proc.pid())
	res := startQuiet(b, args, env, workDir, scaleTimeout).wait()
	emuCPU1, emuCPUOK := procCPU(emu.proc.pid())
	b.StopTimer()
	if res.ExitCode != ExitOK && res.ExitCode != ExitIncomplete {
		b.Fatalf("batch run: %s", res)
	}
	var writes []s3server.Write
	if rec != nil {
		writes = rec.Writes()
		rec.Reset()
	}
	sum, err := report.ReadSummary(ctx, outRoot, scaleRunID, 0, 1)
	if err != nil {
		b.Fatalf("read the run's summary: %v", err)
	}
	counters := emu.counters(b)
	journalBytes, journalObjects := prefixBytes(b, outRoot, report.JournalPrefix(scaleRunID, 0, 1))
	localOut := ""
	if !useS3 {
		localOut = out
	}
	latency := finalLatency(b, outRoot, localOut)
	dossierLogBytes, _ := prefixBytes(b, outRoot, report.DossierLogPrefix(scaleRunID, 0, 1))

	// The resume: the same command on the finished shard.
	resume := startQuiet(b, args, env, workDir, scaleTimeout).wait()
	if resume.ExitCode != ExitOK && resume.ExitCode != ExitIncomplete {
		b.Fatalf("batch run (resume of the finished shard): %s", resume)
	}
	var resumeWrites []s3server.Write
	if rec != nil {
		resumeWrites = rec.Writes()
	}
	emuRSS := procHWM(emu.proc.pid())
	emu.stop(b)

	m := scaleMetrics{records: sum.Records, wall: res.Wall, rate: rate, timeScale: timeScale, pool: pool, limit: limit,
		s3: useS3, exit: res.ExitCode, outcomes: sum.Outcomes, dossiersLive: counters.DossiersLive,
		journalBytes: journalBytes, journalObjects: journalObjects, dossierLogBytes: dossierLogBytes,
		resumeWall: resume.Wall, resumeExit: resume.ExitCode, resumeRSSMiB: float64(resume.MaxRSSKiB) / 1024,
		batchRSSMiB: float64(res.MaxRSSKiB) / 1024, batchCPU: res.User + res.Sys, emuRSSMiB: float64(emuRSS) / 1024,
		logLines: res.stderrLines, logBytes: res.stderrBytes, latency: latency, sets: os.Getenv(EnvScaleSets)}
	if emuCPUOK {
		m.emuCPU = emuCPU1 - emuCPU0
	}
	m.countCalls(sum, counters)
	if useS3 {
		m.writes = classifyWrites(writes, "/"+s3.Bucket+"/scale/", scaleRunID)
		m.resumeWrites = len(resumeWrites)
	}
	m.derive()

	b.ReportMetric(m.recordsPerS, "records/s")
	b.ReportMetric(m.callsPerVerified, "calls/verified")
	b.ReportMetric(m.pollsPerVerified, "polls/verified")
	b.ReportMetric(m.share429*100, "429-%")
	b.ReportMetric(m.batchRSSMiB, "peak-RSS-MiB")
	b.ReportMetric(m.cpuMsPerRecord, "CPU-ms/record")
	b.ReportMetric(m.journalPerRecord, "journal-B/record")
	if useS3 {
		b.ReportMetric(m.writesPerRecord, "S3-writes/record")
	}
	b.ReportMetric(m.resumeWall.Seconds(), "resume-s")
	b.ReportMetric(m.resumeRSSMiB, "resume-RSS-MiB")
	if emuCPUOK {
		b.ReportMetric(m.emuCPUMsPerRecord, "emulator-CPU-ms/record")
	}

	table := m.table()
	fmt.Print("\n" + table)
	if path := os.Getenv(EnvScaleFigures); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			b.Fatalf("%s: %v", EnvScaleFigures, err)
		}
		defer f.Close()
		if _, err := fmt.Fprintf(f, "%s\n", table); err != nil {
			b.Fatalf("%s: %v", EnvScaleFigures, err)
		}
	}
}

// scaleConfigYAML is the run's configuration: the documented defaults but
// the rate, in_flight and the poll timings, which are API time and are not
// scaled in a run against a standalone emulator, so they are scaled here:
// initial delay 20 s and max interval 60 s times the time scale, the 30 min
// deadline too but never under 30 s (as the harness's Sets: a loaded
// machine must not turn a slow poll into a timeout row). List interval:
// the default, initial_delay/10.
func scaleConfigYAML(rate, timeScale float64) string {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * timeScale) }
	return fmt.Sprintf(`# written by BenchmarkScale
logging:
  level: info
  format: json
  progress_interval: 30s
api:
  rate: %s
concurrency:
  in_flight: %d
poll:
  initial_delay: %s
  max_interval: %s
  deadline: %s
`, strconv.FormatFloat(rate, 'f', -1, 64), scaleInFlight, scale(20*time.Second), scale(60*time.Second),
		max(scale(30*time.Minute), 30*time.Second))
}

// ---------------------------------------------------------------------------
// The archive: a pool of specimen records and a manifest over it

// cachedScaleManifest returns the folder of a specimen archive of pool
// records and a CSV manifest in it of n lines: line i is record
// scale-<i> with the images, document id, process type, previous status
// and case of pool record i % pool (image paths relative to the manifest's
// folder, which is the archive root). Both are generated once and kept
// under $REVERIFY_CACHE/scale (else the temp folder); each appears by a
// rename when complete.
func cachedScaleManifest(b *testing.B, n, pool int, seed int64, skipped bool) (archive, manifest string) {
	b.Helper()
	root := os.Getenv(EnvCache)
	if root == "" {
		root = filepath.Join(os.TempDir(), "reverify-cache")
	}
	dir := filepath.Join(root, "scale", fmt.Sprintf("pool-n%d-seed%d", pool, seed))
	if _, err := os.Stat(filepath.Join(dir, specimen.ExpectedName)); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			b.Fatal(err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-pool-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		WriteSpecimen(b, SpecimenSpec{Out: tmp, Count: pool, Seed: seed, Force: true})
		os.RemoveAll(dir) // an incomplete earlier attempt
		if err := os.Rename(tmp, dir); err != nil {
			b.Fatal(err)
		}
	}
	manifest = filepath.Join(dir, fmt.Sprintf("scale-n%d.csv", n))
	if skipped {
		manifest = filepath.Join(dir, fmt.Sprintf("scale-n%d-skipped.csv", n))
	}
	if _, err := os.Stat(manifest); err == nil {
		return dir, manifest
	}

	src, err := os.Open(filepath.Join(dir, specimen.ManifestName))
	if err != nil {
		b.Fatalf("the pool's manifest: %v", err)
	}
	rows, err := csv.NewReader(src).ReadAll()
	src.Close()
	if err != nil || len(rows) < 2 {
		b.Fatalf("the pool's manifest %s: %d lines, %v", specimen.ManifestName, len(rows), err)
	}
	header, rows := rows[0], rows[1:]
	if header[0] != "record_id" {
		b.Fatalf("the pool's manifest starts with %q, want record_id", header[0])
	}
	start := time.Now()
	tmp, err := os.CreateTemp(dir, ".tmp-manifest-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	w := csv.NewWriter(bw)
	_ = w.Write(header)
	front := slices.Index(header, "front")
	if front < 0 {
		b.Fatalf("the pool's manifest has no front column: %v", header)
	}
	line := make([]string, len(header))
	for i := range n {
		copy(line, rows[i%len(rows)])
		line[0] = fmt.Sprintf("scale-%08d", i)
		if skipped {
			line[front] = "absent/" + line[0] + ".jpg"
		}
		_ = w.Write(line)
	}
	w.Flush()
	if err := errors.Join(w.Error(), bw.Flush(), tmp.Close()); err != nil {
		b.Fatalf("write the manifest: %v", err)
	}
	if err := os.Rename(tmp.Name(), manifest); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote a manifest of %d records over a pool of %d in %s: %s", n, len(rows), time.Since(start).Round(time.Millisecond), manifest)
	return dir, manifest
}

// ---------------------------------------------------------------------------
// The standalone emulator

// standaloneEmulator is a `batch emulator` process.
type standaloneEmulator struct {
	proc                   *quietProc
	base                   string // http://127.0.0.1:port
	baseURL, tokenURL      string
	clientID, clientSecret string
}

// startStandaloneEmulator starts `batch emulator` on a free loopback port at
// the time scale, with a scenario file that lifts the transaction expiry
// (15 emulated minutes between a record's first image and its start are
// 9 real seconds at 0.01: a loaded machine, not the pipeline, would fail
// records) and, when limit > 0, turns on the global rate limit (burst: a
// tenth of a second's worth, at least 1). It waits for the banner; the
// process is stopped when the benchmark ends.
func startStandaloneEmulator(b *testing.B, timeScale, limit float64) *standaloneEmulator {
	b.Helper()
	scenario := "# written by BenchmarkScale\ntransaction_expiry: 24h\n"
	if limit > 0 {
		scenario += fmt.Sprintf("rate_limit:\n  requests_per_second: %s\n  burst: %d\n",
			strconv.FormatFloat(limit, 'f', -1, 64), max(1, int(limit/10)))
	}
	path := filepath.Join(b.TempDir(), "emulator.yaml")
	if err := os.WriteFile(path, []byte(scenario), 0o644); err != nil {
		b.Fatal(err)
	}
	args := []string{"emulator", "--addr", "127.0.0.1:0", "--time-scale", strconv.FormatFloat(timeScale, 'f', -1, 64), "--config", path}
	p := startQuiet(b, args, BaseEnv(b), b.TempDir(), scaleTimeout*3)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stdout.String(), "  admin:") {
		select {
		case <-p.done:
			b.Fatalf("batch emulator exited: %s", p.res)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("batch emulator printed no banner in 30 s:\n%s\n%s", p.stdout.String(), p.stderr.String())
		}
	}
	banner := p.stdout.String()
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(banner)
		if m == nil {
			b.Fatalf("no %s in the emulator's banner:\n%s", re, banner)
		}
		return m[1]
	}
	return &standaloneEmulator{proc: p, base: field(`listening on (http://\S+)`),
		tokenURL: field(`(?m)^  token URL: +(\S+)$`), baseURL: field(`(?m)^  base URL: +(\S+)$`),
		clientID: field(`(?m)^  client id: +(\S+)$`), clientSecret: field(`(?m)^  client secret: +(\S+)$`)}
}

func (e *standaloneEmulator) credentials() Env {
	return Env{"SIGNICAT_CLIENT_ID": e.clientID, "SIGNICAT_CLIENT_SECRET": e.clientSecret}
}

// counters reads GET /_emulator/counters.
func (e *standaloneEmulator) counters(b *testing.B) emulator.Counters {
	b.Helper()
	resp, err := http.Get(e.base + "/_emulator/counters")
	if err != nil {
		b.Fatalf("emulator counters: %v", err)
	}
	defer resp.Body.Close()
	var c emulator.Counters
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		b.Fatalf("emulator counters: %v", err)
	}
	return c
}

// stop sends SIGTERM and waits for the graceful shutdown.
func (e *standaloneEmulator) stop(b *testing.B) {
	b.Helper()
	_ = e.proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.proc.done:
	case <-time.After(30 * time.Second):
		b.Logf("batch emulator did not stop in 30 s after SIGTERM")
	}
}

// ---------------------------------------------------------------------------
// Processes whose output is not kept whole

// quietProc is a running binary whose stdout and stderr are kept only in
// their last bytes (tailBuffer): the emulator logs a line per request and a
// million records make gigabytes of it. Otherwise as Proc.
type quietProc struct {
	cmd            *exec.Cmd
	stdout, stderr *tailBuffer
	started        time.Time
	done           chan struct{}
	res            quietResult
}

// quietResult is a Result with the size of the whole stderr.
type quietResult struct {
	Result
	stderrLines, stderrBytes int64
}

func startQuiet(t testing.TB, args []string, env Env, dir string, timeout time.Duration) *quietProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, Bin(t), args...)
	cmd.Env = env.List()
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	p := &quietProc{cmd: cmd, stdout: newTailBuffer(1 << 20), stderr: newTailBuffer(256 << 10), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start batch %s: %v", strings.Join(args, " "), err)
	}
	rss := watchRSS(cmd.Process.Pid)
	go func() {
		defer cancel()
		err := cmd.Wait()
		r := Result{Args: args, Wall: time.Since(p.started), Stdout: p.stdout.String(), Stderr: p.stderr.String(), ExitCode: -1}
		var maxrss int64
		if st := cmd.ProcessState; st != nil {
			r.ExitCode = st.ExitCode()
			if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.Signal = ws.Signal()
			}
			r.User, r.Sys = st.UserTime(), st.SystemTime()
			if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
				maxrss = int64(ru.Maxrss)
			}
		} else {
			r.Stderr += fmt.Sprintf("\n[harness: wait: %v]", err)
		}
		r.MaxRSSKiB = rss.peak(maxrss)
		p.res = quietResult{Result: r, stderrLines: p.stderr.lines(), stderrBytes: p.stderr.total()}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *quietProc) pid() int { return p.cmd.Process.Pid }

func (p *quietProc) wait() quietResult {
	<-p.done
	return p.res
}

// tailBuffer keeps the last max bytes written to it and counts all of them.
// It trims only when it holds twice that, so a write costs O(len) amortized.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	n, nl int64
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n += int64(len(p))
	t.nl += int64(bytes.Count(p, []byte{'\n'}))
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if int64(len(t.buf)) < t.n {
		return "[…]" + string(t.buf[max(0, len(t.buf)-t.max):])
	}
	return string(t.buf)
}

func (t *tailBuffer) lines() int64 { t.mu.Lock(); defer t.mu.Unlock(); return t.nl }
func (t *tailBuffer) total() int64 { t.mu.Lock(); defer t.mu.Unlock(); return t.n }

// ---------------------------------------------------------------------------
// /proc

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the process's CPU time so far (utime + stime of
// /proc/<pid>/stat); false where /proc cannot tell (not Linux).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid … : comm may hold spaces, so split after ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state): utime is field 14, stime 15
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}

// ---------------------------------------------------------------------------
// Figures

// prefixBytes sums the sizes of the objects below prefix.
func prefixBytes(b *testing.B, st blob.Store, prefix string) (size int64, objects int) {
	b.Helper()
	err := st.List(context.Background(), prefix, func(o blob.Object) error {
		size += o.Size
		objects++
		return nil
	})
	if err != nil {
		b.Fatalf("list %s: %v", st.KeyURI(prefix), err)
	}
	return size, objects
}

// scaleWrites are S3 write requests (PUT, copy, multipart create, part and
// complete: each a billed request) by what they wrote.
type scaleWrites struct {
	journal, dossierLog, parts, other int
	otherKinds                        map[string]int // other: name below the shard (or run), digits as N → writes
}

var digitRuns = regexp.MustCompile(`[0-9]+`)

func (w scaleWrites) total() int { return w.journal + w.dossierLog + w.parts + w.other }

// classifyWrites sorts the recorded writes below root (/bucket/prefix/) by
// prefix: the shard's journal, its dossier log, Parquet parts, the rest.
func classifyWrites(writes []s3server.Write, root, runID string) scaleWrites {
	out := scaleWrites{otherKinds: map[string]int{}}
	journal, dossiers := report.JournalPrefix(runID, 0, 1), report.DossierLogPrefix(runID, 0, 1)
	for _, w := range writes {
		key := strings.TrimPrefix(w.Key, root)
		switch {
		case strings.HasPrefix(key, journal):
			out.journal++
		case strings.HasPrefix(key, dossiers):
			out.dossierLog++
		case strings.HasSuffix(key, report.PartExt):
			out.parts++
		default:
			out.other++
			name := strings.TrimPrefix(strings.TrimPrefix(key, report.ShardPrefix(runID, 0, 1)), report.RunPrefix(runID))
			out.otherKinds[digitRuns.ReplaceAllString(name, "N")]++
		}
	}
	return out
}

// scaleMetrics are the figures of one BenchmarkScale run.
type scaleMetrics struct {
	// The setting.
	rate, timeScale, limit float64
	pool                   int
	s3                     bool
	// The run.
	records      int64
	exit         int
	outcomes     map[string]int64
	wall         time.Duration
	batchRSSMiB  float64
	batchCPU     time.Duration
	logLines     int64
	logBytes     int64
	dossiersLive int64
	// API attempts: from the summary's api_calls_by_endpoint, else the
	// emulator's counters (callsFrom says which).
	callsFrom             string
	calls, polls, with429 int64
	pollsFromRows         bool
	emuCPU                time.Duration
	emuRSSMiB             float64
	journalBytes          int64
	journalObjects        int
	dossierLogBytes       int64
	writes                scaleWrites
	resumeWrites          int
	resumeWall            time.Duration
	resumeExit            int
	resumeRSSMiB          float64
	latency               latencyStats
	sets                  string
	// Derived.
	verified                           int64
	recordsPerS                        float64
	callsPerVerified, pollsPerVerified float64
	share429                           float64
	cpuMsPerRecord, emuCPUMsPerRecord  float64
	journalPerRecord, writesPerRecord  float64
}

// pollEndpoints are the operation ids of the calls that ask for a status.
var pollEndpoints = []string{"getProcess", "getAllProcess"}

// countCalls takes the API attempts from the summary: api_calls_total, and
// from api_calls_by_endpoint (endpoint → status → attempts) the polls and
// the 429s. Without api_calls_by_endpoint the emulator's counters (every
// request it answered) stand in, and the polls come from the rows.
func (m *scaleMetrics) countCalls(s report.Summary, c emulator.Counters) {
	if v, ok := s.Extra["api_calls_total"].(float64); ok {
		m.calls = int64(v)
	}
	byEndpoint := map[string]map[string]int64{}
	if raw, ok := s.Extra["api_calls_by_endpoint"]; ok {
		// A map decoded from JSON: re-encode and decode it typed, reading
		// whatever numbers it holds.
		if b, err := json.Marshal(raw); err == nil {
			_ = json.Unmarshal(b, &byEndpoint)
		}
	}
	m.callsFrom = "summary"
	if len(byEndpoint) == 0 {
		m.callsFrom = "emulator counters"
		byEndpoint = c.Requests
	}
	var all int64
	for ep, statuses := range byEndpoint {
		for status, n := range statuses {
			all += n
			if status == "429" {
				m.with429 += n
			}
			if slices.Contains(pollEndpoints, ep) {
				m.polls += n
			}
		}
	}
	if m.calls == 0 {
		m.calls = all
	}
	if all > 0 {
		m.share429 = float64(m.with429) / float64(all)
	}
	if m.polls == 0 {
		m.polls, m.pollsFromRows = s.Polls, true
	}
}

func (m *scaleMetrics) derive() {
	for _, o := range []string{report.OutcomeAccepted, report.OutcomeRejected, report.OutcomeInconclusive,
		report.OutcomeFailed, report.OutcomeCanceled} {
		m.verified += m.outcomes[o]
	}
	n := float64(max(m.records, 1))
	v := float64(max(m.verified, 1))
	m.recordsPerS = float64(m.records) / m.wall.Seconds()
	m.callsPerVerified = float64(m.calls) / v
	m.pollsPerVerified = float64(m.polls) / v
	m.cpuMsPerRecord = float64(m.batchCPU.Milliseconds()) / n
	m.emuCPUMsPerRecord = float64(m.emuCPU.Milliseconds()) / n
	m.journalPerRecord = float64(m.journalBytes) / n
	m.writesPerRecord = float64(m.writes.total()) / n
}

// table renders the figures: one Markdown table and the notes under it.
func (m scaleMetrics) table() string {
	var b strings.Builder
	output := "local folder"
	if m.s3 {
		output = "S3 (versitygw)"
	}
	limit := "none"
	if m.limit > 0 {
		limit = strconv.FormatFloat(m.limit, 'f', -1, 64) + " requests/s"
	}
	fmt.Fprintf(&b, "BenchmarkScale %s: %d records (pool %d), output %s, api.rate %g, in_flight %d, emulator time scale %g, emulator limit %s\n\n",
		time.Now().UTC().Format("2006-01-02T15:04Z"), m.records, m.pool, output, m.rate, scaleInFlight, m.timeScale, limit)
	b.WriteString("| records | wall s | records/s | calls / verified | polls / verified | 429 share | batch peak RSS MiB | batch CPU ms / record | emulator CPU ms / record | journal bytes / record | S3 writes / record (journal + dossier log + parts + other) | resume s | resume peak RSS MiB |\n")
	b.WriteString("|--------:|-------:|----------:|-----------------:|-----------------:|----------:|-------------------:|----------------------:|-------------------------:|-----------------------:|:-----------------------------------------------------------|---------:|--------------------:|\n")
	writes := "—"
	if m.s3 {
		n := float64(max(m.records, 1))
		writes = fmt.Sprintf("%.4f (%.4f + %.4f + %.4f + %.4f)", m.writesPerRecord, float64(m.writes.journal)/n,
			float64(m.writes.dossierLog)/n, float64(m.writes.parts)/n, float64(m.writes.other)/n)
	}
	emuCPU := "n/a"
	if m.emuCPU > 0 {
		emuCPU = fmt.Sprintf("%.2f", m.emuCPUMsPerRecord)
	}
	fmt.Fprintf(&b, "| %d | %.1f | %.1f | %.2f | %.2f | %.2f%% | %.1f | %.2f | %s | %.1f | %s | %.1f | %.1f |\n\n",
		m.records, m.wall.Seconds(), m.recordsPerS, m.callsPerVerified, m.pollsPerVerified, m.share429*100,
		m.batchRSSMiB, m.cpuMsPerRecord, emuCPU, m.journalPerRecord, writes, m.resumeWall.Seconds(), m.resumeRSSMiB)

	fmt.Fprintf(&b, "- run: exit %d; outcomes %s; verified (a final API outcome) %d\n", m.exit, mapString(m.outcomes), m.verified)
	if m.sets != "" {
		fmt.Fprintf(&b, "- set: %s\n", m.sets)
	}
	if m.latency.n > 0 {
		fmt.Fprintf(&b, "- submitted to final seen, verified records: mean %.3f s, median %.3f s, p95 %.3f s (real time; the emulator's median processing is 25 s × the time scale)\n",
			m.latency.mean, m.latency.p50, m.latency.p95)
	}
	pollsFrom := "getProcess + getAllProcess attempts"
	if m.pollsFromRows {
		pollsFrom = "the rows' polls column (no api_calls_by_endpoint)"
	}
	fmt.Fprintf(&b, "- API attempts (from the %s): %d, tokens and retries included; polls: %d (%s); 429 answers: %d\n",
		m.callsFrom, m.calls, m.polls, pollsFrom, m.with429)
	fmt.Fprintf(&b, "- batch: CPU %.1f s; log %d lines, %.1f bytes / record; emulator: CPU %.1f s during the run, peak RSS %.1f MiB, dossiers left %d\n",
		m.batchCPU.Seconds(), m.logLines, float64(m.logBytes)/float64(max(m.records, 1)), m.emuCPU.Seconds(), m.emuRSSMiB, m.dossiersLive)
	fmt.Fprintf(&b, "- journal after the run: %d bytes in %d objects; dossier log: %d bytes (%.1f / record)\n",
		m.journalBytes, m.journalObjects, m.dossierLogBytes, float64(m.dossierLogBytes)/float64(max(m.records, 1)))
	if m.s3 {
		fmt.Fprintf(&b, "- S3 write requests of the run: %d (journal %d, dossier log %d, parts %d, other %d: %s); of the resume: %d\n",
			m.writes.total(), m.writes.journal, m.writes.dossierLog, m.writes.parts, m.writes.other, mapString(m.writes.otherKinds), m.resumeWrites)
	}
	fmt.Fprintf(&b, "- resume (the same command on the finished shard): exit %d, %.1f s, peak RSS %.1f MiB\n", m.resumeExit, m.resumeWall.Seconds(), m.resumeRSSMiB)
	return b.String()
}

func envBool(b *testing.B, name string) bool {
	switch v := strings.ToLower(os.Getenv(name)); v {
	case "", "0", "false", "no":
		return false
	case "1", "true", "yes":
		return true
	default:
		b.Fatalf("%s=%q: want 1 or 0", name, v)
		return false
	}
}

// latencyStats is the time from a verified record's first paid call to its
// final status seen (the rows' submitted_at and completed_at), seconds.
type latencyStats struct {
	n              int64
	mean, p50, p95 float64
}

// finalLatency reads the rows' latency from submitted to final with DuckDB
// from the output folder dir ("": out is mirrored to a folder first).
func finalLatency(b *testing.B, out blob.Store, dir string) latencyStats {
	b.Helper()
	if dir == "" {
		dir = MirrorToDir(b, out)
	}
	db := OpenDuckDB(b)
	rows := QueryRows(b, db, `SELECT count(*) AS n,
		avg(epoch_ms(completed_at) - epoch_ms(submitted_at)) / 1000.0 AS mean,
		quantile_cont(epoch_ms(completed_at) - epoch_ms(submitted_at), 0.5) / 1000.0 AS p50,
		quantile_cont(epoch_ms(completed_at) - epoch_ms(submitted_at), 0.95) / 1000.0 AS p95
		FROM read_parquet(`+ParquetGlob(dir)+`)
		WHERE outcome IN ('accepted', 'rejected', 'inconclusive', 'failed', 'canceled')
		AND submitted_at IS NOT NULL AND completed_at IS NOT NULL`)
	if len(rows) != 1 {
		return latencyStats{}
	}
	f := func(v any) float64 {
		switch x := v.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		}
		return 0
	}
	return latencyStats{n: toInt64(rows[0]["n"]), mean: f(rows[0]["mean"]), p50: f(rows[0]["p50"]), p95: f(rows[0]["p95"])}
}

package e2e

// The end-to-end harness: the built binary, run as a subprocess with an
// explicit environment; an in-process Assure emulator the test can inspect;
// versitygw for S3; specimen archives with their expected outcomes; and the
// output read back with DuckDB. Everything a helper starts is stopped when
// the test ends.
//
// A typical test:
//
//	emu := StartEmulator(t, nil)
//	arch := WriteSpecimen(t, SpecimenSpec{Count: 40, Seed: 7})
//	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "r1"})
//	rows := ReadRows(t, out)
//	AssertOutcomes(t, rows, arch.Expected)
//	AssertEmulatorClean(t, emu.Counters(), arch.NonSkipped())
//
// Crash tests start the run in the background instead (StartBatch), wait for
// a log line (Proc.WaitForOutput), send signals (Proc.Signal, Proc.Kill) and
// rerun the same RunSpec to resume. chaos.go adds Proc.KillWhen (SIGKILL once
// a condition holds), a fault-injecting reverse proxy for S3
// (StartFaultProxy, S3.Via) and the figure tables the soak prints.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
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

// Environment variables the harness reads.
const (
	// EnvBin names a built bin/batch (set by `make e2e` and `make bench`);
	// when unset the harness builds the binary once per test process.
	EnvBin = "REVERIFY_TEST_BIN"
	// EnvCache is the cache folder (benchmark archives are kept below it).
	EnvCache = "REVERIFY_CACHE"
)

// Exit codes of `batch` (README, "Exit codes").
const (
	ExitOK          = 0
	ExitFatal       = 1
	ExitUsage       = 2
	ExitIncomplete  = 3
	ExitThreshold   = 4
	ExitInterrupted = 5
)

// ---------------------------------------------------------------------------
// The binary

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// RepoRoot returns the absolute path of the reverify repository (the
// tests/e2e module lives two levels below it).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "batch")); err != nil {
		t.Fatalf("repo root %s has no cmd/batch: %v", root, err)
	}
	return root
}

// Bin returns the path of the batch binary: $REVERIFY_TEST_BIN when set, else a
// binary built once per test process from the repository's cmd/batch into
// a temporary folder (removed by Main).
func Bin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBin); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			t.Fatalf("%s=%s: not a file (%v); run `make build`", EnvBin, p, err)
		}
		return p
	}
	root := RepoRoot(t)
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "reverify-e2e-bin-")
		if build.err != nil {
			return
		}
		out := filepath.Join(build.dir, "batch")
		cmd := exec.Command(goTool(), "build", "-o", out, "./cmd/batch")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/batch: %v\n%s", err, b)
			return
		}
		build.path = out
	})
	if build.err != nil {
		t.Fatalf("build the binary: %v", build.err)
	}
	return build.path
}

// goTool finds the go command: on PATH, else in $GOROOT/bin.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// Main runs the tests and removes what the harness kept for the whole
// process (the binary it built). Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}

// ---------------------------------------------------------------------------
// Environment

// Env is a subprocess environment: the binary sees these variables and no
// others (so nothing of the test process, such as REVERIFY_TEST_BIN, leaks in).
type Env map[string]string

// BaseEnv returns the minimal environment: PATH, a fresh HOME (no AWS
// profile or config of the machine is read), TMPDIR, and no instance
// metadata lookups by the AWS SDK.
func BaseEnv(t testing.TB) Env {
	t.Helper()
	return Env{
		"PATH":                      os.Getenv("PATH"),
		"HOME":                      t.TempDir(),
		"TMPDIR":                    os.TempDir(),
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// With returns a copy of e with the other environments' variables added
// (later ones win).
func (e Env) With(others ...Env) Env {
	out := maps.Clone(e)
	if out == nil {
		out = Env{}
	}
	for _, o := range others {
		maps.Copy(out, o)
	}
	return out
}

// Set returns a copy of e with name=value pairs added.
func (e Env) Set(kv ...string) Env {
	if len(kv)%2 != 0 {
		panic("Env.Set: odd number of arguments")
	}
	out := e.With()
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// List returns the environment in os.Environ form, sorted.
func (e Env) List() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// Subprocesses

// Command is one invocation of the binary.
type Command struct {
	Args []string // arguments after the program name: "run", "--config", …
	Env  Env      // the complete environment (see BaseEnv)
	Dir  string   // working directory; empty: a fresh temporary folder
	// Timeout bounds the whole process; it is killed after it. Default 5 min.
	Timeout time.Duration
}

// Result is how a process ended.
type Result struct {
	Args     []string
	ExitCode int            // -1 when killed by a signal
	Signal   syscall.Signal // the signal that killed it, else 0
	Stdout   string
	Stderr   string
	Wall     time.Duration // start to exit
	User     time.Duration // CPU time (rusage of the child)
	Sys      time.Duration
	// MaxRSSKiB is the child's own peak resident set in KiB (rss.go: its
	// ru_maxrss alone would be at least the test process's peak).
	MaxRSSKiB int64
}

// Output is stdout and stderr together, for failure messages and searches.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// String describes the result for failure messages: the command, the exit
// and the end of the output.
func (r Result) String() string {
	how := fmt.Sprintf("exit code %d", r.ExitCode)
	if r.Signal != 0 {
		how = "killed by " + r.Signal.String()
	}
	return fmt.Sprintf("batch %s: %s after %s\n--- stdout:\n%s\n--- stderr:\n%s", strings.Join(r.Args, " "), how,
		r.Wall.Round(time.Millisecond), tail(r.Stdout, 4000), tail(r.Stderr, 8000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Proc is a running binary.
type Proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	args    []string
	stdout  *syncBuffer
	stderr  *syncBuffer
	started time.Time
	done    chan struct{}
	res     Result
}

// Start starts the binary in the background. It is killed (SIGKILL) when
// the test ends if still running.
func Start(t testing.TB, c Command) *Proc {
	t.Helper()
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	if c.Env == nil {
		c.Env = BaseEnv(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	cmd := exec.CommandContext(ctx, Bin(t), c.Args...)
	cmd.Env = c.Env.List()
	cmd.Dir = c.Dir
	cmd.WaitDelay = 5 * time.Second
	p := &Proc{t: t, cmd: cmd, args: c.Args, stdout: newSyncBuffer(), stderr: newSyncBuffer(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start batch %s: %v", strings.Join(c.Args, " "), err)
	}
	rss := watchRSS(cmd.Process.Pid)
	go func() {
		defer cancel()
		err := cmd.Wait()
		p.res = p.result(err, rss)
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

func (p *Proc) result(waitErr error, rss *rssWatch) Result {
	r := Result{Args: p.args, Wall: time.Since(p.started), Stdout: p.stdout.String(), Stderr: p.stderr.String(), ExitCode: -1}
	st := p.cmd.ProcessState
	if st == nil {
		rss.peak(0)
		r.Stderr += fmt.Sprintf("\n[harness: wait: %v]", waitErr)
		return r
	}
	r.ExitCode = st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.Signal = ws.Signal()
	}
	r.User, r.Sys = st.UserTime(), st.SystemTime()
	var maxrss int64
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		maxrss = int64(ru.Maxrss)
	}
	r.MaxRSSKiB = rss.peak(maxrss)
	return r
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig (syscall.SIGTERM, os.Interrupt, …). Sending to a process
// that already exited is not an error.
func (p *Proc) Signal(sig os.Signal) error {
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Kill sends SIGKILL (a crash: no cleanup runs in the process).
func (p *Proc) Kill() { _ = p.Signal(syscall.SIGKILL) }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Stdout returns what the process wrote to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// WaitForOutput waits until stdout or stderr contains substr, the process
// exits or the timeout passes, and reports whether substr appeared.
func (p *Proc) WaitForOutput(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.stderr.String(), substr) || strings.Contains(p.stdout.String(), substr) {
			return true
		}
		select {
		case <-p.done:
			return strings.Contains(p.stderr.String(), substr) || strings.Contains(p.stdout.String(), substr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Wait waits for the process to exit and returns its result.
func (p *Proc) Wait() Result {
	<-p.done
	return p.res
}

// RunCommand runs the binary to completion.
func RunCommand(t testing.TB, c Command) Result {
	t.Helper()
	return Start(t, c).Wait()
}

// syncBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---------------------------------------------------------------------------
// The emulator

// DefaultTimeScale is the emulator's time scale in these tests: one real
// millisecond per emulated second (a 25 s verification takes 25 ms).
const DefaultTimeScale = 0.001

// Emulator is an in-process Assure API emulator on a loopback HTTP server.
// The embedded *emulator.Emulator gives Counters, SetFaults, Reset, Cancel.
type Emulator struct {
	*emulator.Emulator
	Server *httptest.Server
}

// StartEmulator starts an emulator with the default configuration at
// DefaultTimeScale, changed by configure (may be nil). It stops when the
// test ends.
func StartEmulator(t testing.TB, configure func(*emulator.Config)) *Emulator {
	t.Helper()
	cfg := emulator.DefaultConfig()
	cfg.TimeScale = DefaultTimeScale
	// The API's 15 minutes between a process's first image and its start
	// are 0.9 s at this scale: a loaded machine stretches a record's
	// uploads past that, and the record is `failed` by the scale, not by
	// what the test does (wideTransactions). A test of the window sets it.
	cfg.TransactionExpiry = 24 * time.Hour
	if configure != nil {
		configure(&cfg)
	}
	emu, err := emulator.New(cfg, emulator.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &Emulator{Emulator: emu, Server: srv}
}

// BaseURL is the Assure base URL (--assure-url).
func (e *Emulator) BaseURL() string { return e.Server.URL + "/assure" }

// TokenURL is the OAuth2 token URL (--token-url).
func (e *Emulator) TokenURL() string { return e.Server.URL + "/auth/open/connect/token" }

// Credentials returns the SIGNICAT_* variables the emulator accepts.
func (e *Emulator) Credentials() Env {
	c := e.Config()
	return Env{"SIGNICAT_CLIENT_ID": c.ClientID, "SIGNICAT_CLIENT_SECRET": c.ClientSecret}
}

// Flags returns the `batch run` flags that point it at the emulator
// (--assure-url, --token-url) with a high rate limit (--rate 500; a later
// --rate or --set api.rate wins).
func (e *Emulator) Flags() []string {
	return []string{"--assure-url", e.BaseURL(), "--token-url", e.TokenURL(), "--rate", "500"}
}

// Sets returns the --set values that fit the emulator's time scale: the
// default poll timings (initial delay 20 s, max interval 60 s) scaled to
// real time, a deadline that never triggers in a healthy test (30 s, or the
// scaled 30 min default when longer), and a burst of 20.
func (e *Emulator) Sets() []string {
	s := e.Config().TimeScale
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * s) }
	deadline := max(scale(30*time.Minute), 30*time.Second)
	return []string{
		"poll.initial_delay=" + scale(20*time.Second).String(),
		"poll.max_interval=" + scale(60*time.Second).String(),
		"poll.deadline=" + deadline.String(),
		"api.burst=20",
	}
}

// FaultStorm is the fault mix of configs/emulator-faults.yaml without the
// latency: 5% server errors, 5% 429 (Retry-After 1 s emulated, sent as 0 at
// small time scales) and 1% connection resets on every endpoint, token
// included, from a fixed seed.
func FaultStorm(seed int64) emulator.Faults {
	return emulator.Faults{Seed: seed, Default: emulator.FaultSpec{
		ServerError: 0.05, TooManyRequests: 0.05, RetryAfter: time.Second, Reset: 0.01,
	}}
}

// ---------------------------------------------------------------------------
// S3

// S3 is a versitygw server with one bucket for the test.
type S3 struct {
	*s3server.Server
	Bucket string
}

// StartS3 starts versitygw (or uses the one REVERIFY_TEST_S3_* names) and
// creates a bucket. The test is skipped when versitygw is not installed,
// unless REVERIFY_REQUIRE_S3 is set.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	srv := s3server.Start(t)
	return &S3{Server: srv, Bucket: srv.NewBucket(t)}
}

// URI returns s3://<bucket>/<prefix>.
func (s *S3) URI(prefix string) string {
	return "s3://" + s.Bucket + "/" + strings.TrimPrefix(prefix, "/")
}

// AWSEnv returns the AWS SDK variables that reach the server: its keys and
// region (the endpoint is reverify configuration, see SourceEnv).
func (s *S3) AWSEnv() Env {
	return Env{"AWS_ACCESS_KEY_ID": s.AccessKey, "AWS_SECRET_ACCESS_KEY": s.SecretKey, "AWS_REGION": s3server.Region}
}

// SourceEnv returns AWSEnv plus the REVERIFY_SOURCE_S3_* variables that
// point `batch run` at the server (the output falls back to them).
func (s *S3) SourceEnv() Env {
	return s.AWSEnv().Set(
		"REVERIFY_SOURCE_S3_ENDPOINT", s.Endpoint,
		"REVERIFY_SOURCE_S3_PATH_STYLE", "true",
		"REVERIFY_SOURCE_S3_REGION", s3server.Region)
}

// Flags returns the --s3-* flags of `batch specimen` and `batch report`.
func (s *S3) Flags() []string {
	return []string{"--s3-endpoint", s.Endpoint, "--s3-region", s3server.Region, "--s3-path-style"}
}

// Store opens an s3:// URI on the server with its credentials.
func (s *S3) Store(t testing.TB, uri string) blob.Store {
	t.Helper()
	st, err := blob.NewOpener(s.Options()).Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	return st
}

// OpenStore opens a local path, file:// or s3:// URI (s3 may be nil for
// local ones).
func OpenStore(t testing.TB, uri string, s3 *S3) blob.Store {
	t.Helper()
	if strings.HasPrefix(uri, "s3://") {
		if s3 == nil {
			t.Fatalf("open %s: no S3 server given", uri)
		}
		return s3.Store(t, uri)
	}
	st, err := blob.NewOpener(blob.S3Options{}).Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	return st
}

// ---------------------------------------------------------------------------
// Specimen archives

// SpecimenSpec describes a `batch specimen` archive.
type SpecimenSpec struct {
	Out   string // local path or s3:// URI; empty: a fresh temporary folder
	Count int    // default 40
	Seed  int64  // default 1
	Mix   string // --mix; empty: the default mix
	S3    *S3    // the server of an s3:// Out
	Dir   string // working directory of the command (default: a temp folder)
	Force bool   // --force
}

// Archive is a specimen archive and its expected outcomes.
type Archive struct {
	URI      string // what --source takes
	Expected []specimen.ExpectedLine
}

// WriteSpecimen writes an archive with `batch specimen` and reads its
// expected.jsonl back.
func WriteSpecimen(t testing.TB, s SpecimenSpec) *Archive {
	t.Helper()
	if s.Out == "" {
		s.Out = filepath.Join(t.TempDir(), "archive")
	}
	if s.Count == 0 {
		s.Count = 40
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	args := []string{"specimen", "--out", s.Out, "--count", strconv.Itoa(s.Count), "--seed", strconv.FormatInt(s.Seed, 10)}
	if s.Mix != "" {
		args = append(args, "--mix", s.Mix)
	}
	if s.Force {
		args = append(args, "--force")
	}
	env := BaseEnv(t)
	if s.S3 != nil {
		args = append(args, s.S3.Flags()...)
		env = env.With(s.S3.AWSEnv())
	}
	res := RunCommand(t, Command{Args: args, Env: env, Dir: s.Dir})
	if res.ExitCode != ExitOK {
		t.Fatalf("specimen failed: %s", res)
	}
	return &Archive{URI: s.Out, Expected: ReadExpected(t, OpenStore(t, resolve(s.Dir, s.Out), s.S3))}
}

// resolve makes a relative local path absolute against dir.
func resolve(dir, uri string) string {
	if dir == "" || strings.Contains(uri, "://") || filepath.IsAbs(uri) {
		return uri
	}
	return filepath.Join(dir, uri)
}

// ReadExpected reads expected.jsonl at the root of an archive store.
func ReadExpected(t testing.TB, store blob.Store) []specimen.ExpectedLine {
	t.Helper()
	b, err := store.Get(context.Background(), specimen.ExpectedName, 0)
	if err != nil {
		t.Fatalf("read %s: %v", store.KeyURI(specimen.ExpectedName), err)
	}
	var out []specimen.ExpectedLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e specimen.ExpectedLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("expected.jsonl line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read expected.jsonl: %v", err)
	}
	return out
}

// NonSkipped counts the records that reach the API (every outcome but
// skipped): each starts exactly one verification.
func (a *Archive) NonSkipped() int { return NonSkipped(a.Expected) }

// NonSkipped counts the expected lines whose outcome is not skipped.
func NonSkipped(exp []specimen.ExpectedLine) int {
	n := 0
	for _, e := range exp {
		if e.Outcome != report.OutcomeSkipped {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// batch run

// BaseConfigYAML is the configuration file the tests pass with --config
// unless they give their own: JSON logs (so stderr can be searched), a
// progress line every second, the rest at the documented defaults.
const BaseConfigYAML = `# written by the e2e harness
logging:
  level: info
  format: json
  progress_interval: 1s
# The emulator answers at once: an unanswered create or start (a reset) is
# read back a request timeout and a second after it, so keep that short.
api:
  request_timeout: 5s
`

// RunSpec is one `batch run` invocation. The same spec can be run again to
// resume (same RunID).
type RunSpec struct {
	// Config is the YAML written to a file and passed with --config; empty:
	// BaseConfigYAML. NoConfig runs without --config (the embedded default).
	Config   string
	NoConfig bool
	// --source, --manifest, --output, --run-id when not empty.
	Source, Manifest, Output, RunID string
	// Emulator, when set, gives its Flags (--assure-url, --token-url,
	// --rate), its credentials and its Sets (poll timings), before Sets and
	// Args below.
	Emulator *Emulator
	// S3, when set, adds its SourceEnv (AWS keys, REVERIFY_SOURCE_S3_*).
	S3 *S3
	// Sets are --set key=value, after the emulator's (later ones win).
	Sets []string
	// Env is added over BaseEnv, the emulator's credentials and S3's
	// variables (an empty value keeps a variable out: "SIGNICAT_CLIENT_SECRET": "").
	Env Env
	// Args are further flags (--rate, --limit, --dry-run, …).
	Args []string
	// Dir is the working directory (default: a temporary folder).
	Dir     string
	Timeout time.Duration
}

// Command builds the invocation. The configuration file is written into a
// temporary folder.
func (s RunSpec) Command(t testing.TB) Command {
	t.Helper()
	args := []string{"run"}
	if !s.NoConfig {
		yaml := s.Config
		if yaml == "" {
			yaml = BaseConfigYAML
		}
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatalf("write config: %v", err)
		}
		args = append(args, "--config", path)
	}
	flag := func(name, v string) {
		if v != "" {
			args = append(args, "--"+name, v)
		}
	}
	flag("source", s.Source)
	flag("manifest", s.Manifest)
	flag("output", s.Output)
	flag("run-id", s.RunID)
	env := BaseEnv(t)
	var sets []string
	if s.Emulator != nil {
		args = append(args, s.Emulator.Flags()...)
		env = env.With(s.Emulator.Credentials())
		sets = append(sets, s.Emulator.Sets()...)
	}
	if s.S3 != nil {
		env = env.With(s.S3.SourceEnv())
	}
	env = env.With(s.Env)
	for k, v := range env {
		if v == "" {
			delete(env, k)
		}
	}
	for _, kv := range append(sets, s.Sets...) {
		args = append(args, "--set", kv)
	}
	args = append(args, s.Args...)
	return Command{Args: args, Env: env, Dir: s.Dir, Timeout: s.Timeout}
}

// CleanupCommand builds `batch cleanup` for the spec's run: the same
// configuration file, output, API URLs and environment.
func (s RunSpec) CleanupCommand(t testing.TB) Command {
	t.Helper()
	if s.RunID == "" {
		t.Fatalf("batch cleanup needs the spec's RunID")
	}
	run := s.Command(t)
	args := []string{"cleanup", "--run-id", s.RunID}
	for i := 1; i+1 < len(run.Args); i++ {
		switch run.Args[i] {
		case "--config", "--output", "--assure-url", "--token-url":
			args = append(args, run.Args[i], run.Args[i+1])
			i++
		}
	}
	return Command{Args: args, Env: run.Env, Dir: s.Dir, Timeout: s.Timeout}
}

// RunBatch runs `batch run` to completion.
func RunBatch(t testing.TB, s RunSpec) Result {
	t.Helper()
	return RunCommand(t, s.Command(t))
}

// StartBatch starts `batch run` in the background.
func StartBatch(t testing.TB, s RunSpec) *Proc {
	t.Helper()
	return Start(t, s.Command(t))
}

// RequireExit fails the test now unless the result has the exit code.
func RequireExit(t testing.TB, res Result, code int) {
	t.Helper()
	if res.ExitCode != code || res.Signal != 0 {
		t.Fatalf("want exit code %d, got:\n%s", code, res)
	}
}

// ---------------------------------------------------------------------------
// Output

// FetchOutput returns a local folder holding the output's Parquet parts and
// _summary.json files: the folder itself for a local output, else a copy of
// those objects downloaded from S3 (DuckDB reads s3:// only with httpfs).
func FetchOutput(t testing.TB, uri string, s3 *S3) string {
	t.Helper()
	if !strings.HasPrefix(uri, "s3://") {
		return strings.TrimPrefix(uri, "file://")
	}
	ctx := context.Background()
	store := OpenStore(t, uri, s3)
	dir := t.TempDir()
	n := 0
	err := store.List(ctx, "", func(o blob.Object) error {
		base := o.Key[strings.LastIndex(o.Key, "/")+1:]
		if !strings.HasSuffix(base, ".parquet") && base != "_summary.json" {
			return nil
		}
		b, err := store.Get(ctx, o.Key, 0)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		n++
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil {
		t.Fatalf("download %s: %v", uri, err)
	}
	if n == 0 {
		t.Fatalf("download %s: no Parquet part or summary", uri)
	}
	return dir
}

// Row is the part of an output row the tests check.
type Row struct {
	RecordID        string
	Origin          string
	Outcome         string
	Reason          string
	SkipReasons     []string
	ErrorCode       string
	ErrorMessage    *string
	FailReason      *string
	APICalls        int64
	Retries         int64
	Polls           int64
	DossierID       *string
	ProcessID       *string
	PreviousOutcome *string
	ResultZipURI    *string
}

// ReadRows reads every row below a local output folder with DuckDB
// (read_parquet('<dir>/**/*.parquet')), ordered by record id.
func ReadRows(t testing.TB, dir string) []Row {
	t.Helper()
	db := OpenDuckDB(t)
	q := `SELECT record_id, origin, outcome, reason, skip_reasons, error_code, error_message, fail_reason, api_calls, retries, polls,
		dossier_id, process_id, previous_outcome, result_zip_uri
		FROM read_parquet(` + ParquetGlob(dir) + `) ORDER BY record_id, origin`
	var out []Row
	for _, m := range QueryRows(t, db, q) {
		r := Row{
			RecordID:  m["record_id"].(string),
			Origin:    m["origin"].(string),
			Outcome:   m["outcome"].(string),
			Reason:    m["reason"].(string),
			ErrorCode: m["error_code"].(string),
			APICalls:  toInt64(m["api_calls"]),
			Retries:   toInt64(m["retries"]),
			Polls:     toInt64(m["polls"]),
		}
		if l, ok := m["skip_reasons"].([]any); ok {
			for _, v := range l {
				r.SkipReasons = append(r.SkipReasons, fmt.Sprint(v))
			}
		}
		for col, dst := range map[string]**string{"dossier_id": &r.DossierID, "process_id": &r.ProcessID,
			"previous_outcome": &r.PreviousOutcome, "error_message": &r.ErrorMessage, "fail_reason": &r.FailReason,
			"result_zip_uri": &r.ResultZipURI} {
			if s, ok := m[col].(string); ok {
				*dst = &s
			}
		}
		out = append(out, r)
	}
	return out
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return 0
}

// ReadSummaries reads every _summary.json below a local output folder.
func ReadSummaries(t testing.TB, dir string) []report.Summary {
	t.Helper()
	var out []report.Summary
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "_summary.json" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var s report.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatalf("read summaries below %s: %v", dir, err)
	}
	return out
}

// ---------------------------------------------------------------------------
// Assertions

// AssertOutcomes checks the output against expected.jsonl: exactly one row
// per expected record (none missing, none duplicated, none extra), outcome
// and reason as expected, and skipped rows listing the expected reason
// among their skip_reasons with no API call made.
func AssertOutcomes(t testing.TB, rows []Row, exp []specimen.ExpectedLine) {
	t.Helper()
	byID := make(map[string][]Row, len(rows))
	for _, r := range rows {
		byID[r.RecordID] = append(byID[r.RecordID], r)
	}
	var problems []string
	for _, e := range exp {
		got := byID[e.RecordID]
		delete(byID, e.RecordID)
		switch {
		case len(got) == 0:
			problems = append(problems, fmt.Sprintf("%s (%s): no row", e.RecordID, e.Case))
			continue
		case len(got) > 1:
			problems = append(problems, fmt.Sprintf("%s (%s): %d rows", e.RecordID, e.Case, len(got)))
		}
		r := got[0]
		if r.Outcome != e.Outcome || r.Reason != e.Reason {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			if r.FailReason != nil {
				msg += " (fail_reason " + *r.FailReason + ")"
			}
			problems = append(problems, fmt.Sprintf("%s (%s): outcome %q reason %q, want %q reason %q%s",
				e.RecordID, e.Case, r.Outcome, r.Reason, e.Outcome, e.Reason, msg))
		}
		if e.Outcome == report.OutcomeSkipped {
			if !slices.Contains(r.SkipReasons, e.Reason) {
				problems = append(problems, fmt.Sprintf("%s (%s): skip_reasons %v lack %q", e.RecordID, e.Case, r.SkipReasons, e.Reason))
			}
			if r.APICalls != 0 {
				problems = append(problems, fmt.Sprintf("%s (%s): skipped but api_calls = %d", e.RecordID, e.Case, r.APICalls))
			}
		}
	}
	for id := range byID {
		problems = append(problems, fmt.Sprintf("%s: a row for a record not in expected.jsonl", id))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 30 {
			problems = append(problems[:30], fmt.Sprintf("… and %d more", len(problems)-30))
		}
		t.Errorf("output (%d rows) does not match expected.jsonl (%d records):\n  %s", len(rows), len(exp), strings.Join(problems, "\n  "))
	}
}

// AssertEmulatorClean checks what the emulator saw: no dossier left behind,
// no process started twice, and exactly started verifications.
func AssertEmulatorClean(t testing.TB, c emulator.Counters, started int) {
	t.Helper()
	if c.DossiersLive != 0 {
		t.Errorf("emulator: %d dossiers left (created %d, deleted %d)", c.DossiersLive, c.DossiersCreated, c.DossiersDeleted)
	}
	if c.MaxStartRequestsPerProcess > 1 {
		t.Errorf("emulator: a process got %d start requests (want at most 1)", c.MaxStartRequestsPerProcess)
	}
	if c.VerificationsStarted != int64(started) {
		t.Errorf("emulator: %d verifications started, want %d (one per record that is not skipped)", c.VerificationsStarted, started)
	}
}

// TotalRequests sums the emulator's API requests over endpoints and
// statuses (token requests and injected faults included).
func TotalRequests(c emulator.Counters) int64 {
	var n int64
	for _, m := range c.Requests {
		for _, v := range m {
			n += v
		}
	}
	return n
}

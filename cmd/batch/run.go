package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"reverify/configs"
	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/config"
	"reverify/internal/fault"
	"reverify/internal/lease"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

const runUsage = `usage: batch run [--config FILE] [flags]

Re-verifies every record of an archive through the Assure API and writes one
Parquet row per record. Without --config the embedded example configuration
runs: a dry run of ./archive through the bundled emulator into ./out.
Settings: defaults < config file < REVERIFY_* environment < flags.
Credentials: SIGNICAT_CLIENT_ID and SIGNICAT_CLIENT_SECRET (or
SIGNICAT_CLIENT_SECRET_FILE); dry runs need none.

Rerunning with the same --run-id resumes the run: finished records are not
redone, started verifications are polled, nothing is paid twice; timeout rows'
processes are polled again and their rows replaced. --redrive also re-attempts
retryable error rows (transport, 408/429/5xx, outcome unknown, archive read);
--redrive all every error row (a 400 for a bad image too).

Exit codes: 0 all records final; 1 fatal error; 2 usage or configuration;
3 finished with some error/timeout/skipped rows; 4 failure threshold;
5 interrupted (rerun with the same --run-id to resume).

flags:
`

// runFlag maps a command-line flag onto a config key.
type runFlag struct{ flag, key, help string }

// runFlags are the flags of `batch run` that set config keys.
func runFlags() []runFlag {
	return []runFlag{
		{"source", "source.archive", "archive URI: s3://bucket/prefix, file:///path or a path"},
		{"manifest", "source.manifest", "manifest URI or path (.csv or .jsonl); image paths in it resolve against the archive"},
		{"output", "output.uri", "output URI: a folder or s3://bucket/prefix"},
		{"run-id", "run.run_id", "run id; reuse it to resume a run"},
		{"shard", "run.shard", "shard K/N (0-based); default from AWS_BATCH_JOB_ARRAY_INDEX"},
		{"limit", "run.limit", "process at most N records of this shard"},
		{"rate", "api.rate", "API requests per second for the whole job, or auto (adapts up to api.max_rate)"},
		{"assure-url", "api.base_url", "base URL of the Assure API (or an emulator/proxy)"},
		{"token-url", "api.token_url", "OAuth2 token URL"},
		{"max-duration", "run.max_duration", "time budget: stop intake in time to drain before it ends"},
		{"sample", "run.sample", "verify a sample: N records or P% of the shard, stratified by previous status and document id"},
		{"seed", "run.sample_seed", "the sample's seed"},
		{"skip-verified-since", "run.skip_verified_since", "leave out records with a final row since this date (YYYY-MM-DD) in earlier runs under --history"},
		{"history", "run.history", "the output whose runs --skip-verified-since reads (default: --output)"},
	}
}

// runCmd implements `batch run`.
func (m *Main) runCmd(ctx context.Context, args []string) int {
	cfg, jsonOut, code, ok := m.runConfig("batch run", runUsage, args, true, nil)
	if !ok {
		return code
	}
	// The progress display first: on a terminal the log lines go through it.
	prog := newProgress(m.Stderr, isTerminal(m.Stderr), cfg.Logging.ProgressInterval, nil)
	// The log lines and the EMF lines (metrics.format: emf) share stderr:
	// one writer, so that each line stays whole.
	lines := &lineWriter{w: prog.logWriter()}
	logger, err := m.loggerTo(lines, cfg.Logging)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch run: %v\n", err)
		return ExitUsage
	}
	if cfg.Run.DryRun {
		// Every line of a dry run says so: its outcomes are the emulator's.
		logger = logger.With("mode", "DRY RUN")
	}
	code, err = m.run(ctx, cfg, logger, prog, lines, jsonOut)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch run: %v\n", err)
	}
	return code
}

// runConfig parses the flags `batch run` and `batch plan` share (--config,
// --dry-run, --print-config, verbosity, --json, --set, the config-key flags,
// the S3 flags; --redrive when redrive is set, and what extra adds) into
// the effective configuration. ok false: return code (--print-config
// printed it, or the flags or the configuration are wrong, and the message
// is out).
func (m *Main) runConfig(name, usage string, args []string, redriveFlagOn bool, extra func(fs *flag.FlagSet)) (cfg config.Config, jsonOut bool, code int, ok bool) {
	fs := m.flagSet(name, usage)
	configPath := fs.String("config", "", "YAML configuration file (default: the embedded configs/example.yaml)")
	dryRun := fs.Bool("dry-run", false, "run against the bundled emulator started in-process")
	printConfig := fs.Bool("print-config", false, "print the effective configuration (secrets redacted) and exit")
	verb := addVerbosity(fs)
	jsonFlag := fs.Bool("json", false, "print JSON on stdout: batch run its final summary as one object (the fields of _summary.json), batch plan JSON lines")
	var sets multiFlag
	fs.Var(&sets, "set", "set any config key: --set poll.deadline=10m (repeatable)")
	var redrive redriveFlag
	if redriveFlagOn {
		fs.Var(&redrive, "redrive", "re-attempt earlier attempts' retryable error rows; --redrive all: every error row (run.redrive)")
	}
	flags := runFlags()
	values := make([]*string, len(flags))
	for i, f := range flags {
		values[i] = fs.String(f.flag, "", f.help+" ("+f.key+")")
	}
	s3 := addS3Flags(fs)
	if extra != nil {
		extra(fs)
	}
	if code, ok := parseFlags(fs, args); !ok {
		return cfg, false, code, false
	}
	// "--redrive all": the flag's value as the next argument (batch run has
	// no arguments of its own to confuse it with).
	for redrive.bare && fs.NArg() > 0 && pipeline.Redrive(fs.Arg(0)).Valid() {
		redrive.value, redrive.bare = fs.Arg(0), false
		if code, ok := parseFlags(fs, fs.Args()[1:]); !ok {
			return cfg, false, code, false
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "%s: unexpected arguments: %v\n", name, fs.Args())
		return cfg, false, ExitUsage, false
	}
	var settings []config.Setting
	fs.Visit(func(f *flag.Flag) {
		for i, rf := range flags {
			if rf.flag == f.Name {
				settings = append(settings, config.Setting{Key: rf.key, Value: *values[i], Source: "--" + f.Name})
			}
		}
		switch f.Name {
		case "dry-run":
			settings = append(settings, config.Setting{Key: "run.dry_run", Value: strconv.FormatBool(*dryRun), Source: "--dry-run"})
		case "redrive":
			settings = append(settings, config.Setting{Key: "run.redrive", Value: redrive.value, Source: "--redrive"})
		}
	})
	settings = append(settings, s3.settings(fs)...)
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			fmt.Fprintf(m.Stderr, "%s: --set %q: want key=value\n", name, s)
			return cfg, false, ExitUsage, false
		}
		settings = append(settings, config.Setting{Key: strings.TrimSpace(k), Value: v, Source: "--set " + k})
	}
	if s, ok, err := verb.setting(); err != nil {
		fmt.Fprintf(m.Stderr, "%s: %v\n", name, err)
		return cfg, false, ExitUsage, false
	} else if ok {
		settings = append(settings, s)
	}
	settings, err := m.endpointMeansRealRun(settings)
	if err != nil {
		fmt.Fprintf(m.Stderr, "%s: %v\n", name, err)
		return cfg, false, ExitUsage, false
	}

	cfg, err = m.loadConfigS3(*configPath, settings)
	if err != nil {
		fmt.Fprintf(m.Stderr, "%s: invalid configuration:\n%v\n", name, err)
		return cfg, false, ExitUsage, false
	}
	if *printConfig {
		out, err := cfg.Redacted()
		if err != nil {
			fmt.Fprintf(m.Stderr, "%s: %v\n", name, err)
			return cfg, false, ExitFatal, false
		}
		m.Stdout.Write(out)
		return cfg, false, ExitOK, false
	}
	return cfg, *jsonFlag, ExitOK, true
}

// endpointMeansRealRun applies the rule that no flag is silently
// overridden: an endpoint given explicitly (--assure-url, --token-url,
// --set api.base_url/api.token_url, REVERIFY_API_BASE_URL/TOKEN_URL) means
// a run against it, so it sets run.dry_run=false at its own precedence —
// the embedded default (or a configuration file) being a dry run does not
// send it to the bundled emulator instead. An explicit dry run as well
// (--dry-run, run.dry_run=true) is a contradiction: an error.
func (m *Main) endpointMeansRealRun(settings []config.Setting) ([]config.Setting, error) {
	env := map[string]string{}
	for _, kv := range m.environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	var endpoint, dry string // the sources that asked
	for _, key := range []string{"api.base_url", "api.token_url"} {
		if env[config.EnvName(key)] != "" && endpoint == "" {
			endpoint = config.EnvName(key)
		}
	}
	if v := env[config.EnvName("run.dry_run")]; v == "true" || v == "1" {
		dry = config.EnvName("run.dry_run")
	}
	for _, s := range settings {
		switch s.Key {
		case "api.base_url", "api.token_url":
			endpoint = s.Source
		case "run.dry_run":
			dry = ""
			if b, err := strconv.ParseBool(s.Value); err == nil && b {
				dry = s.Source
			}
		}
	}
	switch {
	case endpoint == "":
		return settings, nil
	case dry != "":
		return nil, fmt.Errorf("%s asks for a dry run (the bundled emulator) and %s for an endpoint: give one of them "+
			"(a standalone emulator is an endpoint: `batch emulator`, then --assure-url/--token-url without --dry-run)", dry, endpoint)
	}
	return append(settings, config.Setting{Key: "run.dry_run", Value: "false", Source: endpoint + " (an explicit endpoint is a real run)"}), nil
}

type multiFlag []string

// redriveFlag is --redrive: alone it means retryable; --redrive=all or
// --redrive all (the value as the next argument), retryable or none. The
// value is checked with the configuration (run.redrive).
type redriveFlag struct {
	value string
	bare  bool // given without a value: the next argument may be one
}

func (f *redriveFlag) String() string   { return f.value }
func (f *redriveFlag) IsBoolFlag() bool { return true }

func (f *redriveFlag) Set(s string) error {
	f.value, f.bare = s, false
	switch s {
	case "true": // --redrive alone
		f.value, f.bare = string(pipeline.RedriveRetryable), true
	case "false":
		f.value = string(pipeline.RedriveNone)
	}
	return nil
}

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(v string) error { *f = append(*f, v); return nil }

// loadConfig loads the file at path (the embedded example when empty) with
// the environment and the command line's settings over it.
func (m *Main) loadConfig(path string, settings []config.Setting) (config.Config, error) {
	if path != "" {
		return config.LoadFile(path, m.environ(), settings...)
	}
	return config.Load(configs.Example(), m.environ(), settings...)
}

// environ returns the process environment (empty when Main has none).
func (m *Main) environ() []string {
	if m.Environ != nil {
		return m.Environ()
	}
	return nil
}

// typedAttr gives every log field one form whatever logged it: a duration
// is a number of seconds under a key ending in _s (slog's JSON handler
// would write nanoseconds, its text handler "1m30s"); a map is a JSON
// object (the text handler would print Go's map[...]).
func typedAttr(text bool) func(groups []string, a slog.Attr) slog.Attr {
	return func(_ []string, a slog.Attr) slog.Attr {
		v := a.Value.Resolve()
		switch v.Kind() {
		case slog.KindDuration:
			key := a.Key
			if !strings.HasSuffix(key, "_s") {
				key += "_s"
			}
			return slog.Float64(key, math.Round(v.Duration().Seconds()*1000)/1000)
		case slog.KindAny:
			if !text {
				return a
			}
			if rv := reflect.ValueOf(v.Any()); rv.Kind() == reflect.Map {
				if b, err := json.Marshal(v.Any()); err == nil {
					return slog.String(a.Key, string(b))
				}
			}
		}
		return a
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// logger builds the run's slog logger on stderr.
func (m *Main) logger(c config.LoggingConfig) (*slog.Logger, error) {
	return m.loggerTo(m.Stderr, c)
}

// loggerTo builds a logger writing to w (stderr, or the progress display's
// writer on a terminal); the format follows whether stderr is a terminal.
func (m *Main) loggerTo(w io.Writer, c config.LoggingConfig) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("logging.level: %w", err)
	}
	format := c.Format
	if format == "auto" || format == "" {
		format = "json"
		if isTerminal(m.Stderr) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: typedAttr(format == "text")}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// run executes a validated configuration and returns the exit code.
// Logs go to stderr, and so do the EMF lines of metrics.format: emf
// (through lines, the logger's writer); the summary, its one output, to
// stdout (a table, or with jsonOut one JSON object).
func (m *Main) run(ctx context.Context, cfg config.Config, log *slog.Logger, prog *progress, lines io.Writer, jsonOut bool) (int, error) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancelCause(nil)
	cancel := func() { cancelCause(context.Canceled) }
	shard, _ := cfg.Shard()
	runLog := log.With("run_id", cfg.Run.RunID, "shard", shard)
	prog.log = runLog
	// A signal while the attempt is being set up (waiting for a lease,
	// reconciling with the API) ends it at once: nothing is under way yet.
	setup := make(chan struct{})
	go func() {
		select {
		case sig := <-m.Signals: // nil channel: never
			runLog.Warn("signal before the run started: exiting", "signal", sig.String())
			cancel()
		case <-setup:
		}
	}()
	tap := &progressTap{}
	a, err := wire(ctx, cfg, log, func(p pipeline.Progress) {
		prog.update(p)
		tap.set(p)
	})
	close(setup)
	if err != nil {
		return exitFor(err), describe(err)
	}
	defer a.close()
	prog.watch(a.client.Waits)
	// A lost lease (another attempt took the run shard over) ends the run:
	// two writers would pay twice.
	held := a.lease // a.close clears the field
	go func() {
		select {
		case <-held.Lost():
			runLog.Error("the run shard's lease was lost: stopping at once", "error", held.Err())
			cancelCause(held.Err())
		case <-ctx.Done():
		}
	}()

	// Signals: the first stops intake and drains; the second ends at once.
	stopWatch := m.watchStops(ctx, cancel, a.pipeline, cfg.Run.MaxDuration, cfg.Run.GracePeriod, runLog)
	defer stopWatch()
	runLog.Info("run starting", "archive", cfg.Source.Archive, "output", a.out.URI(), "rate", cfg.EffectiveRate(), "rate_mode", rateMode(cfg),
		"dry_run", cfg.Run.DryRun, "personal_data", string(cfg.Output.PersonalData), "resumed_attempts", a.resume.Attempts)
	met := startMetrics(ctx, cfg, a, tap, lines, runLog)
	res, runErr := a.pipeline.Run(ctx)
	a.resume.Forget() // nothing looks records up any more
	prog.finish()
	if cause := context.Cause(ctx); runErr != nil && errors.Is(cause, lease.ErrLost) {
		runErr = cause
	}
	a.supersede(ctx, runLog)
	if err := a.close(); err != nil && runErr == nil {
		runErr = err
	}

	// The exit code and the summary describe the run shard, every attempt
	// of it, not this attempt alone: a rerun that finds nothing to do does
	// not report a clean run over earlier timeouts.
	totals, parts := shardTotals(ctx, a, runLog)
	code := exitCode(res, runErr, totals)
	met.finish(ctx, code == ExitOK)
	left, leftKnown := prog.left()
	if !leftKnown {
		left = -1
	}
	m.summarize(ctx, a, res, totals, parts, code, jsonOut, left, runLog)
	runLog.Info("run finished", "exit_code", code, "records", res.Totals.Records, "listed", res.Listed,
		"api_calls", res.Calls.Calls, "retries", res.Calls.Retries, "duration", elapsed(res.Started, res.Finished))
	return code, describe(runErr)
}

// shardTotals counts every committed row of the run shard, whichever attempt
// wrote it, and describes its parts for the evidence manifest. When the
// parts cannot be read back it falls back on the rows this attempt
// committed, and says so (parts nil: no manifest).
func shardTotals(ctx context.Context, a *attempt, log *slog.Logger) (report.Totals, []report.ManifestPart) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	t, parts, err := report.ShardTotals(cctx, a.out, a.cfg.Run.RunID, a.shard, a.count)
	if err != nil {
		log.Warn("the run shard's rows could not be read back: the summary counts this attempt's rows only, and no evidence manifest is written", "error", err)
		return a.writer.Totals(), nil
	}
	return t, parts
}

// summarize writes the run shard's _summary.json — its totals over every
// attempt, and the history of its attempts, this one last — and prints it.
// left is how many of the shard's records have no row yet (-1: unknown).
func (m *Main) summarize(ctx context.Context, a *attempt, res pipeline.Result, totals report.Totals, parts []report.ManifestPart, code int, jsonOut bool, left int64, log *slog.Logger) {
	cfg := a.cfg
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	interrupted := res.Stopped || code == ExitInterrupted
	history := previousAttempts(sctx, a, log)
	history = append(history, report.AttemptStats{Attempt: a.id, StartedAt: report.Timestamp(res.Started),
		FinishedAt: report.Timestamp(res.Finished), ExitCode: code, Records: a.writer.Totals().Records, Interrupted: interrupted})
	runStart := res.Started
	if first := history[0].StartedAt; first != nil && first.Before(runStart) {
		runStart = *first
	}
	sum := report.Summary{RunID: cfg.Run.RunID, Shard: a.shard, ShardCount: a.count, Totals: totals}
	sum.RunStats = report.RunStats{Attempt: a.id, ExitCode: &code, Interrupted: interrupted,
		Listed: &res.Listed, PersonalData: string(cfg.Output.PersonalData), HashKeyID: hashKeyID(cfg), History: history, Extra: map[string]any{
			"resumed_records": res.Resumed, "interrupted_records": res.Interrupted,
			"api_calls_total": res.Calls.Calls, "api_retries_total": res.Calls.Retries, "rate_limit_pauses": res.Calls.Pauses,
			"api_calls_by_endpoint": res.Calls.ByEndpoint,
			"effective_rate":        cfg.EffectiveRate(),
			"rate_mode":             rateMode(cfg),
		}}
	if a.skipping != nil {
		sum.RunStats.Extra["already_verified_records"] = a.skipping.Dropped()
	}
	sum.RunStats.SetTimes(runStart, res.Finished, totals.Records)
	if dc, err := pipeline.DossierCounts(sctx, a.out, []string{report.DossierLogPrefix(cfg.Run.RunID, a.shard, a.count)},
		report.CleanupLogPrefix(cfg.Run.RunID)); err != nil {
		log.Warn("the dossier log could not be read: the summary has no dossier counts", "error", err)
	} else {
		sum.RunStats.Dossiers = &dc
	}
	if err := report.WriteSummary(sctx, a.out, sum); err != nil {
		log.Error("summary not written", "error", err)
	}
	// The evidence manifest, last (parts nil: they could not be read, said
	// above).
	if parts != nil {
		if err := writeManifest(sctx, a, sum, parts, code); err != nil {
			log.Error("evidence manifest not written", "error", err)
		}
	}
	if jsonOut {
		if err := json.NewEncoder(m.Stdout).Encode(sum); err != nil {
			log.Error("summary not printed", "error", err)
		}
		return
	}
	_ = report.RenderTable(m.Stdout, sum)
	if res.Interrupted > 0 || res.Stopped {
		what := fmt.Sprintf("%d records in flight and every record not yet taken are", res.Interrupted)
		if left >= 0 {
			what = fmt.Sprintf("%d records (%d of them in flight) are", left, res.Interrupted)
		}
		fmt.Fprintf(m.Stdout, "interrupted: %s left for the next attempt; rerun with --run-id %s to resume\n", what, cfg.Run.RunID)
	}
}

// previousAttempts is the attempt history of the _summary.json this attempt
// replaces (one entry made from it, when it predates histories).
func previousAttempts(ctx context.Context, a *attempt, log *slog.Logger) []report.AttemptStats {
	prev, err := report.ReadSummary(ctx, a.out, a.cfg.Run.RunID, a.shard, a.count)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return nil
	case err != nil:
		log.Warn("the previous summary could not be read: its attempts are not in the history", "error", err)
		return nil
	case len(prev.History) > 0:
		return prev.History
	case prev.Attempt == "":
		return nil
	}
	st := report.AttemptStats{Attempt: prev.Attempt, StartedAt: prev.StartedAt, FinishedAt: prev.FinishedAt,
		Records: prev.Records, Interrupted: prev.Interrupted}
	if prev.ExitCode != nil {
		st.ExitCode = *prev.ExitCode
	}
	return []report.AttemptStats{st}
}

// exitCode maps an attempt's result onto the documented exit codes: how the
// attempt ended (threshold, interrupted, fatal) or, when it finished, what
// the run shard's rows say (totals: every attempt's).
func exitCode(res pipeline.Result, err error, totals report.Totals) int {
	switch {
	case errors.Is(err, pipeline.ErrThreshold):
		return ExitThreshold
	case err != nil && res.Stopped && errors.Is(err, context.Canceled):
		return ExitInterrupted
	case err != nil:
		return ExitFatal
	case res.Stopped || res.Interrupted > 0:
		return ExitInterrupted
	case totals.Incomplete() > 0:
		return ExitIncomplete
	}
	return ExitOK
}

// describe adds what to do to a fatal error.
func describe(err error) error {
	if err == nil {
		return nil
	}
	var ae *assure.APIError
	// Only when the API itself refused (401, 403, the token endpoint's
	// invalid_client): not a token endpoint that kept failing.
	if errors.As(err, &ae) && ae.Fault() == fault.Abort && !errors.Is(err, pipeline.ErrThreshold) {
		return fmt.Errorf("%w\nThe Assure API refused the credentials: check SIGNICAT_CLIENT_ID/SIGNICAT_CLIENT_SECRET, the token URL and the API client's Assure permission", err)
	}
	return err
}

// elapsed is finished - started, for a run that may have ended before it
// began (an early failure leaves either zero): never negative.
func elapsed(started, finished time.Time) time.Duration {
	if started.IsZero() {
		return 0
	}
	if finished.IsZero() {
		finished = time.Now()
	}
	return max(finished.Sub(started), 0)
}

// rateMode says how the shard's rate is set: "fixed" (api.rate a number) or
// "auto" (adaptive; EffectiveRate is then its ceiling).
func rateMode(cfg config.Config) string {
	if _, _, ok := cfg.AdaptiveRate(); ok {
		return "auto"
	}
	return "fixed"
}

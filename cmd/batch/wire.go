package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/config"
	"reverify/internal/fault"
	"reverify/internal/journal"
	"reverify/internal/lease"
	"reverify/internal/pipeline"
	"reverify/internal/privacy"
	"reverify/internal/report"
	"reverify/internal/sample"
	"reverify/internal/source"
)

// attempt is one attempt of `batch run`, wired from a validated
// configuration: the API (the real one, or the bundled emulator in a dry
// run), the archive, the output, what earlier attempts of the run shard
// left, this attempt's journal and report writer, and the pipeline over
// them.
type attempt struct {
	cfg          config.Config
	shard, count int
	id           string // the attempt's id
	started      time.Time
	out          blob.Store
	resume       *journal.State
	meter        *pipeline.Meter
	client       *assure.Client
	journal      *journal.Writer
	dossiers     *journal.Writer // the dossier log: the evidence of deletion
	writer       *report.Writer
	pipeline     *pipeline.Pipeline
	skipping     *sample.Skipping // run.skip_verified_since (nil: not set)
	emulator     *servedEmulator  // dry runs only
	lease        *lease.Lease     // the run shard's: one writer at a time
}

// wire builds an attempt. Its errors say, through package fault, whether the
// configuration is at fault (fault.Config: exit 2) or the world (exit 1).
// The mapping from configuration to each part's settings lives in the
// functions below and nowhere else.
func wire(ctx context.Context, cfg config.Config, log *slog.Logger, progress func(pipeline.Progress)) (_ *attempt, err error) {
	a := &attempt{cfg: cfg, started: time.Now()}
	a.shard, a.count = cfg.Shard()
	defer func() {
		if err != nil {
			_ = a.close()
		}
	}()
	runLog := log.With("run_id", cfg.Run.RunID, "shard", a.shard)
	a.meter = pipeline.NewMeter(runLog)

	apiCfg := assureConfig(cfg)
	if cfg.Run.DryRun {
		emuLog := slog.New(slog.DiscardHandler) // its request log only in debug
		if log.Enabled(ctx, slog.LevelDebug) {
			emuLog = runLog.With("component", "emulator")
		}
		if a.emulator, err = startEmulator(ctx, cfg.Emulator, emuLog); err != nil {
			return nil, fmt.Errorf("start the emulator: %w", err)
		}
		apiCfg.BaseURL, apiCfg.TokenURL = a.emulator.BaseURL, a.emulator.TokenURL
		apiCfg.ClientID, apiCfg.ClientSecret = a.emulator.ClientID, a.emulator.ClientSecret
		runLog.Info("dry run: using the bundled emulator", "base_url", a.emulator.BaseURL, "time_scale", cfg.Emulator.TimeScale)
	}
	apiCfg.Observer = a.meter
	apiCfg.Logger = runLog
	if start, ceiling, ok := cfg.AdaptiveRate(); ok {
		runLog.Info("api rate: auto", "start", start, "max", ceiling)
	}
	client, err := assure.New(apiCfg)
	if err != nil {
		return nil, err
	}
	a.client = client

	archive, err := source.Open(ctx, blob.NewOpener(cfg.SourceS3()), sourceConfig(cfg))
	if err != nil {
		return nil, err
	}
	if a.out, err = blob.NewOpener(cfg.OutputS3()).Open(ctx, cfg.Output.URI); err != nil {
		return nil, fault.Mark(fault.Config, fmt.Errorf("output: %w", err))
	}
	// An output that cannot be written fails here, before any API call.
	if err := blob.Prepare(ctx, a.out); err != nil {
		return nil, fault.Mark(fault.Abort, fmt.Errorf("output %w", err))
	}
	// The run id's definition: recorded by its first attempt, the same for
	// every later one, or refused before any API call.
	def, err := definition(ctx, cfg, archive, a.count)
	if err != nil {
		return nil, err
	}
	if err := report.CheckDefinition(ctx, a.out, cfg.Run.RunID, def); err != nil {
		return nil, err
	}
	// One writer per run shard, from here to the end of the attempt.
	if a.lease, err = lease.Acquire(ctx, a.out, report.LeaseKey(cfg.Run.RunID, a.shard, a.count), lease.Self(),
		cfg.Run.LeaseTTL, runLog); err != nil {
		return nil, err
	}
	// A first token before any record: refused credentials or an
	// unreachable token endpoint end the run now, not record by record.
	if err := client.Authenticate(ctx); err != nil {
		return nil, fmt.Errorf("get an access token from %s: %w", apiCfg.TokenURL, err)
	}

	if a.resume, err = pipeline.LoadResume(ctx, a.out, client, cfg.Run.RunID, a.shard, a.count, cfg.Run.Redrive, runLog); err != nil {
		return nil, err
	}
	if a.journal, a.id, err = pipeline.BeginAttempt(ctx, a.out, cfg.Run.RunID, a.shard, a.count, a.resume, a.started, 0); err != nil {
		return nil, err
	}
	a.lease.SetAttempt(a.id)
	if a.dossiers, err = pipeline.OpenDossierLog(ctx, a.out, cfg.Run.RunID, a.shard, a.count, a.id); err != nil {
		return nil, err
	}
	if a.writer, err = report.NewWriter(a.out, writerConfig(cfg, a.shard, a.count, a.id, a.journal.Committed)); err != nil {
		return nil, fault.Mark(fault.Config, err)
	}
	listed, skipping, err := selection(ctx, cfg, archive, a.shard, a.count)
	if err != nil {
		return nil, err
	}
	if skipping != nil {
		a.skipping = skipping
	}
	a.pipeline, err = pipeline.New(pipelineOptions(cfg, log), pipeline.Deps{
		Archive: listed, API: client, Meter: a.meter, Rows: a.writer, Results: a.out,
		Journal: a.journal, Dossiers: a.dossiers, Resume: a.resume, Progress: progress,
	})
	return a, err
}

// supersede removes the rows this attempt replaced (pipeline.Supersede),
// with the lease still held. Not after the run was cut short (a second
// signal, a lost lease: another writer may hold the run shard): the next
// attempt does it then. A failure is logged, not fatal: the rows are all
// committed, and the next attempt removes what is left.
func (a *attempt) supersede(ctx context.Context, log *slog.Logger) {
	if ctx.Err() != nil {
		log.Warn("rows replaced by this attempt are removed by the next one", "reason", context.Cause(ctx))
		return
	}
	if err := pipeline.Supersede(ctx, a.out, a.cfg.Run.RunID, a.shard, a.count, a.id, log); err != nil {
		log.Error("rows replaced by this attempt not all removed: the next attempt removes the rest", "error", err)
	}
}

// close ends what the attempt holds open: the journal (its error, which
// fails the run if nothing else did), the lease and the emulator.
func (a *attempt) close() error {
	var err error
	if a.dossiers != nil {
		err = a.dossiers.Close()
		a.dossiers = nil
	}
	if a.journal != nil {
		if jerr := a.journal.Close(); jerr != nil && err == nil {
			err = jerr
		}
		a.journal = nil
	}
	if a.lease != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if lerr := a.lease.Release(ctx); lerr != nil && err == nil {
			err = lerr
		}
		cancel()
		a.lease = nil
	}
	if a.emulator != nil {
		_ = a.emulator.Close()
		a.emulator = nil
	}
	return err
}

// definition is what defines the run (report.Definition) under cfg.
func definition(ctx context.Context, cfg config.Config, archive *source.Archive, count int) (report.Definition, error) {
	root, manifest := archive.Identity()
	digest, err := archive.ManifestDigest(ctx)
	if err != nil {
		return report.Definition{}, err
	}
	sc := archive.Config() // validated: defaults filled in, the process type canonical
	d := report.Definition{
		DryRun: cfg.Run.DryRun, BaseURL: cfg.API.BaseURL, TokenURL: cfg.API.TokenURL,
		Archive: root, Manifest: manifest, ManifestSHA256: digest, ShardCount: count,
		DefaultDocumentID: sc.DefaultDocumentID, DefaultProcessType: sc.DefaultProcessType,
		MaxImageBytes: sc.Limits.MaxImageBytes, MaxPixels: sc.Limits.MaxPixels,
		MinWidth: sc.Limits.MinWidth, MinHeight: sc.Limits.MinHeight,
		DownloadResults: cfg.Output.DownloadResults, PersonalData: string(cfg.Output.PersonalData),
		HashKeyID: hashKeyID(cfg), CreatedAt: time.Now().UTC(),
	}
	if spec, _ := sample.Parse(cfg.Run.Sample); !spec.None() { // validated
		d.Sample, d.SampleSeed = spec.String(), cfg.Run.SampleSeed
	}
	if since, ok := cfg.Run.VerifiedSince(); ok {
		d.SkipVerifiedSince = since.Format(time.RFC3339)
		d.History = cmp.Or(cfg.Run.History, cfg.Output.URI)
	}
	if cfg.Run.DryRun {
		d.BaseURL, d.TokenURL = "bundled emulator", "bundled emulator"
	}
	return d, nil
}

// hashKeyID names the key of output.personal_data: hash (privacy.KeyID);
// "" under the other policies.
func hashKeyID(cfg config.Config) string {
	if cfg.Output.PersonalData != privacy.Hash {
		return ""
	}
	return privacy.KeyID(cfg.Output.HashKey)
}

// assureConfig maps the api section and the credentials onto the client's
// configuration. HTTPClient, Scope and Observer are left for the caller; a
// dry run replaces the URLs and credentials with the emulator's.
func assureConfig(cfg config.Config) assure.Config {
	c := assure.Config{
		BaseURL:          cfg.API.BaseURL,
		TokenURL:         cfg.API.TokenURL,
		ClientID:         cfg.API.ClientID,
		ClientSecret:     cfg.API.ClientSecret,
		Rate:             cfg.EffectiveRate(),
		Burst:            cfg.API.Burst,
		RequestTimeout:   cfg.API.RequestTimeout,
		TokenRenewBefore: cfg.API.TokenRenewBefore,
		TokenTimeout:     cfg.API.TokenTimeout,
		Retry:            cfg.API.Retry,
	}
	if start, ceiling, ok := cfg.AdaptiveRate(); ok { // api.rate: auto
		c.Rate, c.Adaptive = 0, assure.AdaptiveRate{Max: ceiling, Start: start}
	}
	return c
}

// selection is the archive a run of shard k of n lists: without the
// records verified lately in earlier runs (run.skip_verified_since), then
// the sample of the rest (run.sample); the archive itself when neither is
// set. skipping is nil without run.skip_verified_since.
func selection(ctx context.Context, cfg config.Config, archive *source.Archive, k, n int) (listed pipeline.Archive, skipping *sample.Skipping, err error) {
	keep := func(id string) bool { return pipeline.InShard(id, k, n) }
	var inner sample.Lister = archive
	if since, ok := cfg.Run.VerifiedSince(); ok {
		history := cmp.Or(cfg.Run.History, cfg.Output.URI)
		store, err := blob.NewOpener(cfg.OutputS3()).Open(ctx, history)
		if err != nil {
			return nil, nil, fault.Mark(fault.Config, fmt.Errorf("run.history: %w", err))
		}
		verified, err := report.VerifiedSince(ctx, store, since, cfg.Run.RunID)
		if err != nil {
			return nil, nil, fault.Mark(fault.Abort, fmt.Errorf("run.skip_verified_since: %w", err))
		}
		skipping = sample.NewSkipping(archive, verified.Has, keep)
		inner = skipping
	}
	spec, _ := sample.Parse(cfg.Run.Sample) // validated
	if !spec.None() {
		return sample.New(inner, spec, cfg.Run.SampleSeed, keep), skipping, nil
	}
	if skipping != nil {
		return skipping, skipping, nil
	}
	return archive, nil, nil
}

// sourceConfig maps the source section onto the archive's configuration.
func sourceConfig(cfg config.Config) source.Config {
	s := cfg.Source
	return source.Config{
		Archive:            s.Archive,
		Manifest:           s.Manifest,
		DefaultDocumentID:  s.DefaultDocumentID,
		DefaultProcessType: s.DefaultProcessType,
		Limits: source.Limits{MaxImageBytes: int64(s.MaxImageBytes), MaxPixels: s.MaxPixels,
			MinWidth: s.MinWidth, MinHeight: s.MinHeight},
	}
}

// writerConfig maps the output section onto the report writer's
// configuration; onCommit learns of every committed part.
func writerConfig(cfg config.Config, shard, count int, attempt string, onCommit func(part string, ids []string)) report.WriterConfig {
	return report.WriterConfig{
		RunID: cfg.Run.RunID, Shard: shard, ShardCount: count, Attempt: attempt,
		MaxRowsPerPart: cfg.Output.MaxRowsPerPart, MaxPartAge: cfg.Output.MaxPartAge,
		OnCommit: onCommit,
	}
}

// pipelineOptions maps the run, concurrency, poll, output and threshold
// sections onto the pipeline's options.
func pipelineOptions(cfg config.Config, log *slog.Logger) pipeline.Options {
	shard, count := cfg.Shard()
	return pipeline.Options{
		RunID: cfg.Run.RunID, Shard: shard, ShardCount: count, Limit: cfg.Run.Limit, DryRun: cfg.Run.DryRun,
		Concurrency:     cfg.Concurrency,
		Poll:            cfg.EffectivePoll(),
		DownloadResults: cfg.Output.DownloadResults,
		KeepDossiers:    cfg.Output.KeepDossiers,
		PersonalData:    cfg.Output.PersonalData,
		HashKey:         cfg.Output.HashKey,
		Threshold:       cfg.FailureThreshold,
		GracePeriod:     cfg.Run.GracePeriod,
		Logger:          log,
	}
}

// exitFor is the exit code of an error that ended a command before its work
// began: 2 when the configuration is at fault, else 1.
func exitFor(err error) int {
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	if fault.Of(err) == fault.Config {
		return ExitUsage
	}
	return ExitFatal
}

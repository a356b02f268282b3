package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"reverify/internal/blob"
	"reverify/internal/report"
)

// writeManifest writes the run shard's evidence manifest (report.Manifest)
// at the end of an attempt, after its summary: the build, the run's
// definition, the redacted effective configuration, every attempt (those of
// the manifest it replaces, then this one), every committed part with its
// row count and SHA-256 (parts: described as the summary read them), the
// deletion evidence and the verifications started.
func writeManifest(ctx context.Context, a *attempt, sum report.Summary, parts []report.ManifestPart, code int) error {
	runID := a.cfg.Run.RunID
	def, err := report.ReadRunDefinition(ctx, a.out, runID)
	if err != nil {
		return fmt.Errorf("the run definition: %w", err)
	}
	conf, err := a.cfg.Redacted()
	if err != nil {
		return err
	}
	// The attempts of the manifest this one replaces, then those of the
	// summary's history it lacks (killed attempts, or those of a reverify
	// without manifests), then this one.
	var attempts []report.ManifestAttempt
	switch prev, err := report.ReadManifest(ctx, a.out, runID, a.shard, a.count); {
	case err == nil:
		attempts = prev.Attempts
	case !errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("the previous manifest: %w", err)
	}
	build := buildOf(buildInfo())
	host, _ := os.Hostname() // unknown: the field is left out
	this := report.ManifestAttempt{Attempt: a.id, ExitCode: code, Host: host, Reverify: &build}
	known := map[string]bool{}
	for _, at := range attempts {
		known[at.Attempt] = true
	}
	for _, h := range sum.History {
		switch {
		case h.Attempt == a.id:
			this.StartedAt, this.FinishedAt = h.StartedAt, h.FinishedAt
		case !known[h.Attempt]:
			attempts = append(attempts, report.ManifestAttempt{Attempt: h.Attempt, StartedAt: h.StartedAt,
				FinishedAt: h.FinishedAt, ExitCode: h.ExitCode})
		}
	}
	attempts = append(attempts, this)
	return report.WriteManifest(ctx, a.out, report.Manifest{
		RunID: runID, Shard: a.shard, ShardCount: a.count, WrittenAt: time.Now().UTC(),
		Reverify: build, Definition: def, Config: string(conf), Attempts: attempts, Parts: parts,
		Dossiers: sum.Dossiers, Verifications: sum.Verifications(),
	})
}

// buildOf is the Build of build information (nil: unknown).
func buildOf(bi *debug.BuildInfo) report.Build {
	if bi == nil {
		return report.Build{Version: "(unknown)"}
	}
	b := report.Build{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "vcs.time":
			b.CommitTime = s.Value
		}
	}
	return b
}

package main

import (
	"context"
	"fmt"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/config"
	"reverify/internal/pipeline"
)

const cleanupUsage = `usage: batch cleanup --run-id ID [--config FILE] [--output URI] [--assure-url URL --token-url URL]

Deletes every dossier a run created and did not delete: the ones its
journals name (every shard's) and the ones the Assure API lists with the
run's external reference (run-id/record-id). Prints what it did. Uses the
same configuration and credentials as 'batch run'.

flags:
`

// cleanupCmd implements `batch cleanup`.
func (m *Main) cleanupCmd(ctx context.Context, args []string) int {
	fs := m.flagSet("batch cleanup", cleanupUsage)
	configPath := fs.String("config", "", "YAML configuration file (default: the embedded configs/example.yaml)")
	runID := fs.String("run-id", "", "the run to clean up (required)")
	output := fs.String("output", "", "output URI of the run (output.uri)")
	assureURL := fs.String("assure-url", "", "base URL of the Assure API (api.base_url)")
	tokenURL := fs.String("token-url", "", "OAuth2 token URL (api.token_url)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *runID == "" || fs.NArg() > 0 {
		fmt.Fprintln(m.Stderr, "batch cleanup: --run-id is required and no arguments are taken")
		fs.Usage()
		return ExitUsage
	}
	settings := []config.Setting{{Key: "run.run_id", Value: *runID, Source: "--run-id"}}
	for _, s := range []struct{ key, val, src string }{
		{"output.uri", *output, "--output"}, {"api.base_url", *assureURL, "--assure-url"}, {"api.token_url", *tokenURL, "--token-url"},
	} {
		if s.val != "" {
			settings = append(settings, config.Setting{Key: s.key, Value: s.val, Source: s.src})
		}
	}
	cfg, err := m.loadConfig(*configPath, settings)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: invalid configuration:\n%v\n", err)
		return ExitUsage
	}
	if cfg.Run.DryRun && *assureURL == "" {
		fmt.Fprintln(m.Stderr, "batch cleanup: this configuration is a dry run: its emulator lived only as long as the run, so there is nothing to clean up (use --assure-url for a standalone emulator)")
		return ExitUsage
	}
	log, err := m.logger(cfg.Logging)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: %v\n", err)
		return ExitUsage
	}
	client, err := assure.New(assureConfig(cfg))
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: %v\n", err)
		return ExitUsage
	}
	out, err := blob.NewOpener(cfg.OutputS3()).Open(ctx, cfg.Output.URI)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: output: %v\n", err)
		return ExitUsage
	}
	res, err := pipeline.Cleanup(ctx, out, client, cfg.Run.RunID, log.With("run_id", cfg.Run.RunID))
	fmt.Fprintf(m.Stdout, "run %s: %d dossiers left at the API, %d deleted, %d could not be deleted\n",
		cfg.Run.RunID, res.Found, res.Deleted, res.Failed)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: %v\n", describe(err))
		return ExitFatal
	}
	if res.Failed > 0 {
		return ExitIncomplete
	}
	return ExitOK
}

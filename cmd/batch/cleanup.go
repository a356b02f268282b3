package main

import (
	"context"
	"fmt"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/config"
	"reverify/internal/journal"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

const cleanupUsage = `usage: batch cleanup --run-id ID [--list] [--config FILE] [--output URI] [--assure-url URL --token-url URL]
                     [--s3-endpoint URL --s3-region R --s3-path-style]

Deletes every dossier a run created and did not delete: the ones its
journals name (every shard's) and the ones the Assure API lists with the
run's external reference (run-id/record-id). Prints what it did, and
records each deletion with the API's answer in the run's cleanup log
(runs/<run>/cleanup/dossiers/). With --list it deletes nothing and prints
the dossiers left. Uses the same configuration and credentials as 'batch run'.

flags:
`

// cleanupCmd implements `batch cleanup`.
func (m *Main) cleanupCmd(ctx context.Context, args []string) int {
	fs := m.flagSet("batch cleanup", cleanupUsage)
	configPath := fs.String("config", "", "YAML configuration file (default: the embedded configs/example.yaml)")
	runID := fs.String("run-id", "", "the run to clean up (required)")
	list := fs.Bool("list", false, "list the dossiers left, delete nothing")
	verb := addVerbosity(fs)
	output := fs.String("output", "", "output URI of the run (output.uri)")
	assureURL := fs.String("assure-url", "", "base URL of the Assure API (api.base_url)")
	tokenURL := fs.String("token-url", "", "OAuth2 token URL (api.token_url)")
	s3 := addS3Flags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *runID == "" || fs.NArg() > 0 {
		fmt.Fprintln(m.Stderr, "batch cleanup: --run-id is required and no arguments are taken")
		fs.Usage()
		return ExitUsage
	}
	settings := []config.Setting{{Key: "run.run_id", Value: *runID, Source: "--run-id"}}
	if s, ok, err := verb.setting(); err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: %v\n", err)
		return ExitUsage
	} else if ok {
		settings = append(settings, s)
	}
	for _, s := range []struct{ key, val, src string }{
		{"output.uri", *output, "--output"}, {"api.base_url", *assureURL, "--assure-url"}, {"api.token_url", *tokenURL, "--token-url"},
	} {
		if s.val != "" {
			settings = append(settings, config.Setting{Key: s.key, Value: s.val, Source: s.src})
		}
	}
	settings = append(settings, s3.settings(fs)...)
	cfg, err := m.loadConfigS3(*configPath, settings)
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
	opt := pipeline.CleanupOptions{List: *list}
	if !*list {
		dl, err := journal.OpenLog(ctx, out, report.CleanupLogPrefix(cfg.Run.RunID), "c-"+report.NewAttemptID(time.Now()), 0)
		if err != nil {
			fmt.Fprintf(m.Stderr, "batch cleanup: %v\n", describe(err))
			return ExitFatal
		}
		defer func() {
			if err := dl.Close(); err != nil {
				fmt.Fprintf(m.Stderr, "batch cleanup: the cleanup log: %v\n", describe(err))
			}
		}()
		opt.Dossiers = dl
	}
	res, err := pipeline.Cleanup(ctx, out, client, cfg.Run.RunID, opt, log.With("run_id", cfg.Run.RunID))
	if *list {
		for _, d := range res.Left {
			via := "listed by the API"
			if d.Via == "journal" {
				via = "named by a journal"
			}
			fmt.Fprintf(m.Stdout, "dossier %s\trecord %s\t%s\n", d.Dossier, d.Record, via)
		}
		fmt.Fprintf(m.Stdout, "run %s: %d dossiers left at the API (nothing deleted: --list)\n", cfg.Run.RunID, res.Found)
	} else {
		fmt.Fprintf(m.Stdout, "run %s: %d dossiers left at the API, %d deleted, %d could not be deleted\n",
			cfg.Run.RunID, res.Found, res.Deleted, res.Failed)
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch cleanup: %v\n", describe(err))
		return ExitFatal
	}
	if res.Shards == 0 {
		// Nothing of the run in the output: a mistyped run id or output, or
		// an output that was lost (then the API's lists were the only hope).
		fmt.Fprintf(m.Stderr, "batch cleanup: run %q: no journal of it under %s (check --run-id and --output); only the API's lists were searched\n",
			cfg.Run.RunID, out.URI())
		if res.Found == 0 {
			fmt.Fprintf(m.Stderr, "batch cleanup: run %q is unknown to the output and to the API\n", cfg.Run.RunID)
			return ExitFatal
		}
	}
	if res.Failed > 0 {
		return ExitIncomplete
	}
	return ExitOK
}

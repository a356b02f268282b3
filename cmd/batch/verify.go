package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"reverify/internal/blob"
	"reverify/internal/report"
)

const verifyUsage = `usage: batch verify-output [--json] [--run-id ID] [--s3-endpoint URL --s3-region R --s3-path-style] <output-uri>

Checks every run shard's Parquet parts against its evidence manifest
(_manifest.json, written last by each attempt): every part it lists must be
present with the same SHA-256 and row count, and no other part may be there.
Prints one line per shard and what is missing, extra or changed; --json
prints the checks as a JSON array. Exit 0 when every shard matches its
manifest, 1 when one does not (or has no manifest, or the output cannot be
read), 2 on bad flags.

flags:
`

// verifyCmd implements `batch verify-output`.
func (m *Main) verifyCmd(ctx context.Context, args []string) int {
	fs := m.flagSet("batch verify-output", verifyUsage)
	asJSON := fs.Bool("json", false, "print the checks as a JSON array")
	runID := fs.String("run-id", "", "check only this run")
	var s3 blob.S3Options
	fs.StringVar(&s3.Endpoint, "s3-endpoint", "", s3EndpointHelp)
	fs.StringVar(&s3.Region, "s3-region", "", s3RegionHelp)
	fs.BoolVar(&s3.PathStyle, "s3-path-style", false, s3PathStyleHelp)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintf(m.Stderr, "batch verify-output: need exactly one <output-uri>, got %d\n\n", len(pos))
		fs.Usage()
		return ExitUsage
	}
	if *runID != "" {
		if err := report.ValidateRunID(*runID); err != nil {
			fmt.Fprintf(m.Stderr, "batch verify-output: --run-id: %v\n", err)
			return ExitUsage
		}
	}
	loc, err := blob.Parse(pos[0])
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch verify-output: output: %v\n", err)
		return ExitUsage
	}
	store, err := blob.NewOpener(s3).OpenLocation(ctx, loc)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch verify-output: open %s: %v\n", loc, err)
		return ExitFatal
	}
	checks, err := report.VerifyOutput(ctx, store, *runID)
	if errors.Is(err, report.ErrNoOutput) {
		what := "report output"
		if *runID != "" {
			what = fmt.Sprintf("output of run %q", *runID)
		}
		fmt.Fprintf(m.Stderr, "batch verify-output: no %s at %s\n", what, store.URI())
		return ExitFatal
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch verify-output: %v\n", err)
		return ExitFatal
	}
	good := true
	for _, c := range checks {
		good = good && c.Good()
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(checks); err != nil {
			fmt.Fprintf(m.Stderr, "batch verify-output: write: %v\n", err)
			return ExitFatal
		}
	} else {
		for _, c := range checks {
			name := fmt.Sprintf("run %s shard %d of %d", c.RunID, c.Shard, c.ShardCount)
			switch {
			case c.NoManifest:
				fmt.Fprintf(m.Stdout, "%s: NO MANIFEST (an attempt that did not end, or an output older than manifests)\n", name)
			case c.Good():
				fmt.Fprintf(m.Stdout, "%s: OK, %d parts as the manifest lists them\n", name, c.OK)
			default:
				fmt.Fprintf(m.Stdout, "%s: DOES NOT MATCH its manifest (%d parts listed, %d as listed)\n", name, c.Parts, c.OK)
				for _, k := range c.Missing {
					fmt.Fprintf(m.Stdout, "  missing  %s\n", store.KeyURI(k))
				}
				for _, k := range c.Changed {
					fmt.Fprintf(m.Stdout, "  changed  %s\n", store.KeyURI(k))
				}
				for _, k := range c.Extra {
					fmt.Fprintf(m.Stdout, "  extra    %s\n", store.KeyURI(k))
				}
			}
		}
	}
	if !good {
		return ExitFatal
	}
	return ExitOK
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

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
	c := m.newOutputCmd("batch verify-output", verifyUsage, "check only this run")
	asJSON := c.fs.Bool("json", false, "print the checks as a JSON array")
	store, code, ok := c.open(ctx, m, args)
	if !ok {
		return code
	}
	checks, err := report.VerifyOutput(ctx, store, *c.runID)
	if err != nil {
		return c.fail(m, store, err)
	}
	good := true
	for _, ch := range checks {
		good = good && ch.Good()
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(checks); err != nil {
			fmt.Fprintf(m.Stderr, "batch verify-output: write: %v\n", err)
			return ExitFatal
		}
	} else {
		renderChecks(m.Stdout, store, checks)
	}
	if !good {
		return ExitFatal
	}
	return ExitOK
}

// renderChecks prints one line per shard, and each part that differs.
func renderChecks(w io.Writer, store blob.Store, checks []report.ShardCheck) {
	for _, ch := range checks {
		name := fmt.Sprintf("run %s shard %d of %d", ch.RunID, ch.Shard, ch.ShardCount)
		switch {
		case ch.NoManifest:
			fmt.Fprintf(w, "%s: NO MANIFEST (an attempt that did not end, or an output older than manifests)\n", name)
			continue
		case ch.Good():
			fmt.Fprintf(w, "%s: OK, %d parts as the manifest lists them\n", name, ch.OK)
			continue
		}
		fmt.Fprintf(w, "%s: DOES NOT MATCH its manifest (%d parts listed, %d as listed)\n", name, ch.Parts, ch.OK)
		for _, l := range []struct {
			what string
			keys []string
		}{{"missing", ch.Missing}, {"changed", ch.Changed}, {"extra  ", ch.Extra}} {
			for _, k := range l.keys {
				fmt.Fprintf(w, "  %s  %s\n", l.what, store.KeyURI(k))
			}
		}
	}
}

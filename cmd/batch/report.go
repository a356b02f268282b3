package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"reverify/internal/blob"
	"reverify/internal/htmlreport"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

const reportUsage = `usage: batch report [--json | --changed | --html FILE] [--run-id ID] [--s3-endpoint URL --s3-region R --s3-path-style] <output-uri>

Summarises existing Parquet output: one table per run (outcomes, shares, top
reasons, how outcomes moved from the previous outcome and why, effort and
timing), or JSON with --json. <output-uri> is the output root given to
'batch run': a local path, file:///path or s3://bucket/prefix. S3
credentials come from the AWS default chain (environment, profile, role).

--changed lists instead the records whose outcome moved from the previous
outcome: run, shard, record id, previous outcome, outcome and reason, one
per line, tab-separated under a header (with --json: one JSON object per
line). Ids and outcome codes only, no personal data.

--html FILE writes instead one self-contained HTML page of charts and
tables (outcomes over time, by process type, document id and issuing
country, then and now, top reasons, failed security checks, latency
percentiles, API effort) to FILE ("-": standard output). Aggregates only,
no record id and no personal value; the page loads nothing from anywhere.

flags:
`

// reportCmd implements `batch report`.
func (m *Main) reportCmd(ctx context.Context, args []string) int {
	c := m.newOutputCmd("batch report", reportUsage, "summarise only this run")
	asJSON := c.fs.Bool("json", false, "print the summaries as a JSON array instead of tables")
	changed := c.fs.Bool("changed", false, "list the records whose outcome moved from the previous outcome instead of summarising")
	htmlOut := c.fs.String("html", "", "write a self-contained HTML report to `FILE` (\"-\": stdout) instead of the tables")
	store, code, ok := c.open(ctx, m, args)
	if !ok {
		return code
	}
	if *htmlOut != "" && (*asJSON || *changed) {
		fmt.Fprintln(m.Stderr, "batch report: --html writes a page, not --json or --changed: give one of them")
		return ExitUsage
	}
	runID := c.runID
	if *changed {
		return m.reportChanged(ctx, c, store, *asJSON)
	}
	var sums []report.Summary
	var err error
	if *runID != "" {
		var s report.Summary
		s, err = report.SummarizeRun(ctx, store, *runID)
		sums = []report.Summary{s}
	} else {
		sums, err = report.Summarize(ctx, store)
	}
	if err != nil {
		return c.fail(m, store, err)
	}

	// The dossiers of each run, from every shard's dossier log and the
	// run's cleanup log: the evidence of deletion, read now (a cleanup after
	// the run changes them).
	for i := range sums {
		if err := runDossiers(ctx, store, &sums[i]); err != nil {
			fmt.Fprintf(m.Stderr, "batch report: run %s: the dossier logs: %v\n", sums[i].RunID, err)
			return ExitFatal
		}
	}

	if *htmlOut != "" {
		return m.reportHTML(ctx, c, store, sums, *htmlOut)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(sums)
	} else {
		err = report.RenderTables(m.Stdout, sums)
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch report: write: %v\n", err)
		return ExitFatal
	}
	return ExitOK
}

// reportChanged prints the rows whose outcome changed (report.EachChanged),
// as they are read.
func (m *Main) reportChanged(ctx context.Context, c *outputCmd, store blob.Store, asJSON bool) int {
	w := bufio.NewWriter(m.Stdout)
	enc := json.NewEncoder(w)
	if !asJSON {
		fmt.Fprintln(w, "run_id\tshard\trecord_id\tprevious_outcome\toutcome\treason")
	}
	n := 0
	err := report.EachChanged(ctx, store, *c.runID, func(ch report.Changed) error {
		n++
		if asJSON {
			return enc.Encode(ch)
		}
		_, err := fmt.Fprintf(w, "%s\t%d-of-%d\t%s\t%s\t%s\t%s\n", ch.RunID, ch.Shard, ch.Shards,
			tsvField(ch.RecordID), tsvField(ch.Previous), ch.Outcome, ch.Reason)
		return err
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return c.fail(m, store, err)
	}
	fmt.Fprintf(m.Stderr, "batch report: %d records whose outcome changed\n", n)
	return ExitOK
}

// reportHTML writes the page of sums (with their figures, read now) to
// path, whole or not at all.
func (m *Main) reportHTML(ctx context.Context, c *outputCmd, store blob.Store, sums []report.Summary, path string) int {
	figs, err := report.ReadFigures(ctx, store, *c.runID)
	if err != nil {
		return c.fail(m, store, err)
	}
	in := htmlreport.Input{Summaries: sums, Figures: figs, Source: store.URI(), Version: versionLine(buildInfo()),
		Generated: time.Now()}
	if path == "-" {
		if err := htmlreport.Render(m.Stdout, in); err != nil {
			fmt.Fprintf(m.Stderr, "batch report: %v\n", err)
			return ExitFatal
		}
		return ExitOK
	}
	if err := writeFileWhole(path, 0o644, func(w io.Writer) error { return htmlreport.Render(w, in) }); err != nil {
		fmt.Fprintf(m.Stderr, "batch report: --html: %v\n", err)
		return ExitFatal
	}
	runs := "runs"
	if len(sums) == 1 {
		runs = "run"
	}
	fmt.Fprintf(m.Stderr, "batch report: wrote %s (%d %s)\n", path, len(sums), runs)
	return ExitOK
}

// writeFileWhole writes path through a temporary file beside it, renamed
// over it once write has succeeded: a reader never sees half a file, and a
// failed write leaves what was there.
func writeFileWhole(path string, mode os.FileMode, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// tsvField keeps a value on its line and in its column: tabs and line
// breaks become spaces.
func tsvField(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// runDossiers sets s.Dossiers from the run's dossier logs; a summary of one
// shard counts that shard's.
func runDossiers(ctx context.Context, store blob.Store, s *report.Summary) error {
	shards, err := report.Shards(ctx, store, s.RunID)
	if err != nil {
		return err
	}
	var logs []string
	for _, sh := range shards {
		if s.Shard == report.AllShards || (sh.Shard == s.Shard && sh.Count == s.ShardCount) {
			logs = append(logs, report.DossierLogPrefix(s.RunID, sh.Shard, sh.Count))
		}
	}
	var c report.DossierCounts
	if s.Shard == report.AllShards {
		// The cleanup's deletions count whichever shard created the dossier.
		c, err = pipeline.DossierCounts(ctx, store, append(logs, report.CleanupLogPrefix(s.RunID)))
	} else {
		c, err = pipeline.DossierCounts(ctx, store, logs, report.CleanupLogPrefix(s.RunID))
	}
	if err != nil {
		return err
	}
	s.Dossiers = &c
	return nil
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("batch report out/ --json"); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// Parse stopped at a positional argument, or after a "--" that it
		// consumed: then everything left is positional.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

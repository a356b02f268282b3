package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"reverify/internal/blob"
	"reverify/internal/report"
)

// outputCmd is the command line of a command that reads an existing output
// (batch report, batch verify-output): one <output-uri>, --run-id and the S3
// flags, beside the command's own flags.
type outputCmd struct {
	name  string
	fs    *flag.FlagSet
	runID *string
	s3    blob.S3Options
}

// newOutputCmd declares the shared flags; runHelp is --run-id's.
func (m *Main) newOutputCmd(name, usage, runHelp string) *outputCmd {
	c := &outputCmd{name: name, fs: m.flagSet(name, usage)}
	c.runID = c.fs.String("run-id", "", runHelp)
	c.fs.StringVar(&c.s3.Endpoint, "s3-endpoint", "", s3EndpointHelp)
	c.fs.StringVar(&c.s3.Region, "s3-region", "", s3RegionHelp)
	c.fs.BoolVar(&c.s3.PathStyle, "s3-path-style", false, s3PathStyleHelp)
	return c
}

// open parses args (flags before or after the URI) and opens the output.
// ok false: exit with code (the message is out).
func (c *outputCmd) open(ctx context.Context, m *Main, args []string) (store blob.Store, code int, ok bool) {
	pos, err := parseInterspersed(c.fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, ExitOK, false
	}
	if err != nil {
		return nil, ExitUsage, false // the flag package has printed the error and usage
	}
	if len(pos) != 1 {
		fmt.Fprintf(m.Stderr, "%s: need exactly one <output-uri>, got %d\n\n", c.name, len(pos))
		c.fs.Usage()
		return nil, ExitUsage, false
	}
	if *c.runID != "" {
		if err := report.ValidateRunID(*c.runID); err != nil {
			fmt.Fprintf(m.Stderr, "%s: --run-id: %v\n", c.name, err)
			return nil, ExitUsage, false
		}
	}
	loc, err := blob.Parse(pos[0])
	if err != nil {
		fmt.Fprintf(m.Stderr, "%s: output: %v\n", c.name, err)
		return nil, ExitUsage, false
	}
	store, err = blob.NewOpener(c.s3).OpenLocation(ctx, loc)
	if err != nil {
		fmt.Fprintf(m.Stderr, "%s: open %s: %v\n", c.name, loc, err)
		return nil, ExitFatal, false
	}
	return store, ExitOK, true
}

// fail prints err (report.ErrNoOutput as where the parts were looked for)
// and returns ExitFatal.
func (c *outputCmd) fail(m *Main, store blob.Store, err error) int {
	if errors.Is(err, report.ErrNoOutput) {
		what := "report output"
		if *c.runID != "" {
			what = fmt.Sprintf("output of run %q", *c.runID)
		}
		fmt.Fprintf(m.Stderr, "%s: no %s at %s (expected %s)\n", c.name, what, store.URI(),
			store.KeyURI("runs/<run_id>/shard-<K>-of-<N>/part-*.parquet"))
		return ExitFatal
	}
	fmt.Fprintf(m.Stderr, "%s: %v\n", c.name, err)
	return ExitFatal
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"reverify/internal/blob"
	"reverify/internal/specimen"
)

// specimenCmd writes a synthetic sample archive with expected outcomes.
func (m *Main) specimenCmd(ctx context.Context, args []string) int {
	fs := m.flagSet("specimen", "usage: batch specimen --out URI [--count N] [--seed S] [--mix spec] [--force]\n\n"+
		"Writes N synthetic records (images with embedded specimen data, meta.json) and, at the archive root,\n"+
		"expected.jsonl and manifest.csv. S3 credentials come from the AWS default chain.\n\nflags:\n")
	out := fs.String("out", "", "archive location: a local path, file:///path or s3://bucket/prefix (required)")
	count := fs.Int("count", 100, "number of records")
	seed := fs.Int64("seed", 1, "random seed; the same seed, count and mix give the same archive")
	mixSpec := fs.String("mix", "default", "case weights: case=weight,... (cases not named get 0; 'default,case=w' overrides the default mix); cases: "+
		strings.Join(specimenCaseNames(), ", "))
	force := fs.Bool("force", false, "write into a location that already holds objects (existing objects are overwritten, others kept)")
	concurrency := fs.Int("concurrency", specimen.DefaultConcurrency, "object writes in flight")
	s3Endpoint := fs.String("s3-endpoint", "", s3EndpointHelp)
	s3Region := fs.String("s3-region", "", s3RegionHelp)
	s3PathStyle := fs.Bool("s3-path-style", false, s3PathStyleHelp)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(m.Stderr, "batch specimen: "+format+"\n", a...)
		return ExitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return usage("--out is required")
	case *count <= 0:
		return usage("--count must be positive, got %d", *count)
	case *concurrency <= 0:
		return usage("--concurrency must be positive, got %d", *concurrency)
	}
	mix, err := specimen.ParseMix(*mixSpec)
	if err != nil {
		return usage("--mix: %v", err)
	}
	if _, err := blob.Parse(*out); err != nil {
		return usage("--out: %v", err)
	}

	ctx, stop := m.specimenSignalContext(ctx)
	defer stop()
	// A sample archive can be written again: no fsync per file.
	opener := blob.NewOpener(blob.S3Options{Endpoint: *s3Endpoint, Region: *s3Region, PathStyle: *s3PathStyle}).WithoutSync()
	store, err := opener.Open(ctx, *out)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch specimen: open --out %s: %v\n", *out, err)
		return ExitFatal
	}
	sum, err := specimen.Generate(ctx, store, specimen.Options{
		Count: *count, Seed: *seed, Mix: mix, Concurrency: *concurrency, Force: *force,
	})
	switch {
	case errors.Is(err, specimen.ErrNotEmpty):
		return usage("%v; choose an empty location or pass --force", err)
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(m.Stderr, "batch specimen: interrupted: %v\n", err)
		return ExitInterrupted
	case err != nil:
		fmt.Fprintf(m.Stderr, "batch specimen: %v\n", err)
		return ExitFatal
	}
	printSpecimenSummary(m.Stdout, store, sum)
	return ExitOK
}

func specimenCaseNames() []string {
	var names []string
	for _, c := range specimen.Cases() {
		names = append(names, string(c))
	}
	return names
}

// specimenSignalContext returns a context cancelled when m.Signals delivers a
// signal; stop releases the watcher.
func (m *Main) specimenSignalContext(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	if m.Signals == nil {
		return ctx, cancel
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-m.Signals:
			cancel()
		case <-done:
		}
	}()
	return ctx, func() { close(done); cancel() }
}

func printSpecimenSummary(w io.Writer, store blob.Store, sum specimen.Summary) {
	fmt.Fprintf(w, "wrote %d records (%d objects, %.1f MB) to %s in %s (%.0f records/s)\n",
		sum.Records, sum.Objects, float64(sum.Bytes)/1e6, sum.URI, sum.Duration.Round(time.Millisecond),
		float64(sum.Records)/sum.Duration.Seconds())
	for _, c := range specimen.Cases() {
		n := sum.Cases[c]
		if n == 0 {
			continue
		}
		e := c.Expected()
		want := e.Outcome
		if e.Reason != "" {
			want += " (" + e.Reason + ")"
		}
		fmt.Fprintf(w, "  %-18s %7d  → %s\n", c, n, want)
	}
	fmt.Fprintf(w, "expected outcomes: %s\nmanifest:          %s\n",
		store.KeyURI(specimen.ExpectedName), store.KeyURI(specimen.ManifestName))
}

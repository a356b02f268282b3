package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// versionCmd implements `batch version` (and `batch --version`): the module
// version, the commit and the Go version, from the build information the Go
// toolchain embeds.
func (m *Main) versionCmd(_ context.Context, args []string) int {
	fs := m.flagSet("batch version", "usage: batch version\n\nPrints reverify's version, commit and Go version.\n")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "batch version: unexpected arguments: %v\n", fs.Args())
		return ExitUsage
	}
	fmt.Fprintln(m.Stdout, versionLine(buildInfo()))
	return ExitOK
}

func buildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// versionLine renders build information: "reverify <version> (commit <rev>[,
// modified], <date>) <go version>". A build from a checkout has the version
// "(devel)" and the commit of the checkout; one without VCS stamping says
// "commit unknown".
func versionLine(bi *debug.BuildInfo) string {
	if bi == nil {
		return "reverify (no build information)"
	}
	b := buildOf(bi)
	commit := "commit unknown"
	if b.Commit != "" {
		commit = "commit " + b.Commit
		if b.Modified {
			commit += ", modified"
		}
		if b.CommitTime != "" {
			commit += ", " + b.CommitTime
		}
	}
	return fmt.Sprintf("reverify %s (%s) %s", b.Version, commit, b.GoVersion)
}

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
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	commit := "commit unknown"
	if rev != "" {
		commit = "commit " + rev
		if modified {
			commit += ", modified"
		}
		if at != "" {
			commit += ", " + at
		}
	}
	return fmt.Sprintf("reverify %s (%s) %s", version, commit, bi.GoVersion)
}

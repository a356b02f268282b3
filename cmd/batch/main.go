// Command batch is reverify's command line: it re-verifies archived identity
// document images through Signicat's Assure API and writes the outcomes as
// Parquet. Subcommands: run, cleanup, emulator, specimen, report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
)

// Exit codes (documented in README).
const (
	ExitOK          = 0 // all records final
	ExitFatal       = 1 // fatal error: the run could not go on
	ExitUsage       = 2 // bad usage or invalid configuration
	ExitIncomplete  = 3 // finished, with some error, timeout or skipped rows
	ExitThreshold   = 4 // aborted by the failure threshold
	ExitInterrupted = 5 // interrupted by a signal or the time budget; rerun to resume
)

// Main holds the process's environment so that commands can be tested
// without touching the real one.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Environ lists the environment (os.Environ form), for commands that
	// must see every variable (run refuses unknown REVERIFY_* names).
	Environ func() []string
	// Signals, when set, delivers interrupt signals to commands that drain on
	// them (run). nil means no signal handling.
	Signals <-chan os.Signal
	// sawFlags, when set, is handed every flag set a command makes (the
	// completion scripts read the commands' flags from them).
	sawFlags func(cmd string, fs *flag.FlagSet)
}

type command struct {
	summary string
	run     func(m *Main, ctx context.Context, args []string) int
}

func (m *Main) commands() map[string]command {
	return map[string]command{
		// one line per subcommand, in alphabetical order
		"cleanup":       {"delete the dossiers a run left at the Assure API", (*Main).cleanupCmd},
		"completion":    {"print a shell completion script: batch completion bash|zsh", (*Main).completionCmd},
		"emulator":      {"serve the Assure API emulator", (*Main).emulatorCmd},
		"plan":          {"say what a run would do and cost, paying for nothing", (*Main).planCmd},
		"report":        {"summarise existing Parquet output", (*Main).reportCmd},
		"run":           {"re-verify an archive through the Assure API (the main job)", (*Main).runCmd},
		"specimen":      {"write a synthetic sample archive with expected outcomes", (*Main).specimenCmd},
		"verify-output": {"check a run's Parquet parts against its evidence manifest", (*Main).verifyCmd},
		"version":       {"print reverify's version, commit and Go version", (*Main).versionCmd},
	}
}

// Run executes one command line (without the program name) and returns the
// process exit code. A panic is recovered here and exits 1 (ExitFatal), not
// Go's 2, which is the code of a configuration error that a retry strategy
// must not retry; the deferred closes of the command have run by then
// (the journal is closed as after any failed attempt). The panic's value and
// stack are printed: they name code, not record data.
func (m *Main) Run(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(m.Stderr, "batch: internal error (a bug: please report it with this message): panic: %v\n%s", r, debug.Stack())
			code = ExitFatal
		}
	}()
	cmds := m.commands()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		m.usage(cmds)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(m.Stderr, "batch: unknown command %q\n\n", args[0])
		m.usage(cmds)
		return ExitUsage
	}
	return c.run(m, ctx, args[1:])
}

func (m *Main) usage(cmds map[string]command) {
	names := slices.Sorted(maps.Keys(cmds))
	var b strings.Builder
	b.WriteString("usage: batch <command> [flags]\n\ncommands:\n")
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, cmds[n].summary)
	}
	b.WriteString("\nRun 'batch <command> -h' for a command's flags.\n")
	fmt.Fprint(m.Stderr, b.String())
}

// flagSet returns a command's flags: errors and help go to m.Stderr, the
// help being usage followed by the flags.
func (m *Main) flagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprint(m.Stderr, usage)
		fs.PrintDefaults()
	}
	if m.sawFlags != nil {
		m.sawFlags(strings.TrimPrefix(name, "batch "), fs)
	}
	return fs
}

// parseFlags parses args into fs. When it returns false the command ends
// with code: 0 after -h, 2 after a bad flag (the flag package has said why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK, false
	case err != nil:
		return ExitUsage, false
	}
	return 0, true
}

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ, Signals: sigs}
	os.Exit(m.Run(context.Background(), os.Args[1:]))
}

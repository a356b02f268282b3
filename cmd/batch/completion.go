package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
)

const completionUsage = `usage: batch completion bash|zsh

Prints a completion script for the shell: subcommands, and each one's flags
(file names after the flags that take a path). Load it with
  source <(batch completion bash)        # bash, or in ~/.bashrc
  source <(batch completion zsh)         # zsh (through bashcompinit)
`

// completionCmd implements `batch completion bash|zsh`.
func (m *Main) completionCmd(ctx context.Context, args []string) int {
	fs := m.flagSet("batch completion", completionUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "bash" && fs.Arg(0) != "zsh") {
		fmt.Fprint(m.Stderr, completionUsage)
		return ExitUsage
	}
	script := bashCompletion(m.commandFlags(ctx))
	if fs.Arg(0) == "zsh" {
		script = "#compdef batch\nautoload -U +X bashcompinit && bashcompinit\n" + script
	}
	fmt.Fprint(m.Stdout, script)
	return ExitOK
}

// commandFlags returns each command's flags (without the dash), read from
// the flag sets the commands make when asked for their help.
func (m *Main) commandFlags(ctx context.Context) map[string][]string {
	out := map[string][]string{}
	probe := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard,
		sawFlags: func(cmd string, fs *flag.FlagSet) {
			out[cmd] = nil
			// The flags are defined after the set is made: read them when
			// the command parses (-h), through the usage function.
			usage := fs.Usage
			fs.Usage = func() {
				fs.VisitAll(func(f *flag.Flag) { out[cmd] = append(out[cmd], f.Name) })
				usage()
			}
		}}
	for name := range m.commands() {
		if name == "completion" {
			out[name] = nil
			continue
		}
		probe.Run(ctx, []string{name, "-h"})
		if _, ok := out[name]; !ok {
			out[name] = nil
		}
	}
	return out
}

// pathFlags take a file or folder: complete file names after them.
var pathFlags = map[string]bool{"config": true, "source": true, "manifest": true, "output": true, "out": true, "html": true}

func bashCompletion(flags map[string][]string) string {
	cmds := slices.Sorted(maps.Keys(flags))
	var b strings.Builder
	b.WriteString("# bash completion for reverify's batch (batch completion bash)\n_batch() {\n")
	b.WriteString("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=( $(compgen -W %q -- \"$cur\") )\n    return\n  fi\n",
		strings.Join(append(cmds, "--version", "--help"), " "))
	var paths []string
	for f := range pathFlags {
		paths = append(paths, "--"+f, "-"+f)
	}
	sort.Strings(paths)
	fmt.Fprintf(&b, "  case \"$prev\" in\n    %s) COMPREPLY=( $(compgen -f -- \"$cur\") ); return ;;\n  esac\n", strings.Join(paths, "|"))
	b.WriteString("  case \"${COMP_WORDS[1]}\" in\n")
	for _, c := range cmds {
		words := make([]string, 0, len(flags[c]))
		for _, f := range flags[c] {
			if len(f) == 1 {
				words = append(words, "-"+f) // -v, -q
			} else {
				words = append(words, "--"+f)
			}
		}
		if c == "completion" {
			words = append(words, "bash", "zsh")
		}
		sort.Strings(words)
		fmt.Fprintf(&b, "    %s) COMPREPLY=( $(compgen -W %q -- \"$cur\") ) ;;\n", c, strings.Join(words, " "))
	}
	b.WriteString("  esac\n}\ncomplete -o default -F _batch batch\n")
	return b.String()
}

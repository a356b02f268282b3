package main

import (
	"errors"
	"flag"

	"reverify/internal/config"
)

// verbosity is -v, -q and --log-level: the flags that set logging.level.
type verbosity struct {
	verbose, quiet *bool
	level          *string
}

func addVerbosity(fs *flag.FlagSet) verbosity {
	return verbosity{
		verbose: fs.Bool("v", false, "verbose: log at debug level, a line per API call (logging.level=debug)"),
		quiet:   fs.Bool("q", false, "quiet: log warnings and errors only (logging.level=warn)"),
		level:   fs.String("log-level", "", "debug, info, warn or error (logging.level)"),
	}
}

// setting is the logging.level the flags ask for (ok false: none). Two of
// them at once is an error: no flag silently wins over another.
func (v verbosity) setting() (s config.Setting, ok bool, err error) {
	n := 0
	if *v.verbose {
		s, n = config.Setting{Key: "logging.level", Value: "debug", Source: "-v"}, n+1
	}
	if *v.quiet {
		s, n = config.Setting{Key: "logging.level", Value: "warn", Source: "-q"}, n+1
	}
	if *v.level != "" {
		s, n = config.Setting{Key: "logging.level", Value: *v.level, Source: "--log-level"}, n+1
	}
	if n > 1 {
		return config.Setting{}, false, errors.New("-v, -q and --log-level each set the log level: give one")
	}
	return s, n == 1, nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"reverify/internal/assure/emulator"
)

// emulatorShutdownTimeout bounds the graceful shutdown of `batch emulator`.
const emulatorShutdownTimeout = 10 * time.Second

// emulatorCmd serves the Assure API emulator until ctx is canceled or a
// signal arrives on m.Signals.
func (m *Main) emulatorCmd(ctx context.Context, args []string) int {
	fs := m.flagSet("emulator", "usage: batch emulator [flags]\n\n"+
		"Serves the Assure API emulator (token endpoint, /assure API, /_emulator admin).\n"+
		"Flags override the config file. See docs/emulator.md.\n\nflags:\n")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	configPath := fs.String("config", "", "scenario file (YAML over the defaults, e.g. configs/emulator-faults.yaml)")
	clientID := fs.String("client-id", emulator.DefaultClientID, "client id the token endpoint accepts")
	clientSecret := fs.String("client-secret", emulator.DefaultClientSecret, "client secret the token endpoint accepts")
	timeScale := fs.Float64("time-scale", 1, "delay factor: 0.01 runs 100x faster than real time")
	seed := fs.Int64("seed", 1, "seed of the deterministic draws (latency, token key)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "batch emulator: unexpected arguments: %v\n", fs.Args())
		fs.Usage()
		return ExitUsage
	}

	cfg := emulator.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = emulator.LoadConfig(*configPath); err != nil {
			fmt.Fprintf(m.Stderr, "batch emulator: %v\n", err)
			return ExitUsage
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "client-id":
			cfg.ClientID = *clientID
		case "client-secret":
			cfg.ClientSecret = *clientSecret
		case "time-scale":
			cfg.TimeScale = *timeScale
		case "seed":
			cfg.Seed = *seed
		}
	})
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(m.Stderr, "batch emulator: invalid configuration:\n%v\n", err)
		return ExitUsage
	}

	logger := slog.New(slog.NewTextHandler(m.Stderr, nil))
	emu, err := emulator.New(cfg, emulator.WithLogger(logger))
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch emulator: %v\n", err)
		return ExitUsage
	}
	srv, err := serveEmulator(ctx, emu, *addr, logger)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch emulator: %v\n", err)
		return ExitFatal
	}
	base := strings.TrimSuffix(srv.BaseURL, "/assure")
	// The banner in one write: whoever reads "listening on" (a script, a
	// test) has every line of it.
	var banner strings.Builder
	fmt.Fprintf(&banner, "Assure API emulator listening on %s\n", base)
	fmt.Fprintf(&banner, "  token URL:     %s\n", srv.TokenURL)
	fmt.Fprintf(&banner, "  base URL:      %s\n", srv.BaseURL)
	fmt.Fprintf(&banner, "  client id:     %s\n", cfg.ClientID)
	fmt.Fprintf(&banner, "  client secret: %s\n", cfg.ClientSecret)
	fmt.Fprintf(&banner, "  admin:         %s/_emulator/counters, /_emulator/reset, /_emulator/faults, /_emulator/config\n", base)
	fmt.Fprintf(&banner, "  time scale:    %g, seed %d\n", cfg.TimeScale, cfg.Seed)
	io.WriteString(m.Stdout, banner.String())

	select {
	case err := <-srv.served:
		fmt.Fprintf(m.Stderr, "batch emulator: serve: %v\n", err)
		return ExitFatal
	case <-ctx.Done():
		logger.Info("stopping", "reason", "context canceled")
	case sig := <-m.Signals: // nil channel: never
		logger.Info("stopping", "signal", sig.String())
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), emulatorShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(m.Stderr, "batch emulator: %v\n", err)
		return ExitFatal
	}
	logger.Info("stopped")
	return ExitOK
}

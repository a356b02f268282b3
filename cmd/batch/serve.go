package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"reverify/internal/assure/emulator"
	"reverify/internal/config"
)

// servedEmulator is an emulator listening on a loopback (or given) address.
type servedEmulator struct {
	Emu                    *emulator.Emulator
	BaseURL, TokenURL      string
	ClientID, ClientSecret string
	srv                    *http.Server
	served                 chan error
}

// serveEmulator starts emu's HTTP server on addr.
func serveEmulator(ctx context.Context, emu *emulator.Emulator, addr string, log *slog.Logger) (*servedEmulator, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &servedEmulator{Emu: emu, served: make(chan error, 1), srv: &http.Server{
		Handler:           emu,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	base := "http://" + ln.Addr().String()
	cfg := emu.Config()
	s.BaseURL, s.TokenURL = base+"/assure", base+"/auth/open/connect/token"
	s.ClientID, s.ClientSecret = cfg.ClientID, cfg.ClientSecret
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// Shutdown stops the server gracefully within ctx, then the emulator (its
// image folder, when it has one, is removed).
func (s *servedEmulator) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-s.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return s.Emu.Close()
}

// Close stops the server within a few seconds.
func (s *servedEmulator) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// startEmulator starts the in-process emulator of a dry run on a free
// loopback port: the scenario file (if any) over the defaults, then the
// run's time scale and seed.
func startEmulator(ctx context.Context, c config.EmulatorConfig, log *slog.Logger) (*servedEmulator, error) {
	cfg := emulator.DefaultConfig()
	if c.Scenario != "" {
		var err error
		if cfg, err = emulator.LoadConfig(c.Scenario); err != nil {
			return nil, fmt.Errorf("emulator.scenario: %w", err)
		}
	}
	cfg.TimeScale, cfg.Seed = c.TimeScale, c.Seed
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	emu, err := emulator.New(cfg, emulator.WithLogger(log))
	if err != nil {
		return nil, err
	}
	return serveEmulator(ctx, emu, "127.0.0.1:0", log)
}

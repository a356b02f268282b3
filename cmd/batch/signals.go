package main

import (
	"context"
	"log/slog"
	"time"
)

// stopper is what watchStops stops.
type stopper interface{ Stop() }

// watchStops turns signals and the time budget into stops: the first signal
// (or the budget, less the grace period and a margin for the final writes)
// asks the run to drain; a second signal cancels it at once. The returned
// function ends the watch.
func (m *Main) watchStops(ctx context.Context, cancel context.CancelFunc, p stopper, budget, grace time.Duration, log *slog.Logger) func() {
	done := make(chan struct{})
	var budgetC <-chan time.Time
	var timer *time.Timer
	if budget > 0 {
		// Stop intake early enough to drain and write within the budget.
		at := budget - grace - 10*time.Second
		if at < budget/2 {
			at = budget / 2
		}
		timer = time.NewTimer(at)
		budgetC = timer.C
	}
	go func() {
		if timer != nil {
			defer timer.Stop()
		}
		stopped := false
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-budgetC:
				budgetC = nil
				if !stopped {
					stopped = true
					log.Warn("time budget nearly used: stopping intake and draining", "max_duration", budget.String())
					p.Stop()
				}
			case sig := <-m.Signals:
				if !stopped {
					stopped = true
					log.Warn("signal: stopping intake, draining in-flight work; a second signal exits at once",
						"signal", sig.String(), "grace_period", grace.String())
					p.Stop()
					continue
				}
				log.Warn("second signal: exiting now; the journal is consistent, rerun with the same run id", "signal", sig.String())
				cancel()
				return
			}
		}
	}()
	return func() { close(done) }
}

package pipeline

import (
	"context"
	"fmt"
	"time"

	"reverify/internal/report"
)

// Threshold stops a misconfigured run before it burns the budget: when more
// than MaxErrorShare of the first MinRecords records that reached the API
// (skipped ones do not) end in `error`, the run ends with ErrThreshold.
// MinRecords 0 disables it. The yaml tags are the keys of the
// configuration's failure_threshold section.
type Threshold struct {
	MinRecords    int     `yaml:"min_records"`
	MaxErrorShare float64 `yaml:"max_error_share"`
}

// thresholdCheck judges the first MinRecords outcomes.
type thresholdCheck struct {
	t            Threshold
	seen, errors int
}

// add counts one outcome and fails as soon as the share is certain to be
// exceeded (no later record of the first MinRecords can bring it back).
// Skipped records made no API call: they neither count nor dilute.
func (c *thresholdCheck) add(outcome string) error {
	if c.t.MinRecords <= 0 || c.seen >= c.t.MinRecords || outcome == report.OutcomeSkipped {
		return nil
	}
	c.seen++
	if outcome == report.OutcomeError {
		c.errors++
	}
	if float64(c.errors) > c.t.MaxErrorShare*float64(c.t.MinRecords) {
		return fmt.Errorf("%w: %d of the first %d records ended in error (the limit is %.0f%% of %d); check the credentials, the API URL and the archive, then rerun",
			ErrThreshold, c.errors, c.seen, c.t.MaxErrorShare*100, c.t.MinRecords)
	}
	return nil
}

// writeLoop is the single report writer: it makes every record's row,
// writes it, frees the record's in-flight slot, checks the failure threshold
// and reports progress.
func (p *Pipeline) writeLoop(ctx context.Context, rows <-chan *record, started time.Time) (err error) {
	sinkBroken := false
	defer func() {
		if sinkBroken {
			return
		}
		// Commit the rows written so far, also when the run failed: they are
		// real outcomes. The run's context may be gone: use a fresh one.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cerr := p.deps.Rows.Close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("write report: %w", cerr)
		}
	}()
	check := thresholdCheck{t: p.opt.Threshold}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if err := p.deps.Rows.FlushIfDue(ctx); err != nil {
				sinkBroken = true
				return fmt.Errorf("write report: %w", err)
			}
			// Also when nothing completes: a display can say what the run
			// waits for.
			if p.deps.Progress != nil {
				p.deps.Progress(p.progress(started))
			}
		case t, ok := <-rows:
			if !ok {
				return nil
			}
			p.release(t)
			if err := p.deps.Rows.Write(ctx, p.row(t)); err != nil {
				sinkBroken = true
				return fmt.Errorf("write report: %w", err)
			}
			if p.deps.Progress != nil {
				p.deps.Progress(p.progress(started))
			}
			if err := check.add(t.st.end.outcome); err != nil {
				return err
			}
		}
	}
}

func (p *Pipeline) progress(started time.Time) Progress {
	t := p.deps.Rows.Written()
	return Progress{Listed: p.listed.Load(), ListingEnd: p.listingDone.Load(), Done: t.Records,
		InFlight: p.inFlight.Load(), Polling: p.polling.Load(), Outcomes: t.Outcomes, Started: started,
		Counted: p.counted.Load(), CountEnd: p.countDone.Load(), Resumed: p.resumed.Load()}
}

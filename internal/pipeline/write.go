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
// MinRecords 0 disables it.
type Threshold struct {
	MinRecords    int
	MaxErrorShare float64
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

// writeLoop is the single report writer: it writes every row, frees the
// task's in-flight slot, checks the failure threshold and reports progress.
func (p *Pipeline) writeLoop(ctx context.Context, rows <-chan *task, started time.Time) (totals report.Totals, err error) {
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
	closed := false
	for !closed {
		select {
		case <-ctx.Done():
			return totals, ctx.Err()
		case <-tick.C:
			if err := p.deps.Rows.FlushIfDue(ctx); err != nil {
				sinkBroken = true
				return totals, fmt.Errorf("write report: %w", err)
			}
		case t, ok := <-rows:
			if !ok {
				closed = true
				break
			}
			if t.row.CompletedAt == nil {
				completeRow(&t.row, &t.stats, t.submitted, p.opt.Now())
			}
			p.release(t)
			if err := p.deps.Rows.Write(ctx, t.row); err != nil {
				sinkBroken = true
				return totals, fmt.Errorf("write report: %w", err)
			}
			totals.Add(&t.row)
			if p.deps.Progress != nil {
				p.deps.Progress(p.progress(&totals, started))
			}
			if err := check.add(t.row.Outcome); err != nil {
				return totals, err
			}
		}
	}
	return totals, nil
}

func (p *Pipeline) progress(t *report.Totals, started time.Time) Progress {
	out := make(map[string]int64, len(t.Outcomes))
	for k, v := range t.Outcomes {
		out[k] = v
	}
	return Progress{Listed: p.listed.Load(), ListingEnd: p.listingDone.Load(), Done: t.Records,
		InFlight: p.inFlight.Load(), Outcomes: out, Started: started}
}

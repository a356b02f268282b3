package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"reverify/internal/fault"
	"reverify/internal/source"
)

// PlanOptions are what a plan needs of a run's options.
type PlanOptions struct {
	Shard, ShardCount int
	Limit             int // at most this many records of the shard (0: all)
	Workers           int // records preflighted at once (concurrency.uploads)
	// Documents is the API's PictureID document ids (nil: not checked, as
	// a run does when the list cannot be had).
	Documents map[int]bool
}

// PlanSkip is a record a run would skip, and why (problem codes and their
// details: file names and field values of the archive, no image data).
type PlanSkip struct {
	RecordID string   `json:"record_id"`
	Origin   string   `json:"origin"`
	Codes    []string `json:"codes"`
	Detail   string   `json:"detail"`
}

// PlanResult counts what a run of the shard would do before paying.
type PlanResult struct {
	Listed   int64 `json:"records"`
	ToVerify int64 `json:"to_verify"`
	Skipped  int64 `json:"skipped"`
	// ReadErrors: records whose images could not be read now (a run's
	// source_read error rows; a temporary failure may pass then).
	ReadErrors int64 `json:"read_errors"`
	// SkipReasons counts skipped records per problem code (a record with
	// two problems counts under both).
	SkipReasons map[string]int64 `json:"skip_reasons"`
	// By process type, document id and previous status, every listed
	// record (at most maxPlanKeys distinct values each; the rest under
	// "other").
	ByProcessType map[string]int64 `json:"by_process_type"`
	ByDocumentID  map[string]int64 `json:"by_document_id"`
	ByPrevious    map[string]int64 `json:"by_previous_status"`
}

// maxPlanKeys bounds the distinct values a plan counts per dimension.
const maxPlanKeys = 1000

// Plan lists the shard's records and preflights each exactly as a run
// does (Archive.Load: the images fetched and checked; the document id
// against the API's types), making no API call. onSkip is told each record
// a run would skip, as it is found (calls are serialised). It returns an
// error only when the archive cannot be listed or read at all
// (source.ErrAbort) or ctx ends.
func Plan(ctx context.Context, archive Archive, opt PlanOptions, onSkip func(PlanSkip) error) (PlanResult, error) {
	res := PlanResult{SkipReasons: map[string]int64{}, ByProcessType: map[string]int64{},
		ByDocumentID: map[string]int64{}, ByPrevious: map[string]int64{}}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	records := make(chan source.Record, max(opt.Workers, 1))
	g.Go(func() error {
		defer close(records)
		taken := 0
		errStop := errors.New("limit reached")
		err := archive.Records(gctx, func(r source.Record) error {
			if !InShard(r.ID, opt.Shard, opt.ShardCount) {
				return nil
			}
			if opt.Limit > 0 && taken >= opt.Limit {
				return errStop
			}
			taken++
			mu.Lock()
			res.Listed++
			countKey(res.ByProcessType, string(r.ProcessType))
			doc := "(none)"
			if r.DocumentID != 0 {
				doc = strconv.Itoa(r.DocumentID)
			}
			countKey(res.ByDocumentID, doc)
			prev := strings.ToLower(strings.TrimSpace(r.PreviousStatus))
			if prev == "" {
				prev = "(none)"
			}
			countKey(res.ByPrevious, prev)
			mu.Unlock()
			select {
			case records <- r:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list records: %w", err)
		}
		return nil
	})
	for range max(opt.Workers, 1) {
		g.Go(func() error {
			for r := range records {
				_, problems, err := archive.Load(gctx, r)
				if err != nil {
					if fault.Fatal(err) || gctx.Err() != nil {
						return err
					}
					mu.Lock()
					res.ReadErrors++
					mu.Unlock()
					continue
				}
				if pr, ok := documentProblem(opt.Documents, &r); !ok {
					problems = append(problems, pr)
				}
				mu.Lock()
				if len(problems) == 0 {
					res.ToVerify++
					mu.Unlock()
					continue
				}
				res.Skipped++
				s := PlanSkip{RecordID: r.ID, Origin: r.Origin}
				var details []string
				for _, p := range problems {
					res.SkipReasons[p.Code]++
					s.Codes = append(s.Codes, p.Code)
					details = append(details, p.Detail)
				}
				s.Detail = strings.Join(details, "; ")
				var serr error
				if onSkip != nil {
					serr = onSkip(s)
				}
				mu.Unlock()
				if serr != nil {
					return serr
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return res, err
}

// countKey adds one to m[k], or to m["other"] once m holds maxPlanKeys
// values.
func countKey(m map[string]int64, k string) {
	if _, ok := m[k]; !ok && len(m) >= maxPlanKeys {
		k = "other"
	}
	m[k]++
}

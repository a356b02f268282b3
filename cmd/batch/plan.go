package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/config"
	"reverify/internal/fault"
	"reverify/internal/pipeline"
	"reverify/internal/sample"
	"reverify/internal/source"
)

const planUsage = `usage: batch plan [--config FILE] [--offline] [--unit-price P] [flags of batch run]

Says what 'batch run' with the same configuration and flags would do, and
pays for nothing: it lists the shard's records and preflights each exactly
as a run does (every image fetched and checked, the document id against the
API's PictureID document types), then prints the records by process type,
document id and previous status, every record a run would skip and why, the
API calls, the wall time at the configured rate (and at api.max_rate under
api.rate: auto) and, with --unit-price, the cost. The only API calls are a
token and the document types list; --offline makes none (document ids are
then not checked, as a run does when the list cannot be had). It writes
nothing to the output.

--output and --run-id are accepted so that a run's command line plans as
it is, and are not used: a plan writes nothing. --max-duration is compared
with the wall time.

Output: the skipped records as they are found (one line each), then the
plan; --json prints JSON lines instead: {"kind":"skip",...} per skipped
record, then one {"kind":"plan",...}.

Exit codes: 0 planned; 1 the archive or the API unreachable; 2 usage or
configuration.

flags:
`

// Estimates of a plan. Calls per verified record: create dossier, create
// process, set images, start, one poll, delete (6, measured 6.01-6.06 with
// the list calls of bulk status: docs/performance.md), one more with
// output.download_results. Latency: the emulator's default, about 30 s from
// the first call to the final answer; the real API publishes none.
const (
	planCallsPerRecord = 6
	planListsPerRecord = 1.0 / 40 // bulk status: a list per about 40 records
	planLatency        = 30 * time.Second
)

// planCmd implements `batch plan`.
func (m *Main) planCmd(ctx context.Context, args []string) int {
	var offline *bool
	var unitPrice *float64
	cfg, jsonOut, code, ok := m.runConfig("batch plan", planUsage, args, false, func(fs *flag.FlagSet) {
		offline = fs.Bool("offline", false, "make no API call at all (document ids are not checked)")
		unitPrice = fs.Float64("unit-price", 0, "price of one verification, for the cost estimate (your contract's currency)")
	})
	if !ok {
		return code
	}
	if *unitPrice < 0 || math.IsNaN(*unitPrice) || math.IsInf(*unitPrice, 0) {
		fmt.Fprintf(m.Stderr, "batch plan: --unit-price %g: want a price of 0 or more\n", *unitPrice)
		return ExitUsage
	}
	log, err := m.loggerTo(m.Stderr, cfg.Logging)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch plan: %v\n", err)
		return ExitUsage
	}
	code, err = m.plan(ctx, cfg, log, *offline, *unitPrice, jsonOut)
	if err != nil {
		fmt.Fprintf(m.Stderr, "batch plan: %v\n", err)
	}
	return code
}

// planReport is the plan as --json prints it (kind "plan").
type planReport struct {
	Kind string `json:"kind"`
	pipeline.PlanResult
	Shard          int           `json:"shard"`
	ShardCount     int           `json:"shard_count"`
	DryRun         bool          `json:"dry_run"`
	DocumentsCheck string        `json:"document_ids_checked"` // yes, no (offline), no (unavailable)
	APICalls       int64         `json:"api_calls"`
	Rate           float64       `json:"rate"`
	RateMode       string        `json:"rate_mode"`
	WallS          float64       `json:"wall_s"`
	WallAtMaxS     *float64      `json:"wall_at_max_rate_s,omitempty"`
	MaxDurationS   float64       `json:"max_duration_s,omitempty"`
	Sample         *planSample   `json:"sample,omitempty"`
	Verified       *planVerified `json:"already_verified,omitempty"`
	UnitPrice      *float64      `json:"unit_price,omitempty"`
	Cost           *float64      `json:"cost,omitempty"`
}

func (m *Main) plan(ctx context.Context, cfg config.Config, log *slog.Logger, offline bool, unitPrice float64, jsonOut bool) (int, error) {
	shard, count := cfg.Shard()
	rep := planReport{Kind: "plan", Shard: shard, ShardCount: count, DryRun: cfg.Run.DryRun, RateMode: rateMode(cfg)}
	var documents map[int]bool
	switch {
	case offline:
		rep.DocumentsCheck = "no (--offline)"
	default:
		ids, err := planDocumentIDs(ctx, cfg, log)
		if err != nil {
			return exitFor(err), err
		}
		documents = ids
		rep.DocumentsCheck = "yes"
		if ids == nil {
			rep.DocumentsCheck = "no (the API's list is unavailable or has no ids)"
		}
	}
	archive, err := source.Open(ctx, blob.NewOpener(cfg.SourceS3()), sourceConfig(cfg))
	if err != nil {
		return exitFor(err), err
	}
	enc := json.NewEncoder(m.Stdout)
	onSkip := func(s pipeline.PlanSkip) error {
		if jsonOut {
			return enc.Encode(struct {
				Kind string `json:"kind"`
				pipeline.PlanSkip
			}{"skip", s})
		}
		_, err := fmt.Fprintf(m.Stdout, "skip %s (%s): %s: %s\n", s.RecordID, s.Origin, strings.Join(s.Codes, ","), s.Detail)
		return err
	}
	listed, skipping, err := selection(ctx, cfg, archive, shard, count)
	if err != nil {
		return exitFor(err), err
	}
	res, err := pipeline.Plan(ctx, listed, pipeline.PlanOptions{Shard: shard, ShardCount: count, Limit: cfg.Run.Limit,
		Workers: cfg.Concurrency.Uploads, Documents: documents}, onSkip)
	if err != nil {
		err = fmt.Errorf("plan: %w", err)
		return exitFor(err), err
	}
	rep.PlanResult = res
	if skipping != nil {
		since, _ := cfg.Run.VerifiedSince()
		rep.Verified = &planVerified{Since: since.Format(time.RFC3339), History: cmp.Or(cfg.Run.History, cfg.Output.URI),
			Records: skipping.Dropped()}
	}
	if sa, ok := listed.(*sample.Archive); ok {
		pop, _ := sa.Population()
		rep.Sample = &planSample{Of: pop, Spec: cfg.Run.Sample, Seed: cfg.Run.SampleSeed}
	}

	perRecord := float64(planCallsPerRecord)
	if cfg.Output.DownloadResults {
		perRecord++
	}
	if cfg.Poll.BulkStatus {
		perRecord += planListsPerRecord
	}
	rep.APICalls = int64(math.Ceil(float64(res.ToVerify) * perRecord))
	wall := func(rate float64) float64 {
		byRate := float64(rep.APICalls) / rate
		byConcurrency := float64(res.ToVerify) * planLatency.Seconds() / float64(max(cfg.Concurrency.InFlight, 1))
		return math.Round(max(byRate, byConcurrency))
	}
	if start, ceiling, ok := cfg.AdaptiveRate(); ok {
		// Adaptive: the rate the API's quota allows is unknown; from the
		// start rate to the ceiling.
		rep.Rate = start
		rep.WallS = wall(start)
		w := wall(ceiling)
		rep.WallAtMaxS = &w
	} else {
		rep.Rate = cfg.EffectiveRate()
		rep.WallS = wall(rep.Rate)
	}
	rep.MaxDurationS = cfg.Run.MaxDuration.Seconds()
	if unitPrice > 0 {
		cost := math.Round(float64(res.ToVerify)*unitPrice*100) / 100
		rep.UnitPrice, rep.Cost = &unitPrice, &cost
	}
	if jsonOut {
		return ExitOK, enc.Encode(rep)
	}
	renderPlan(m.Stdout, rep, cfg)
	return ExitOK, nil
}

// planSample says which sample the plan's records are (run.sample).
type planSample struct {
	Spec string `json:"spec"`
	Seed int64  `json:"seed"`
	Of   int64  `json:"of_records"` // the shard's records it was chosen from
}

// planVerified says how many records run.skip_verified_since leaves out.
type planVerified struct {
	Since   string `json:"since"`
	History string `json:"history"`
	Records int64  `json:"records"`
}

// planDocumentIDs asks the API (or the bundled emulator, in a dry run) for
// PictureID's document ids: a token and one list call.
func planDocumentIDs(ctx context.Context, cfg config.Config, log *slog.Logger) (map[int]bool, error) {
	apiCfg := assureConfig(cfg)
	apiCfg.Logger = log
	if cfg.Run.DryRun {
		emu, err := startEmulator(ctx, cfg.Emulator, slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, fmt.Errorf("start the emulator: %w", err)
		}
		defer func() { _ = emu.Shutdown(context.WithoutCancel(ctx)) }()
		apiCfg.BaseURL, apiCfg.TokenURL = emu.BaseURL, emu.TokenURL
		apiCfg.ClientID, apiCfg.ClientSecret = emu.ClientID, emu.ClientSecret
	}
	client, err := assure.New(apiCfg)
	if err != nil {
		return nil, fault.Mark(fault.Config, err)
	}
	return pipeline.DocumentIDs(ctx, client, log)
}

// renderPlan prints the plan for a person.
func renderPlan(w io.Writer, r planReport, cfg config.Config) {
	mode := ""
	if r.DryRun {
		mode = "  DRY RUN (bundled emulator)"
	}
	fmt.Fprintf(w, "plan  shard %d of %d%s  (nothing was paid; the output was not touched)\n", r.Shard, r.ShardCount, mode)
	if v := r.Verified; v != nil {
		fmt.Fprintf(w, "already verified since %s in %s: %d records, left out\n", v.Since, v.History, v.Records)
	}
	if r.Sample != nil {
		fmt.Fprintf(w, "sample %s (seed %d): %d of the shard's %d records, stratified by previous status and document id\n",
			r.Sample.Spec, r.Sample.Seed, r.Listed, r.Sample.Of)
	}
	fmt.Fprintf(w, "records %d  to verify %d  skipped %d", r.Listed, r.ToVerify, r.Skipped)
	if r.ReadErrors > 0 {
		fmt.Fprintf(w, "  unreadable now %d (error rows unless the archive answers then)", r.ReadErrors)
	}
	fmt.Fprintf(w, "\ndocument ids checked against the API: %s\n", r.DocumentsCheck)
	if len(r.SkipReasons) > 0 {
		fmt.Fprintf(w, "skipped, by reason: %s\n", countList(r.SkipReasons, 0))
	}
	fmt.Fprintf(w, "by process type: %s\n", countList(r.ByProcessType, 10))
	fmt.Fprintf(w, "by document id: %s\n", countList(r.ByDocumentID, 10))
	fmt.Fprintf(w, "by previous status: %s\n", countList(r.ByPrevious, 10))
	fmt.Fprintf(w, "API calls about %d (%.2f per record to verify)\n", r.APICalls, float64(r.APICalls)/float64(max(r.ToVerify, 1)))
	if r.WallAtMaxS != nil {
		fmt.Fprintf(w, "wall time about %s at api.max_rate (%g/s), %s at the start rate (%g/s): api.rate auto finds the quota in between\n",
			seconds(*r.WallAtMaxS), cfg.EffectiveRate(), seconds(r.WallS), r.Rate)
	} else {
		fmt.Fprintf(w, "wall time about %s at %g requests/s (concurrency.in_flight %d, about %s per verification)\n",
			seconds(r.WallS), r.Rate, cfg.Concurrency.InFlight, planLatency)
	}
	if d := cfg.Run.MaxDuration; d > 0 && r.WallS > d.Seconds() {
		fmt.Fprintf(w, "longer than --max-duration %s: the run stops intake in time and a rerun with the same run id goes on\n", d)
	}
	if r.Cost != nil {
		fmt.Fprintf(w, "cost about %.2f (%d verifications at %g)\n", *r.Cost, r.ToVerify, *r.UnitPrice)
	}
}

func seconds(s float64) string { return (time.Duration(s) * time.Second).String() }

// countList renders counts, largest first ("a 3, b 1"); at most n (0: all),
// then "+k more".
func countList(m map[string]int64, n int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	var parts []string
	for i, k := range keys {
		if n > 0 && i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(keys)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

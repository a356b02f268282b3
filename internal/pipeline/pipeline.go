// Package pipeline runs a verification job: it lists an archive's records,
// uploads each record's images to the Assure API, polls the processes until
// they are final, records one outcome row per record and cleans up after
// itself — concurrently, under one global rate limit, with retries that
// never pay twice.
//
// Stages (one errgroup):
//
//	lister → submitters → poll scheduler → finalizers → deleters → report writer
//
// The lister streams records; submitters (Options.Uploads of them) fetch and
// check images and make the four submit calls; the scheduler holds every
// started process in a heap and polls each when due with a few workers;
// finalizers download results and journal final entries; deleters delete
// dossiers once those entries are on storage; one writer writes rows.
// A fatal error cancels every stage.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"reverify/internal/assure"
	"reverify/internal/fault"
	"reverify/internal/journal"
	"reverify/internal/privacy"
	"reverify/internal/report"
	"reverify/internal/source"
)

// Archive is what the pipeline needs of a record source.
type Archive interface {
	Records(ctx context.Context, fn func(source.Record) error) error
	Load(ctx context.Context, r source.Record) (*source.Images, []source.Problem, error)
}

// API is what the pipeline needs of the Assure API client. The client owns
// the whole call policy — the shared rate bucket, Retry-After pauses,
// retries, every call's budget, the classification of errors — and the
// pipeline adds no retries: for the calls that are not idempotent it only
// says how to read their state back (assure.ReadBack).
type API interface {
	CreateDossier(ctx context.Context, externalReference string, find assure.ReadBack[assure.Dossier]) (*assure.Dossier, error)
	GetDossier(ctx context.Context, dossierID string) (*assure.DossierResponse, error)
	ListDossiers(ctx context.Context) ([]assure.Dossier, error)
	DeleteDossierEvidence(ctx context.Context, dossierID string) (assure.Deletion, error)
	CreateProcess(ctx context.Context, dossierID string, req assure.CreateProcessRequest, clear assure.ReadBack[assure.ProcessResponse]) (*assure.ProcessResponse, error)
	DeleteProcess(ctx context.Context, dossierID, processID string) error
	SetImages(ctx context.Context, dossierID, processID string, imgs assure.Images) error
	StartVerification(ctx context.Context, dossierID, processID string, confirm assure.ReadBack[assure.VerifyResponse]) (*assure.VerifyResponse, error)
	GetProcess(ctx context.Context, dossierID, processID string) (*assure.Process, error)
	EachProcess(ctx context.Context, q assure.ProcessQuery, fn func(assure.ListedProcess) error) error
	DownloadResult(ctx context.Context, dossierID, processID string) ([]byte, bool, error)
	DocumentTypes(ctx context.Context, provider string) ([]assure.DocumentType, error)
}

// Counter is an archive that can count its records ahead of listing them
// (keys only, bounded memory), for a progress display's total.
type Counter interface {
	Count(ctx context.Context, keep func(id string) bool, seen func(n int64)) (int64, error)
}

// RowSink receives the outcome rows; one goroutine calls it.
type RowSink interface {
	Write(ctx context.Context, rows ...report.Row) error
	FlushIfDue(ctx context.Context) error
	Close(ctx context.Context) error
	// Written returns the totals of the rows written so far.
	Written() report.Totals
}

// Journal records the records' progress (internal/journal): Append returns
// once a durable entry would survive a crash of this process, where the
// store allows that cheaply; Sync once every entry appended so far is on
// storage, on any store; Await(Mark()) the same, at the journal's next
// periodic write instead of at once.
type Journal interface {
	Append(ctx context.Context, e journal.Entry) error
	Sync(ctx context.Context) error
	Mark() uint64
	Await(ctx context.Context, mark uint64) error
}

// ResultStore keeps full-result zips.
type ResultStore interface {
	Put(ctx context.Context, key string, data []byte) error
	KeyURI(key string) string
}

// Options shape a run.
type Options struct {
	RunID      string
	Shard      int
	ShardCount int
	// Limit is the most records this shard takes (0: all).
	Limit  int
	DryRun bool

	Concurrency
	Poll PollConfig

	DownloadResults bool
	KeepDossiers    bool

	// PersonalData is what the rows' identifier columns hold
	// (output.personal_data; "" is privacy.Omit); HashKey is the key of
	// privacy.Hash. Applied where a row is made (row.go).
	PersonalData privacy.Policy
	HashKey      privacy.Key

	Threshold Threshold

	// GracePeriod: after Stop, how long in-flight processes are still polled
	// before the run ends (they are resumed by the next run).
	GracePeriod time.Duration

	Logger *slog.Logger
	Now    func() time.Time
}

// Concurrency sizes the stages. The yaml tags are the keys of the
// configuration's concurrency section.
type Concurrency struct {
	// Uploads bounds the records being fetched and uploaded at once: their
	// images are in memory.
	Uploads int `yaml:"uploads"`
	// InFlight bounds the records between their first paid call and their
	// row: mostly processes being polled, which are cheap.
	InFlight int `yaml:"in_flight"`
	// PollWorkers poll due processes; Finalizers download and delete.
	PollWorkers int `yaml:"poll_workers"`
	Finalizers  int `yaml:"finalizers"`
}

// Deps are the pipeline's collaborators.
type Deps struct {
	Archive Archive
	API     API
	// Meter is the API client's observer; the summary's call counts come
	// from it. Optional.
	Meter   *Meter
	Rows    RowSink
	Results ResultStore // required when Options.DownloadResults
	Journal Journal     // optional: nil records nothing
	// Dossiers is the dossier log (report.DossierLogPrefix): every dossier
	// created and every deletion with the API's answer, the evidence of
	// deletion. Optional: nil records nothing.
	Dossiers Journal
	// Resume holds what earlier attempts of the same run left.
	Resume *journal.State
	// Progress, when set, is called with a snapshot after every row.
	Progress func(Progress)
}

// Progress is a snapshot for progress displays, taken after every row and
// every second.
type Progress struct {
	Listed     int64 // records taken from the archive so far
	ListingEnd bool  // the listing is complete: Listed is the total
	// Counted is how many records a count ahead of the listing found so
	// far (an archive that can count: Counter); CountEnd: it is the total.
	Counted  int64
	CountEnd bool
	// Resumed counts the listed records whose rows earlier attempts
	// committed: done before this attempt began.
	Resumed  int64
	Done     int64 // rows written
	InFlight int64
	// Polling counts the started processes waiting for their final status.
	Polling  int64
	Outcomes map[string]int64
	Started  time.Time
}

// Result describes a finished (or stopped) run.
type Result struct {
	Listed int64
	// Resumed counts records skipped because an earlier attempt committed
	// their row; Interrupted counts records left unfinished by a stop.
	Resumed     int64
	Interrupted int64
	Totals      report.Totals
	Calls       CallStats
	Started     time.Time
	Finished    time.Time
	Stopped     bool // Stop was called before the run finished
}

// drainMargin is how long after the grace period the calls still under way
// are cut short.
const drainMargin = time.Second

// errDrainEnded is the cause of the run's context ending after a drain.
var errDrainEnded = errors.New("the grace period is over")

// ErrThreshold ends a run whose early records failed too often.
var ErrThreshold = errors.New("failure threshold exceeded")

// Pipeline is one run of one shard.
type Pipeline struct {
	opt  Options
	deps Deps
	log  *slog.Logger

	stop     chan struct{} // closed by Stop: no new records
	stopOnce atomic.Bool
	// slots bounds the records between their first paid call and their row.
	slots chan struct{}

	// documents are the documentIds the API accepts (nil: not checked).
	documents map[int]bool

	listed      atomic.Int64
	listingDone atomic.Bool
	counted     atomic.Int64 // by the count ahead of the listing (Counter)
	countDone   atomic.Bool
	inFlight    atomic.Int64
	polling     atomic.Int64 // records between their start and their finalizer
	resumed     atomic.Int64
	interrupted atomic.Int64
}

// New checks opts and deps and returns a pipeline.
func New(opt Options, deps Deps) (*Pipeline, error) {
	if deps.Archive == nil || deps.API == nil || deps.Rows == nil {
		return nil, errors.New("pipeline: archive, API and row sink are required")
	}
	if opt.DownloadResults && deps.Results == nil {
		return nil, errors.New("pipeline: downloading results needs a result store")
	}
	if opt.PersonalData == "" {
		opt.PersonalData = privacy.Omit
	}
	switch {
	case !opt.PersonalData.Valid():
		return nil, fmt.Errorf("pipeline: personal data policy %q unknown", string(opt.PersonalData))
	case opt.PersonalData == privacy.Hash && len(opt.HashKey) < privacy.MinKeyBytes:
		return nil, errors.New("pipeline: the hash policy needs a key")
	case opt.DownloadResults && opt.PersonalData != privacy.Include:
		// A zip holds the images and the whole result: every identifier.
		return nil, fmt.Errorf("pipeline: downloading results needs the personal data policy include (got %s)", opt.PersonalData)
	}
	if opt.ShardCount < 1 || opt.Shard < 0 || opt.Shard >= opt.ShardCount {
		return nil, fmt.Errorf("pipeline: shard %d/%d out of range", opt.Shard, opt.ShardCount)
	}
	if opt.RunID == "" {
		return nil, errors.New("pipeline: run id required")
	}
	opt.Uploads = max(opt.Uploads, 1)
	opt.InFlight = max(opt.InFlight, opt.Uploads)
	opt.PollWorkers = max(opt.PollWorkers, 1)
	opt.Finalizers = max(opt.Finalizers, 1)
	if opt.Poll.Multiplier < 1 {
		opt.Poll.Multiplier = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Dossiers == nil {
		deps.Dossiers = nopJournal{}
	}
	if deps.Journal == nil {
		deps.Journal = nopJournal{}
	}
	return &Pipeline{opt: opt, deps: deps, stop: make(chan struct{}), slots: make(chan struct{}, opt.InFlight),
		log: opt.Logger.With("run_id", opt.RunID, "shard", opt.Shard)}, nil
}

// Stop asks the run to take no new records, finish the uploads in progress,
// poll started processes for the grace period and end. Safe to call more than
// once and from any goroutine (a signal handler).
func (p *Pipeline) Stop() {
	if p.stopOnce.CompareAndSwap(false, true) {
		close(p.stop)
	}
}

// InShard reports whether a record belongs to shard k of n: FNV-1a of its ID
// modulo n. Stable across runs, machines and Go versions.
func InShard(recordID string, k, n int) bool {
	if n <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(recordID))
	return int(h.Sum32()%uint32(n)) == k
}

// Run processes the shard and returns when every record has a row, or the
// run was stopped, or failed. Errors: ErrThreshold, a fatal API error
// (credentials refused), a source listing failure, an output failure, or
// the context's error.
func (p *Pipeline) Run(ctx context.Context) (Result, error) {
	res := Result{Started: p.opt.Now()}
	// What resuming deleted (stray dossiers) goes in this attempt's log.
	if p.deps.Resume != nil {
		for _, e := range p.deps.Resume.Deletions {
			if err := p.logDossier(ctx, e); err != nil {
				return res, err
			}
		}
	}
	if err := p.loadDocumentTypes(ctx); err != nil {
		return res, err
	}
	// A stop drains for the grace period; a moment later the run's context
	// ends (errDrainEnded), so that no call still under way — a Retry-After
	// pause, a slow upload — outlives the drain. Their records are left to
	// the next attempt, as after a second signal.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g, gctx := errgroup.WithContext(ctx)
	cctx, stopCount := context.WithCancel(gctx)
	countDone := p.countAhead(cctx)
	defer func() { stopCount(); <-countDone }() // a run that ends first does not wait for the count

	records := make(chan *record, p.opt.Uploads)
	started := make(chan *record, p.opt.Uploads)
	finals := make(chan *record, p.opt.Finalizers)
	rows := make(chan *record, p.opt.Finalizers*2)

	// drain closes GracePeriod after Stop: polling gives up then.
	drain := make(chan struct{})
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-finished:
			return
		case <-p.stop:
		}
		p.log.Info("stopping: no new records; draining in-flight work", "grace_period", p.opt.GracePeriod)
		t := time.NewTimer(p.opt.GracePeriod)
		defer t.Stop()
		select {
		case <-finished:
			return
		case <-t.C:
			close(drain)
		}
		// The scheduler hands the records it still holds over as interrupted;
		// then whatever is still under way is cut short.
		t.Reset(drainMargin)
		select {
		case <-finished:
		case <-t.C:
			p.log.Info("grace period over: ending the calls still under way; their records are left to the next attempt")
			cancel(errDrainEnded)
		}
	}()

	// rows has three kinds of senders: the lister (rows of earlier
	// attempts), the submitters (skipped and failed records) and the
	// finalizers. It is closed once all of them have returned: on a normal
	// end the finalizers are last, but when the run fails (failure
	// threshold, fatal error, second signal) the scheduler and finalizers
	// return at once while a submitter may still be finishing a record.
	var rowSenders sync.WaitGroup
	rowSenders.Add(3)
	g.Go(func() error {
		rowSenders.Wait()
		close(rows)
		return nil
	})

	// Lister.
	g.Go(func() error {
		defer rowSenders.Done()
		defer close(records)
		return guard("lister", func() error { return p.list(gctx, records, rows) })()
	})

	// Submitters.
	subs, sctx := errgroup.WithContext(gctx)
	for i := 0; i < p.opt.Uploads; i++ {
		subs.Go(guard("submitter", func() error { return p.submitLoop(sctx, records, started, rows) }))
	}
	g.Go(func() error {
		defer rowSenders.Done()
		err := subs.Wait()
		close(started)
		return err
	})

	// Poll scheduler.
	sched := &scheduler{cfg: p.opt.Poll, workers: p.opt.PollWorkers, now: p.opt.Now, poll: p.pollOnce, drainBy: drain,
		list: p.listFinal, listFailed: func(err error) {
			p.log.Warn("the API refuses the list of processes: each process is polled until it is final", "error", err)
		}}
	g.Go(func() error {
		defer close(finals)
		return guard("poll scheduler", func() error { return sched.run(gctx, started, finals) })()
	})

	// Finalizers, then deleters.
	deletions := make(chan *record, p.opt.InFlight)
	fins, fctx := errgroup.WithContext(gctx)
	for i := 0; i < p.opt.Finalizers; i++ {
		fins.Go(guard("finalizer", func() error { return p.finalizeLoop(fctx, finals, deletions, rows) }))
	}
	g.Go(func() error {
		defer close(deletions)
		return fins.Wait()
	})
	dels, dctx := errgroup.WithContext(gctx)
	for i := 0; i < p.opt.Finalizers; i++ {
		dels.Go(guard("deleter", func() error { return p.deleteLoop(dctx, deletions, rows) }))
	}
	g.Go(func() error {
		defer rowSenders.Done()
		return dels.Wait()
	})

	// Report writer.
	g.Go(guard("report writer", func() error { return p.writeLoop(gctx, rows, res.Started) }))

	err := g.Wait()
	if err != nil && errors.Is(context.Cause(ctx), errDrainEnded) && errors.Is(err, context.Canceled) {
		err = nil // the end of a drain, not a failure
	}
	res.Listed = p.listed.Load()
	res.Resumed = p.resumed.Load()
	res.Interrupted = p.interrupted.Load()
	res.Totals = p.deps.Rows.Written()
	res.Finished = p.opt.Now()
	res.Stopped = p.stopOnce.Load()
	if p.deps.Meter != nil {
		res.Calls = p.deps.Meter.Stats()
	}
	return res, err
}

// list streams the archive's records of this shard into records. Records
// whose row an earlier attempt committed are skipped; records an earlier
// attempt ended without committing their row go straight to the writer.
func (p *Pipeline) list(ctx context.Context, records chan<- *record, rows chan<- *record) error {
	taken := 0
	errStop := errors.New("stop listing")
	err := p.deps.Archive.Records(ctx, func(r source.Record) error {
		select {
		case <-p.stop:
			return errStop
		default:
		}
		if !InShard(r.ID, p.opt.Shard, p.opt.ShardCount) {
			return nil
		}
		if p.opt.Limit > 0 && taken >= p.opt.Limit {
			return errStop
		}
		taken++
		p.listed.Add(1)
		t := &record{rec: r, heapIndex: -1}
		if jr := p.deps.Resume.Lookup(resumeKey(&r)); jr != nil {
			if jr.Committed {
				p.resumed.Add(1)
				return nil
			}
			t.resume(jr)
			if t.st.ended() {
				// Final in an earlier attempt: its row needs no API call, only
				// the dossier deletion that may not have happened.
				if t.st.end.outcome != report.OutcomeTimeout {
					p.deleteDossierQuietly(ctx, t)
				}
				return send(ctx, rows, t)
			}
		}
		return send(ctx, records, t)
	})
	p.listingDone.Store(true)
	if errors.Is(err, errStop) {
		return nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("list records: %w", err)
	}
	return nil
}

func send(ctx context.Context, ch chan<- *record, t *record) error {
	select {
	case ch <- t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ExternalReference is the dossier reference of a record in a run: it ties
// every dossier to its run and record, so a crashed run finds its own.
func ExternalReference(runID, recordID string) string { return runID + "/" + recordID }

// loadDocumentTypes asks the API once which documentIds PictureID accepts,
// so that a record with an unknown one is skipped before anything is paid
// for (DocumentIDs).
func (p *Pipeline) loadDocumentTypes(ctx context.Context) error {
	ids, err := DocumentIDs(ctx, p.deps.API, p.log)
	p.documents = ids
	return err
}

// DocumentTypesAPI is what DocumentIDs needs of the Assure API.
type DocumentTypesAPI interface {
	DocumentTypes(ctx context.Context, provider string) ([]assure.DocumentType, error)
}

// DocumentIDs returns the documentIds the API lists for PictureID. When the
// list cannot be had, or its entries carry no ids (the API reference says
// ids apply to another provider), it returns nil and records are not
// checked: the API's own 400 says what is wrong. Only a fatal error (the
// credentials refused) is returned.
func DocumentIDs(ctx context.Context, api DocumentTypesAPI, log *slog.Logger) (map[int]bool, error) {
	types, err := api.DocumentTypes(ctx, assure.ProviderPictureID)
	if err != nil {
		if fault.Fatal(err) {
			return nil, fmt.Errorf("document types: %w", err)
		}
		log.Warn("document types unavailable: document ids are not checked before upload", "error", err)
		return nil, nil
	}
	ids := make(map[int]bool, len(types))
	for _, d := range types {
		if d.ID <= 0 {
			log.Warn("document types carry no ids: document ids are not checked before upload")
			return nil, nil
		}
		ids[d.ID] = true
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// guard runs fn, turning a panic into an error that ends the run like any
// fatal one (fault.Abort: exit 1): the other goroutines stop, the writer
// commits what it holds, the journal is closed. Without it a panic in one
// goroutine would kill the process with Go's exit code 2, the code of a
// configuration error, which a retry strategy does not retry. The message
// holds the panic's value and stack, which name code, not record data.
func guard(name string, fn func() error) func() error {
	return func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fault.Mark(fault.Abort, fmt.Errorf("internal error in the %s (a bug: please report it): panic: %v\n%s",
					name, r, debug.Stack()))
			}
		}()
		return fn()
	}
}

// countAhead counts the shard's records beside the listing (an archive
// that is a Counter), for the progress display's total: a manifest's lines,
// a listing's record folders, keys only. A failure only leaves the total
// unknown until the listing ends. The returned channel closes when it ends.
func (p *Pipeline) countAhead(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	c, ok := p.deps.Archive.(Counter)
	if !ok {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		keep := func(id string) bool { return InShard(id, p.opt.Shard, p.opt.ShardCount) }
		n, err := c.Count(ctx, keep, func(n int64) { p.counted.Store(n) })
		if err != nil {
			p.log.Debug("the records could not be counted ahead: the total is known when the listing ends", "error", err)
			return
		}
		if p.opt.Limit > 0 {
			n = min(n, int64(p.opt.Limit))
		}
		p.counted.Store(n)
		p.countDone.Store(true)
	}()
	return done
}

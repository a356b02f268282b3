package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"reverify/internal/assure"
)

// Emulator is an http.Handler serving the Assure API's PictureID
// direct-upload flow, the OAuth2 token endpoint and the admin endpoints
// under /_emulator/. It is safe for concurrent use.
type Emulator struct {
	cfg      Config // Faults is superseded by faults
	clock    clock
	log      *slog.Logger
	issuer   *issuer
	store    *store
	images   *imageCache // images stored once per digest, their analyses
	bodies   sync.Pool   // *[]byte: set-images body buffers
	counters *counters
	faults   atomic.Pointer[faultState]
	limiter  *tokenBucket // nil: no rate limit
}

// Option configures New.
type Option func(*options)

type options struct {
	now func() time.Time
	log *slog.Logger
}

// WithClock replaces the real clock (time.Now). The emulated clock runs
// from it: emulated = start + (now() - start) / time_scale.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger logs one line per API request (endpoint, method, status,
// latency, injected fault) and internal errors. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New validates cfg and returns an emulator with no dossiers.
func New(cfg Config, opts ...Option) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("emulator: invalid config: %w", err)
	}
	o := options{now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	dir := ""
	if cfg.ImageDir != "" {
		var err error
		if dir, err = os.MkdirTemp(cfg.ImageDir, "reverify-emulator-images-"); err != nil {
			return nil, fmt.Errorf("emulator: image_dir: %w", err)
		}
	}
	images := newImageCache(dir)
	e := &Emulator{
		cfg:      cfg,
		clock:    newClock(o.now, cfg.TimeScale),
		log:      o.log,
		issuer:   newIssuer(cfg),
		store:    newStore(images.store),
		images:   images,
		counters: newCounters(),
	}
	e.faults.Store(newFaultState(cfg.Faults))
	if cfg.RateLimit.RequestsPerSecond > 0 {
		e.limiter = newTokenBucket(cfg.RateLimit, e.clock.real())
	}
	return e, nil
}

// Close removes the folder of images created in the config's image_dir (it
// does nothing without one). Call it once the server has stopped: the
// images of the processes still stored are gone.
func (e *Emulator) Close() error {
	if e.images.store.dir == "" {
		return nil
	}
	if err := os.RemoveAll(e.images.store.dir); err != nil {
		return fmt.Errorf("emulator: remove image folder: %w", err)
	}
	return nil
}

// Config is the effective configuration (with the current faults).
func (e *Emulator) Config() Config {
	c := e.cfg
	c.Faults = e.faults.Load().cfg
	return c
}

// Reset drops every dossier, process, image and counter and restarts the
// fault sequences. Issued tokens stay valid; analyses of images (which depend
// only on their bytes) are kept.
func (e *Emulator) Reset() {
	e.store.reset()
	e.images.store.dropIdle()
	e.counters.reset()
	e.faults.Store(newFaultState(e.faults.Load().cfg))
	if e.limiter != nil {
		e.limiter.refill(e.clock.real())
	}
}

// SetFaults replaces the fault configuration and restarts the fault
// sequences.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate("faults"); err != nil {
		return err
	}
	e.faults.Store(newFaultState(f))
	return nil
}

// Counters is a snapshot of the counters.
func (e *Emulator) Counters() Counters { return e.counters.snapshot() }

// Now is the emulated time.
func (e *Emulator) Now() time.Time { return e.clock.emulated() }

// LiveDossiers lists every dossier not deleted, oldest first (GET /dossiers
// lists only the newest 100: this is for tests that explain what is left).
func (e *Emulator) LiveDossiers() []assure.Dossier {
	ds := e.store.liveDossiers()
	sort.Slice(ds, func(i, j int) bool { return ds[i].seq < ds[j].seq })
	out := make([]assure.Dossier, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.view())
	}
	return out
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		e.serveAdmin(w, r)
		return
	}
	began := time.Now()
	mr, p, known, ok, allow := match(r.Method, r.URL.Path)
	name := "unknown"
	if ok {
		name = string(mr.endpoint)
	}
	// The request is counted when its status is decided, before the client
	// can see the answer, so that a client reading the counters right after
	// its call sees it.
	sw := &statusWriter{ResponseWriter: w, record: func(status string) { e.counters.request(name, status) }}
	fault := e.serveAPI(sw, r, mr, p, known, ok, allow)
	if sw.status == "" {
		sw.recordOnce(strconv.Itoa(http.StatusOK)) // handler wrote nothing
	}
	if !e.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("endpoint", name), slog.String("method", r.Method),
		slog.String("status", sw.status), slog.Duration("latency", time.Since(began)),
	}
	if fault != "" {
		attrs = append(attrs, slog.String("fault", fault))
	}
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// serveAPI applies the rate limit and the faults, then dispatches. It
// returns the injected fault, if any.
func (e *Emulator) serveAPI(w *statusWriter, r *http.Request, mr methodRoute, p params, known, ok bool, allow []string) string {
	limit := int64(1 << 20)
	if ok && mr.endpoint == assure.EndpointSetImages {
		limit = setImagesBodyLimit(e.cfg.MaxImageBytes)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)

	if e.limiter != nil && !e.limiter.allow(e.clock.real()) {
		e.counters.fault(FaultKindRateLimited)
		e.tooManyRequests(w, r, e.cfg.RateLimit.RetryAfter)
		return FaultKindRateLimited
	}
	var plan faultPlan
	if ok {
		plan = e.faults.Load().plan(mr.endpoint)
	}
	fault := ""
	if plan.latency > 0 {
		fault = FaultKindLatency
		e.counters.fault(FaultKindLatency)
		if !sleep(r, e.clock.realDuration(plan.latency)) {
			w.recordOnce("canceled")
			return fault
		}
	}
	switch plan.kind {
	case faultServerError:
		e.counters.fault(FaultKindServerError)
		writeError(w, r, &apiError{status: plan.status, detail: "The server encountered an unexpected condition."})
		return FaultKindServerError
	case faultTooManyRequests:
		e.counters.fault(FaultKindTooManyRequests)
		e.tooManyRequests(w, r, plan.retryAfter)
		return FaultKindTooManyRequests
	case faultResetBefore:
		e.counters.fault(FaultKindResetBeforeHandler)
		drainBody(r)
		w.recordOnce("reset")
		resetConnection(w)
		return FaultKindResetBeforeHandler
	case faultResetAfter, faultTruncate:
		rec := newRecorder()
		e.dispatch(rec, r, mr, p, known, ok, allow)
		drainBody(r)
		if plan.kind == faultResetAfter {
			e.counters.fault(FaultKindResetAfterHandler)
			w.recordOnce("reset")
			resetConnection(w)
			return FaultKindResetAfterHandler
		}
		e.counters.fault(FaultKindTruncate)
		w.recordOnce(strconv.Itoa(rec.status()))
		writeTruncated(w, rec)
		return FaultKindTruncate
	}
	e.dispatch(w, r, mr, p, known, ok, allow)
	return fault
}

func (e *Emulator) tooManyRequests(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	secs := retryAfterSeconds(retryAfter, e.cfg.TimeScale)
	w.Header().Set("Retry-After", secs)
	writeError(w, r, &apiError{status: http.StatusTooManyRequests, title: "Too Many Requests",
		detail: "Too many requests; retry after " + secs + " seconds."})
}

// dispatch checks the bearer token (under /assure), the route and the
// method, and runs the handler.
func (e *Emulator) dispatch(w http.ResponseWriter, r *http.Request, mr methodRoute, p params, known, ok bool, allow []string) {
	if strings.HasPrefix(r.URL.Path, assurePath+"/") {
		if err := e.checkBearer(r); err != nil {
			writeError(w, r, err)
			return
		}
	}
	switch {
	case !known:
		writeError(w, r, notFound(detailRouteNotFound))
	case !ok:
		h := http.Header{}
		h.Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, title: "Method Not Allowed",
			detail: "Request method '" + r.Method + "' is not supported.", header: h})
	default:
		if err := mr.handle(e, w, r, p); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				e.log.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelError, "internal error",
					slog.String("endpoint", string(mr.endpoint)), slog.String("error", err.Error()))
				ae = &apiError{status: http.StatusInternalServerError, detail: "Unexpected error."}
			}
			writeError(w, r, ae)
		}
	}
}

// statusWriter records the status of a request once, when it is decided.
type statusWriter struct {
	http.ResponseWriter
	record func(status string)
	status string
}

func (s *statusWriter) recordOnce(status string) {
	if s.status == "" {
		s.status = status
		s.record(status)
	}
}

func (s *statusWriter) WriteHeader(code int) {
	s.recordOnce(strconv.Itoa(code))
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.recordOnce(strconv.Itoa(http.StatusOK))
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Hijack).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

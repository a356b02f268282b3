package emulator

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"reverify/internal/assure"
)

// Fault kinds, as counted in Counters.Faults.
const (
	FaultKindLatency            = "latency"
	FaultKindServerError        = "server_error"
	FaultKindTooManyRequests    = "too_many_requests"
	FaultKindRateLimited        = "rate_limited"
	FaultKindResetBeforeHandler = "reset_before_handler"
	FaultKindResetAfterHandler  = "reset_after_handler"
	FaultKindTruncate           = "truncate"
)

type faultKind int

const (
	faultNone faultKind = iota
	faultServerError
	faultTooManyRequests
	faultResetBefore
	faultResetAfter
	faultTruncate
)

// faultPlan is the fault drawn for one request.
type faultPlan struct {
	kind       faultKind
	latency    time.Duration // emulated; slept scaled
	status     int           // 500, 502 or 503
	retryAfter time.Duration // emulated
}

// faultState is a fault configuration with its per-endpoint sequences.
// It is replaced as a whole by SetFaults and Reset.
type faultState struct {
	cfg    Faults
	seq    map[assure.Endpoint]*atomic.Uint64 // requests seen per endpoint
	resets map[assure.Endpoint]*atomic.Uint64 // resets drawn per endpoint
}

func newFaultState(f Faults) *faultState {
	s := &faultState{cfg: f, seq: map[assure.Endpoint]*atomic.Uint64{}, resets: map[assure.Endpoint]*atomic.Uint64{}}
	for _, ep := range assure.Endpoints() {
		s.seq[ep] = new(atomic.Uint64)
		s.resets[ep] = new(atomic.Uint64)
	}
	return s
}

// plan draws the fault of the next request to ep. The n-th request to an
// endpoint always gets the same draw for the same seed; resets alternate
// between before and after the handler (the first one is before).
func (s *faultState) plan(ep assure.Endpoint) faultPlan {
	ctr, ok := s.seq[ep]
	if !ok {
		return faultPlan{}
	}
	n := ctr.Add(1) - 1
	spec := s.cfg.spec(ep)
	h := fnv.New64a()
	h.Write([]byte(ep))
	base := splitmix64(splitmix64(uint64(s.cfg.Seed)^h.Sum64()) ^ n)
	draw := func(k uint64) uint64 { return splitmix64(base + k) }

	var p faultPlan
	if l := spec.Latency; l.Probability > 0 && unit(draw(1)) < l.Probability {
		hi := max(l.Max, l.Min)
		p.latency = l.Min + time.Duration(unit(draw(2))*float64(hi-l.Min))
	}
	u := unit(draw(0))
	switch {
	case u < spec.ServerError:
		p.kind = faultServerError
		p.status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[draw(3)%3]
	case u < spec.ServerError+spec.TooManyRequests:
		p.kind = faultTooManyRequests
		p.retryAfter = spec.RetryAfter
	case u < spec.ServerError+spec.TooManyRequests+spec.Reset:
		p.kind = faultResetBefore
		if s.resets[ep].Add(1)%2 == 0 {
			p.kind = faultResetAfter
		}
	case u < spec.ServerError+spec.TooManyRequests+spec.Reset+spec.Truncate:
		p.kind = faultTruncate
	}
	return p
}

// retryAfterSeconds is a Retry-After value: the emulated duration scaled to
// real time, in whole seconds rounded to nearest.
func retryAfterSeconds(d time.Duration, scale float64) string {
	return strconv.Itoa(int(math.Round(d.Seconds() * scale)))
}

// sleep waits d of real time or until the request is canceled.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// drainBody reads what is left of the request body so that the client has
// finished sending before the connection is cut.
func drainBody(r *http.Request) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
}

// resetConnection hijacks the connection and closes it with SO_LINGER 0: the
// client sees a TCP RST ("connection reset by peer").
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not hijackable (HTTP/2): abort the stream
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeTruncated sends rec's response declaring its full Content-Length but
// only the first half of the body (or, for an empty body, half of the
// header block), then closes the connection: the client reads an
// unexpected EOF.
func writeTruncated(w http.ResponseWriter, rec *recorder) {
	now := time.Now() // socket deadlines and Date use the system clock
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	code := rec.status()
	body := rec.body.Bytes()
	h := rec.header.Clone()
	if code != http.StatusNoContent && code != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	h.Set("Connection", "close")
	if h.Get("Date") == "" {
		h.Set("Date", now.UTC().Format(http.TimeFormat))
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %03d %s\r\n", code, http.StatusText(code))
	_ = h.Write(&out)
	out.WriteString("\r\n")
	cut := out.Len()/2 + len(body)/2
	if len(body) > 0 {
		cut = out.Len() + len(body)/2
	}
	out.Write(body)
	_ = conn.SetDeadline(now.Add(5 * time.Second))
	_, _ = conn.Write(out.Bytes()[:cut])
	if tc, ok := conn.(*net.TCPConn); ok {
		// FIN after the data; wait for the client to close so that no RST
		// overtakes the partial response.
		_ = tc.CloseWrite()
		_, _ = io.Copy(io.Discard, conn)
	}
}

// recorder buffers a handler's response (for reset-after and truncate).
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

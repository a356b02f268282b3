package e2e

// Harness extensions for the reliability tests (crashloop_test.go,
// storms_test.go, signals_test.go, badinput_test.go): kill
// a running binary when a condition holds, a fault-injecting reverse proxy
// in front of versitygw, an S3 view through such a proxy, and the table of
// figures the crash loop prints.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"reverify/internal/assure/emulator"
)

// KillWhen sends SIGKILL to the process once cond holds (checked every
// 2 ms) and then extra has passed. It returns true when the process died
// by that SIGKILL, false when it exited on its own first.
func (p *Proc) KillWhen(cond func() bool, extra time.Duration) bool {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-p.done:
			return false
		case <-tick.C:
		}
	}
	if extra > 0 {
		select {
		case <-p.done:
			return false
		case <-time.After(extra):
		}
	}
	p.Kill()
	res := p.Wait()
	return res.Signal == syscall.SIGKILL
}

// Started is when the process was started.
func (p *Proc) Started() time.Time { return p.started }

// ---------------------------------------------------------------------------
// A fault-injecting reverse proxy

// ProxyRule decides the fate of one request: 0 passes it on, any other
// status is answered by the proxy itself (an S3-style XML error body).
type ProxyRule func(r *http.Request) int

// FaultProxy is a reverse proxy (net/http/httputil) in front of an HTTP
// server, here versitygw, that answers chosen requests with errors. SigV4
// signatures stay valid: the proxy keeps the Host header the client signed.
type FaultProxy struct {
	Server *httptest.Server
	rule   atomic.Pointer[ProxyRule]

	mu       sync.Mutex
	injected map[string]int64 // "METHOD status" → count
	passed   atomic.Int64
}

// StartFaultProxy starts a proxy to target (http://host:port). It stops when
// the test ends.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	p := &FaultProxy{injected: map[string]int64{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule := p.rule.Load(); rule != nil {
			if status := (*rule)(r); status != 0 {
				p.inject(w, r, status)
				return
			}
		}
		p.passed.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Server.Close)
	return p
}

// URL is the proxy's endpoint.
func (p *FaultProxy) URL() string { return p.Server.URL }

// SetRule replaces the rule (nil: pass everything).
func (p *FaultProxy) SetRule(rule ProxyRule) {
	if rule == nil {
		p.rule.Store(nil)
		return
	}
	p.rule.Store(&rule)
}

// Injected returns the errors answered so far by "METHOD status".
func (p *FaultProxy) Injected() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.injected))
	for k, v := range p.injected {
		out[k] = v
	}
	return out
}

// InjectedTotal is the number of errors answered so far.
func (p *FaultProxy) InjectedTotal() int64 {
	var n int64
	for _, v := range p.Injected() {
		n += v
	}
	return n
}

func (p *FaultProxy) inject(w http.ResponseWriter, r *http.Request, status int) {
	_, _ = io.Copy(io.Discard, r.Body) // let the client finish sending
	p.mu.Lock()
	p.injected[fmt.Sprintf("%s %d", r.Method, status)]++
	p.mu.Unlock()
	code := "InternalError"
	switch status {
	case http.StatusForbidden:
		code = "AccessDenied"
	case http.StatusServiceUnavailable:
		code = "ServiceUnavailable"
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by the e2e fault proxy</Message><Resource>%s</Resource></Error>`,
		code, r.URL.Path)
}

// Via returns a view of the S3 server reached through endpoint (a
// FaultProxy's URL): same bucket and keys, another address.
func (s *S3) Via(endpoint string) *S3 {
	srv := *s.Server
	srv.Endpoint = endpoint
	return &S3{Server: &srv, Bucket: s.Bucket}
}

// ObjectPath is the path of an s3:// URI's object as a path-style request
// names it: /<bucket>/<key>.
func ObjectPath(uri string) string {
	return "/" + strings.TrimPrefix(uri, "s3://")
}

// ---------------------------------------------------------------------------
// Figures

// Figures is a two-column table of named figures, printed in insertion
// order.
type Figures struct {
	rows [][2]string
}

// Add appends a figure.
func (f *Figures) Add(name string, format string, args ...any) {
	f.rows = append(f.rows, [2]string{name, fmt.Sprintf(format, args...)})
}

// String renders the figures as a Markdown table.
func (f *Figures) String() string {
	w := len("figure")
	for _, r := range f.rows {
		w = max(w, len(r[0]))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| %-*s | value |\n|%s|-------|\n", w, "figure", strings.Repeat("-", w+2))
	for _, r := range f.rows {
		fmt.Fprintf(&b, "| %-*s | %s |\n", w, r[0], r[1])
	}
	return b.String()
}

// FaultsString renders the emulator's injected faults, by kind, sorted.
func FaultsString(c emulator.Counters) string {
	kinds := make([]string, 0, len(c.Faults))
	for k := range c.Faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.Faults[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

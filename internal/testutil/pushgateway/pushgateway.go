// Package pushgateway gives tests a Prometheus Pushgateway. Start runs the real one: the
// prometheus-pushgateway binary of Debian's package of that name (or
// REVERIFY_PUSHGATEWAY), started on a free loopback port with no
// persistence and stopped when the test ends. When no binary is found the
// test is skipped, unless REVERIFY_REQUIRE_PUSHGATEWAY is set (CI): then it
// fails.
package pushgateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Environment variables read by Start.
const (
	EnvBinary  = "REVERIFY_PUSHGATEWAY"         // path of the binary (optional)
	EnvRequire = "REVERIFY_REQUIRE_PUSHGATEWAY" // set: a missing binary fails the test
)

// Gateway is a running Pushgateway.
type Gateway struct {
	URL string // http://127.0.0.1:port
}

// Binary finds the pushgateway binary: REVERIFY_PUSHGATEWAY, else
// prometheus-pushgateway (Debian's name) or pushgateway on PATH.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	for _, name := range []string{"prometheus-pushgateway", "pushgateway"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no prometheus-pushgateway on PATH (apt-get install prometheus-pushgateway) and " + EnvBinary + " not set")
}

// Start starts a Pushgateway for the test (see the package comment).
func Start(t testing.TB) *Gateway {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("the Pushgateway is required (%s is set): %v", EnvRequire, err)
		}
		t.Skipf("no Pushgateway: %v", err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatalf("pushgateway: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// No persistence: Debian's build defaults to a file in /var/lib, which
	// would carry groups from one test to the next.
	cmd := exec.CommandContext(ctx, bin, "--web.listen-address="+addr, "--persistence.file=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	g := &Gateway{URL: "http://" + addr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v", bin, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready on %s after 10s", bin, addr)
		}
	}
}

// Group is one group of pushed metrics, as the Pushgateway's API lists it.
type Group struct {
	Labels map[string]string // job and the grouping labels
	// Metrics maps each metric family name to its samples.
	Metrics map[string][]Sample
}

// Sample is one pushed sample: its family's type (COUNTER, GAUGE…), its
// labels (the group's too, and instance) and its value.
type Sample struct {
	Type   string
	Labels map[string]string
	Value  string
}

// Groups lists the groups the Pushgateway holds (GET /api/v1/metrics).
func (g *Gateway) Groups(t testing.TB) []Group {
	t.Helper()
	resp, err := http.Get(g.URL + "/api/v1/metrics")
	if err != nil {
		t.Fatalf("pushgateway: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pushgateway: GET /api/v1/metrics: %s", resp.Status)
	}
	var body struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("pushgateway: decode /api/v1/metrics: %v", err)
	}
	var out []Group
	for _, d := range body.Data {
		grp := Group{Metrics: map[string][]Sample{}}
		for k, raw := range d {
			if k == "labels" {
				if err := json.Unmarshal(raw, &grp.Labels); err != nil {
					t.Fatalf("pushgateway: labels: %v", err)
				}
				continue
			}
			var fam struct {
				Type    string `json:"type"`
				Metrics []struct {
					Labels map[string]string `json:"labels"`
					Value  string            `json:"value"`
				} `json:"metrics"`
			}
			if json.Unmarshal(raw, &fam) != nil {
				continue // last_push_successful and other non-families
			}
			for _, m := range fam.Metrics {
				grp.Metrics[k] = append(grp.Metrics[k], Sample{Type: fam.Type, Labels: m.Labels, Value: m.Value})
			}
		}
		out = append(out, grp)
	}
	return out
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Recorder is a fake Pushgateway for what the real one does not show once
// it is over (the order of pushes and deletes): it answers PUT/POST with
// 200 and DELETE with 202 under /metrics/job/, as the Pushgateway does, and
// records each request with its grouping key and its body decoded by
// expfmt in the format its Content-Type names.
type Recorder struct {
	URL string

	mu       sync.Mutex
	requests []Request
	status   int
}

// Request is one request a Recorder got.
type Request struct {
	Method string
	// Group is the grouping key of the path /metrics/job/<job>{/<label>/<value>}:
	// job and the grouping labels.
	Group    map[string]string
	Families map[string]*dto.MetricFamily
	Err      error // the path or the body could not be read
}

// NewRecorder starts a Recorder, closed when the test ends.
func NewRecorder(t testing.TB) *Recorder {
	r := &Recorder{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// SetStatus makes every later answer status (0: the Pushgateway's own).
func (r *Recorder) SetStatus(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

// Requests returns the requests so far.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// ServeHTTP implements http.Handler.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := Request{Method: req.Method, Families: map[string]*dto.MetricFamily{}}
	rec.Group, rec.Err = groupOf(req.URL.EscapedPath())
	if req.Method == http.MethodPut || req.Method == http.MethodPost {
		dec := expfmt.NewDecoder(req.Body, expfmt.ResponseFormat(req.Header))
		for {
			var mf dto.MetricFamily
			err := dec.Decode(&mf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rec.Err = fmt.Errorf("decode the pushed body: %w", err)
				break
			}
			rec.Families[mf.GetName()] = &mf
		}
	}
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	status := r.status
	r.mu.Unlock()
	switch {
	case status != 0:
	case rec.Err != nil:
		status = http.StatusBadRequest
	case req.Method == http.MethodDelete:
		status = http.StatusAccepted
	default:
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

// groupOf parses /metrics/job/<job>{/<label>/<value>} (values
// URL-escaped; the base64 form, label@base64, is not used by reverify's
// values and is refused).
func groupOf(path string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(path, "/metrics/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts)%2 != 0 || parts[0] != "job" {
		return nil, fmt.Errorf("not a Pushgateway group path: %s", path)
	}
	out := map[string]string{}
	for i := 0; i < len(parts); i += 2 {
		if strings.Contains(parts[i], "@") {
			return nil, fmt.Errorf("%s: base64-encoded values are not expected", path)
		}
		v, err := url.PathUnescape(parts[i+1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[parts[i]] = v
	}
	return out, nil
}

// Value is the value of mf's sample (counter, gauge or untyped) with the
// given label name/value pairs, and whether there is one.
func Value(mf *dto.MetricFamily, labels ...string) (float64, bool) {
	if mf == nil {
		return 0, false
	}
metrics:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
				return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}) {
				continue metrics
			}
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		case dto.MetricType_UNTYPED:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

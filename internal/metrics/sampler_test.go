package metrics

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recordingSink struct {
	mu    sync.Mutex
	snaps []Snapshot
	err   error
}

func (s *recordingSink) Name() string { return "recording" }

func (s *recordingSink) Write(_ context.Context, _ time.Time, snap Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps = append(s.snaps, snap)
	return s.err
}

func (s *recordingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.snaps)
}

func TestSamplerTicksUntilCanceled(t *testing.T) {
	var n atomic.Int64
	sink := &recordingSink{}
	s := NewSampler(5*time.Millisecond, func() Snapshot { return Snapshot{Listed: n.Add(1)} }, nil, sink)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	require.Eventually(t, func() bool { return sink.count() >= 3 }, 5*time.Second, time.Millisecond)
	cancel()
	<-done
	after := sink.count()
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, after, sink.count(), "no sample after Run returned")
	s.Sample(context.Background()) // the final one
	assert.Equal(t, after+1, sink.count())
	for i, snap := range sink.snaps {
		assert.EqualValues(t, i+1, snap.Listed, "one snapshot per sample, in order")
	}
}

// A failing sink is logged once, then at most every warnEvery with the
// count since, and once when it works again; the other sinks get every
// sample.
func TestSamplerGoesOnWhenASinkFails(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	bad := &recordingSink{err: errors.New("connection refused")}
	good := &recordingSink{}
	s := NewSampler(time.Minute, func() Snapshot { return Snapshot{} }, log, bad, good)
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	ctx := context.Background()
	for range 10 { // 10 minutes, a sample a minute
		s.Sample(ctx)
		now = now.Add(time.Minute)
	}
	assert.Equal(t, 10, good.count())
	warnings := strings.Count(logs.String(), "level=WARN")
	assert.Equal(t, 2, warnings, "the first failure, then one 5 minutes later:\n%s", logs.String())
	assert.Contains(t, logs.String(), "failures=1 ")
	assert.Contains(t, logs.String(), "failures=5 ")
	assert.Contains(t, logs.String(), "connection refused")

	bad.mu.Lock()
	bad.err = nil
	bad.mu.Unlock()
	s.Sample(ctx)
	assert.Contains(t, logs.String(), "metrics: sink works again")
	assert.Contains(t, logs.String(), "failures=10")
	s.Sample(ctx)
	assert.Equal(t, 1, strings.Count(logs.String(), "works again"))
}

// The pusher against a gateway that is gone: the sampler's Sample returns
// at once (connection refused), and the EMF sink before it still writes.
func TestSamplerWithAGatewayGone(t *testing.T) {
	var out bytes.Buffer
	var logs bytes.Buffer
	emf := NewEMF(&out, "reverify", "r", "0-of-1", outcomes)
	p := NewPusher("http://127.0.0.1:1", "reverify", "r", "0-of-1", outcomes, nil)
	s := NewSampler(time.Minute, func() Snapshot { return Snapshot{Records: map[string]int64{"accepted": 1}} },
		slog.New(slog.NewTextHandler(&logs, nil)), emf, p)
	start := time.Now()
	s.Sample(context.Background())
	assert.Less(t, time.Since(start), PushTimeout)
	assert.Equal(t, 1.0, num(t, CheckEMF(t, strings.TrimSpace(out.String())), "RecordsAccepted"))
	assert.Contains(t, logs.String(), "sink=pushgateway")
}

package e2e

// BenchmarkPipeline measures `batch run` end to end: the built binary over a
// specimen archive (local folder) against an in-process emulator (time scale
// 0.001, no faults) under a rate limit. It reports, it does not assert:
//
//	make bench                                   # 2,000 records at api.rate 200
//	REVERIFY_TEST_BENCH_RECORDS=5000 REVERIFY_TEST_BENCH_RATE=500 make bench
//
// The archive is generated once per (records, seed) and cached under
// $REVERIFY_CACHE/bench (else the system temp folder), so reruns skip the
// ~8 s per 2,000 records of generation.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"reverify/internal/report"
	"reverify/internal/specimen"
)

// Benchmark knobs (environment).
const (
	EnvBenchRecords = "REVERIFY_TEST_BENCH_RECORDS" // records in the archive (default 2000)
	EnvBenchRate    = "REVERIFY_TEST_BENCH_RATE"    // api.rate (default 200)
	benchSeed       = 1
)

func BenchmarkPipeline(b *testing.B) {
	records := envInt(b, EnvBenchRecords, 2000)
	rate := envFloat(b, EnvBenchRate, 200)
	arch := cachedSpecimen(b, records, benchSeed)
	emu := StartEmulator(b, nil)

	var m benchMetrics
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		emu.Reset()
		out := filepath.Join(b.TempDir(), "out")
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: fmt.Sprintf("bench-%d", i),
			// The documented defaults but the rate: burst 10, 16 uploads,
			// 8 poll workers, 4 finalizers; poll timings scaled to 0.001.
			Sets:    []string{"api.rate=" + strconv.FormatFloat(rate, 'f', -1, 64), "api.burst=10"},
			Timeout: 60 * time.Minute}
		b.StartTimer()
		res := RunBatch(b, spec)
		b.StopTimer()
		if res.ExitCode != ExitOK && res.ExitCode != ExitIncomplete {
			b.Fatalf("batch run: %s", res)
		}
		sums := ReadSummaries(b, out)
		if len(sums) != 1 {
			b.Fatalf("want one _summary.json, got %d", len(sums))
		}
		m = measure(res, sums[0], rate)
		m.started = emu.Counters().VerificationsStarted
	}
	b.ReportMetric(m.recordsPerS, "records/s")
	b.ReportMetric(m.callsPerRecord, "calls/record")
	b.ReportMetric(m.pollsPerRecord, "polls/record")
	b.ReportMetric(m.rateRatio, "rate-ratio")
	b.ReportMetric(m.rssMiB, "peak-RSS-MiB")
	b.ReportMetric(m.cpuPer1k, "CPU-s/1k-records")
	m.print(records, rate)
}

// benchMetrics are one run's figures.
type benchMetrics struct {
	records        int64
	started        int64
	wall           time.Duration
	pipeline       float64 // the pipeline's own duration, seconds (summary)
	recordsPerS    float64
	callsPerRecord float64 // rows' api_calls (token calls excluded) per record
	pollsPerRecord float64
	callsTotal     int64   // every call through the rate limiter (tokens, retries)
	callsPerS      float64 // callsTotal over the pipeline's duration
	rateRatio      float64 // callsPerS ÷ api.rate
	rssMiB         float64
	cpuPer1k       float64
}

func measure(res Result, s report.Summary, rate float64) benchMetrics {
	m := benchMetrics{records: s.Records, wall: res.Wall}
	n := float64(max(s.Records, 1))
	m.recordsPerS = float64(s.Records) / res.Wall.Seconds()
	m.callsPerRecord = float64(s.APICalls) / n
	m.pollsPerRecord = float64(s.Polls) / n
	if v, ok := s.Extra["api_calls_total"].(float64); ok {
		m.callsTotal = int64(v)
	}
	m.pipeline = s.DurationS
	if m.pipeline <= 0 {
		m.pipeline = res.Wall.Seconds()
	}
	m.callsPerS = float64(m.callsTotal) / m.pipeline
	m.rateRatio = m.callsPerS / rate
	m.rssMiB = float64(res.MaxRSSKiB) / 1024
	m.cpuPer1k = (res.User + res.Sys).Seconds() / n * 1000
	return m
}

func (m benchMetrics) print(records int, rate float64) {
	fmt.Printf(`
BenchmarkPipeline: %d records (%d verifications started), api.rate %g, emulator time scale %g, no faults
| records | wall s | records/s | API calls/record | polls/record | achieved calls/s ÷ limit | peak RSS MiB | CPU s / 1,000 records |
|--------:|-------:|----------:|-----------------:|-------------:|-------------------------:|-------------:|----------------------:|
| %d | %.1f | %.1f | %.2f | %.2f | %.1f / %g = %.2f | %.1f | %.2f |
(calls/record: the rows' api_calls, token calls excluded; calls/s: every call through the rate limiter, tokens
and retries included, over the pipeline's %.1f s; RSS and CPU: rusage of the batch process)
`, records, m.started, rate, DefaultTimeScale,
		m.records, m.wall.Seconds(), m.recordsPerS, m.callsPerRecord, m.pollsPerRecord, m.callsPerS, rate, m.rateRatio,
		m.rssMiB, m.cpuPer1k, m.pipeline)
}

// cachedSpecimen returns a specimen archive of n records, generated once and
// kept under $REVERIFY_CACHE/bench (else the temp folder). expected.jsonl is
// written last, so its presence marks a complete archive; a new one is
// written to a temporary sibling and renamed into place.
func cachedSpecimen(b *testing.B, n int, seed int64) *Archive {
	b.Helper()
	root := os.Getenv(EnvCache)
	if root == "" {
		root = filepath.Join(os.TempDir(), "reverify-cache")
	}
	dir := filepath.Join(root, "bench", fmt.Sprintf("specimen-n%d-seed%d", n, seed))
	if _, err := os.Stat(filepath.Join(dir, specimen.ExpectedName)); err == nil {
		return &Archive{URI: dir, Expected: ReadExpected(b, OpenStore(b, dir, nil))}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		b.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-specimen-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	WriteSpecimen(b, SpecimenSpec{Out: tmp, Count: n, Seed: seed, Force: true})
	b.Logf("generated %d records in %s into %s", n, time.Since(start).Round(time.Millisecond), dir)
	os.RemoveAll(dir) // an incomplete earlier attempt
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
	return &Archive{URI: dir, Expected: ReadExpected(b, OpenStore(b, dir, nil))}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envFloat(b *testing.B, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return f
}

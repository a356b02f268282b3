package specimen

import (
	"context"
	"testing"

	"reverify/internal/blob"
)

// BenchmarkRenderRecord measures drawing and encoding one record of the
// default mix (no storage), on one goroutine.
func BenchmarkRenderRecord(b *testing.B) {
	plan, err := Plan(1000, 1, DefaultMix())
	if err != nil {
		b.Fatal(err)
	}
	rd := NewRenderer()
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := NewRecord(1, i%len(plan), plan[i%len(plan)])
		files, err := rd.Render(&rec)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range files {
			bytes += int64(len(f.Data))
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/record")
}

// BenchmarkGenerate measures a whole archive of b.N records written to a
// local folder (all cores, fsynced writes).
func BenchmarkGenerate(b *testing.B) {
	st, err := blob.NewLocal(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	sum, err := Generate(context.Background(), st, Options{Count: b.N, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/sum.Duration.Seconds(), "records/s")
	b.ReportMetric(float64(sum.Bytes)/float64(b.N), "bytes/record")
}

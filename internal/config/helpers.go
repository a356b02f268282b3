package config

import (
	"time"

	"reverify/internal/blob"
	"reverify/internal/pipeline"
)

// Shard returns this shard's index K (0-based) and the shard count N from
// run.shard; "" is 0/1. The result is meaningful only for a configuration
// that passed Validate (an invalid shard gives 0, 1).
func (c Config) Shard() (k, n int) {
	k, n, err := parseShard(c.Run.Shard)
	if err != nil {
		return 0, 1
	}
	return k, n
}

// EffectiveRate is this shard's API request rate per second:
// api.rate_per_shard when set, else api.rate shared evenly by the N shards.
// Under api.rate: auto it is the most the shard sends: its ceiling (see
// AdaptiveRate).
func (c Config) EffectiveRate() float64 {
	if _, ceiling, ok := c.AdaptiveRate(); ok {
		return ceiling
	}
	if c.API.RatePerShard > 0 {
		return c.API.RatePerShard
	}
	_, n := c.Shard()
	return c.API.Rate.PerSecond / float64(n)
}

// AdaptiveRate is this shard's adaptive rate under api.rate: auto (ok
// false otherwise). Like a fixed rate, max_rate and start_rate are the whole
// job's, shared evenly by the N shards: the ceiling is api.max_rate / N
// (api.rate_per_shard instead when set), the start api.start_rate / N, at
// most the ceiling, or a tenth of the ceiling when api.start_rate is 0.
func (c Config) AdaptiveRate() (start, ceiling float64, ok bool) {
	if !c.API.Rate.Auto {
		return 0, 0, false
	}
	_, n := c.Shard()
	ceiling = c.API.MaxRate / float64(n)
	if c.API.RatePerShard > 0 {
		ceiling = c.API.RatePerShard
	}
	start = ceiling / 10
	if c.API.StartRate > 0 {
		start = min(c.API.StartRate/float64(n), ceiling)
	}
	return start, ceiling, true
}

// SourceS3 returns the S3 options for the archive.
func (c Config) SourceS3() blob.S3Options { return c.Source.S3 }

// OutputS3 returns the S3 options for the output: output.s3 when any of
// its client keys is set, else source.s3 (one S3 setup serves both). The
// encryption keys (sse, kms_key_id) are output.s3's either way and do not
// count as client keys: they say what to do with the objects written, not
// how to reach the bucket, and only the output is written (source.s3 may
// not set them).
func (c Config) OutputS3() blob.S3Options {
	client := c.Output.S3
	client.SSE, client.KMSKeyID = "", ""
	if client != (blob.S3Options{}) {
		return c.Output.S3
	}
	o := c.Source.S3
	o.SSE, o.KMSKeyID = c.Output.S3.SSE, c.Output.S3.KMSKeyID
	return o
}

// EffectivePoll returns the poll timings to use in real time: in dry runs
// the API-time timings of the poll section shrink by emulator.time_scale,
// as the emulator's delays do; otherwise they are returned unchanged.
func (c Config) EffectivePoll() pipeline.PollConfig {
	p := c.Poll
	if !c.Run.DryRun {
		return p
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * c.Emulator.TimeScale) }
	p.InitialDelay = scale(p.InitialDelay)
	p.MaxInterval = scale(p.MaxInterval)
	p.Deadline = scale(p.Deadline)
	p.ListInterval = scale(p.ListInterval)
	return p
}

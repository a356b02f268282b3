package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRate(t *testing.T) {
	for text, want := range map[string]Rate{
		"20": {PerSecond: 20}, " 2.5 ": {PerSecond: 2.5}, "-3": {PerSecond: -3}, // the sign is Validate's
		"auto": {Auto: true}, "AUTO": {Auto: true}, " Auto\n": {Auto: true},
	} {
		got, err := ParseRate(text)
		require.NoError(t, err, "%q", text)
		assert.Equal(t, want, got, "%q", text)
		back, err := ParseRate(got.String())
		require.NoError(t, err)
		assert.Equal(t, got, back, "String round-trips")
	}
	for _, bad := range []string{"", "fast", "auto-ish", "NaN", "Inf", "20rps"} {
		_, err := ParseRate(bad)
		assert.ErrorContains(t, err, "(a number of requests per second, or auto)", "%q", bad)
	}
}

// api.rate: auto from every layer: YAML, the environment, a flag (--rate
// auto is a Setting of api.rate).
func TestRateAutoFromEveryLayer(t *testing.T) {
	c, err := Load([]byte(dry+"api:\n  rate: auto\n  max_rate: 60\n"), nil)
	require.NoError(t, err)
	assert.Equal(t, Rate{Auto: true}, c.API.Rate)

	c, err = Load([]byte(dry), []string{"REVERIFY_API_RATE=auto", "REVERIFY_API_MAX_RATE=60", "REVERIFY_API_START_RATE=3"})
	require.NoError(t, err)
	assert.Equal(t, Rate{Auto: true}, c.API.Rate)
	assert.Equal(t, 60.0, c.API.MaxRate)
	assert.Equal(t, 3.0, c.API.StartRate)

	c, err = Load([]byte(dry+"api:\n  max_rate: 60\n"), nil, Setting{Key: "api.rate", Value: "auto", Source: "--rate"})
	require.NoError(t, err)
	assert.True(t, c.API.Rate.Auto)

	// A flag back to a number: max_rate stays, unused.
	c, err = Load([]byte(dry+"api:\n  rate: auto\n  max_rate: 60\n"), nil, Setting{Key: "api.rate", Value: "7", Source: "--rate"})
	require.NoError(t, err)
	assert.Equal(t, Rate{PerSecond: 7}, c.API.Rate)
	assert.Equal(t, 7.0, c.EffectiveRate())
	_, _, ok := c.AdaptiveRate()
	assert.False(t, ok)

	_, err = Load([]byte(dry+"api:\n  rate: quick\n"), nil)
	assert.EqualError(t, err, `api.rate: line 4: invalid rate "quick" (a number of requests per second, or auto)`)
	_, err = Load([]byte(dry), []string{"REVERIFY_API_RATE=quick"})
	assert.ErrorContains(t, err, `api.rate: REVERIFY_API_RATE: invalid rate "quick"`)
}

func TestRateAutoNeedsACeiling(t *testing.T) {
	_, err := Load([]byte(dry+"api:\n  rate: auto\n"), nil)
	assert.EqualError(t, err, "api.max_rate: required with api.rate: auto: the most requests per second the whole job may send "+
		"(each of N shards adapts up to max_rate/N; or set api.rate_per_shard, one shard's ceiling)")
	_, err = Load([]byte(dry+"api:\n  rate: auto\n  max_rate: 60\n  start_rate: 100\n"), nil)
	assert.EqualError(t, err, "api.start_rate: must be <= api.max_rate (60) (got 100)")
	_, err = Load([]byte(dry+"api:\n  rate: -3\n  max_rate: -1\n  start_rate: -2\n"), nil)
	assert.EqualError(t, err, "api.rate: must be > 0 or auto (got -3)\n"+
		"api.max_rate: must be >= 0 (got -1)\n"+
		"api.start_rate: must be >= 0, 0 meaning max_rate/10 (got -2)")
}

func TestAdaptiveRateIsSharedLikeTheRate(t *testing.T) {
	c := Default()
	c.API.Rate, c.API.MaxRate = Rate{Auto: true}, 60
	start, ceiling, ok := c.AdaptiveRate()
	require.True(t, ok)
	assert.Equal(t, [2]float64{6, 60}, [2]float64{start, ceiling}, "one shard: max_rate, starting at a tenth")
	assert.Equal(t, 60.0, c.EffectiveRate(), "the most the shard sends")

	c.Run.Shard = "3/4"
	start, ceiling, _ = c.AdaptiveRate()
	assert.Equal(t, [2]float64{1.5, 15}, [2]float64{start, ceiling}, "max_rate/N")

	c.API.StartRate = 20
	start, _, _ = c.AdaptiveRate()
	assert.Equal(t, 5.0, start, "start_rate/N")

	c.API.RatePerShard = 4
	start, ceiling, _ = c.AdaptiveRate()
	assert.Equal(t, [2]float64{4, 4}, [2]float64{start, ceiling}, "rate_per_shard is the shard's ceiling; the start at most that")
}

func TestRedactedRoundTripsRateAuto(t *testing.T) {
	c, err := Load([]byte(dry+"api:\n  rate: auto\n  max_rate: 60\n  start_rate: 2.5\n"), nil)
	require.NoError(t, err)
	out, err := c.Redacted()
	require.NoError(t, err)
	assert.Contains(t, string(out), "  rate: auto\n  max_rate: 60\n  start_rate: 2.5\n")
	back, err := Load(out, nil)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, c, back)
}

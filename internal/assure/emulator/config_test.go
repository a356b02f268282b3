package emulator

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
)

const configsDir = "../../../configs"

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	assert.Equal(t, "reverify-emulator", c.ClientID)
	assert.Equal(t, "emulator-secret", c.ClientSecret)
	assert.Equal(t, 600*time.Second, c.TokenTTL)
	assert.Equal(t, 15*time.Minute, c.TransactionExpiry)
	assert.Equal(t, Latency{Median: 25 * time.Second, Sigma: 0.5, Min: 5 * time.Second, Max: 120 * time.Second}, c.Processing)
}

func TestLoadConfigFiles(t *testing.T) {
	c, err := LoadConfig(filepath.Join(configsDir, "emulator.yaml"))
	require.NoError(t, err)
	assert.Empty(t, c.Faults.Endpoints)
	c.Faults.Endpoints = nil
	assert.Equal(t, DefaultConfig(), c, "configs/emulator.yaml shows the defaults")

	f, err := LoadConfig(filepath.Join(configsDir, "emulator-faults.yaml"))
	require.NoError(t, err)
	assert.Equal(t, 0.01, f.TimeScale)
	assert.Equal(t, int64(42), f.Faults.Seed)
	assert.Equal(t, 0.05, f.Faults.Default.ServerError)
	assert.Equal(t, 0.05, f.Faults.Default.TooManyRequests)
	assert.Equal(t, 0.01, f.Faults.Default.Reset)
	assert.Equal(t, 2*time.Second, f.Faults.Default.RetryAfter)
	assert.Equal(t, FaultSpec{}, f.Faults.Endpoints[assure.EndpointToken])
	assert.Equal(t, 0.01, f.Faults.Endpoints[assure.EndpointStartVerification].Reset)
	assert.Equal(t, DefaultClientID, f.ClientID, "unset keys keep their defaults")
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadConfigErrors(t *testing.T) {
	cases := map[string]string{
		"time_scal: 1\n":                          "time_scal",
		"processing:\n  medain: 3s\n":             "medain",
		"faults:\n  default:\n    resets: 0.1\n":  "resets",
		"faults:\n  endpoints:\n    verify: {}\n": "faults.endpoints.verify",
		"time_scale: 0\n":                         "time_scale",
		"token_ttl: 600\n":                        "token_ttl",
		"processing:\n  median: soon\n":           "soon",
	}
	for body, want := range cases {
		t.Run(want, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
	_, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Error(t, err)
	c, err := LoadConfig(writeFile(t, "# nothing\n"))
	require.NoError(t, err, "an empty file gives the defaults")
	assert.Equal(t, DefaultConfig(), c)
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		field string
		mut   func(*Config)
	}{
		{"client_id", func(c *Config) { c.ClientID = "" }},
		{"client_secret", func(c *Config) { c.ClientSecret = "" }},
		{"token_ttl", func(c *Config) { c.TokenTTL = 2 * time.Hour }},
		{"time_scale", func(c *Config) { c.TimeScale = -1 }},
		{"processing.median", func(c *Config) { c.Processing.Median = 0 }},
		{"processing.sigma", func(c *Config) { c.Processing.Sigma = -0.1 }},
		{"processing.min", func(c *Config) { c.Processing.Min = -time.Second }},
		{"processing.max", func(c *Config) { c.Processing.Max = time.Second }},
		{"outcome_mix.failed", func(c *Config) { c.OutcomeMix.Failed = -0.03; c.OutcomeMix.Accepted = 0.86 }},
		{"outcome_mix", func(c *Config) { c.OutcomeMix.Accepted = 0.5 }},
		{"transaction_expiry", func(c *Config) { c.TransactionExpiry = 0 }},
		{"max_image_bytes", func(c *Config) { c.MaxImageBytes = 0 }},
		{"max_image_pixels", func(c *Config) { c.MaxImagePixels = 0 }},
		{"rate_limit.requests_per_second", func(c *Config) { c.RateLimit.RequestsPerSecond = -1 }},
		{"rate_limit.burst", func(c *Config) { c.RateLimit.RequestsPerSecond = 5 }},
		{"rate_limit.retry_after", func(c *Config) { c.RateLimit.RetryAfter = -time.Second }},
		{"faults.default.server_error", func(c *Config) { c.Faults.Default.ServerError = 1.5 }},
		{"faults.default", func(c *Config) { c.Faults.Default.Reset, c.Faults.Default.Truncate = 0.6, 0.6 }},
		{"faults.default.latency.max", func(c *Config) { c.Faults.Default.Latency = FaultLatency{Min: 2 * time.Second, Max: time.Second} }},
		{"faults.endpoints.setImages.reset", func(c *Config) {
			c.Faults.Endpoints = map[assure.Endpoint]FaultSpec{assure.EndpointSetImages: {Reset: 2}}
		}},
		{"faults.endpoints.bogus", func(c *Config) { c.Faults.Endpoints = map[assure.Endpoint]FaultSpec{"bogus": {}} }},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			cfg := DefaultConfig()
			c.mut(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.field+":")
			_, err = New(cfg)
			assert.Error(t, err)
		})
	}
}

func TestParseFaults(t *testing.T) {
	js := `{"seed": 7, "default": {"server_error": 0.5, "retry_after": "3s"}, "endpoints": {"getProcess": {"reset": 1}}}`
	yml := "seed: 7\ndefault:\n  server_error: 0.5\n  retry_after: 3s\nendpoints:\n  getProcess:\n    reset: 1\n"
	want := Faults{Seed: 7, Default: FaultSpec{ServerError: 0.5, RetryAfter: 3 * time.Second},
		Endpoints: map[assure.Endpoint]FaultSpec{assure.EndpointGetProcess: {Reset: 1}}}
	for name, body := range map[string]string{"json": js, "yaml": yml} {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFaults([]byte(body))
			require.NoError(t, err)
			assert.Equal(t, want, f)
		})
	}
	for body, want := range map[string]string{
		"":                                      "empty",
		`{"defaults": {}}`:                      "defaults",
		`{"endpoints": {"x": {}}}`:              "faults.endpoints.x",
		`{"default": {"too_many_requests": 3}}`: "faults.default.too_many_requests",
	} {
		_, err := ParseFaults([]byte(body))
		require.Error(t, err, body)
		assert.Contains(t, err.Error(), want)
	}
}

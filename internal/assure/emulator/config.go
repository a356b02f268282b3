package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"

	"reverify/internal/assure"
)

// Config is the emulator's configuration. In YAML the keys are snake_case and
// durations are strings such as "25s" (see configs/emulator.yaml, which
// documents every key). Times are emulated unless a field says otherwise.
type Config struct {
	// ClientID and ClientSecret are the only credentials the token endpoint
	// accepts (HTTP Basic, client_secret_basic).
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// TokenTTL is the access token lifetime in REAL time (not scaled), 1s..1h.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// TimeScale shrinks every delay: the emulated clock runs 1/TimeScale
	// times faster than the real clock (0.001: one real second is 1000
	// emulated seconds).
	TimeScale float64 `yaml:"time_scale"`
	// Seed drives every deterministic draw (processing latency, token key).
	Seed int64 `yaml:"seed"`
	// Processing is the distribution of the time from start verification to
	// the final status.
	Processing Latency `yaml:"processing"`
	// OutcomeMix is the distribution of outcomes for images without specimen
	// data (docs/outcome-rules.md rule 4).
	OutcomeMix Mix `yaml:"outcome_mix"`
	// TransactionExpiry is the longest time allowed between the first image
	// upload and start verification (longer → failed).
	TransactionExpiry time.Duration `yaml:"transaction_expiry"`
	// MaxImageBytes is the largest decoded image accepted by set images.
	MaxImageBytes int64 `yaml:"max_image_bytes"`
	// MaxImagePixels is the most pixels (width × height, from the image's
	// header) of an image set images accepts: no larger image is ever
	// decoded (a 29 KB JPEG can declare 60000×60000).
	MaxImagePixels int64 `yaml:"max_image_pixels"`
	// ImageDir, when set, is an existing directory in which the emulator
	// creates a private folder (removed by Close) and keeps the bytes of
	// images once their process is started and its outcome computed, so that
	// its memory follows the processes in flight, not their images. Empty:
	// images stay in memory.
	ImageDir string `yaml:"image_dir"`
	// RateLimit is an optional global request-rate limit.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Faults injects failures per endpoint.
	Faults Faults `yaml:"faults"`
}

// Latency is a log-normal distribution clamped to [Min, Max]: the median is
// Median and ln(latency) has standard deviation Sigma.
type Latency struct {
	Median time.Duration `yaml:"median"`
	Sigma  float64       `yaml:"sigma"`
	Min    time.Duration `yaml:"min"`
	Max    time.Duration `yaml:"max"`
}

// Mix is the share of each final status among images without specimen data.
// The shares must add up to 1.
type Mix struct {
	Accepted     float64 `yaml:"accepted"`
	Inconclusive float64 `yaml:"inconclusive"`
	Rejected     float64 `yaml:"rejected"`
	Failed       float64 `yaml:"failed"`
}

// RateLimit is a token bucket over REAL time. RequestsPerSecond 0 disables it.
// A request that finds the bucket empty gets 429 with Retry-After.
type RateLimit struct {
	RequestsPerSecond float64       `yaml:"requests_per_second"`
	Burst             int           `yaml:"burst"`
	RetryAfter        time.Duration `yaml:"retry_after"`
}

// Faults configures fault injection. Each request to an API endpoint draws
// its fault from a deterministic sequence: the n-th request to an endpoint
// gets the same fault for the same Seed, whatever the timing.
type Faults struct {
	// Seed of the fault sequences.
	Seed int64 `yaml:"seed"`
	// Default applies to every endpoint not listed in Endpoints.
	Default FaultSpec `yaml:"default"`
	// Endpoints replaces Default for the listed endpoints (keys are
	// assure.Endpoint names such as "setImages" or "token").
	Endpoints map[assure.Endpoint]FaultSpec `yaml:"endpoints,omitempty"`
}

// FaultSpec gives the probability of each fault for one endpoint. The
// probabilities of ServerError, TooManyRequests, Reset and Truncate are
// exclusive and add up to at most 1; Latency is drawn independently.
type FaultSpec struct {
	// Latency adds a delay (scaled by time_scale) before the request is served.
	Latency FaultLatency `yaml:"latency"`
	// ServerError answers 500, 502 or 503 before the handler runs.
	ServerError float64 `yaml:"server_error"`
	// TooManyRequests answers 429 with Retry-After before the handler runs.
	TooManyRequests float64 `yaml:"too_many_requests"`
	// RetryAfter is the Retry-After of injected 429s (scaled, whole seconds).
	RetryAfter time.Duration `yaml:"retry_after"`
	// Reset closes the connection with a TCP RST; half of the resets happen
	// after the handler changed state.
	Reset float64 `yaml:"reset"`
	// Truncate runs the handler, declares the full Content-Length and sends
	// half of the response before closing the connection.
	Truncate float64 `yaml:"truncate"`
}

// FaultLatency adds a delay drawn uniformly from [Min, Max] with the given
// probability. Max 0 means Max = Min.
type FaultLatency struct {
	Probability float64       `yaml:"probability"`
	Min         time.Duration `yaml:"min"`
	Max         time.Duration `yaml:"max"`
}

// DefaultMaxImagePixels is the emulator's documented choice for the largest
// image set images accepts: 25 megapixels (5000 × 5000, the largest side
// the provider's specification names, for its Watermark/Redact inputs). The
// real API's limit is not documented (docs/emulator.md, "Choices").
const DefaultMaxImagePixels = 25_000_000

// Default credentials of the emulator.
const (
	DefaultClientID     = "reverify-emulator"
	DefaultClientSecret = "emulator-secret"
)

// DefaultConfig is the configuration used when nothing is set: credentials
// reverify-emulator / emulator-secret, 600s tokens, real time, processing
// latency log-normal (median 25s, sigma 0.5, clamped to 5s..120s), outcome
// mix 0.80/0.10/0.07/0.03, 15-minute transaction expiry, 4 MiB images, no rate
// limit and no faults.
func DefaultConfig() Config {
	return Config{
		ClientID:          DefaultClientID,
		ClientSecret:      DefaultClientSecret,
		TokenTTL:          600 * time.Second,
		TimeScale:         1,
		Seed:              1,
		Processing:        Latency{Median: 25 * time.Second, Sigma: 0.5, Min: 5 * time.Second, Max: 120 * time.Second},
		OutcomeMix:        Mix{Accepted: 0.80, Inconclusive: 0.10, Rejected: 0.07, Failed: 0.03},
		TransactionExpiry: 15 * time.Minute,
		MaxImageBytes:     4 << 20,
		MaxImagePixels:    DefaultMaxImagePixels,
		RateLimit:         RateLimit{RetryAfter: time.Second},
		Faults:            Faults{Seed: 1, Default: FaultSpec{RetryAfter: time.Second}},
	}
}

// LoadConfig reads a YAML file over DefaultConfig and validates the result.
// Unknown keys are errors that name the key.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("emulator config: %w", err)
	}
	cfg := DefaultConfig()
	if err := decodeYAML(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("emulator config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("emulator config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseFaults reads a fault configuration (JSON or YAML, the shape of the
// config's `faults` key) and validates it. Absent keys are zero: the result
// replaces the whole fault configuration.
func ParseFaults(data []byte) (Faults, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Faults{}, errors.New("faults: empty body")
	}
	var f Faults
	if err := decodeYAML(data, &f); err != nil {
		return Faults{}, fmt.Errorf("faults: %w", err)
	}
	if err := f.validate("faults"); err != nil {
		return Faults{}, err
	}
	return f, nil
}

// decodeYAML decodes YAML (or JSON, which is YAML) strictly: unknown keys
// are errors. An empty document leaves v unchanged.
func decodeYAML(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Validate checks every field; each error names the field (YAML key path).
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.ClientID == "" {
		add("client_id", "must not be empty")
	}
	if c.ClientSecret == "" {
		add("client_secret", "must not be empty")
	}
	if c.TokenTTL < time.Second || c.TokenTTL > time.Hour {
		add("token_ttl", "must be between 1s and 1h, got %s", c.TokenTTL)
	}
	if !(c.TimeScale > 0) || math.IsInf(c.TimeScale, 0) || c.TimeScale > 1000 {
		add("time_scale", "must be > 0 and <= 1000, got %v", c.TimeScale)
	}
	p := c.Processing
	if p.Median <= 0 {
		add("processing.median", "must be > 0, got %s", p.Median)
	}
	if !(p.Sigma >= 0) || math.IsInf(p.Sigma, 0) || p.Sigma > 5 {
		add("processing.sigma", "must be between 0 and 5, got %v", p.Sigma)
	}
	if p.Min < 0 {
		add("processing.min", "must be >= 0, got %s", p.Min)
	}
	if p.Max < p.Min || p.Max <= 0 {
		add("processing.max", "must be > 0 and >= processing.min (%s), got %s", p.Min, p.Max)
	}
	m := c.OutcomeMix
	for _, s := range []struct {
		name string
		v    float64
	}{{"accepted", m.Accepted}, {"inconclusive", m.Inconclusive}, {"rejected", m.Rejected}, {"failed", m.Failed}} {
		if !(s.v >= 0 && s.v <= 1) {
			add("outcome_mix."+s.name, "must be between 0 and 1, got %v", s.v)
		}
	}
	if sum := m.sum(); math.Abs(sum-1) > 1e-6 {
		add("outcome_mix", "shares must add up to 1, got %v", sum)
	}
	if c.TransactionExpiry <= 0 {
		add("transaction_expiry", "must be > 0, got %s", c.TransactionExpiry)
	}
	if c.MaxImageBytes <= 0 || c.MaxImageBytes > 64<<20 {
		add("max_image_bytes", "must be between 1 and %d, got %d", 64<<20, c.MaxImageBytes)
	}
	if c.MaxImagePixels <= 0 || c.MaxImagePixels > maxPixels {
		add("max_image_pixels", "must be between 1 and %d, got %d", int64(maxPixels), c.MaxImagePixels)
	}
	r := c.RateLimit
	if !(r.RequestsPerSecond >= 0) || math.IsInf(r.RequestsPerSecond, 0) {
		add("rate_limit.requests_per_second", "must be >= 0 (0 disables), got %v", r.RequestsPerSecond)
	}
	if r.RequestsPerSecond > 0 && r.Burst < 1 {
		add("rate_limit.burst", "must be >= 1 when the rate limit is on, got %d", r.Burst)
	}
	if r.Burst < 0 {
		add("rate_limit.burst", "must be >= 0, got %d", r.Burst)
	}
	if r.RetryAfter < 0 {
		add("rate_limit.retry_after", "must be >= 0, got %s", r.RetryAfter)
	}
	if err := c.Faults.validate("faults"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m Mix) sum() float64 { return m.Accepted + m.Inconclusive + m.Rejected + m.Failed }

func (f Faults) validate(prefix string) error {
	var errs []error
	if err := f.Default.validate(prefix + ".default"); err != nil {
		errs = append(errs, err)
	}
	known := map[assure.Endpoint]bool{}
	for _, ep := range assure.Endpoints() {
		known[ep] = true
	}
	keys := make([]string, 0, len(f.Endpoints))
	for k := range f.Endpoints {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := prefix + ".endpoints." + k
		if !known[assure.Endpoint(k)] {
			errs = append(errs, fmt.Errorf("%s: unknown endpoint %q (known: %v)", field, k, assure.Endpoints()))
			continue
		}
		if err := f.Endpoints[assure.Endpoint(k)].validate(field); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s FaultSpec) validate(prefix string) error {
	var errs []error
	prob := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("%s.%s: probability must be between 0 and 1, got %v", prefix, name, v))
		}
	}
	prob("latency.probability", s.Latency.Probability)
	prob("server_error", s.ServerError)
	prob("too_many_requests", s.TooManyRequests)
	prob("reset", s.Reset)
	prob("truncate", s.Truncate)
	if sum := s.ServerError + s.TooManyRequests + s.Reset + s.Truncate; sum > 1+1e-9 {
		errs = append(errs, fmt.Errorf("%s: server_error + too_many_requests + reset + truncate must be <= 1, got %v", prefix, sum))
	}
	if s.Latency.Min < 0 {
		errs = append(errs, fmt.Errorf("%s.latency.min: must be >= 0, got %s", prefix, s.Latency.Min))
	}
	if s.Latency.Max != 0 && s.Latency.Max < s.Latency.Min {
		errs = append(errs, fmt.Errorf("%s.latency.max: must be 0 or >= latency.min (%s), got %s", prefix, s.Latency.Min, s.Latency.Max))
	}
	if s.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("%s.retry_after: must be >= 0, got %s", prefix, s.RetryAfter))
	}
	return errors.Join(errs...)
}

// spec is the fault spec of an endpoint.
func (f Faults) spec(ep assure.Endpoint) FaultSpec {
	if s, ok := f.Endpoints[ep]; ok {
		return s
	}
	return f.Default
}

// redacted is the config as shown by GET /_emulator/config.
func (c Config) redacted() Config {
	c.ClientSecret = "REDACTED"
	return c
}

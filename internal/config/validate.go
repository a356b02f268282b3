package config

import (
	"fmt"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/pictureid"
	"reverify/internal/pipeline"
	"reverify/internal/privacy"
	"reverify/internal/sample"
)

// Validate checks every field and returns all problems as Errors, one per
// line, each starting with the dotted field name and saying what is wrong
// and what was given (api.rate: must be > 0 or auto (got -3)). Credentials are
// required unless run.dry_run is on (dry runs use the emulator's own).
func (c Config) Validate() error {
	var v Errors
	c.Run.validate(&v)
	c.Source.validate(&v)
	c.Output.validate(&v)
	c.API.validate(&v, c.Run.DryRun)
	validateConcurrency(&v, c.Concurrency)
	validatePoll(&v, c.Poll)
	validateThreshold(&v, c.FailureThreshold)
	c.Emulator.validate(&v)
	c.Logging.validate(&v)
	c.Metrics.validate(&v)
	return v.err()
}

const maxRunIDLen = 128

func (r RunConfig) validate(v *Errors) {
	if !validRunID(r.RunID) {
		v.add("run.run_id", fmt.Sprintf("must be 1 to %d characters from A-Z a-z 0-9 . _ -, not starting with '.' (got %q)", maxRunIDLen, r.RunID))
	}
	if _, _, err := parseShard(r.Shard); err != nil {
		v.add("run.shard", err.Error())
	}
	atLeast(v, "run.shard_count", r.ShardCount, 1)
	atLeast(v, "run.limit", r.Limit, 0)
	nonNegative(v, "run.max_duration", r.MaxDuration)
	nonNegative(v, "run.grace_period", r.GracePeriod)
	if r.LeaseTTL < time.Second {
		v.add("run.lease_ttl", fmt.Sprintf("must be >= 1s (got %s)", r.LeaseTTL))
	}
	if !r.Redrive.Valid() {
		v.add("run.redrive", fmt.Sprintf("must be none, retryable or all (got %q)", r.Redrive))
	}
	if _, err := sample.Parse(r.Sample); err != nil {
		v.add("run.sample", err.Error())
	}
	if _, ok := r.VerifiedSince(); !ok && strings.TrimSpace(r.SkipVerifiedSince) != "" {
		v.add("run.skip_verified_since", fmt.Sprintf("want a date (2026-01-31) or an RFC 3339 time (got %q)", r.SkipVerifiedSince))
	}
	if r.History != "" {
		if _, err := blob.Parse(r.History); err != nil {
			v.add("run.history", err.Error())
		} else if strings.TrimSpace(r.SkipVerifiedSince) == "" {
			v.add("run.history", "is read only with run.skip_verified_since: set that too, or leave this empty")
		}
	}
}

func validRunID(id string) bool {
	if id == "" || len(id) > maxRunIDLen || id[0] == '.' {
		return false // a leading '.' would make the run's folder hidden
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return false
		}
	}
	return true
}

// parseShard parses "K/N"; "" is "0/1".
func parseShard(s string) (k, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, kerr := strconv.Atoi(ks)
	n, nerr := strconv.Atoi(ns)
	if !ok || kerr != nil || nerr != nil || strings.HasPrefix(ks, "+") || strings.HasPrefix(ns, "+") {
		return 0, 0, fmt.Errorf(`must be "K/N" with whole numbers, 0 <= K < N (got %q)`, s)
	}
	if n < 1 || k < 0 || k >= n {
		return 0, 0, fmt.Errorf("must satisfy 0 <= K < N (got %q; K is 0-based)", s)
	}
	return k, n, nil
}

func (s SourceConfig) validate(v *Errors) {
	location(v, "source.archive", s.Archive)
	if s.Manifest != "" {
		ext := strings.ToLower(path.Ext(s.Manifest))
		if ext != ".csv" && ext != ".jsonl" {
			v.add("source.manifest", fmt.Sprintf("must name a .csv or .jsonl file (got %q)", s.Manifest))
		} else if blob.IsURI(s.Manifest) {
			location(v, "source.manifest", s.Manifest)
		}
	}
	atLeast(v, "source.default_document_id", s.DefaultDocumentID, 1)
	switch s.DefaultProcessType {
	case pictureid.ProcessDocumentSelfie, pictureid.ProcessDocument:
	default:
		v.add("source.default_process_type", fmt.Sprintf("must be %s or %s (got %q)",
			pictureid.ProcessDocumentSelfie, pictureid.ProcessDocument, s.DefaultProcessType))
	}
	if s.MaxImageBytes <= 0 {
		v.add("source.max_image_bytes", fmt.Sprintf("must be > 0 (got %s)", s.MaxImageBytes))
	}
	if s.MaxPixels <= 0 {
		v.add("source.max_pixels", fmt.Sprintf("must be > 0 (got %d)", s.MaxPixels))
	}
	atLeast(v, "source.min_width", s.MinWidth, 0)
	atLeast(v, "source.min_height", s.MinHeight, 0)
	validateS3(v, "source.s3", s.S3)
	readOnlyS3(v, "source.s3", "output.s3", s.S3)
}

func (o OutputConfig) validate(v *Errors) {
	location(v, "output.uri", o.URI)
	atLeast(v, "output.max_rows_per_part", o.MaxRowsPerPart, 1)
	positive(v, "output.max_part_age", o.MaxPartAge)
	o.validatePersonalData(v)
	validateS3(v, "output.s3", o.S3)
	validateEncryption(v, "output.s3", o.S3)
}

// validatePersonalData checks output.personal_data, its key, and the result
// zips it must allow.
func (o OutputConfig) validatePersonalData(v *Errors) {
	if !o.PersonalData.Valid() {
		v.add("output.personal_data", fmt.Sprintf("must be %s, %s or %s (got %q)", privacy.Omit, privacy.Hash, privacy.Include, string(o.PersonalData)))
		return
	}
	if o.PersonalData == privacy.Hash && len(o.HashKey) == 0 {
		v.add("output.hash_key_file", fmt.Sprintf("required with output.personal_data: hash: name a file holding the HMAC key (at least %d bytes) in %s or output.hash_key_file",
			privacy.MinKeyBytes, EnvHashKeyFile))
	}
	if o.DownloadResults && o.PersonalData != privacy.Include {
		v.add("output.download_results", fmt.Sprintf("true needs output.personal_data: include (got %s): a full-result zip holds the document and selfie images "+
			"and the whole result, every identifier the %s policy keeps out of the report", o.PersonalData, o.PersonalData))
	}
}

func validateS3(v *Errors, prefix string, o blob.S3Options) {
	if o.Endpoint != "" {
		httpURL(v, prefix+".endpoint", o.Endpoint)
	}
	atLeast(v, prefix+".max_attempts", o.MaxAttempts, 0)
}

// validateEncryption checks the server-side encryption S3 is asked for on
// every object written through prefix's client.
func validateEncryption(v *Errors, prefix string, o blob.S3Options) {
	switch o.SSE {
	case blob.SSENone, blob.SSEAES256, blob.SSEKMS:
	default:
		v.add(prefix+".sse", fmt.Sprintf(`must be "" (none asked for: the bucket's default encryption applies), %s (SSE-S3) or %s (SSE-KMS) (got %q)`,
			blob.SSEAES256, blob.SSEKMS, o.SSE))
	}
	if o.KMSKeyID != "" && o.SSE != blob.SSEKMS {
		v.add(prefix+".kms_key_id", fmt.Sprintf("is only for %s.sse: %s (got %s.sse %q)", prefix, blob.SSEKMS, prefix, o.SSE))
	}
}

// readOnlyS3 refuses the encryption keys on a client that only reads
// (prefix), where they would do nothing: S3 encrypts objects as they are
// written, and a reader gets them decrypted whatever it asks for.
// writer is the section that does write.
func readOnlyS3(v *Errors, prefix, writer string, o blob.S3Options) {
	if o.SSE != "" {
		v.add(prefix+".sse", fmt.Sprintf("must be empty: the archive is only read, never written; "+
			"to encrypt what reverify writes, set %s.sse (got %q)", writer, o.SSE))
	}
	if o.KMSKeyID != "" {
		v.add(prefix+".kms_key_id", fmt.Sprintf("must be empty: the archive is only read, never written; "+
			"to encrypt what reverify writes with a KMS key, set %s.sse: %s and %s.kms_key_id (got %q)", writer, blob.SSEKMS, writer, o.KMSKeyID))
	}
}

// validateRate checks api.rate and the keys that go with it: a fixed rate
// (rate_per_shard may replace rate/N; max_rate and start_rate are unused),
// or auto (max_rate, or rate_per_shard, gives the ceiling; start_rate at
// most max_rate).
func (a APIConfig) validateRate(v *Errors) {
	if !a.Rate.Auto && (!(a.Rate.PerSecond > 0) || !finite(a.Rate.PerSecond)) {
		v.add("api.rate", fmt.Sprintf("must be > 0 or auto (got %v)", a.Rate.PerSecond))
	}
	if a.RatePerShard < 0 || !finite(a.RatePerShard) {
		v.add("api.rate_per_shard", fmt.Sprintf("must be >= 0, 0 meaning rate/N (got %v)", a.RatePerShard))
	}
	maxOK := a.MaxRate >= 0 && finite(a.MaxRate)
	if !maxOK {
		v.add("api.max_rate", fmt.Sprintf("must be >= 0 (got %v)", a.MaxRate))
	}
	startOK := a.StartRate >= 0 && finite(a.StartRate)
	if !startOK {
		v.add("api.start_rate", fmt.Sprintf("must be >= 0, 0 meaning max_rate/10 (got %v)", a.StartRate))
	}
	if !a.Rate.Auto {
		return
	}
	if maxOK && a.MaxRate == 0 && a.RatePerShard == 0 {
		v.add("api.max_rate", "required with api.rate: auto: the most requests per second the whole job may send "+
			"(each of N shards adapts up to max_rate/N; or set api.rate_per_shard, one shard's ceiling)")
	}
	if maxOK && startOK && a.MaxRate > 0 && a.StartRate > a.MaxRate {
		v.add("api.start_rate", fmt.Sprintf("must be <= api.max_rate (%v) (got %v)", a.MaxRate, a.StartRate))
	}
}

func (a APIConfig) validate(v *Errors, dryRun bool) {
	httpURL(v, "api.base_url", a.BaseURL)
	httpURL(v, "api.token_url", a.TokenURL)
	a.validateRate(v)
	atLeast(v, "api.burst", a.Burst, 1)
	positive(v, "api.request_timeout", a.RequestTimeout)
	atLeast(v, "api.retry.max_attempts", a.Retry.MaxAttempts, 1)
	positive(v, "api.retry.base_delay", a.Retry.BaseDelay)
	if a.Retry.MaxDelay < a.Retry.BaseDelay || a.Retry.MaxDelay <= 0 {
		v.add("api.retry.max_delay", fmt.Sprintf("must be > 0 and >= api.retry.base_delay (%s) (got %s)", a.Retry.BaseDelay, a.Retry.MaxDelay))
	}
	positive(v, "api.retry.max_pause", a.Retry.MaxPause)
	positive(v, "api.retry.max_elapsed", a.Retry.MaxElapsed)
	// The provider fails a start more than 15 minutes after the first image:
	// a record's set images and start verification must fit (see
	// assure.RetryPolicy.WorstSubmit).
	if worst := a.Retry.WorstSubmit(a.RequestTimeout); a.Retry.MaxElapsed > 0 && a.RequestTimeout > 0 && worst > assure.SubmitWindow {
		rt, m := a.RequestTimeout, assure.InFlightMargin(a.RequestTimeout)
		fits := max((assure.SubmitWindow-4*rt-2*m)/2, 0)
		v.add("api.retry.max_elapsed", fmt.Sprintf("with api.request_timeout %s, a record's set images and start verification may take "+
			"%s (set images: max_elapsed + request_timeout; start: as much, then the wait for an unanswered start to be over and its read-back, "+
			"request_timeout + %s each), more than the %s the provider allows between the first image and the start; at most %s (got %s)",
			rt, worst, m, assure.SubmitWindow, fits, a.Retry.MaxElapsed))
	}
	nonNegative(v, "api.token_renew_before", a.TokenRenewBefore)
	positive(v, "api.token_timeout", a.TokenTimeout)
	if dryRun {
		return
	}
	if a.ClientID == "" {
		v.add("api.client_id", fmt.Sprintf("required: set %s (or run with run.dry_run: true)", EnvClientID))
	}
	if a.ClientSecret == "" {
		v.add("api.client_secret", fmt.Sprintf("required: set %s, %s or api.client_secret_file (or run with run.dry_run: true)", EnvClientSecret, EnvClientSecretFile))
	}
}

func validateConcurrency(v *Errors, c pipeline.Concurrency) {
	atLeast(v, "concurrency.uploads", c.Uploads, 1)
	atLeast(v, "concurrency.in_flight", c.InFlight, 1)
	atLeast(v, "concurrency.poll_workers", c.PollWorkers, 1)
	atLeast(v, "concurrency.finalizers", c.Finalizers, 1)
}

func validatePoll(v *Errors, p pipeline.PollConfig) {
	nonNegative(v, "poll.initial_delay", p.InitialDelay)
	if !(p.Multiplier >= 1) || !finite(p.Multiplier) {
		v.add("poll.multiplier", fmt.Sprintf("must be >= 1 (got %v)", p.Multiplier))
	}
	positive(v, "poll.max_interval", p.MaxInterval)
	if !(p.Jitter >= 0 && p.Jitter < 1) {
		v.add("poll.jitter", fmt.Sprintf("must be in [0, 1) (got %v)", p.Jitter))
	}
	positive(v, "poll.deadline", p.Deadline)
	nonNegative(v, "poll.list_interval", p.ListInterval)
}

func validateThreshold(v *Errors, f pipeline.Threshold) {
	atLeast(v, "failure_threshold.min_records", f.MinRecords, 1)
	if !(f.MaxErrorShare > 0 && f.MaxErrorShare <= 1) {
		v.add("failure_threshold.max_error_share", fmt.Sprintf("must be in (0, 1], 1 disabling the threshold (got %v)", f.MaxErrorShare))
	}
}

func (e EmulatorConfig) validate(v *Errors) {
	if !(e.TimeScale > 0 && e.TimeScale <= 1) {
		v.add("emulator.time_scale", fmt.Sprintf("must be in (0, 1] (got %v)", e.TimeScale))
	}
}

func (l LoggingConfig) validate(v *Errors) {
	oneOf(v, "logging.level", l.Level, "debug", "info", "warn", "error")
	oneOf(v, "logging.format", l.Format, "auto", "json", "text")
	positive(v, "logging.progress_interval", l.ProgressInterval)
}

func (m MetricsConfig) validate(v *Errors) {
	oneOf(v, "metrics.format", m.Format, MetricsNone, MetricsEMF)
	positive(v, "metrics.interval", m.Interval)
	// CloudWatch's namespaces: 1 to 255 characters of A-Z a-z 0-9 . - _ / #
	// : and space, not only spaces, and AWS/ is AWS's own.
	validNS := len(m.Namespace) >= 1 && len(m.Namespace) <= 255 && strings.TrimSpace(m.Namespace) != "" &&
		!strings.HasPrefix(m.Namespace, "AWS/") &&
		strings.Trim(m.Namespace, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_/#: ") == ""
	if !validNS {
		v.add("metrics.namespace", fmt.Sprintf("must be 1 to 255 characters from A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/ (got %q)", m.Namespace))
	}
	if m.PushURL != "" {
		if u, err := url.Parse(m.PushURL); err == nil && u.User != nil {
			v.add("metrics.push_url", fmt.Sprintf("must not hold credentials: they would be printed and logged (got %q)", u.Redacted()))
		} else {
			httpURL(v, "metrics.push_url", m.PushURL)
		}
	}
	if strings.TrimSpace(m.Job) == "" {
		v.add("metrics.job", fmt.Sprintf("must not be empty: it is the Pushgateway's job label (got %q)", m.Job))
	}
}

func atLeast(v *Errors, field string, got, min int) {
	if got < min {
		v.add(field, fmt.Sprintf("must be >= %d (got %d)", min, got))
	}
}

func positive(v *Errors, field string, d time.Duration) {
	if d <= 0 {
		v.add(field, fmt.Sprintf("must be > 0 (got %s)", d))
	}
}

func nonNegative(v *Errors, field string, d time.Duration) {
	if d < 0 {
		v.add(field, fmt.Sprintf("must be >= 0 (got %s)", d))
	}
}

func oneOf(v *Errors, field, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.add(field, fmt.Sprintf("must be one of %s (got %q)", strings.Join(allowed, ", "), got))
}

func location(v *Errors, field, s string) {
	if _, err := blob.Parse(s); err != nil {
		v.add(field, fmt.Sprintf("invalid location: %v (use s3://bucket/prefix, file:///path or a path)", err))
	}
}

func httpURL(v *Errors, field, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(field, fmt.Sprintf("must be an http(s) URL (got %q)", s))
	}
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

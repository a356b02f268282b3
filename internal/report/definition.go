package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"reverify/internal/blob"
	"reverify/internal/fault"
)

// DefinitionName is the object of a run's definition below its folder.
const DefinitionName = "_definition.json"

// DefinitionKey is the key of a run's definition: `runs/<run_id>/_definition.json`.
func DefinitionKey(runID string) string { return RunPrefix(runID) + DefinitionName }

// Definition is what defines a run: which records exist and what they mean.
// The first attempt of any shard records it; every later attempt must have
// the same, or is refused before any API call. Settings that only change
// how fast or how patiently a run works (rate, concurrency, polling, grace
// period, deadlines) are not part of it and may change between attempts.
type Definition struct {
	V int `json:"v"`
	// DryRun: against the bundled emulator (its URL changes every attempt:
	// the URLs are "bundled emulator" then).
	DryRun   bool   `json:"dry_run"`
	BaseURL  string `json:"api_base_url"`
	TokenURL string `json:"api_token_url"`
	// Archive and Manifest are absolute URIs; ManifestSHA256 the manifest's
	// digest.
	Archive        string `json:"source_archive"`
	Manifest       string `json:"source_manifest,omitempty"`
	ManifestSHA256 string `json:"source_manifest_sha256,omitempty"`
	ShardCount     int    `json:"shard_count"`
	// What a record means and which ones reach the API.
	DefaultDocumentID  int    `json:"source_default_document_id"`
	DefaultProcessType string `json:"source_default_process_type"`
	MaxImageBytes      int64  `json:"source_max_image_bytes"`
	MaxPixels          int64  `json:"source_max_pixels"`
	MinWidth           int    `json:"source_min_width"`
	MinHeight          int    `json:"source_min_height"`
	// What a row holds.
	DownloadResults bool `json:"output_download_results"`
	// PersonalData is output.personal_data (privacy.Policy); empty (a
	// definition recorded before it existed) compares as "include", what
	// rows held then.
	// HashKeyID names the key of the hash policy (privacy.KeyID), so that a
	// run's hashes all join: empty under the other policies.
	PersonalData string `json:"output_personal_data,omitempty"`
	HashKeyID    string `json:"output_hash_key_id,omitempty"`
	// Sample and SampleSeed are run.sample (canonical: "N" or "P%") and
	// run.sample_seed; empty and 0 without a sample.
	Sample     string `json:"run_sample,omitempty"`
	SampleSeed int64  `json:"run_sample_seed,omitempty"`
	// SkipVerifiedSince (RFC 3339) and History are
	// run.skip_verified_since and the output it reads; empty without.
	SkipVerifiedSince string `json:"run_skip_verified_since,omitempty"`
	History           string `json:"run_history,omitempty"`

	// When the first attempt recorded it.
	CreatedAt time.Time `json:"created_at"`
}

const definitionVersion = 1

// definitionPersonalDataBefore is the personal-data policy of a definition
// recorded before output.personal_data existed: every column was written.
const definitionPersonalDataBefore = "include"

// settings lists the defining settings by their configuration keys.
func (d Definition) settings() [][2]string {
	return [][2]string{
		{"run.dry_run", strconv.FormatBool(d.DryRun)},
		{"api.base_url", d.BaseURL},
		{"api.token_url", d.TokenURL},
		{"source.archive", d.Archive},
		{"source.manifest", d.Manifest},
		{"the manifest's SHA-256", d.ManifestSHA256},
		{"the shard count (run.shard K/N)", strconv.Itoa(d.ShardCount)},
		{"source.default_document_id", strconv.Itoa(d.DefaultDocumentID)},
		{"source.default_process_type", d.DefaultProcessType},
		{"source.max_image_bytes", strconv.FormatInt(d.MaxImageBytes, 10)},
		{"source.max_pixels", strconv.FormatInt(d.MaxPixels, 10)},
		{"source.min_width", strconv.Itoa(d.MinWidth)},
		{"source.min_height", strconv.Itoa(d.MinHeight)},
		{"output.download_results", strconv.FormatBool(d.DownloadResults)},
		{"output.personal_data", cmp.Or(d.PersonalData, definitionPersonalDataBefore)},
		{"the hash key (output.hash_key_file; its key id)", d.HashKeyID},
		{"run.sample", d.Sample},
		{"run.sample_seed", strconv.FormatInt(d.SampleSeed, 10)},
		{"run.skip_verified_since", d.SkipVerifiedSince},
		{"run.history", d.History},
	}
}

// Differences names each defining setting of d that differs from first's,
// with both values.
func (d Definition) Differences(first Definition) []string {
	var out []string
	now, then := d.settings(), first.settings()
	for i := range now {
		if now[i][1] != then[i][1] {
			out = append(out, fmt.Sprintf("%s: %s at the first attempt, %s now", now[i][0], quote(then[i][1]), quote(now[i][1])))
		}
	}
	return out
}

func quote(s string) string {
	if s == "" {
		return "(none)"
	}
	return strconv.Quote(s)
}

// ErrDefinitionChanged is wrapped by CheckDefinition's refusal: a
// configuration error (fault.Config), the run is not touched.
var ErrDefinitionChanged = fault.New(fault.Config, "the run id was first run with another definition")

// CheckDefinition records d as the run's definition when the run has none
// yet (the first attempt of any shard; of two attempts racing, one writes
// it), and otherwise compares d with the recorded one: a difference is
// ErrDefinitionChanged, naming each differing setting with both values.
func CheckDefinition(ctx context.Context, store blob.Store, runID string, d Definition) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	d.V = definitionVersion
	key := DefinitionKey(runID)
	for range 2 {
		first, err := readDefinition(ctx, store, key)
		switch {
		case err == nil:
			if diff := d.Differences(first); len(diff) > 0 {
				return fmt.Errorf("run %q: %w (recorded %s in %s):\n  %s\nUse a new --run-id for another definition, or give this one the settings it was first run with",
					runID, ErrDefinitionChanged, first.CreatedAt.UTC().Format(time.RFC3339), store.KeyURI(key), strings.Join(diff, "\n  "))
			}
			return nil
		case !errors.Is(err, blob.ErrNotFound):
			return err
		}
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return fmt.Errorf("run definition: %w", err)
		}
		b = append(b, '\n')
		if ex, ok := store.(blob.Exclusive); ok {
			err = ex.PutIfAbsent(ctx, key, b)
		} else {
			err = store.Put(ctx, key, b)
		}
		if errors.Is(err, blob.ErrExists) {
			continue // another attempt recorded it first: compare with it
		}
		if err != nil {
			return fmt.Errorf("record the run definition %s: %w", store.KeyURI(key), err)
		}
		return nil
	}
	return fmt.Errorf("run definition %s: written and gone again", store.KeyURI(key))
}

func readDefinition(ctx context.Context, store blob.Store, key string) (Definition, error) {
	b, err := store.Get(ctx, key, 1<<20)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return Definition{}, err
		}
		return Definition{}, fmt.Errorf("read the run definition: %w", err)
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return Definition{}, fmt.Errorf("read the run definition %s: %w", store.KeyURI(key), err)
	}
	if d.V != definitionVersion {
		return Definition{}, fmt.Errorf("the run definition %s has version %d; this reverify reads version %d", store.KeyURI(key), d.V, definitionVersion)
	}
	return d, nil
}

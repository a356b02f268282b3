package report

// The evidence manifest: what an auditor asks of a run shard — which
// reverify produced it, under which definition and configuration, in which
// attempts, which parts hold its rows (their row counts and SHA-256), what
// became of the dossiers and how many verifications were started (what the
// API bills). It is written last in each attempt, whole (a local temp file
// renamed, one S3 PutObject), and VerifyOutput checks the parts against it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"reverify/internal/blob"
)

// ManifestName is the evidence manifest's object below a shard's folder.
const ManifestName = "_manifest.json"

// manifestVersion is the manifest's format version.
const manifestVersion = 1

// maxManifestBytes caps a manifest read back (a part is about 150 bytes).
const maxManifestBytes = 64 << 20

// ManifestKey is the key of a run shard's evidence manifest.
func ManifestKey(runID string, shard, count int) string {
	return ShardPrefix(runID, shard, count) + ManifestName
}

// Manifest is a run shard's evidence manifest (_manifest.json).
type Manifest struct {
	V          int       `json:"v"`
	RunID      string    `json:"run_id"`
	Shard      int       `json:"shard"`
	ShardCount int       `json:"shard_count"`
	WrittenAt  time.Time `json:"written_at"`
	// Reverify is the build that wrote this version of the manifest (each
	// attempt names its own in Attempts).
	Reverify Build `json:"reverify"`
	// Definition is the run's definition (_definition.json), which every
	// attempt had; Config the last attempt's effective configuration, as
	// --print-config renders it (secrets redacted).
	Definition Definition `json:"definition"`
	Config     string     `json:"effective_config"`
	// Attempts: every attempt of the shard, oldest first.
	Attempts []ManifestAttempt `json:"attempts"`
	// Parts: every committed part of the shard, in key order; Rows their
	// rows in all.
	Parts []ManifestPart `json:"parts"`
	Rows  int64          `json:"rows"`
	// Dossiers: the deletion evidence (the dossier logs); nil when they
	// could not be read.
	Dossiers *DossierCounts `json:"dossiers"`
	// Verifications counts the rows whose verification was started: an
	// outcome of the API, or a timeout (still processing). It is what the
	// API bills, but for error rows whose start was answered and whose
	// outcome was never read.
	Verifications int64 `json:"verifications_started"`
}

// Build identifies a reverify build (runtime/debug.BuildInfo).
type Build struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	GoVersion  string `json:"go_version"`
}

// ManifestAttempt is one attempt of a run shard.
type ManifestAttempt struct {
	Attempt    string     `json:"attempt"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ExitCode   int        `json:"exit_code"`
	Host       string     `json:"host,omitempty"`
	Reverify   *Build     `json:"reverify,omitempty"`
}

// ManifestPart is one committed part.
type ManifestPart struct {
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Verifications counts the rows of t whose verification was started.
func (t *Totals) Verifications() int64 {
	n := t.Outcomes[OutcomeTimeout]
	for o, c := range t.Outcomes {
		if FinalOutcome(o) {
			n += c
		}
	}
	return n
}

// describeBytes describes a part from its bytes: its size, digest and row
// count; an error when they are not a Parquet file (the size and digest are
// set).
func describeBytes(key string, b []byte) (ManifestPart, error) {
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return manifestPart(key, b, nil), err
	}
	return manifestPart(key, b, f), nil
}

// manifestPart describes a part from its bytes and, when open, its file.
func manifestPart(key string, b []byte, f *parquet.File) ManifestPart {
	mp, _ := manifestPartOf(key, bytes.NewReader(b), f) // a bytes.Reader does not fail
	return mp
}

// manifestPartOf describes a part from its content, read once, and, when
// open, its file.
func manifestPartOf(key string, content io.Reader, f *parquet.File) (ManifestPart, error) {
	h := sha256.New()
	n, err := io.Copy(h, content)
	if err != nil {
		return ManifestPart{}, err
	}
	mp := ManifestPart{Key: key, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if f != nil {
		mp.Rows = f.NumRows()
	}
	return mp, nil
}

// WriteManifest writes m as the shard's _manifest.json, whole.
func WriteManifest(ctx context.Context, store blob.Store, m Manifest) error {
	if err := ValidateRunID(m.RunID); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := validateShard(m.Shard, m.ShardCount); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	m.V = manifestVersion
	m.Rows = 0
	for _, p := range m.Parts {
		m.Rows += p.Rows
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	key := ManifestKey(m.RunID, m.Shard, m.ShardCount)
	if err := store.Put(ctx, key, append(b, '\n')); err != nil {
		return fmt.Errorf("write manifest %s: %w", store.KeyURI(key), err)
	}
	return nil
}

// ReadManifest reads a run shard's manifest (blob.ErrNotFound: none).
func ReadManifest(ctx context.Context, store blob.Store, runID string, shard, count int) (Manifest, error) {
	key := ManifestKey(runID, shard, count)
	b, err := store.Get(ctx, key, maxManifestBytes)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return Manifest{}, err
		}
		return Manifest{}, fmt.Errorf("read manifest %s: %w", store.KeyURI(key), err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("read manifest %s: %w", store.KeyURI(key), err)
	}
	if m.V != manifestVersion {
		return Manifest{}, fmt.Errorf("manifest %s has version %d; this reverify reads version %d", store.KeyURI(key), m.V, manifestVersion)
	}
	return m, nil
}

// ReadRunDefinition reads a run's _definition.json.
func ReadRunDefinition(ctx context.Context, store blob.Store, runID string) (Definition, error) {
	return readDefinition(ctx, store, DefinitionKey(runID))
}

// ShardCheck is what VerifyOutput found in one run shard.
type ShardCheck struct {
	RunID      string `json:"run_id"`
	Shard      int    `json:"shard"`
	ShardCount int    `json:"shard_count"`
	// NoManifest: the shard has parts but no manifest (an attempt killed
	// before its end, or written by a reverify without manifests).
	NoManifest bool `json:"no_manifest,omitempty"`
	// Parts the manifest lists; OK those present and unchanged.
	Parts int `json:"parts"`
	OK    int `json:"ok"`
	// Missing: listed and absent; Extra: present and not listed; Changed:
	// present with another digest or row count than listed.
	Missing []string `json:"missing,omitempty"`
	Extra   []string `json:"extra,omitempty"`
	Changed []string `json:"changed,omitempty"`
}

// Good reports whether the shard's parts are exactly those its manifest
// lists.
func (c ShardCheck) Good() bool {
	return !c.NoManifest && len(c.Missing) == 0 && len(c.Extra) == 0 && len(c.Changed) == 0
}

// VerifyOutput checks every shard of one run (runID) or of every run
// (runID "") against its manifest: every part it lists must be there with
// the same SHA-256 and row count, and no other part. ErrNoOutput when there
// is no shard.
func VerifyOutput(ctx context.Context, store blob.Store, runID string) ([]ShardCheck, error) {
	prefix := RunsPrefix
	if runID != "" {
		if err := ValidateRunID(runID); err != nil {
			return nil, err
		}
		prefix = RunPrefix(runID)
	}
	// Every shard with a part or a manifest, in key order.
	type shardKey struct {
		run          string
		shard, count int
	}
	seen := map[shardKey]bool{}
	var shards []shardKey
	err := store.List(ctx, prefix, func(o blob.Object) error {
		rest, ok := strings.CutPrefix(o.Key, RunsPrefix)
		if !ok {
			return nil
		}
		segs := strings.Split(rest, "/")
		if len(segs) != 3 || (segs[2] != ManifestName && !isPartKey(o.Key)) {
			return nil
		}
		k, n, ok := parseShardDir(segs[1])
		if !ok || ValidateRunID(segs[0]) != nil {
			return nil
		}
		if sk := (shardKey{segs[0], k, n}); !seen[sk] {
			seen[sk] = true
			shards = append(shards, sk)
		}
		return nil
	})
	if err != nil && !missingLocalRoot(err) {
		return nil, fmt.Errorf("list %s: %w", store.KeyURI(prefix), err)
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("%s: %w", store.KeyURI(prefix), ErrNoOutput)
	}
	checks := make([]ShardCheck, 0, len(shards))
	for _, sh := range shards {
		c, err := verifyShard(ctx, store, sh.run, sh.shard, sh.count)
		if err != nil {
			return nil, err
		}
		checks = append(checks, c)
	}
	return checks, nil
}

func verifyShard(ctx context.Context, store blob.Store, runID string, shard, count int) (ShardCheck, error) {
	c := ShardCheck{RunID: runID, Shard: shard, ShardCount: count}
	m, err := ReadManifest(ctx, store, runID, shard, count)
	if errors.Is(err, blob.ErrNotFound) {
		c.NoManifest = true
		return c, nil
	}
	if err != nil {
		return c, err
	}
	present, err := shardParts(ctx, store, runID, shard, count)
	if err != nil {
		return c, err
	}
	listed := map[string]ManifestPart{}
	for _, p := range m.Parts {
		listed[p.Key] = p
	}
	c.Parts = len(m.Parts)
	seen := map[string]bool{}
	for _, p := range present {
		seen[p.Key] = true
		want, ok := listed[p.Key]
		if !ok {
			c.Extra = append(c.Extra, p.Key)
			continue
		}
		// A part that cannot be read stops the check (it says nothing of
		// the part); one that is no longer Parquet has changed.
		b, err := store.Get(ctx, p.Key, maxPartBytes)
		if err != nil {
			return c, fmt.Errorf("read part %s: %w", store.KeyURI(p.Key), err)
		}
		got, perr := describeBytes(p.Key, b)
		if perr != nil || got.SHA256 != want.SHA256 || got.Rows != want.Rows {
			c.Changed = append(c.Changed, p.Key)
			continue
		}
		c.OK++
	}
	for _, p := range m.Parts {
		if !seen[p.Key] {
			c.Missing = append(c.Missing, p.Key)
		}
	}
	slices.Sort(c.Missing)
	return c, nil
}

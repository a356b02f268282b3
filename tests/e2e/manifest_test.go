package e2e

// The evidence manifest (_manifest.json) and `batch verify-output`: a run
// writes it last; it names the build, the definition, every attempt, every
// part with its rows and SHA-256, the deletion evidence and the
// verifications started (the emulator's count); verify-output passes on the
// output as written and names each part missing, changed or extra.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/report"
)

const seedManifest = 83

func TestEvidenceManifest(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 30, Seed: seedManifest})
	out := filepath.Join(t.TempDir(), "out")
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "evidence"}
	RequireExit(t, RunBatch(t, spec), ExitIncomplete)
	// A second attempt of the finished run: the manifest adds it.
	RequireExit(t, RunBatch(t, spec), ExitIncomplete)

	shardDir := filepath.Join(out, "runs", "evidence", "shard-0-of-1")
	b, err := os.ReadFile(filepath.Join(shardDir, report.ManifestName))
	require.NoError(t, err)
	var m report.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, 1, m.V)
	assert.Equal(t, "evidence", m.RunID)
	assert.NotEmpty(t, m.Reverify.Version)
	assert.NotEmpty(t, m.Reverify.GoVersion)
	assert.Equal(t, 1, m.Definition.ShardCount)
	assert.True(t, m.Definition.DryRun == false, "a run against the test's emulator is not a dry run")
	assert.Contains(t, m.Config, "Secrets are redacted")
	assert.NotContains(t, m.Config, emu.Config().ClientSecret, "no secret in the manifest")
	require.Len(t, m.Attempts, 2)
	for _, a := range m.Attempts {
		assert.NotEmpty(t, a.Attempt)
		assert.NotNil(t, a.StartedAt)
		assert.NotNil(t, a.FinishedAt)
		assert.Equal(t, ExitIncomplete, a.ExitCode)
		assert.NotEmpty(t, a.Host)
	}
	assert.Less(t, m.Attempts[0].Attempt, m.Attempts[1].Attempt)

	// Every part, as it is on disk.
	var rows int64
	var listed []string
	for _, p := range m.Parts {
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p.Key)))
		require.NoError(t, err, p.Key)
		sum := sha256.Sum256(data)
		assert.Equal(t, hex.EncodeToString(sum[:]), p.SHA256, p.Key)
		assert.EqualValues(t, len(data), p.Bytes, p.Key)
		rows += p.Rows
		listed = append(listed, filepath.Base(p.Key))
	}
	parts, err := filepath.Glob(filepath.Join(shardDir, "*.parquet"))
	require.NoError(t, err)
	require.NotEmpty(t, parts)
	var onDisk []string
	for _, p := range parts {
		onDisk = append(onDisk, filepath.Base(p))
	}
	assert.ElementsMatch(t, onDisk, listed)
	assert.EqualValues(t, 30, rows)
	assert.Equal(t, rows, m.Rows)
	c := emu.Counters()
	assert.Equal(t, c.VerificationsStarted, m.Verifications, "what the API bills")
	require.NotNil(t, m.Dossiers)
	assert.Equal(t, c.DossiersCreated, m.Dossiers.Created)
	assert.Zero(t, m.Dossiers.Left)

	verify := func(args ...string) Result {
		return RunCommand(t, Command{Args: append([]string{"verify-output"}, args...), Env: BaseEnv(t)})
	}
	res := verify(out)
	RequireExit(t, res, ExitOK)
	assert.Contains(t, res.Stdout, "run evidence shard 0 of 1: OK")

	// Changed, missing, extra: each named, exit 1.
	require.NoError(t, os.WriteFile(parts[0], append(mustRead(t, parts[0]), 0), 0o600))
	extra := filepath.Join(shardDir, "part-00099-a000009-20260101T000000Z-deadbeef.parquet")
	require.NoError(t, os.WriteFile(extra, mustRead(t, parts[0]), 0o600))
	res = verify(out, "--run-id", "evidence")
	RequireExit(t, res, ExitFatal)
	assert.Contains(t, res.Stdout, "DOES NOT MATCH")
	assert.Contains(t, res.Stdout, "changed  ")
	assert.Contains(t, res.Stdout, filepath.Base(parts[0]))
	assert.Contains(t, res.Stdout, "extra    ")
	require.NoError(t, os.Remove(parts[0]))
	res = verify("--json", out)
	RequireExit(t, res, ExitFatal)
	var checks []report.ShardCheck
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &checks))
	require.Len(t, checks, 1)
	assert.Len(t, checks[0].Missing, 1)
	assert.True(t, strings.HasSuffix(checks[0].Missing[0], filepath.Base(parts[0])))
	assert.Len(t, checks[0].Extra, 1)

	res = verify("--run-id", "no-such-run", out)
	RequireExit(t, res, ExitFatal)
	assert.Contains(t, res.Stderr, `no output of run "no-such-run"`)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
	"reverify/internal/blob"
)

const seedLeak = 71

// identifierKeys are the API's fields holding direct identifiers (the
// seed's finalResult and providerSpecific.document.subject).
var identifierKeys = map[string]bool{
	"firstName": true, "lastName": true, "dateOfBirth": true, "documentNumber": true,
	"personalIdentificationNumber": true,
}

// collectIdentifiers adds every value of an identifier field anywhere in a
// JSON document.
func collectIdentifiers(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && identifierKeys[k] && len(s) >= 4 {
				into[s] = true
			}
			collectIdentifiers(e, into)
		}
	case []any:
		for _, e := range x {
			collectIdentifiers(e, into)
		}
	}
}

// Personal data only where the policy puts it (issue "Personal data only
// where the user wants it"): one specimen archive run under each policy,
// at debug level, against an emulator with known credentials. Every file
// under each output — journal, dossier log, summaries, definition, lease,
// Parquet (read back by DuckDB, every column) — and every log line is
// searched for every name, birth date, document number and personal
// identification number the API answered (taken from the include run's
// result_json), for the client secret and for any JWT: no hit, except the
// Parquet under include. Every file is 0600 and every folder 0700.
func TestNoPersonalDataOutsideThePolicy(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 40, Seed: seedLeak})
	key := "leak-test-key-6d1f0c2a"
	keyFile := filepath.Join(t.TempDir(), "hash.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key), 0o600))
	secret := emu.Config().ClientSecret
	require.NotEmpty(t, secret)

	outs := map[string]string{}
	logs := map[string]string{}
	for _, policy := range []string{"include", "omit", "hash"} {
		out := filepath.Join(t.TempDir(), "out-"+policy)
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "leak-" + policy,
			Sets: []string{"output.personal_data=" + policy, "logging.level=debug"},
			Env:  Env{"REVERIFY_HASH_KEY_FILE": keyFile}})
		RequireExit(t, res, ExitIncomplete) // the specimen's skipped records
		require.Contains(t, res.Stderr, `"level":"DEBUG"`, "logs at debug level")
		outs[policy], logs[policy] = out, res.Output()

		rep := RunCommand(t, Command{Args: []string{"report", out}, Env: BaseEnv(t)})
		RequireExit(t, rep, ExitOK)
		assert.Regexp(t, `dossiers created [1-9][0-9]*, deleted [1-9][0-9]*, left 0`, rep.Stdout, policy)
		cl := RunSpec{Emulator: emu, Output: out, RunID: "leak-" + policy}.CleanupCommand(t)
		cl.Args = append(cl.Args, "--list")
		listed := RunCommand(t, cl)
		RequireExit(t, listed, ExitOK)
		assert.Contains(t, listed.Stdout, "0 dossiers left at the API (nothing deleted: --list)", policy)
	}

	// The needles: what the API answered, from the include run's rows.
	db := OpenDuckDB(t)
	needles := map[string]bool{}
	for _, r := range QueryRows(t, db, `SELECT CAST(result_json AS VARCHAR) AS j FROM read_parquet(`+
		ParquetGlob(outs["include"])+`) WHERE result_json IS NOT NULL`) {
		var doc any
		require.NoError(t, json.Unmarshal([]byte(r["j"].(string)), &doc))
		collectIdentifiers(doc, needles)
	}
	require.GreaterOrEqual(t, len(needles), 20, "the specimen's answers hold names, birth dates, document numbers")
	forbidden := map[string]string{secret: "the client secret", "eyJ": "a JWT"}
	for n := range needles {
		forbidden[n] = "an identifier"
	}

	search := func(where, text string) {
		t.Helper()
		var hits []string
		for n, what := range forbidden {
			if strings.Contains(text, n) {
				hits = append(hits, fmt.Sprintf("%s %q", what, n))
			}
		}
		sort.Strings(hits)
		assert.Empty(t, hits, "%s", where)
	}
	for policy, out := range outs {
		search(policy+": the logs", logs[policy])
		files := 0
		require.NoError(t, filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			info, err := d.Info()
			require.NoError(t, err)
			if d.IsDir() {
				assert.Equal(t, fs.FileMode(0o700), info.Mode().Perm(), "folder %s", p)
				return nil
			}
			files++
			assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm(), "file %s", p)
			rel, _ := filepath.Rel(out, p)
			if strings.HasSuffix(p, ".parquet") {
				if policy == "include" {
					return nil // where include puts them
				}
				for _, r := range QueryRows(t, db, `SELECT * FROM read_parquet('`+p+`')`) {
					var b bytes.Buffer
					for col, v := range r {
						fmt.Fprintf(&b, "%s=%v\n", col, v)
					}
					search(policy+": "+rel, b.String())
				}
				return nil
			}
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			search(policy+": "+rel, string(data))
			return nil
		}))
		assert.Greater(t, files, 5, "%s: journal, dossier log, parts, summary, definition, lease", policy)
	}

	// An S3 output: the journal's checkpoint objects are compacted too.
	s3 := StartS3(t)
	s3out := s3.URI("leak/out")
	res := RunBatch(t, RunSpec{Emulator: emu, S3: s3, Source: arch.URI, Output: s3out, RunID: "leak-s3",
		Sets: []string{"output.personal_data=include", "logging.level=debug"}})
	RequireExit(t, res, ExitIncomplete)
	search("s3: the logs", res.Output())
	store := OpenStore(t, s3out, s3)
	objects := 0
	kinds := map[string]int{}
	require.NoError(t, store.List(context.Background(), "", func(o blob.Object) error {
		if strings.HasSuffix(o.Key, ".parquet") {
			return nil // where include puts them
		}
		objects++
		for _, k := range []string{"/journal/", "/dossiers/", "_summary.json", "_definition.json", "_manifest.json"} {
			if strings.Contains(o.Key, k) {
				kinds[k]++
			}
		}
		data, err := store.Get(context.Background(), o.Key, 0)
		require.NoError(t, err)
		search("s3: "+o.Key, string(data))
		return nil
	}))
	// The journal's checkpoints are compacted and merged down to what is
	// left of the attempt (its run entry): one object or a few.
	for _, k := range []string{"/journal/", "/dossiers/", "_summary.json", "_definition.json", "_manifest.json"} {
		assert.Positive(t, kinds[k], "s3: searched %s objects", k)
	}
	assert.GreaterOrEqual(t, objects, 5, "s3: journal, dossier log, summary, definition, manifest")

	// hash: an analyst joins on HMAC-SHA256(key, value) of their own data.
	joined := QueryRows(t, db, `SELECT i.first_name AS name, h.first_name AS hashed
		FROM read_parquet(`+ParquetGlob(outs["include"])+`) i JOIN read_parquet(`+ParquetGlob(outs["hash"])+`) h
		USING (record_id) WHERE i.first_name IS NOT NULL`)
	require.NotEmpty(t, joined)
	for _, r := range joined {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(r["name"].(string)))
		assert.Equal(t, hex.EncodeToString(m.Sum(nil)), r["hashed"])
	}
}

// Evidence of deletion: a run whose records time out keeps their dossiers
// (polled again by a later attempt); `batch report` counts them as left,
// `batch cleanup --list` names each and deletes nothing, `batch cleanup`
// deletes them and logs each deletion with the API's answer, after which
// the report says left 0.
func TestEvidenceOfDeletion(t *testing.T) {
	emu := StartEmulator(t, func(c *emulator.Config) {
		c.Processing = emulator.Latency{Median: 6 * time.Minute, Sigma: 0.3, Min: 200 * time.Second, Max: 800 * time.Second}
	})
	arch := WriteSpecimen(t, SpecimenSpec{Count: 20, Seed: seedLeak})
	out := filepath.Join(t.TempDir(), "out")
	spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "evidence", Sets: []string{"poll.deadline=50ms"}}
	RequireExit(t, RunBatch(t, spec), ExitIncomplete)
	live := emu.Counters().DossiersLive
	require.Positive(t, live, "timeouts keep their dossiers")

	report := func() string {
		rep := RunCommand(t, Command{Args: []string{"report", out}, Env: BaseEnv(t)})
		RequireExit(t, rep, ExitOK)
		return rep.Stdout
	}
	assert.Contains(t, report(), fmt.Sprintf("left %d", live))
	var sum struct {
		Dossiers struct{ Created, Deleted, Left int64 } `json:"dossiers"`
	}
	b, err := os.ReadFile(filepath.Join(out, "runs/evidence/shard-0-of-1/_summary.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sum))
	assert.Equal(t, live, sum.Dossiers.Left, "_summary.json")
	assert.Equal(t, sum.Dossiers.Created, sum.Dossiers.Deleted+sum.Dossiers.Left)

	list := spec.CleanupCommand(t)
	list.Args = append(list.Args, "--list")
	listed := RunCommand(t, list)
	RequireExit(t, listed, ExitOK)
	assert.Equal(t, int(live), strings.Count(listed.Stdout, "dossier "), listed.Stdout)
	assert.Contains(t, listed.Stdout, fmt.Sprintf("%d dossiers left at the API (nothing deleted: --list)", live))
	assert.Equal(t, live, emu.Counters().DossiersLive, "--list deletes nothing")

	clean := RunCommand(t, spec.CleanupCommand(t))
	RequireExit(t, clean, ExitOK)
	assert.Zero(t, emu.Counters().DossiersLive)
	assert.Contains(t, report(), "left 0")
	logged := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(out, "runs/evidence/cleanup/dossiers"), func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var e struct {
				T, Dossier, Rec string
				Status          int
				TS              time.Time
			}
			require.NoError(t, json.Unmarshal([]byte(line), &e))
			if e.T == "deleted" {
				logged++
				assert.Equal(t, 204, e.Status)
				assert.NotEmpty(t, e.Dossier)
				assert.NotEmpty(t, e.Rec)
			}
		}
		return nil
	}))
	assert.EqualValues(t, live, logged, "each cleanup deletion logged")

	// A run id the output does not know says so (it used to print "0
	// dossiers left" and then fail with the API's HTTP 400 on the window).
	unknown := RunSpec{Emulator: emu, Output: filepath.Join(t.TempDir(), "elsewhere"), RunID: "no-such-run"}
	res := RunCommand(t, unknown.CleanupCommand(t))
	RequireExit(t, res, ExitFatal)
	assert.Contains(t, res.Stderr, `run "no-such-run": no journal of it under`)
	assert.Contains(t, res.Stderr, "unknown to the output and to the API")
	assert.NotContains(t, res.Stderr, "HTTP 400")
}

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seedPersonal = 67

// output.personal_data end to end: three runs of one archive into one
// output, under omit (the default), hash and include. One glob reads them
// all (the schema is the same); omit leaves every identifier NULL, hash
// holds the HMAC-SHA256 of exactly what include holds (computed here with
// crypto/hmac, not reverify's code), each summary records its policy, and
// `batch report` shows it. A hash run without its key, and result zips
// without include, are configuration errors.
func TestPersonalDataPolicies(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 24, Seed: seedPersonal})
	out := filepath.Join(t.TempDir(), "out")
	const key = "e2e-hash-key-0123456789abcdef"
	keyFile := filepath.Join(t.TempDir(), "hash.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))

	for _, run := range []struct {
		id   string
		sets []string
		env  Env
	}{
		{"pd-omit", nil, nil},
		{"pd-hash", []string{"output.personal_data=hash"}, Env{"REVERIFY_HASH_KEY_FILE": keyFile}},
		{"pd-include", []string{"output.personal_data=include"}, nil},
	} {
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: run.id, Sets: run.sets, Env: run.env})
		RequireExit(t, res, ExitIncomplete) // skipped rows
		assert.NotContains(t, res.Output(), key, "the key is never logged")
	}

	db := OpenDuckDB(t)
	rows := QueryRows(t, db, `SELECT run_id, record_id, outcome, nationality, first_name, last_name, document_number,
		personal_identification_number, CAST(date_of_birth AS VARCHAR) AS date_of_birth, date_of_birth_hmac,
		CAST(result_json AS VARCHAR) AS result_json
		FROM read_parquet(`+ParquetGlob(out)+`) ORDER BY record_id`)
	byRun := map[string]map[string]map[string]any{}
	for _, r := range rows {
		run := r["run_id"].(string)
		if byRun[run] == nil {
			byRun[run] = map[string]map[string]any{}
		}
		byRun[run][r["record_id"].(string)] = r
	}
	require.Len(t, byRun, 3)
	identifiers := []string{"first_name", "last_name", "document_number", "personal_identification_number"}
	mac := func(v string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(v))
		return hex.EncodeToString(m.Sum(nil))
	}
	names := 0
	for id, in := range byRun["pd-include"] {
		om, ha := byRun["pd-omit"][id], byRun["pd-hash"][id]
		require.NotNil(t, om, id)
		require.NotNil(t, ha, id)
		for _, col := range append(identifiers, "date_of_birth", "date_of_birth_hmac", "result_json") {
			assert.Nil(t, om[col], "omit: %s.%s", id, col)
		}
		assert.Nil(t, ha["date_of_birth"], id)
		assert.Nil(t, ha["result_json"], id)
		assert.Nil(t, in["date_of_birth_hmac"], id)
		assert.Equal(t, in["outcome"], om["outcome"], id)
		assert.Equal(t, in["nationality"], ha["nationality"], id)
		for _, col := range identifiers {
			v, ok := in[col].(string)
			if !ok {
				assert.Nil(t, ha[col], "%s.%s", id, col)
				continue
			}
			assert.Equal(t, mac(v), ha[col], "%s.%s", id, col)
		}
		if dob, ok := in["date_of_birth"].(string); ok {
			assert.Equal(t, mac(dob), ha["date_of_birth_hmac"], id)
		}
		if in["first_name"] != nil {
			names++
			assert.NotNil(t, in["result_json"], id)
		}
	}
	assert.Positive(t, names, "the include run holds names")

	policies := map[string]string{}
	for _, s := range ReadSummaries(t, out) {
		policies[s.RunID] = s.PersonalData
		if s.RunID == "pd-hash" {
			assert.Len(t, s.HashKeyID, 16)
		} else {
			assert.Empty(t, s.HashKeyID)
		}
	}
	assert.Equal(t, map[string]string{"pd-omit": "omit", "pd-hash": "hash", "pd-include": "include"}, policies)
	rep := RunCommand(t, Command{Args: []string{"report", "--run-id", "pd-hash", out}, Env: BaseEnv(t)})
	RequireExit(t, rep, ExitOK)
	assert.Contains(t, rep.Stdout, "personal data hash")

	// The policy is part of the run's definition.
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "pd-omit", Sets: []string{"output.personal_data=include"}})
	RequireExit(t, res, ExitUsage)
	assert.Contains(t, res.Stderr, `output.personal_data: "omit" at the first attempt, "include" now`)

	before := TotalRequests(emu.Counters())
	for name, spec := range map[string]struct {
		sets []string
		env  Env
		want string
	}{
		"hash without a key": {[]string{"output.personal_data=hash"}, nil, "output.hash_key_file: required with output.personal_data: hash"},
		"hash with a missing key file": {[]string{"output.personal_data=hash"}, Env{"REVERIFY_HASH_KEY_FILE": keyFile + ".missing"},
			"output.hash_key_file: cannot read the HMAC key"},
		"zips with omit": {[]string{"output.download_results=true"}, nil, "output.download_results: true needs output.personal_data: include"},
		"zips with hash": {[]string{"output.download_results=true", "output.personal_data=hash"}, Env{"REVERIFY_HASH_KEY_FILE": keyFile},
			"output.download_results: true needs output.personal_data: include (got hash)"},
	} {
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: filepath.Join(t.TempDir(), "out"), RunID: "pd-bad",
			Sets: spec.sets, Env: spec.env, Timeout: time.Minute})
		RequireExit(t, res, ExitUsage)
		assert.Contains(t, res.Stderr, spec.want, name)
		assert.NotContains(t, res.Output(), key, name)
	}
	assert.Equal(t, before, TotalRequests(emu.Counters()), "no API call for a bad configuration")
}

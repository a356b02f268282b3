package e2e

// Bad input: each kind gives a precise message, and the rest of the run is
// unaffected (its records get exactly their expected rows, nothing is paid
// for the bad ones).

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/config"
	"reverify/internal/report"
	"reverify/internal/specimen"
	"reverify/internal/testutil/testimage"
)

const seedBadInput = 71

// appendToManifest writes a copy of the archive's manifest.csv with extra
// bytes at its end and returns its path and the number of its last line
// before them.
func appendToManifest(t *testing.T, arch *Archive, extra []byte) (path string, lastLine int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(arch.URI, specimen.ManifestName))
	require.NoError(t, err)
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n')
	}
	lastLine = bytes.Count(b, []byte("\n"))
	path = filepath.Join(t.TempDir(), "manifest.csv")
	require.NoError(t, os.WriteFile(path, append(b, extra...), 0o644))
	return path, lastLine
}

// manifestLine returns a manifest line of rec's images under another record
// id and document id (the header: record_id, front, back, selfie,
// document_id, process_type, previous_status, case).
func manifestLine(t *testing.T, arch *Archive, rec, id string, documentID int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(arch.URI, specimen.ManifestName))
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ",")
		if len(f) == 8 && f[0] == rec {
			f[0], f[4] = id, strconv.Itoa(documentID)
			return strings.Join(f, ",") + "\n"
		}
	}
	t.Fatalf("no manifest line for %s", rec)
	return ""
}

// splitByOrigin separates the rows of the manifest's lines after lastLine
// (by their origin, "<manifest URI>:<line>") from the others.
func splitByOrigin(t *testing.T, rows []Row, lastLine int) (extra map[int]Row, rest []Row) {
	t.Helper()
	extra = map[int]Row{}
	re := regexp.MustCompile(`:(\d+)$`)
	for _, r := range rows {
		m := re.FindStringSubmatch(r.Origin)
		require.NotNil(t, m, "origin %q has a line number", r.Origin)
		n, _ := strconv.Atoi(m[1])
		if n > lastLine {
			_, dup := extra[n]
			require.False(t, dup, "two rows for line %d", n)
			extra[n] = r
			continue
		}
		rest = append(rest, r)
	}
	return extra, rest
}

func TestBadInput(t *testing.T) {
	arch := WriteSpecimen(t, SpecimenSpec{Count: 30, Seed: seedBadInput})
	nonSkipped := arch.NonSkipped()
	var good string // a record the API accepts
	for _, e := range arch.Expected {
		if e.Outcome == report.OutcomeAccepted {
			good = e.RecordID
			break
		}
	}
	require.NotEmpty(t, good)

	// Garbage and binary junk after the manifest's records: each such line
	// is a skipped row (bad_manifest_line) whose message names the line and
	// what is wrong with it; every other record is processed as usual.
	t.Run("manifest with garbage and binary junk", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(seedBadInput, 1))
		junk := make([]byte, 300)
		for i := range junk {
			junk[i] = byte(rng.IntN(256))
			if junk[i] == '\n' || junk[i] == '\r' {
				junk[i] = 0
			}
		}
		lines := [][]byte{
			[]byte("garbage line without commas\n"),
			[]byte("\x00\x01\x02\xff\xfe,binary,\x00junk,\xc3\x28,,,,\n"),
			[]byte("\"unterminated,quote,,,,,,\n"),
			append(junk, '\n'),
			[]byte(strings.Repeat("x,", 20) + "\n"),
		}
		manifest, last := appendToManifest(t, arch, bytes.Join(lines, nil))
		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Manifest: manifest, Output: out, RunID: "garbage"})
		RequireExit(t, res, ExitIncomplete)

		extra, rest := splitByOrigin(t, ReadRows(t, out), last)
		AssertOutcomes(t, rest, arch.Expected)
		AssertEmulatorClean(t, emu.Counters(), nonSkipped)
		require.Len(t, extra, len(lines), "one row per junk line")
		for i := range lines {
			n := last + 1 + i
			r := extra[n]
			assert.Equal(t, report.OutcomeSkipped, r.Outcome, "line %d", n)
			assert.Contains(t, r.SkipReasons, "bad_manifest_line", "line %d", n)
			assert.Zero(t, r.APICalls, "line %d", n)
			if assert.NotNil(t, r.ErrorMessage, "line %d", n) {
				// "line 33 has 1 fields…", or the origin "…/manifest.csv:33".
				assert.Regexp(t, `(line |\.csv:)`+strconv.Itoa(n)+`\b`, *r.ErrorMessage, "the message names the line")
				t.Logf("line %d: %s", n, *r.ErrorMessage)
			}
		}
	})

	// A 1 GiB "image" (a sparse file) in a local archive: skipped as
	// too_large without being read, so the binary's peak RSS stays small.
	t.Run("1 GiB image", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "archive")
		require.NoError(t, os.CopyFS(dir, os.DirFS(arch.URI)))
		huge := filepath.Join(dir, "rec-huge")
		require.NoError(t, os.MkdirAll(huge, 0o755))
		f, err := os.Create(filepath.Join(huge, "front.jpg"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.NoError(t, os.Truncate(filepath.Join(huge, "front.jpg"), 1<<30))
		selfie, err := os.ReadFile(filepath.Join(arch.URI, good, "selfie.jpg"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(huge, "selfie.jpg"), selfie, 0o644))

		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: dir, Output: out, RunID: "huge"})
		RequireExit(t, res, ExitIncomplete)
		exp := append(append([]specimen.ExpectedLine(nil), arch.Expected...),
			specimen.ExpectedLine{RecordID: "rec-huge", Outcome: report.OutcomeSkipped, Reason: "too_large", Case: "1 GiB front"})
		rows := ReadRows(t, out)
		AssertOutcomes(t, rows, exp)
		AssertEmulatorClean(t, emu.Counters(), nonSkipped)
		for _, r := range rows {
			if r.RecordID == "rec-huge" && assert.NotNil(t, r.ErrorMessage) {
				assert.Contains(t, *r.ErrorMessage, "larger than 4 MiB")
				t.Logf("rec-huge: %s", *r.ErrorMessage)
			}
		}
		t.Logf("peak RSS %d MiB", res.MaxRSSKiB/1024)
		assert.Less(t, res.MaxRSSKiB, int64(300<<10), "peak RSS below 300 MiB")
		RecordCase(t, Case{Name: fmt.Sprintf("item 9: a sparse 1 GiB image: skipped too_large unread, peak RSS %d MiB", res.MaxRSSKiB/1024),
			Reaching: nonSkipped, Last: res, Counters: emu.Counters(), Output: out})
	})

	// Images the API would refuse or that would exhaust memory are stopped
	// by preflight, before anything is paid: a 60000×60000 JPEG of a few KB
	// (too_large naming its dimensions, never decoded), and an image over
	// the 4 MiB the API accepts (it used to pass the 10 MiB preflight and be
	// refused with a 400 after its dossier and process were made).
	t.Run("images the API would refuse", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "archive")
		require.NoError(t, os.CopyFS(dir, os.DirFS(arch.URI)))
		front, err := os.ReadFile(filepath.Join(arch.URI, good, "front.jpg"))
		require.NoError(t, err)
		selfie, err := os.ReadFile(filepath.Join(arch.URI, good, "selfie.jpg"))
		require.NoError(t, err)
		for id, img := range map[string][]byte{
			"rec-bomb":  testimage.Claiming(t, front, 60000, 60000),
			"rec-heavy": append(append([]byte(nil), front...), make([]byte, 4<<20+512<<10)...), // 4.5 MiB
		} {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, id), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, id, "front.jpg"), img, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, id, "selfie.jpg"), selfie, 0o644))
		}
		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: dir, Output: out, RunID: "refused"})
		RequireExit(t, res, ExitIncomplete)
		exp := append(append([]specimen.ExpectedLine(nil), arch.Expected...),
			specimen.ExpectedLine{RecordID: "rec-bomb", Outcome: report.OutcomeSkipped, Reason: "too_large", Case: "60000×60000 JPEG"},
			specimen.ExpectedLine{RecordID: "rec-heavy", Outcome: report.OutcomeSkipped, Reason: "too_large", Case: "4.5 MiB JPEG"})
		rows := ReadRows(t, out)
		AssertOutcomes(t, rows, exp)
		c := emu.Counters()
		AssertEmulatorClean(t, c, nonSkipped)
		assert.EqualValues(t, nonSkipped, c.DossiersCreated, "nothing paid for either")
		for _, r := range rows {
			if r.ErrorMessage == nil {
				continue
			}
			switch r.RecordID {
			case "rec-bomb":
				assert.Contains(t, *r.ErrorMessage, "declares 60000×60000 pixels")
			case "rec-heavy":
				assert.Contains(t, *r.ErrorMessage, "larger than 4 MiB")
			default:
				continue
			}
			t.Logf("%s: %s", r.RecordID, *r.ErrorMessage)
		}
		assert.Less(t, res.MaxRSSKiB, int64(300<<10), "peak RSS below 300 MiB: nothing was decoded")
		RecordCase(t, Case{Name: fmt.Sprintf("item 9: a 60000×60000 JPEG and a 4.5 MiB one: skipped too_large before any call, peak RSS %d MiB",
			res.MaxRSSKiB/1024), Reaching: nonSkipped, Last: res, Counters: c, Output: out})
	})

	// A manifest in S3 cannot make reverify read files of the machine it runs
	// on: file:// images are bad_manifest_line rows, and nothing is read or
	// uploaded for them; the manifest's other lines run as usual.
	t.Run("remote manifest naming local files", func(t *testing.T) {
		s3 := StartS3(t)
		remote := WriteSpecimen(t, SpecimenSpec{Out: s3.URI("archive"), Count: 12, Seed: seedBadInput, S3: s3})
		local := filepath.Join(t.TempDir(), "local.jpg")
		front, err := os.ReadFile(filepath.Join(arch.URI, good, "front.jpg"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(local, front, 0o644))
		store := s3.Store(t, s3.URI("archive"))
		b, err := store.Get(context.Background(), specimen.ManifestName, 0)
		require.NoError(t, err)
		lines := bytes.Count(b, []byte("\n"))
		b = append(b, []byte("passwd,file:///etc/passwd,,,137,document,,\nlocal,file://"+local+",,,137,document,,\n")...)
		require.NoError(t, store.Put(context.Background(), "evil.csv", b))

		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, S3: s3, Source: s3.URI("archive"), Manifest: s3.URI("archive/evil.csv"),
			Output: out, RunID: "remote-manifest"})
		RequireExit(t, res, ExitIncomplete)
		extra, rest := splitByOrigin(t, ReadRows(t, out), lines)
		AssertOutcomes(t, rest, remote.Expected)
		c := emu.Counters()
		AssertEmulatorClean(t, c, remote.NonSkipped())
		assert.EqualValues(t, remote.NonSkipped(), c.DossiersCreated, "nothing paid for the local files")
		require.Len(t, extra, 2)
		for _, r := range extra {
			assert.Equal(t, []string{"bad_manifest_line"}, r.SkipReasons, r.RecordID)
			assert.Zero(t, r.APICalls, r.RecordID)
			if assert.NotNil(t, r.ErrorMessage) {
				assert.Contains(t, *r.ErrorMessage, "local path in a remote manifest")
				t.Logf("%s: %s", r.RecordID, *r.ErrorMessage)
			}
		}
		RecordCase(t, Case{Name: "item 10: a manifest in S3 naming file:///etc/passwd and a local image: bad_manifest_line, not read",
			Reaching: remote.NonSkipped(), Last: res, Counters: c, Output: out})
	})

	// Record ids that differ only where a naive key would not (".." and
	// "_..", "a//b" and "a/_/b"), and one longer than a file name, each get
	// their own result zip: keys derived from record ids never collide.
	t.Run("record ids that collide as keys", func(t *testing.T) {
		long := "long-" + strings.Repeat("x", 300)
		ids := []string{"..", "_..", "a//b", "a/_/b", long}
		var extraLines []byte
		for _, id := range ids {
			extraLines = append(extraLines, manifestLine(t, arch, good, id, 137)...)
		}
		manifest, last := appendToManifest(t, arch, extraLines)
		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Manifest: manifest, Output: out, RunID: "keys",
			Sets: []string{"output.download_results=true", "output.personal_data=include"}})
		RequireExit(t, res, ExitIncomplete)
		extra, _ := splitByOrigin(t, ReadRows(t, out), last)
		require.Len(t, extra, len(ids))
		AssertEmulatorClean(t, emu.Counters(), nonSkipped+len(ids))
		zips := map[string]string{}
		for _, r := range extra {
			assert.Equal(t, report.OutcomeAccepted, r.Outcome, r.RecordID)
			require.NotNil(t, r.ResultZipURI, "zip stored for %q", r.RecordID)
			if other, dup := zips[*r.ResultZipURI]; dup {
				t.Errorf("%q and %q share %s", r.RecordID, other, *r.ResultZipURI)
			}
			zips[*r.ResultZipURI] = r.RecordID
			path := strings.TrimPrefix(*r.ResultZipURI, "file://")
			fi, err := os.Stat(path)
			require.NoError(t, err, r.RecordID)
			assert.Positive(t, fi.Size())
			t.Logf("%.40q → %s", r.RecordID, filepath.Base(path))
		}
		RecordCase(t, Case{Name: "item 8: record ids `..`, `_..`, `a//b`, `a/_/b` and a 305-character one: a zip each",
			Reaching: nonSkipped + len(ids), Last: res, Counters: emu.Counters(), Output: out})
	})

	// A zip that cannot be stored (here: a file where the results folder
	// should be) does not lose the result: the records' dossiers are kept,
	// the run exits 5, and the rerun stores the zips and deletes them.
	t.Run("a zip that cannot be stored keeps its dossier", func(t *testing.T) {
		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		require.NoError(t, os.MkdirAll(filepath.Join(out, "runs", "zips"), 0o755))
		blocker := filepath.Join(out, "runs", "zips", "results")
		require.NoError(t, os.WriteFile(blocker, []byte("not a folder"), 0o644))
		spec := RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "zips", Sets: []string{"output.download_results=true", "output.personal_data=include"}}
		res := RunBatch(t, spec)
		RequireExit(t, res, ExitInterrupted)
		c := emu.Counters()
		assert.Positive(t, c.DossiersLive, "the dossiers of the lost zips are kept")
		assert.Contains(t, res.Stderr, "full result not stored: the dossier is kept")
		t.Logf("first attempt: %d dossiers kept; %s", c.DossiersLive, lastLines(res.Stderr, 1))

		require.NoError(t, os.Remove(blocker))
		res = RunBatch(t, spec)
		RequireExit(t, res, ExitIncomplete)
		rows := ReadRows(t, out)
		AssertOutcomes(t, rows, arch.Expected)
		c = emu.Counters()
		AssertEmulatorClean(t, c, nonSkipped)
		for _, r := range rows {
			switch r.Outcome {
			case report.OutcomeAccepted, report.OutcomeRejected, report.OutcomeInconclusive:
				assert.NotNil(t, r.ResultZipURI, r.RecordID)
			}
		}
		RecordCase(t, Case{Name: "item 8: zips that cannot be stored: exit 5 with the dossiers kept; figures of the rerun that stores them",
			Reaching: nonSkipped, Last: res, Counters: c, Output: out})
	})

	// Document ids the API's document-types list does not have: skipped
	// (unknown_document_id) before anything is paid for.
	t.Run("unknown document ids", func(t *testing.T) {
		manifest, last := appendToManifest(t, arch, []byte(
			manifestLine(t, arch, good, "unknown-doc-1", 999999)+manifestLine(t, arch, good, "unknown-doc-2", 4242)))
		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Manifest: manifest, Output: out, RunID: "unknown-doc"})
		RequireExit(t, res, ExitIncomplete)
		extra, rest := splitByOrigin(t, ReadRows(t, out), last)
		AssertOutcomes(t, rest, arch.Expected)
		c := emu.Counters()
		AssertEmulatorClean(t, c, nonSkipped)
		assert.EqualValues(t, nonSkipped, c.DossiersCreated, "no dossier for an unknown document id")
		require.Len(t, extra, 2)
		for n, doc := range map[int]string{last + 1: "999999", last + 2: "4242"} {
			r := extra[n]
			assert.Equal(t, report.OutcomeSkipped, r.Outcome)
			assert.Equal(t, []string{"unknown_document_id"}, r.SkipReasons)
			assert.Nil(t, r.DossierID)
			assert.Zero(t, r.APICalls)
			if assert.NotNil(t, r.ErrorMessage) {
				assert.Contains(t, *r.ErrorMessage, "document id "+doc)
				assert.Contains(t, *r.ErrorMessage, r.RecordID)
				t.Logf("line %d: %s", n, *r.ErrorMessage)
			}
		}
	})

	// A record id that appears twice: the first line is processed, the
	// second is a skipped row (duplicate_record) naming the first line; one
	// verification for the record.
	t.Run("duplicate record ids", func(t *testing.T) {
		manifest, last := appendToManifest(t, arch, []byte(manifestLine(t, arch, good, good, 137)))
		emu := StartEmulator(t, nil)
		out := filepath.Join(t.TempDir(), "out")
		res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Manifest: manifest, Output: out, RunID: "duplicate"})
		RequireExit(t, res, ExitIncomplete)
		extra, rest := splitByOrigin(t, ReadRows(t, out), last)
		AssertOutcomes(t, rest, arch.Expected)
		AssertEmulatorClean(t, emu.Counters(), nonSkipped)
		require.Len(t, extra, 1)
		r := extra[last+1]
		assert.Equal(t, good, r.RecordID)
		assert.Equal(t, report.OutcomeSkipped, r.Outcome)
		assert.Equal(t, []string{"duplicate_record"}, r.SkipReasons)
		assert.Zero(t, r.APICalls)
		if assert.NotNil(t, r.ErrorMessage) {
			assert.Regexp(t, `already appeared on line \d+`, *r.ErrorMessage)
			t.Logf("line %d: %s", last+1, *r.ErrorMessage)
		}
	})

	// An archive without any object is most likely a mistyped prefix: exit
	// 1 (the README's "the archive unreachable": fatal, fix the cause and
	// rerun), before any API call, with a message naming the archive. Not
	// 2: the configuration is valid, only what it points at is empty, which
	// may change (an archive still being copied), so a retry can succeed.
	t.Run("empty archive", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "empty-archive")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		emu := StartEmulator(t, nil)
		res := RunBatch(t, RunSpec{Emulator: emu, Source: dir, Output: filepath.Join(t.TempDir(), "out"), RunID: "empty"})
		RequireExit(t, res, ExitFatal)
		t.Logf("stderr: %s", lastLines(res.Stderr, 1))
		assert.Contains(t, res.Stderr, "the archive holds no objects (check the prefix)")
		assert.Contains(t, res.Stderr, dir)
		assert.Zero(t, TotalRequests(emu.Counters()), "no API call")
	})

	// Every key of the configuration wrong at once: exit 2 before any work,
	// one line per key, each starting with the key's name.
	t.Run("configuration with every field wrong", func(t *testing.T) {
		wrong := map[string]string{
			"run.run_id": `"bad id!"`, "run.shard": `"7/3"`, "run.shard_count": "0", "run.limit": "-1",
			"run.dry_run": `"yes"`, "run.max_duration": "-1s", "run.grace_period": "soon", "run.lease_ttl": "0s", "run.redrive": "some",
			"run.sample": `"half"`, "run.sample_seed": "many",
			"run.skip_verified_since": "yesterday", "run.history": `"ftp://example/history"`,
			"source.archive": `"ftp://example/archive"`, "source.manifest": "records.txt",
			"source.default_document_id": "0", "source.default_process_type": "passport",
			"source.max_image_bytes": "1.5GiB", "source.max_pixels": "0", "source.min_width": "-1", "source.min_height": "-2",
			"source.s3.region": "[eu-west-1]", "source.s3.endpoint": `"not a url"`, "source.s3.path_style": "maybe",
			"source.s3.checksum_when_required": "often", "source.s3.max_attempts": "-1",
			"source.s3.sse": "AES256", "source.s3.kms_key_id": "k",
			"output.uri": `"ftp://example/out"`, "output.max_rows_per_part": "0", "output.max_part_age": "0s",
			"output.download_results": "sometimes", "output.keep_dossiers": "y",
			"output.personal_data": "hide", "output.hash_key_file": "[a, b]",
			"output.s3.region": "{name: x}", "output.s3.endpoint": `"ftp://s3"`, "output.s3.path_style": "2",
			"output.s3.checksum_when_required": "nope", "output.s3.max_attempts": "-3",
			"output.s3.sse": "rot13", "output.s3.kms_key_id": "[k]",
			"api.base_url": "api.signicat.com", "api.token_url": `"mailto:x"`, "api.client_secret_file": "[a, b]",
			"api.rate": "0", "api.rate_per_shard": "-1", "api.max_rate": "-5", "api.start_rate": "-1",
			"api.burst": "0", "api.request_timeout": "0s",
			"api.retry.max_attempts": "0", "api.retry.base_delay": "0s", "api.retry.max_delay": "-1s",
			"api.retry.max_pause": "0s", "api.retry.max_elapsed": "-2m", "api.token_renew_before": "-1s", "api.token_timeout": "0s",
			"concurrency.uploads": "0", "concurrency.in_flight": "0", "concurrency.poll_workers": "0",
			"concurrency.finalizers": "-1", "poll.initial_delay": "-1s", "poll.multiplier": "0.5",
			"poll.max_interval": "0s", "poll.jitter": "1.5", "poll.deadline": "0s",
			"poll.bulk_status": "sometimes", "poll.list_interval": "-1s",
			"failure_threshold.min_records": "0", "failure_threshold.max_error_share": "2",
			"emulator.time_scale": "0", "emulator.scenario": "[x]", "emulator.seed": "lots",
			"logging.level": "loud", "logging.format": "xml", "logging.progress_interval": "0s",
			"metrics.format": "prometheus", "metrics.interval": "-1m", "metrics.namespace": "AWS/Batch",
			"metrics.push_url": `"pushgateway:9091"`, "metrics.job": `""`,
		}
		keys := config.Keys() // every key: a new one needs a wrong value here
		for _, k := range keys {
			if _, ok := wrong[k]; !ok {
				t.Fatalf("configuration key %s has no wrong value in this test: add one", k)
			}
		}
		path := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(path, []byte(nestedYAML(keys, wrong)), 0o644))
		emu := StartEmulator(t, nil)
		res := RunCommand(t, Command{Args: []string{"run", "--config", path}, Env: BaseEnv(t).With(emu.Credentials())})
		RequireExit(t, res, ExitUsage)
		assert.Contains(t, res.Stderr, "invalid configuration")
		lines := strings.Split(res.Stderr, "\n")
		for _, k := range keys {
			found := false
			for _, l := range lines {
				if strings.HasPrefix(l, k+": ") {
					found = true
					break
				}
			}
			assert.True(t, found, "no line starting with %q", k+": ")
		}
		t.Logf("%d keys: %d lines of stderr", len(keys), len(lines))
		assert.Zero(t, TotalRequests(emu.Counters()), "no API call")
	})
}

// nestedYAML renders dotted keys (in order, parents contiguous) as block
// YAML with the given raw values.
func nestedYAML(keys []string, values map[string]string) string {
	var b strings.Builder
	var open []string
	for _, k := range keys {
		parts := strings.Split(k, ".")
		parents := parts[:len(parts)-1]
		common := 0
		for common < len(open) && common < len(parents) && open[common] == parents[common] {
			common++
		}
		open = open[:common]
		for i := common; i < len(parents); i++ {
			b.WriteString(strings.Repeat("  ", i) + parents[i] + ":\n")
			open = append(open, parents[i])
		}
		b.WriteString(strings.Repeat("  ", len(parents)) + parts[len(parts)-1] + ": " + values[k] + "\n")
	}
	return b.String()
}

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/report"
	"reverify/internal/specimen"
)

const seedChecks = 73

// checkOfCase is the check each failing specimen case fails first, as the
// seed's answer of its kind reports it (docs/outcome-rules.md, "Shape of the
// answers"): the emulator's rejections by image quality and underage carry
// dataIntegrity: false too, as the seed's two examples do.
var checkOfCase = map[specimen.Case][]string{
	specimen.CaseExpired:          {"nonExpired"},
	specimen.CaseUnderage:         {"notUnderage", "dataIntegrity"},
	specimen.CaseUnreadableNumber: {"notTamperedDocument", "dataIntegrity"},
	specimen.CaseOtherPerson:      {"selfieAndDocumentMatch"},
	specimen.CaseLookalike:        {"selfieAndDocumentMatch"},
	specimen.CaseBlackAndWhite:    {"notBlackAndWhite"},
}

// A specimen archive (every case, folder layout) through the emulator, read
// back with DuckDB joined with the archive's expected.jsonl: every failing
// case is found by the check it fails with list_contains(failed_checks, …),
// and by nothing else; accepted and skipped rows have an empty list (never
// NULL); the check columns agree (check_not_underage FALSE for underage
// though the answer has no notUnderage object; the selfie match FALSE for
// other_person and lookalike, TRUE for accepted documentSelfie rows).
// meta.json's previous_status fills previous_outcome, and the summary's
// transitions count every row.
func TestFailedChecksFindEverySpecimenCase(t *testing.T) {
	var mix []string
	for _, c := range specimen.Cases() {
		mix = append(mix, string(c)+"=1")
	}
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 4 * len(specimen.Cases()), Seed: seedChecks, Mix: strings.Join(mix, ",")})
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "e2e-checks"})
	RequireExit(t, res, ExitIncomplete) // the broken inputs are skipped
	AssertOutcomes(t, ReadRows(t, out), arch.Expected)

	db := OpenDuckDB(t)
	from := "read_parquet(" + ParquetGlob(out) + ") AS r JOIN read_json(" +
		SQLString(filepath.ToSlash(filepath.Join(arch.URI, specimen.ExpectedName))) + ", format = 'newline_delimited') AS e USING (record_id)"
	perCase := map[specimen.Case]int64{}
	for _, m := range QueryRows(t, db, `SELECT e."case" AS c, count(*) AS n FROM `+from+` GROUP BY ALL`) {
		perCase[specimen.Case(m["c"].(string))] = m["n"].(int64)
	}
	for _, c := range specimen.Cases() {
		require.Positive(t, perCase[c], "the archive has no record of case %s", c)
	}

	// Every check code: exactly the cases failing it, every record of them.
	byCheck := map[string][]string{}
	for c, checks := range checkOfCase {
		for _, check := range checks {
			byCheck[check] = append(byCheck[check], string(c))
		}
	}
	for _, check := range []string{"notTamperedDocument", "nonExpired", "notUnderage", "notBlackAndWhite", "dataIntegrity",
		"sidesMatch", "notFaceSpoofing", "selfieAndDocumentMatch"} {
		found := map[string]int64{}
		for _, m := range QueryRows(t, db, `SELECT e."case" AS c, count(*) AS n FROM `+from+
			` WHERE list_contains(r.failed_checks, `+SQLString(check)+`) GROUP BY ALL`) {
			found[m["c"].(string)] = m["n"].(int64)
		}
		want := map[string]int64{}
		for _, c := range byCheck[check] {
			want[c] = perCase[specimen.Case(c)]
		}
		assert.Equal(t, want, found, "cases found by list_contains(failed_checks, '%s')", check)
	}
	// The whole list, per case.
	for _, m := range QueryRows(t, db, `SELECT record_id, e."case" AS c, r.failed_checks::VARCHAR AS f FROM `+from) {
		want := "[" + strings.Join(checkOfCase[specimen.Case(m["c"].(string))], ", ") + "]"
		assert.Equal(t, want, m["f"], "%s (%s)", m["record_id"], m["c"])
	}

	count := func(where string) int64 {
		return QueryValue[int64](t, db, "SELECT count(*) FROM "+from+" WHERE "+where)
	}
	assert.Zero(t, count("r.failed_checks IS NULL"), "failed_checks is never NULL")
	assert.Positive(t, count("r.outcome = 'accepted'"))
	assert.Zero(t, count("r.outcome = 'accepted' AND len(r.failed_checks) > 0"), "accepted rows fail no check")
	assert.Zero(t, count("r.outcome = 'skipped' AND len(r.failed_checks) > 0"), "skipped rows were never checked")
	assert.Zero(t, count("r.outcome IN ('rejected', 'inconclusive') AND len(r.failed_checks) = 0"),
		"every rejected or inconclusive row fails a check")
	// The check columns say the same.
	for c, cond := range map[specimen.Case]string{
		specimen.CaseUnderage:      "r.check_not_underage = false",
		specimen.CaseExpired:       "r.check_non_expired = false",
		specimen.CaseBlackAndWhite: "r.check_not_black_and_white = false",
		specimen.CaseOtherPerson:   "r.check_selfie_and_document_match = false AND r.selfie_similarity_level = 'veryLow'",
		specimen.CaseLookalike:     "r.check_selfie_and_document_match = false AND r.selfie_similarity_level = 'medium'",
	} {
		assert.Equal(t, perCase[c], count(fmt.Sprintf(`e."case" = %s AND %s`, SQLString(string(c)), cond)), "%s: %s", c, cond)
	}
	assert.Positive(t, count("r.outcome = 'accepted' AND r.process_type = 'documentSelfie'"))
	assert.Zero(t, count("r.outcome = 'accepted' AND r.process_type = 'documentSelfie' AND r.check_selfie_and_document_match IS DISTINCT FROM true"),
		"an accepted documentSelfie row's selfie match is TRUE (level high)")
	assert.Zero(t, count("r.outcome <> 'skipped' AND r.check_not_tampered_document IS NULL"), "every answered row reports its document checks")

	// meta.json's previous_status: every row is compared, and the summary
	// says how outcomes moved.
	assert.Zero(t, count("r.previous_outcome IS NULL OR r.outcome_changed IS NULL"), "previous_outcome from meta.json")
	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)
	s := sums[0]
	assert.Equal(t, s.Records, s.OutcomeCompared)
	var moved int64
	for prev, m := range s.Transitions {
		for oc, n := range m {
			moved += n
			assert.Equal(t, count(fmt.Sprintf("r.previous_outcome = %s AND r.outcome = %s", SQLString(prev), SQLString(oc))), n,
				"transitions[%s][%s]", prev, oc)
		}
	}
	assert.Equal(t, s.Records, moved, "every row is in transitions")
	const title = "previous outcome (rows) -> outcome now (columns)"
	screen := res.Stdout // the summary table, on stdout (or stderr)
	if !strings.Contains(screen, title) {
		screen = res.Stderr
	}
	i := strings.Index(screen, title)
	require.GreaterOrEqual(t, i, 0, "the then-vs-now table in the summary on screen:\n%s", screen)
	table, _, _ := strings.Cut(screen[i:], "\n\n")
	t.Logf("%s", table)
	assert.True(t, slices.ContainsFunc(strings.Split(table, "\n"), func(l string) bool {
		return strings.HasPrefix(l, "accepted ") && strings.Contains(l, " "+fmt.Sprint(s.Transitions[report.OutcomeAccepted][report.OutcomeAccepted])+" ")
	}), "the accepted → accepted cell on screen")
	assert.Contains(t, screen, "why outcomes changed (largest cells, top reasons)", "the reasons behind the changed cells")

	// batch report --changed: exactly the rows whose outcome moved, by id,
	// with their outcomes, as DuckDB finds them.
	want := map[string]string{}
	for _, m := range QueryRows(t, db, `SELECT r.record_id AS id, r.previous_outcome AS p, r.outcome AS o FROM `+from+` WHERE r.outcome_changed`) {
		want[m["id"].(string)] = m["p"].(string) + " -> " + m["o"].(string)
	}
	require.NotEmpty(t, want, "the specimen's previous statuses move some outcomes")
	assert.EqualValues(t, s.OutcomeChanged, len(want))
	for _, asJSON := range []bool{false, true} {
		args := []string{"report", "--changed", out}
		if asJSON {
			args = []string{"report", "--changed", "--json", "--run-id", "e2e-checks", out}
		}
		rep := RunCommand(t, Command{Args: args, Env: BaseEnv(t)})
		RequireExit(t, rep, ExitOK)
		got := map[string]string{}
		lines := strings.Split(strings.TrimSpace(rep.Stdout), "\n")
		if !asJSON {
			require.Equal(t, "run_id\tshard\trecord_id\tprevious_outcome\toutcome\treason", lines[0])
			lines = lines[1:]
		}
		for _, l := range lines {
			if asJSON {
				var c report.Changed
				require.NoError(t, json.Unmarshal([]byte(l), &c), l)
				assert.Equal(t, "e2e-checks", c.RunID)
				got[c.RecordID] = c.Previous + " -> " + c.Outcome
				continue
			}
			f := strings.Split(l, "\t")
			require.Len(t, f, 6, l)
			assert.Equal(t, "e2e-checks", f[0])
			got[f[2]] = f[3] + " -> " + f[4]
		}
		assert.Equal(t, want, got, "--changed (json %v)", asJSON)
		assert.Contains(t, rep.Stderr, fmt.Sprintf("%d records whose outcome changed", len(want)))
	}
	rep := RunCommand(t, Command{Args: []string{"report", "--changed", "--run-id", "no-such-run", out}, Env: BaseEnv(t)})
	RequireExit(t, rep, ExitFatal)
	assert.Contains(t, rep.Stderr, `no output of run "no-such-run"`)
}

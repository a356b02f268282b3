package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/report"
	"reverify/internal/testutil/fakes3"
)

// duckTypes is every column of the output, in order, with the DuckDB type
// documented in docs/reports.md.
var duckTypes = [][2]string{
	{"run_id", "VARCHAR"},
	{"shard", "INTEGER"},
	{"shard_count", "INTEGER"},
	{"record_id", "VARCHAR"},
	{"external_reference", "VARCHAR"},
	{"origin", "VARCHAR"},
	{"front_uri", "VARCHAR"},
	{"back_uri", "VARCHAR"},
	{"selfie_uri", "VARCHAR"},
	{"front_sha256", "VARCHAR"},
	{"back_sha256", "VARCHAR"},
	{"selfie_sha256", "VARCHAR"},
	{"document_id", "INTEGER"},
	{"process_type", "VARCHAR"},
	{"dossier_id", "VARCHAR"},
	{"process_id", "VARCHAR"},
	{"outcome", "VARCHAR"},
	{"reason", "VARCHAR"},
	{"status_reasons", `STRUCT("type" VARCHAR, category VARCHAR, sub_category VARCHAR, message VARCHAR)[]`},
	{"skip_reasons", "VARCHAR[]"},
	{"fail_reason", "VARCHAR"},
	{"error_code", "VARCHAR"},
	{"error_message", "VARCHAR"},
	{"first_name", "VARCHAR"},
	{"last_name", "VARCHAR"},
	{"date_of_birth", "DATE"},
	{"date_of_expiry", "DATE"},
	{"date_of_issue", "DATE"},
	{"gender", "VARCHAR"},
	{"nationality", "VARCHAR"},
	{"document_type", "VARCHAR"},
	{"document_number", "VARCHAR"},
	{"issuing_country", "VARCHAR"},
	{"personal_identification_number", "VARCHAR"},
	{"similarity_score", "VARCHAR"},
	{"date_of_birth_hmac", "VARCHAR"},
	{"check_not_tampered_document", "BOOLEAN"},
	{"check_non_expired", "BOOLEAN"},
	{"check_not_underage", "BOOLEAN"},
	{"check_not_black_and_white", "BOOLEAN"},
	{"check_data_integrity", "BOOLEAN"},
	{"check_sides_match", "BOOLEAN"},
	{"check_not_face_spoofing", "BOOLEAN"},
	{"check_selfie_and_document_match", "BOOLEAN"},
	{"failed_checks", "VARCHAR[]"},
	{"selfie_similarity_level", "VARCHAR"},
	{"selfie_status", "VARCHAR"},
	{"previous_outcome", "VARCHAR"},
	{"outcome_changed", "BOOLEAN"},
	{"api_calls", "INTEGER"},
	{"retries", "INTEGER"},
	{"polls", "INTEGER"},
	{"submitted_at", "TIMESTAMP WITH TIME ZONE"},
	{"completed_at", "TIMESTAMP WITH TIME ZONE"},
	{"duration_ms", "BIGINT"},
	{"recorded_at", "TIMESTAMP WITH TIME ZONE"},
	{"dry_run", "BOOLEAN"},
	{"result_zip_uri", "VARCHAR"},
	{"metadata", "MAP(VARCHAR, VARCHAR)"},
	{"result_json", "JSON"},
}

var base = time.Date(2026, 11, 27, 1, 2, 3, 456_000_000, time.UTC)

// sampleRow has a value in every column, varied by i; every 5th row is
// minimal (every nullable column NULL, lists and map empty).
func sampleRow(run string, shard, count, i int) report.Row {
	id := fmt.Sprintf("%s-s%d-%03d", run, shard, i)
	rec := base.Add(time.Duration(i) * time.Minute)
	if i%5 == 4 {
		return report.Row{RunID: run, Shard: int32(shard), ShardCount: int32(count), RecordID: id,
			Outcome: report.OutcomeSkipped, Reason: "corrupt", SkipReasons: []string{"corrupt"}, RecordedAt: &rec}
	}
	sub := base.Add(time.Duration(i) * time.Second)
	done := sub.Add(time.Duration(1000+i) * time.Millisecond)
	outcomes := []string{report.OutcomeAccepted, report.OutcomeRejected, report.OutcomeInconclusive, report.OutcomeAccepted}
	outcome := outcomes[i%4]
	r := report.Row{
		RunID: run, Shard: int32(shard), ShardCount: int32(count), RecordID: id,
		ExternalReference:            run + "/" + id,
		Origin:                       "folder",
		FrontURI:                     new("s3://archive/" + id + "/front.jpg"),
		BackURI:                      new("s3://archive/" + id + "/back.png"),
		SelfieURI:                    new("s3://archive/" + id + "/selfie.jpg"),
		FrontSHA256:                  new(strings.Repeat("a", 64)),
		BackSHA256:                   new(strings.Repeat("b", 64)),
		SelfieSHA256:                 new(strings.Repeat("c", 64)),
		DocumentID:                   new(int32(1000 + i)),
		ProcessType:                  "documentSelfie",
		DossierID:                    new("d-" + id),
		ProcessID:                    new("p-" + id),
		Outcome:                      outcome,
		FailReason:                   new("upload_failed: ERROR"),
		ErrorCode:                    "",
		ErrorMessage:                 new("it's \"quoted\""),
		FirstName:                    new("Kari"),
		LastName:                     new("Nordmann-Ø"),
		DateOfBirth:                  report.DateDays("1950-02-28"),
		DateOfExpiry:                 report.DateDays("2031-12-31"),
		DateOfIssue:                  report.DateDays("1969-12-31"),
		Gender:                       new("F"),
		Nationality:                  new("NOR"),
		DocumentType:                 new("passport"),
		DocumentNumber:               new(fmt.Sprintf("FH%06d", i)),
		IssuingCountry:               new("NOR"),
		PersonalIdentificationNumber: new("28025012345"),
		SimilarityScore:              new("high"),
		DateOfBirthHMAC:              new(strings.Repeat("d", 64)),
		CheckNotTamperedDocument:     new(true),
		CheckNonExpired:              new(outcome != report.OutcomeInconclusive),
		CheckNotUnderage:             new(outcome != report.OutcomeRejected),
		CheckNotBlackAndWhite:        new(true),
		CheckDataIntegrity:           new(true),
		CheckSidesMatch:              new(i%2 == 0),
		CheckNotFaceSpoofing:         new(true),
		CheckSelfieAndDocumentMatch:  new(true),
		SelfieSimilarityLevel:        new("high"),
		SelfieStatus:                 new("SUCCESS"),
		PreviousOutcome:              new(report.OutcomeAccepted),
		OutcomeChanged:               report.OutcomeChanged(report.OutcomeAccepted, outcome),
		APICalls:                     int32(9 + i%3),
		Retries:                      int32(i % 2),
		Polls:                        int32(3 + i%4),
		SubmittedAt:                  &sub,
		CompletedAt:                  &done,
		DurationMS:                   report.DurationMS(sub, done),
		RecordedAt:                   &rec,
		DryRun:                       true,
		ResultZipURI:                 new("s3://out/zips/p-" + id + ".zip"),
		Metadata:                     map[string]string{"channel": "app", "onboarded": "2019-05-01"},
		ResultJSON:                   json.RawMessage(fmt.Sprintf(`{"processId":"p-%s","status":%q,"n":%d}`, id, outcome, i)),
	}
	// failed_checks: the false check columns above, in column order.
	for _, c := range []struct {
		key string
		ok  *bool
	}{{"nonExpired", r.CheckNonExpired}, {"notUnderage", r.CheckNotUnderage}, {"sidesMatch", r.CheckSidesMatch}} {
		if !*c.ok {
			r.FailedChecks = append(r.FailedChecks, c.key)
		}
	}
	switch outcome {
	case report.OutcomeRejected:
		r.StatusReasons = []report.StatusReason{{Type: "Document", Category: "Security", SubCategory: "NotUnderage",
			Message: "Security check 'notUnderage' failed or was not found."}}
	case report.OutcomeInconclusive:
		r.StatusReasons = []report.StatusReason{
			{Type: "Document", Category: "SecurityCheckFailed", SubCategory: "NonExpired", Message: "Security check 'nonExpired' failed."},
			{Type: "Biometrics", Category: "SimilarityLevel", Message: "Similarity level is 'medium'."},
		}
	}
	r.Reason = report.PrimaryReason(&r)
	return r
}

// written is what a test wrote: rows by record id and the part count.
type written struct {
	rows  map[string]report.Row
	parts int
}

// writeShard writes n sample rows of a run shard with attempt att.
func writeShard(t *testing.T, st blob.Store, w *written, run string, shard, count, n int, att string) {
	t.Helper()
	ctx := context.Background()
	rw, err := report.NewWriter(st, report.WriterConfig{RunID: run, Shard: shard, ShardCount: count, Attempt: att,
		MaxRowsPerPart: 4, RowGroupRows: 3,
		OnCommit: func(string, []string) { w.parts++ }})
	require.NoError(t, err)
	for i := range n {
		r := sampleRow(run+"-"+att, shard, count, i)
		r.RunID = run
		require.NoError(t, rw.Write(ctx, r))
		w.rows[r.RecordID] = r
	}
	require.NoError(t, rw.Close(ctx))
}

func TestReportReadBackWithDuckDB(t *testing.T) {
	out := t.TempDir()
	st, err := blob.NewLocal(out)
	require.NoError(t, err)
	w := &written{rows: map[string]report.Row{}}
	writeShard(t, st, w, "nightly-1", 0, 2, 10, "a1")
	writeShard(t, st, w, "nightly-1", 1, 2, 7, "a1")
	writeShard(t, st, w, "nightly-2", 0, 1, 5, "a1")
	writeShard(t, st, w, "nightly-2", 0, 1, 3, "a2") // a resumed attempt
	// Not parts: the glob must not pick them up.
	require.NoError(t, report.WriteSummary(context.Background(), st, report.Summary{RunID: "nightly-1", ShardCount: 2}))

	db := OpenDuckDB(t)
	from := "read_parquet(" + ParquetGlob(out) + ")"

	t.Run("one glob reads every run, shard and part", func(t *testing.T) {
		assert.Equal(t, int64(len(w.rows)), QueryValue[int64](t, db, "SELECT count(*) FROM "+from))
		assert.Equal(t, int64(w.parts), QueryValue[int64](t, db,
			"SELECT count(DISTINCT filename) FROM read_parquet("+ParquetGlob(out)+", filename = true)"))
		assert.Equal(t, 8, w.parts) // 3+2 parts of 4 rows for nightly-1, 2+1 for nightly-2
		got := map[string]int64{}
		for _, r := range QueryRows(t, db, "SELECT run_id, shard, shard_count, count(*) AS n FROM "+from+" GROUP BY ALL") {
			got[fmt.Sprintf("%s/%d/%d", r["run_id"], r["shard"], r["shard_count"])] = r["n"].(int64)
		}
		assert.Equal(t, map[string]int64{"nightly-1/0/2": 10, "nightly-1/1/2": 7, "nightly-2/0/1": 8}, got)
	})

	t.Run("column types", func(t *testing.T) {
		names, types := ColumnTypes(t, db, "SELECT * FROM "+from)
		var gotCols, wantCols []string
		for i := range names {
			gotCols = append(gotCols, names[i]+" "+types[i])
		}
		for _, c := range duckTypes {
			wantCols = append(wantCols, c[0]+" "+c[1])
		}
		assert.Equal(t, wantCols, gotCols)
	})

	t.Run("every value, NULL where nil", func(t *testing.T) {
		rows := QueryRows(t, db, "SELECT * FROM "+from)
		require.Len(t, rows, len(w.rows))
		nulls := 0
		for _, got := range rows {
			id := got["record_id"].(string)
			want, ok := w.rows[id]
			require.True(t, ok, "unexpected record %q", id)
			exp := expectedDuck(t, want)
			require.Len(t, got, len(exp), "columns")
			for col, e := range exp {
				assert.Equal(t, e, actualDuck(got[col]), "%s.%s", id, col)
				if e == nil {
					nulls++
				}
			}
		}
		assert.Positive(t, nulls, "some NULLs were checked")
	})

	t.Run("documented queries", func(t *testing.T) {
		// Counts per outcome.
		counts := map[string]int64{}
		for _, r := range QueryRows(t, db, "SELECT outcome, count(*) AS n FROM "+from+" GROUP BY outcome") {
			counts[r["outcome"].(string)] = r["n"].(int64)
		}
		want := map[string]int64{}
		changed, bw, reasons, underage := int64(0), int64(0), map[string]int64{}, int64(0)
		for _, r := range w.rows {
			want[r.Outcome]++
			if slices.Contains(r.FailedChecks, "notUnderage") {
				underage++
			}
			if r.OutcomeChanged != nil && *r.OutcomeChanged {
				changed++
			}
			if r.CheckNonExpired != nil && !*r.CheckNonExpired {
				bw++
			}
			for _, sr := range r.StatusReasons {
				reasons[sr.Category]++
			}
		}
		assert.Equal(t, want, counts)

		// Outcome changes against the previous outcome.
		assert.Equal(t, changed, QueryValue[int64](t, db,
			"SELECT count(*) FROM "+from+" WHERE previous_outcome IS NOT NULL AND outcome <> previous_outcome"))
		// Security-check failures.
		assert.Equal(t, bw, QueryValue[int64](t, db, "SELECT count(*) FROM "+from+" WHERE check_non_expired = false"))
		assert.Positive(t, underage)
		assert.Equal(t, underage, QueryValue[int64](t, db, "SELECT count(*) FROM "+from+" WHERE list_contains(failed_checks, 'notUnderage')"))
		assert.Zero(t, QueryValue[int64](t, db, "SELECT count(*) FROM "+from+" WHERE failed_checks IS NULL"), "never NULL")
		// Status reasons unnested.
		got := map[string]int64{}
		for _, r := range QueryRows(t, db, "SELECT sr.category AS category, count(*) AS n FROM "+from+
			", unnest(status_reasons) AS u(sr) GROUP BY ALL") {
			got[r["category"].(string)] = r["n"].(int64)
		}
		assert.Equal(t, reasons, got)
		// JSON, map and date functions.
		assert.Equal(t, "inconclusive", QueryValue[string](t, db, "SELECT result_json->>'status' FROM "+from+
			" WHERE record_id = 'nightly-1-a1-s0-002'"))
		assert.Equal(t, "app", QueryValue[string](t, db, "SELECT metadata['channel'] FROM "+from+
			" WHERE record_id = 'nightly-1-a1-s0-002'"))
		assert.Equal(t, int64(76), QueryValue[int64](t, db, "SELECT date_diff('year', date_of_birth, DATE '2026-11-27') FROM "+from+
			" WHERE record_id = 'nightly-1-a1-s0-002'"))
		assert.Equal(t, "2026-11-27 01:02:05.456+00", QueryValue[string](t, db, "SELECT submitted_at::VARCHAR FROM "+from+
			" WHERE record_id = 'nightly-1-a1-s0-002'"))
	})
}

// TestReportFromS3ReadWithDuckDB writes through S3 (gofakes3), mirrors the
// prefix locally and reads it with one glob.
func TestReportFromS3ReadWithDuckDB(t *testing.T) {
	st := fakes3.Start(t, "bucket").Store(t, "bucket", "reports")
	w := &written{rows: map[string]report.Row{}}
	writeShard(t, st, w, "s3-run", 0, 1, 9, "a1")

	dir := MirrorToDir(t, st)
	db := OpenDuckDB(t)
	from := "read_parquet(" + ParquetGlob(dir) + ")"
	assert.Equal(t, int64(9), QueryValue[int64](t, db, "SELECT count(*) FROM "+from))
	assert.Equal(t, int64(3), QueryValue[int64](t, db,
		"SELECT count(DISTINCT filename) FROM read_parquet("+ParquetGlob(dir)+", filename = true)"))
	for _, got := range QueryRows(t, db, "SELECT * FROM "+from) {
		want := w.rows[got["record_id"].(string)]
		for col, e := range expectedDuck(t, want) {
			assert.Equal(t, e, actualDuck(got[col]), col)
		}
	}
}

// expectedDuck returns the values DuckDB should return for a row, keyed by
// column, derived by reflection from Row's parquet tags so that every
// column — including columns added later — is checked. A field type it
// does not know fails the test.
func expectedDuck(t *testing.T, r report.Row) map[string]any {
	t.Helper()
	out := map[string]any{}
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		out[name] = expectedValue(t, name, opts, v.Field(i))
	}
	return out
}

func expectedValue(t *testing.T, name, opts string, fv reflect.Value) any {
	t.Helper()
	switch x := fv.Interface().(type) {
	case string, int32, bool:
		return x
	case *string:
		return deref(x)
	case *int32:
		if x == nil {
			return nil
		}
		if strings.Contains(opts, "date") {
			return time.Unix(int64(*x)*86400, 0).UTC()
		}
		return *x
	case *int64:
		return deref(x)
	case *bool:
		return deref(x)
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC()
	case []string:
		l := []any{}
		for _, s := range x {
			l = append(l, s)
		}
		return l
	case []report.StatusReason:
		l := []any{}
		for _, sr := range x {
			l = append(l, map[string]any{"type": sr.Type, "category": sr.Category, "sub_category": sr.SubCategory, "message": sr.Message})
		}
		return l
	case map[string]string:
		m := map[string]any{}
		for k, s := range x {
			m[k] = s
		}
		return m
	case json.RawMessage:
		if x == nil {
			return nil
		}
		var j any
		require.NoError(t, json.Unmarshal(x, &j))
		return j
	}
	t.Fatalf("column %s: Go type %s has no DuckDB expectation; extend expectedValue", name, fv.Type())
	return nil
}

// actualDuck normalises a scanned value for comparison.
func actualDuck(v any) any {
	switch x := v.(type) {
	case duckdb.OrderedMap:
		m := map[string]any{}
		keys, vals := x.Keys(), x.Values()
		for i := range keys {
			m[keys[i].(string)] = vals[i]
		}
		return m
	case time.Time:
		return x.UTC()
	}
	return v
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestDocumentedDuckDBQueriesRun runs every statement of the DuckDB example
// block in docs/reports.md against real output, so the documentation stays
// valid SQL.
func TestDocumentedDuckDBQueriesRun(t *testing.T) {
	doc, err := os.ReadFile("../../docs/reports.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "### DuckDB")
	require.True(t, ok)
	_, rest, ok = strings.Cut(rest, "```sql\n")
	require.True(t, ok)
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)

	out := t.TempDir()
	st, err := blob.NewLocal(out)
	require.NoError(t, err)
	writeShard(t, st, &written{rows: map[string]report.Row{}}, "nightly-2026-11-27", 0, 1, 12, "a1")
	db := OpenDuckDB(t)

	n := 0
	for _, stmt := range strings.Split(block, ";") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		q := strings.ReplaceAll(strings.Join(lines, "\n"), "'out/**/*.parquet'", ParquetGlob(out))
		rows := QueryRows(t, db, q)
		assert.NotEmpty(t, rows, q)
		n++
	}
	assert.Equal(t, 9, n, "statements in the documented block")
}

package e2e

// The SQL pack of docs/sql/: every DuckDB query runs on a real output and
// returns rows; the Athena table's columns are the parts' columns, with
// matching types, and its location template is the output's layout.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/report"
)

const seedSQLPack = 79

// sqlStatements splits a SQL file into statements, comment lines dropped.
func sqlStatements(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var code []string
	for _, l := range strings.Split(string(b), "\n") {
		if tl := strings.TrimSpace(l); tl != "" && !strings.HasPrefix(tl, "--") {
			code = append(code, l)
		}
	}
	var out []string
	for _, stmt := range strings.Split(strings.Join(code, "\n"), ";") {
		if stmt = strings.Trim(stmt, "\n"); strings.TrimSpace(stmt) != "" {
			out = append(out, stmt)
		}
	}
	return out
}

func TestSQLPackRuns(t *testing.T) {
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 60, Seed: seedSQLPack})
	out := filepath.Join(t.TempDir(), "out")
	res := RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "sql-pack"})
	RequireExit(t, res, ExitIncomplete)
	sums := ReadSummaries(t, out)
	require.Len(t, sums, 1)

	db := OpenDuckDB(t)
	stmts := sqlStatements(t, "../../docs/sql/duckdb.sql")
	selects := 0
	for _, q := range stmts {
		q = strings.ReplaceAll(q, "'out/**/*.parquet'", ParquetGlob(out))
		if strings.HasPrefix(strings.TrimSpace(q), "SET ") {
			_, err := db.Exec(q)
			require.NoError(t, err, q)
			continue
		}
		rows := QueryRows(t, db, q)
		require.NotEmpty(t, rows, q)
		selects++
		switch {
		case strings.Contains(q, "pct_of_previous"):
			var n int64
			for _, r := range rows {
				n += r["records"].(int64)
			}
			assert.Equal(t, sums[0].OutcomeCompared, n, "the transition matrix counts every compared row")
		case strings.Contains(q, "AS verifications"):
			// What is billed: one verification per started process.
			assert.EqualValues(t, emu.Counters().VerificationsStarted, rows[0]["verifications"], "verifications = the API's starts")
			assert.EqualValues(t, arch.NonSkipped(), rows[0]["verifications"])
		case strings.Contains(q, "WHERE outcome_changed\nORDER BY"):
			assert.EqualValues(t, sums[0].OutcomeChanged, len(rows), "the changed records")
		}
	}
	assert.Equal(t, 12, selects, "SELECT statements in docs/sql/duckdb.sql")
}

// hiveType maps a DuckDB column type (DESCRIBE) to the Hive type Athena
// declares for it.
func hiveType(t *testing.T, d string) string {
	d = strings.TrimSpace(d)
	if inner, ok := strings.CutSuffix(d, "[]"); ok {
		return "array<" + hiveType(t, inner) + ">"
	}
	if inner, ok := strings.CutPrefix(d, "STRUCT("); ok {
		inner = strings.TrimSuffix(inner, ")")
		var fields []string
		for _, f := range splitTop(inner) {
			name, typ, ok := strings.Cut(strings.TrimSpace(f), " ")
			require.True(t, ok, f)
			fields = append(fields, strings.Trim(name, `"`)+":"+hiveType(t, typ))
		}
		return "struct<" + strings.Join(fields, ",") + ">"
	}
	if inner, ok := strings.CutPrefix(d, "MAP("); ok {
		kv := splitTop(strings.TrimSuffix(inner, ")"))
		require.Len(t, kv, 2, d)
		return "map<" + hiveType(t, kv[0]) + "," + hiveType(t, kv[1]) + ">"
	}
	switch d {
	case "VARCHAR", "JSON":
		return "string"
	case "INTEGER":
		return "int"
	case "BIGINT":
		return "bigint"
	case "BOOLEAN":
		return "boolean"
	case "DATE":
		return "date"
	case "TIMESTAMP", "TIMESTAMP WITH TIME ZONE":
		return "timestamp"
	}
	t.Fatalf("no Hive type for DuckDB type %q", d)
	return ""
}

// splitTop splits s at the commas outside parentheses and angle brackets.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(', '<':
			depth++
		case ')', '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func TestAthenaDDLMatchesTheSchema(t *testing.T) {
	stmts := sqlStatements(t, "../../docs/sql/athena.sql")
	require.Len(t, stmts, 1)
	ddl := stmts[0]
	open := strings.Index(ddl, "(")
	close := strings.Index(ddl, "\n)")
	require.True(t, open > 0 && close > open, ddl)
	declared := map[string]string{}
	var order []string
	for _, col := range splitTop(ddl[open+1 : close]) {
		name, typ, ok := strings.Cut(col, " ")
		require.True(t, ok, col)
		declared[name] = strings.ReplaceAll(typ, " ", "")
		order = append(order, name)
	}

	// A real part's schema, as DuckDB reads it.
	emu := StartEmulator(t, nil)
	arch := WriteSpecimen(t, SpecimenSpec{Count: 12, Seed: seedSQLPack})
	out := filepath.Join(t.TempDir(), "out")
	RequireExit(t, RunBatch(t, RunSpec{Emulator: emu, Source: arch.URI, Output: out, RunID: "athena"}), ExitIncomplete)
	db := OpenDuckDB(t)
	var inPart []string
	for _, r := range QueryRows(t, db, "DESCRIBE SELECT * FROM read_parquet("+ParquetGlob(out)+")") {
		name, typ := r["column_name"].(string), r["column_type"].(string)
		inPart = append(inPart, name)
		want := hiveType(t, typ)
		if assert.Contains(t, declared, name, "column %s (%s) of the parts", name, typ) {
			assert.Equal(t, want, declared[name], "type of %s (DuckDB %s)", name, typ)
		}
	}
	assert.Equal(t, inPart, order, "the table's columns are the parts', in order")

	// Partition keys: not columns; the template is the output's layout.
	m := regexp.MustCompile(`PARTITIONED BY \(([^)]*)\)`).FindStringSubmatch(ddl)
	require.NotNil(t, m, "PARTITIONED BY")
	for _, kv := range splitTop(m[1]) {
		key, _, _ := strings.Cut(kv, " ")
		assert.NotContains(t, declared, key, "partition key %s is not a column", key)
		assert.Contains(t, ddl, "'projection."+key+".type'", "projection of %s", key)
	}
	tmpl := regexp.MustCompile(`'storage.location.template' = '([^']*)'`).FindStringSubmatch(ddl)
	require.NotNil(t, tmpl)
	loc := regexp.MustCompile(`LOCATION '([^']*)'`).FindStringSubmatch(ddl)
	require.NotNil(t, loc)
	const root = "s3://bucket/out/"
	assert.Equal(t, root+report.RunsPrefix, loc[1])
	for _, sh := range [][2]int{{0, 1}, {3, 8}, {255, 256}} {
		got := strings.NewReplacer("${run}", "nightly-1", "${shard_no}", fmt.Sprint(sh[0]), "${shards}", fmt.Sprint(sh[1])).Replace(tmpl[1])
		assert.Equal(t, root+report.ShardPrefix("nightly-1", sh[0], sh[1]), got)
	}
}

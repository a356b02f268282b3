// Package e2e holds reverify's end-to-end tests: they read the product's
// output back with DuckDB, the way analysts do. It is a separate Go module so
// that DuckDB (cgo, ~30 MB of native library per platform) stays out of the
// product's go.mod.
package e2e

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"reverify/internal/blob"
)

// OpenDuckDB opens a fresh in-memory DuckDB database with the session time
// zone set to UTC (so TIMESTAMP WITH TIME ZONE values render in UTC). It is
// closed when the test ends.
func OpenDuckDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	// One connection: session settings (SET) then apply to every query.
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatalf("duckdb: set time zone: %v", err)
	}
	return db
}

// ParquetGlob returns the SQL string literal of the glob that reads every
// part below a local output folder: '<dir>/**/*.parquet'.
func ParquetGlob(dir string) string {
	return SQLString(filepath.ToSlash(dir) + "/**/*.parquet")
}

// SQLString quotes s as a SQL string literal.
func SQLString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QueryRows runs a query and returns every row as a column-name → value map,
// with values as the DuckDB driver scans them (VARCHAR → string, INTEGER →
// int32, BIGINT → int64, BOOLEAN → bool, DATE and TIMESTAMP → time.Time,
// LIST → []any, STRUCT → map[string]any, MAP → duckdb.Map, NULL → nil).
func QueryRows(t testing.TB, db *sql.DB, query string, args ...any) []map[string]any {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("duckdb query %q: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("duckdb columns: %v", err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("duckdb scan %q: %v", query, err)
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("duckdb query %q: %v", query, err)
	}
	return out
}

// QueryValue runs a query that returns one row of one column and scans it
// into a T.
func QueryValue[T any](t testing.TB, db *sql.DB, query string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&v); err != nil {
		t.Fatalf("duckdb query %q: %v", query, err)
	}
	return v
}

// ColumnTypes returns the DuckDB type of every column of a query, in order,
// as DESCRIBE spells them (e.g. "TIMESTAMP WITH TIME ZONE", "VARCHAR[]").
func ColumnTypes(t testing.TB, db *sql.DB, query string) (names, types []string) {
	t.Helper()
	for _, r := range QueryRows(t, db, "DESCRIBE "+query) {
		names = append(names, r["column_name"].(string))
		types = append(types, r["column_type"].(string))
	}
	return names, types
}

// MirrorToDir copies every object below store's root into a new temporary
// folder and returns it: DuckDB reads s3:// only through the httpfs
// extension, which is not bundled, so S3 output is queried from a local copy.
func MirrorToDir(t testing.TB, store blob.Store) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	err := store.List(ctx, "", func(o blob.Object) error {
		b, err := store.Get(ctx, o.Key, 0)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil {
		t.Fatalf("mirror %s: %v", store.URI(), err)
	}
	return dir
}

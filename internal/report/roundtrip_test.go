package report

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTripEveryColumn(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := newTestWriter(t, st, WriterConfig{Now: newClock().Now})
	full, minimal := fullRow(1), minimalRow(2)
	require.NoError(t, w.Write(ctx, full, minimal))
	require.NoError(t, w.Close(ctx))

	got := readAll(t, st)
	require.Len(t, got, 2)
	assert.Equal(t, full, got[0], "every column of a full row reads back equal")

	// The minimal row gets the writer's columns and RecordedAt; all else is
	// NULL or empty.
	want := minimal
	want.RunID, want.Shard, want.ShardCount = "run-1", 0, 1
	want.RecordedAt = Timestamp(t0)
	assert.Equal(t, want, got[1])
}

func TestRoundTripNilVersusEmpty(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := newTestWriter(t, st, WriterConfig{})

	empty := minimalRow(1)
	empty.FrontURI = new("")           // empty string, not NULL
	empty.DocumentID = new(int32(0))   // zero, not NULL
	empty.CheckNonExpired = new(false) // false, not NULL
	empty.DurationMS = new(int64(0))
	empty.ResultJSON = json.RawMessage(`{}`)
	empty.StatusReasons = []StatusReason{}
	empty.SkipReasons = []string{}
	empty.Metadata = map[string]string{"": ""}
	empty.DateOfBirth = new(int32(0)) // 1970-01-01

	null := minimalRow(2)
	require.NoError(t, w.Write(ctx, empty, null))
	require.NoError(t, w.Close(ctx))

	got := readAll(t, st)
	require.Len(t, got, 2)
	e, n := got[0], got[1]
	require.NotNil(t, e.FrontURI)
	assert.Equal(t, "", *e.FrontURI)
	require.NotNil(t, e.DocumentID)
	assert.Equal(t, int32(0), *e.DocumentID)
	require.NotNil(t, e.CheckNonExpired)
	assert.False(t, *e.CheckNonExpired)
	require.NotNil(t, e.DurationMS)
	assert.Equal(t, int64(0), *e.DurationMS)
	assert.JSONEq(t, `{}`, string(e.ResultJSON))
	assert.Equal(t, "1970-01-01", DaysDate(e.DateOfBirth))
	assert.Equal(t, map[string]string{"": ""}, e.Metadata)

	assert.Nil(t, n.FrontURI)
	assert.Nil(t, n.DocumentID)
	assert.Nil(t, n.CheckNonExpired)
	assert.Nil(t, n.DurationMS)
	assert.Nil(t, n.ResultJSON)
	assert.Nil(t, n.DateOfBirth)
	assert.Nil(t, n.SubmittedAt)
	assert.Empty(t, n.StatusReasons)
	assert.Empty(t, n.SkipReasons)
	assert.Empty(t, n.Metadata)
}

func TestWriterNormalisesTimestamps(t *testing.T) {
	ctx := context.Background()
	st := localStore(t)
	w := newTestWriter(t, st, WriterConfig{})
	oslo := time.FixedZone("CET", 3600)
	r := minimalRow(1)
	r.SubmittedAt = new(time.Date(2026, 1, 2, 3, 4, 5, 678_912_345, oslo))
	r.CompletedAt = new(time.Time{}) // zero: stored as NULL
	require.NoError(t, w.Write(ctx, r))
	require.NoError(t, w.Close(ctx))
	got := readAll(t, st)
	require.Len(t, got, 1)
	assert.Equal(t, time.Date(2026, 1, 2, 2, 4, 5, 678_000_000, time.UTC), *got[0].SubmittedAt)
	assert.Nil(t, got[0].CompletedAt)
}

// TestSchemaIsStable pins the Parquet schema: column names, order, types and
// nullability are a contract with analysts (docs/reports.md). Add columns at
// the end of a group and update testdata/schema.txt and the docs together;
// never rename or retype a column.
func TestSchemaIsStable(t *testing.T) {
	want, err := os.ReadFile("testdata/schema.txt")
	require.NoError(t, err)
	assert.Equal(t, string(want), parquet.SchemaOf(Row{}).String()+"\n")
}

// TestReadmeDocumentsEveryColumn keeps the README's column table (the
// analysts' reference) in step with the schema: every top-level column is
// documented, in order, and nothing else.
func TestReadmeDocumentsEveryColumn(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var documented []string
	for _, line := range strings.Split(string(readme), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ := strings.Cut(rest, "`")
			if strings.Contains(line, "| yes |") || strings.Contains(line, "| no |") || strings.Contains(line, "| no* |") {
				documented = append(documented, name)
			}
		}
	}
	var columns []string
	for _, f := range parquet.SchemaOf(Row{}).Fields() {
		columns = append(columns, f.Name())
	}
	assert.Equal(t, columns, documented)
}

package pipeline_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/journal"
	"reverify/internal/pipeline"
	"reverify/internal/report"
)

// The counts are of dossiers, not of entries: a deletion logged twice counts
// once, a deletion whose creation no log holds (a killed attempt's) counts as
// a creation too, a refused deletion is none, and the cleanup log adds only
// deletions of dossiers the run's logs created.
func TestDossierCountsCountDossiers(t *testing.T) {
	ctx := context.Background()
	out, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	write := func(prefix, attempt string, entries ...journal.Entry) {
		t.Helper()
		l, err := journal.OpenLog(ctx, out, prefix, attempt, 0)
		require.NoError(t, err)
		for _, e := range entries {
			require.NoError(t, l.Append(ctx, e))
		}
		require.NoError(t, l.Close())
	}
	made := func(d string) journal.Entry {
		return journal.Entry{Type: journal.TypeDossier, Record: "r-" + d, Dossier: d}
	}
	gone := func(d string, status int) journal.Entry {
		return journal.Entry{Type: journal.TypeDeleted, Record: "r-" + d, Dossier: d, Status: status}
	}
	logs := report.DossierLogPrefix("run", 0, 1)
	write(logs, "a1", made("d1"), made("d2"), made("d3"), gone("d1", 204), gone("d2", 500))
	write(logs, "a2", gone("d1", 404), gone("d4", 204), made("d5"), gone("d5", 204))
	cleanup := report.CleanupLogPrefix("run")
	write(cleanup, "c1", gone("d2", 204), gone("d9", 204), gone("d1", 204))

	c, err := pipeline.DossierCounts(ctx, out, []string{logs})
	require.NoError(t, err)
	assert.Equal(t, report.DossierCounts{Created: 5, Deleted: 3, Left: 2}, c, "d1, d4, d5 deleted; d2 (refused) and d3 left")
	c, err = pipeline.DossierCounts(ctx, out, []string{logs}, cleanup)
	require.NoError(t, err)
	assert.Equal(t, report.DossierCounts{Created: 5, Deleted: 4, Left: 1}, c, "the cleanup deleted d2; d9 is not the run's")
}

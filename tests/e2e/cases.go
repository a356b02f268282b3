package e2e

// The figures of RELIABILITY.md's table of cases (issue "Keep the promise
// on every path"): each case test ends by recording, for the last attempt it
// ran, what a user checks — verifications per record, duplicate rows,
// dossiers left, exit code, time to exit. `make cases` collects them.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reverify/internal/assure/emulator"
)

// EnvCaseFigures names a file the case tests append their table rows to.
const EnvCaseFigures = "REVERIFY_TEST_CASE_FIGURES"

var caseFile sync.Mutex

// Case is one row of the table of cases.
type Case struct {
	Name string // what happened
	// Reaching is how many records reach the API (verifications per record
	// is started / Reaching).
	Reaching int
	Last     Result            // the attempt the figures describe
	Counters emulator.Counters // the emulator's, after it
	// Output is a local folder holding the run's Parquet parts ("": none).
	Output string
	// Verifications and Dossiers, when set, replace the figures computed
	// from Counters (for an attempt that ran beside another, whose calls
	// the emulator's counters cannot tell apart).
	Verifications, Dossiers string
}

// RecordCase logs the case's figures and appends them to $REVERIFY_TEST_CASE_FIGURES
// as a Markdown table row (test | case | verifications/record | duplicate
// rows | dossiers left | exit | time to exit).
func RecordCase(t *testing.T, c Case) {
	t.Helper()
	perRecord, left := "–", fmt.Sprint(c.Counters.DossiersLive)
	if c.Reaching > 0 {
		perRecord = fmt.Sprintf("%.2f (%d/%d)", float64(c.Counters.VerificationsStarted)/float64(c.Reaching),
			c.Counters.VerificationsStarted, c.Reaching)
	}
	dups := "–"
	if c.Output != "" && hasParts(c.Output) {
		db := OpenDuckDB(t)
		// One row per line of the listing: a row's origin names its line.
		n := QueryValue[int64](t, db, `SELECT count(*) - count(DISTINCT origin) FROM read_parquet(`+ParquetGlob(c.Output)+`)`)
		dups = fmt.Sprint(n)
	}
	if c.Verifications != "" {
		perRecord = c.Verifications
	}
	if c.Dossiers != "" {
		left = c.Dossiers
	}
	exit := fmt.Sprint(c.Last.ExitCode)
	if c.Last.Signal != 0 {
		exit = c.Last.Signal.String()
	}
	row := fmt.Sprintf("| `%s` | %s | %s | %s | %s | %s | %s |", t.Name(), c.Name, perRecord, dups,
		left, exit, c.Last.Wall.Round(10*time.Millisecond))
	t.Logf("case figures: %s", row)
	path := os.Getenv(EnvCaseFigures)
	if path == "" {
		return
	}
	caseFile.Lock()
	defer caseFile.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err, EnvCaseFigures)
	defer f.Close()
	_, err = fmt.Fprintln(f, row)
	require.NoError(t, err, EnvCaseFigures)
}

func hasParts(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

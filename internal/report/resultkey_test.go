package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Result keys are one flat object per record id, never shared by two ids,
// and short enough for a local file name however long the id is.
func TestResultKeysAreInjective(t *testing.T) {
	long := strings.Repeat("x", 300)
	ids := []string{"..", "_..", ".", "_.", "a//b", "a/_/b", "a/b", "a%2Fb", "a b", "a+b", "a~b",
		long, long + "y", strings.Repeat("é", 150), strings.Repeat("%", 80), "rec-000001"}
	seen := map[string]string{}
	for _, id := range ids {
		k := ResultKey("run", id)
		require.True(t, strings.HasPrefix(k, "runs/run/results/"), k)
		name := strings.TrimPrefix(k, "runs/run/results/")
		assert.NotContains(t, name, "/", "flat: %q", id)
		assert.LessOrEqual(t, len(name), 255, "fits a local file name: %q", id)
		assert.NotContains(t, []string{".", ".."}, name)
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q share the key %s", id, other, k)
		}
		seen[k] = id
	}
	assert.Equal(t, "runs/run/results/rec-000001.zip", ResultKey("run", "rec-000001"), "plain ids stay readable")
	assert.Equal(t, "runs/run/results/a%2F%2Fb.zip", ResultKey("run", "a//b"))
	assert.Contains(t, ResultKey("run", long), "~", "a long id is cut and hashed")
}

package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docs/configuration.md has one table row per key, with the right type and
// the right default.
func TestDocsTableMatchesSchema(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	_, keysSection, ok := strings.Cut(string(b), "\n## Keys\n")
	require.True(t, ok, "no Keys section")
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_.]+)` \\| ([a-z]+) \\| `([^`]*)` \\| .+ \\|$")
	s := newSchema()
	var documented []string
	for _, m := range row.FindAllStringSubmatch(keysSection, -1) {
		key, typ, def := m[1], m[2], m[3]
		documented = append(documented, key)
		l, ok := s.byKey[key]
		if !assert.True(t, ok, "documented key %s does not exist", key) {
			continue
		}
		assert.Equal(t, docType(l.typ), strings.NewReplacer("uri", "string", "url", "string").Replace(typ), key)
		if def == `""` {
			def = ""
		}
		if key == "run.run_id" || key == "run.shard" {
			assert.Empty(t, def, key)
			continue
		}
		want := Default()
		got := want
		if assert.NoError(t, got.Set(key, def), key) {
			assert.Equal(t, want, got, "%s: documented default %q is wrong", key, def)
		}
	}
	want := Keys()
	sort.Strings(want)
	sort.Strings(documented)
	assert.Equal(t, want, documented)
}

func docType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == sizeType:
		return "size"
	case t == rateType:
		return "rate"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "int"
	case reflect.Float64:
		return "float"
	}
	return t.Kind().String()
}

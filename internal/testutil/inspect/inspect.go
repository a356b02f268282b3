// Package inspect takes apart what a test got back: the field paths of a
// JSON document and the entries of a zip archive.
package inspect

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// FieldPaths maps a JSON document to its field paths ("a.b") and value
// types (object, array, string, number, bool, null); array items share the
// path `name[]`.
func FieldPaths(t testing.TB, doc []byte) map[string]string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			out[prefix] = "object"
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, c)
			}
		case []any:
			out[prefix] = "array"
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		case string:
			out[prefix] = "string"
		case float64:
			out[prefix] = "number"
		case bool:
			out[prefix] = "bool"
		case nil:
			out[prefix] = "null"
		}
	}
	walk("", v)
	delete(out, "")
	return out
}

// SortedKeys returns the keys of m in order (nil for an empty map).
func SortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Unzip reads a zip archive: the entry names in archive order and the
// content of each entry by name.
func Unzip(t testing.TB, b []byte) (names []string, files map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	files = map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		names = append(names, f.Name)
		files[f.Name] = data
	}
	return names, files
}

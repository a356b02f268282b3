package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// applyYAML decodes a YAML configuration over c. It walks the document
// itself rather than decoding with KnownFields(true), so that every problem
// is reported at once and names the dotted key and its line: unknown keys
// (with the nearest known key), secret keys, duplicates and values of the
// wrong type. Scalars are parsed exactly as Set parses text, so YAML,
// environment variables and flags accept the same forms. A null value (a key
// with nothing after it) leaves the default. Anchors, aliases and merge keys
// (<<) work as in YAML.
func (c *Config) applyYAML(data []byte) Errors {
	var errs Errors
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty document
		}
		errs.add("yaml", strings.TrimPrefix(err.Error(), "yaml: "))
		return errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		errs.add("yaml", fmt.Sprintf("line %d: more than one YAML document; the configuration is a single document", extra.Line))
		return errs
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	if root.Kind == 0 || isNull(root) {
		return nil
	}
	w := yamlWalker{s: newSchema(), cfg: reflect.ValueOf(c).Elem(), errs: &errs}
	w.mapping(root, "")
	return errs
}

type yamlWalker struct {
	s    schema
	cfg  reflect.Value
	errs *Errors
}

func (w yamlWalker) fail(key string, line int, format string, args ...any) {
	field := key
	if field == "" {
		field = "yaml"
	}
	w.errs.add(field, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

// mapping applies a mapping node holding the keys of section ("" for the
// top level).
func (w yamlWalker) mapping(n *yaml.Node, section string) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		what := "the configuration"
		if section != "" {
			what = "this section"
		}
		w.fail(section, n.Line, "%s must be a mapping of keys (%s), got %s", what, strings.Join(w.s.children(section), ", "), kindName(n))
		return
	}
	// Merged mappings first, so that explicit keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; isMergeKey(k) {
			w.merge(v, section)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(section, k.Line, "keys must be plain names, got %s", kindName(k))
			continue
		}
		key := k.Value
		if section != "" {
			key = section + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			w.fail(key, k.Line, "duplicate key (first set at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		switch l, isLeaf := w.s.byKey[key]; {
		case isLeaf:
			w.scalar(v, l)
		case w.s.sections[key]:
			if !isNull(deref(v)) {
				w.mapping(v, key)
			}
		default:
			w.fail(key, k.Line, "%s", w.s.unknownKeyMsg(key))
		}
	}
}

// merge applies the value of a merge key: a mapping or a list of mappings.
func (w yamlWalker) merge(v *yaml.Node, section string) {
	v = deref(v)
	if v.Kind == yaml.SequenceNode {
		// Earlier mappings in the list take precedence: apply them last.
		for i := len(v.Content) - 1; i >= 0; i-- {
			w.mapping(v.Content[i], section)
		}
		return
	}
	w.mapping(v, section)
}

// scalar applies a value node to the leaf l.
func (w yamlWalker) scalar(v *yaml.Node, l leaf) {
	v = deref(v)
	if v.Kind != yaml.ScalarNode {
		w.fail(l.key, v.Line, "expected a single value, got %s", kindName(v))
		return
	}
	if isNull(v) {
		return
	}
	if err := parseInto(w.cfg.FieldByIndex(l.index), v.Value); err != nil {
		w.fail(l.key, v.Line, "%v", err)
	}
}

// deref follows aliases to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "nothing"
}

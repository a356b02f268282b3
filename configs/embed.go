// Package configs holds reverify's example configurations. example.yaml is
// built into the binary: it is the configuration of `batch run` when no
// --config is given (the dry-run demo).
package configs

import _ "embed"

//go:embed example.yaml
var example string // a string: immutable, so no caller can alter it

// Example returns the text of configs/example.yaml, a fresh copy per call.
func Example() []byte { return []byte(example) }

package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// leaf is one settable key of Config: a field whose type is a scalar.
type leaf struct {
	key   string // dotted: api.retry.max_attempts
	index []int  // reflect field index path from Config
	typ   reflect.Type
}

// schema is the key table of Config, derived from its yaml tags. It is
// built on demand (no package state); building it is cheap.
type schema struct {
	leaves   []leaf          // in declaration order
	byKey    map[string]leaf // dotted key -> leaf
	sections map[string]bool // dotted keys of nested sections (api, api.retry)
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	sizeType     = reflect.TypeOf(Size(0))
	rateType     = reflect.TypeOf(Rate{})
)

func newSchema() schema {
	s := schema{byKey: map[string]leaf{}, sections: map[string]bool{}}
	s.walk(reflect.TypeOf(Config{}), "", nil)
	return s
}

func (s *schema) walk(t reflect.Type, prefix string, index []int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			panic(fmt.Sprintf("config: field %s.%s has no yaml tag", t.Name(), f.Name))
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		idx := append(append([]int(nil), index...), i)
		switch {
		case f.Type == durationType || f.Type == sizeType || f.Type == rateType:
		case f.Type.Kind() == reflect.Struct:
			s.sections[key] = true
			s.walk(f.Type, key, idx)
			continue
		case scalarKind(f.Type.Kind()):
		default:
			panic(fmt.Sprintf("config: %s has unsupported type %s", key, f.Type))
		}
		l := leaf{key: key, index: idx, typ: f.Type}
		s.leaves = append(s.leaves, l)
		s.byKey[key] = l
	}
}

func scalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return true
	}
	return false
}

// children returns the keys directly below section ("" for the top level),
// without the section prefix.
func (s schema) children(section string) []string {
	var out []string
	seen := map[string]bool{}
	prefix := ""
	if section != "" {
		prefix = section + "."
	}
	for _, l := range s.leaves {
		rest, ok := strings.CutPrefix(l.key, prefix)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// Keys returns every settable dotted key in schema order.
func Keys() []string {
	s := newSchema()
	out := make([]string, len(s.leaves))
	for i, l := range s.leaves {
		out[i] = l.key
	}
	return out
}

// EnvName returns the environment variable overriding key:
// REVERIFY_ + the key upper-cased with dots turned into underscores
// (api.rate → REVERIFY_API_RATE).
func EnvName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// refusedKey explains keys that look like settings but must never be read
// from configuration (secrets), or "" for any other key.
func refusedKey(key string) string {
	switch {
	case key == "api.client_secret":
		return "secrets are not read from the configuration: set SIGNICAT_CLIENT_SECRET or SIGNICAT_CLIENT_SECRET_FILE in the environment, or name a file holding it in api.client_secret_file"
	case key == "api.client_id":
		return "the client id is not read from the configuration: set SIGNICAT_CLIENT_ID in the environment"
	case key == "output.hash_key":
		return "the hash key is not read from the configuration: name a file holding it in output.hash_key_file or " + EnvHashKeyFile
	case key == "api.retry.max_retry_after":
		return "renamed api.retry.max_pause: it caps the pause a 429's Retry-After imposes on every call"
	case strings.HasSuffix(key, ".s3.access_key_id"), strings.HasSuffix(key, ".s3.secret_access_key"):
		return "S3 credentials are not read from the configuration: they come from the AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the instance or task role)"
	}
	return ""
}

// unknownKeyMsg describes an unknown key, suggesting the closest known one.
func (s schema) unknownKeyMsg(key string) string {
	if msg := refusedKey(key); msg != "" {
		return msg
	}
	if s.sections[key] {
		return fmt.Sprintf("is a section, not a value; set one of its keys (%s)", strings.Join(s.prefixed(key), ", "))
	}
	if best := s.closest(key); best != "" {
		return fmt.Sprintf("unknown key (did you mean %s?)", best)
	}
	// A known key at the wrong place: "rate" for api.rate.
	last := key[strings.LastIndex(key, ".")+1:]
	var same []string
	for _, l := range s.leaves {
		if strings.HasSuffix(l.key, "."+last) {
			same = append(same, l.key)
		}
	}
	if len(same) > 0 {
		return fmt.Sprintf("unknown key (did you mean %s?)", strings.Join(same, " or "))
	}
	return "unknown key"
}

func (s schema) prefixed(section string) []string {
	kids := s.children(section)
	for i, k := range kids {
		kids[i] = section + "." + k
	}
	return kids
}

// closest returns the known key nearest to key, or "" when none is near.
func (s schema) closest(key string) string {
	cands := make([]string, len(s.leaves))
	for i, l := range s.leaves {
		cands[i] = l.key
	}
	return closestOf(key, cands)
}

// closestOf returns the candidate nearest to s by edit distance when it is
// within a typo's reach (2 edits, 3 for long names), else "".
func closestOf(s string, candidates []string) string {
	limit := 2
	if len(s) > 12 {
		limit = 3
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package source

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JSON value kinds, as named in messages.
const (
	kindNull   = "null"
	kindString = "string"
	kindNumber = "number"
	kindOther  = "other"
)

// jsonScalar reads a JSON value that must be a string or a number (both are
// accepted for IDs: {"document_id": 58} and {"document_id": "58"}), or null
// for "not given". ok is false for booleans, objects and arrays.
func jsonScalar(raw json.RawMessage) (s, kind string, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", kindNull, nil
	}
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", kindString, err
		}
		return s, kindString, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return string(raw), kindNumber, nil
	case bytes.Equal(raw, []byte("null")):
		return "", kindNull, nil
	}
	return "", kindOther, fmt.Errorf("%s is neither a string nor a number", describeJSON(raw))
}

// jsonString reads a JSON string, or null for "not given".
func jsonString(raw json.RawMessage) (string, error) {
	s, kind, err := jsonScalar(raw)
	if err != nil {
		return "", err
	}
	if kind == kindNumber {
		return "", fmt.Errorf("%s is a number, not a string", clip(s))
	}
	return s, nil
}

// jsonMeta renders any JSON value as a metadata string: strings as their
// value, everything else as compact JSON. ok is false for null.
func jsonMeta(raw json.RawMessage) (string, bool) {
	s, kind, err := jsonScalar(raw)
	switch {
	case kind == kindNull:
		return "", false
	case err == nil:
		return s, true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw), true
	}
	return buf.String(), true
}

// describeJSON names the kind of a JSON value for messages.
func describeJSON(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '"':
		return "a string"
	}
	return "a number"
}

// decodeObject decodes b as exactly one JSON object.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return nil, fmt.Errorf("text after the JSON value")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%s, not a JSON object", describeJSON(raw))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	return obj, nil
}

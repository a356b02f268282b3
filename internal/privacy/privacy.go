// Package privacy is the report's personal-data policy
// (output.personal_data): which columns hold direct identifiers, and the
// keyed hash that replaces them under the hash policy. The pipeline applies
// the policy where a row is made (internal/pipeline/row.go), and nowhere
// else; the configuration validates it and reads the key.
//
// Direct identifiers are first_name, last_name, date_of_birth,
// document_number, personal_identification_number and result_json (the raw
// API answer repeats all of them, plus the face and signature boxes). The
// other columns the API answers (dates of issue and expiry, gender,
// nationality, issuing country, document type, checks, similarity) are
// personal too but needed for the outcome: every policy keeps them.
//
// # The hash
//
// Under Hash, a string identifier column holds HMAC(key, value): HMAC-SHA256,
// lower-case hex (64 characters), of the value exactly as the API sent it —
// the UTF-8 bytes of the JSON string after JSON decoding, not trimmed, not
// case-folded, not Unicode-normalized — which is exactly what the column holds
// under Include. date_of_birth_hmac is HMAC(key, "YYYY-MM-DD") of the date the
// date_of_birth column holds under Include. An empty value stays NULL. To
// reproduce one in Python:
//
//	key = open(path, "rb").read().strip()
//	hmac.new(key, value.encode("utf-8"), "sha256").hexdigest()
//
// or in a shell: printf '%s' "$value" | openssl dgst -sha256 -hmac "$key".
// The key is the key file's bytes with surrounding ASCII whitespace (space,
// tab, CR, LF, VT, FF; what Python's bytes.strip removes) trimmed, used as
// is: a hex key is not decoded.
package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
)

// Policy is output.personal_data: what the report's identifier columns hold.
type Policy string

const (
	// Omit: the identifier columns are NULL (the default: data protection by
	// default, GDPR Art. 25(2)).
	Omit Policy = "omit"
	// Hash: each string identifier holds its keyed hash (HMAC), the date of
	// birth's in date_of_birth_hmac; date_of_birth and result_json are NULL.
	Hash Policy = "hash"
	// Include: the identifiers as the API sent them, result_json too.
	Include Policy = "include"
)

// Policies returns every policy, the default first.
func Policies() []Policy { return []Policy{Omit, Hash, Include} }

// Valid reports whether p is one of Policies.
func (p Policy) Valid() bool { return p == Omit || p == Hash || p == Include }

// Key is the secret key of the hash policy. It never prints: fmt, slog and
// encoding/json render it as <redacted>.
type Key []byte

// MinKeyBytes is the shortest key accepted (after trimming).
const MinKeyBytes = 16

// String implements fmt.Stringer.
func (Key) String() string { return "<redacted>" }

// GoString implements fmt.GoStringer (%#v).
func (Key) GoString() string { return "privacy.Key(<redacted>)" }

// LogValue implements slog.LogValuer.
func (Key) LogValue() slog.Value { return slog.StringValue("<redacted>") }

// MarshalJSON renders the key as "<redacted>".
func (Key) MarshalJSON() ([]byte, error) { return []byte(`"<redacted>"`), nil }

// asciiSpace is what ReadKeyFile trims: Python's bytes.strip() set.
const asciiSpace = " \t\r\n\v\f"

// ReadKeyFile reads a key file: its bytes with surrounding ASCII whitespace
// trimmed. An unreadable file, an empty key or one shorter than MinKeyBytes
// is an error naming the file (never the key).
func ReadKeyFile(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError: names the file
	}
	k := bytes.Trim(b, asciiSpace)
	switch {
	case len(k) == 0:
		return nil, fmt.Errorf("%q is empty", path)
	case len(k) < MinKeyBytes:
		return nil, fmt.Errorf("%q holds a %d-byte key; at least %d bytes are needed (make one with: openssl rand -hex 32 > %s)",
			path, len(k), MinKeyBytes, path)
	}
	return Key(k), nil
}

// HMAC returns HMAC-SHA256(key, value) in lower-case hex.
func HMAC(key Key, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// keyIDInput is what KeyID hashes: no identifier has this value.
const keyIDInput = "reverify hash key id"

// KeyID names a key without revealing it: the first 16 hex characters of
// HMAC(key, "reverify hash key id"). Two runs whose hashes can be joined have
// the same key id.
func KeyID(key Key) string { return HMAC(key, keyIDInput)[:16] }

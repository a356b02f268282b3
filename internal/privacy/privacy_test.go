package privacy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey is the key of the vectors below.
const testKey = "reverify-test-key-0123456789abcdef"

// The vectors were computed outside Go, with OpenSSL:
//
//	printf '%s' "$value" | openssl dgst -sha256 -hmac "$key"
//
// and the first is RFC 4231's test case 2.
func TestHMACKnownVectors(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{testKey, "WILLEKE LISELOTTE", "0f49c583001b35ad6be375e7a1ab7a65adb5a7095f1d6091c90f4850e335dd41"},
		{testKey, "DE BRUIJN", "c2ae203be752405a5d2a2d0bd35e1cfa6a68696a9f5a1ae73a6694d08ece8152"},
		{testKey, "1965-03-10", "9f5e9be4e44c8a050d4dae21fe8564a53b4ca1912b1d41358e408af920ab57f0"},
		{testKey, "SPECI2021", "23107e8637b0cdc29f5113cba18d62cd8f91095f1c18e60201b37699d6c9cbba"},
		{testKey, "999999990", "7eea6996070f93af3fc5af13846ee14d692377157a7160b9ea81007372ce57b5"},
		// Non-ASCII: the UTF-8 bytes, as the API's JSON string decodes.
		{testKey, "Nordmann-Ø", "f1c23389a2f8ed2575b4c0d3fc5a7aab97d4d4cbb7dea654fe723348401faeec"},
	} {
		assert.Equal(t, c.want, HMAC(Key(c.key), c.value), "%s under %s", c.value, c.key)
	}
	// The input is the value as sent: no trimming, no case folding.
	assert.NotEqual(t, HMAC(Key(testKey), "DE BRUIJN"), HMAC(Key(testKey), " DE BRUIJN"))
	assert.NotEqual(t, HMAC(Key(testKey), "DE BRUIJN"), HMAC(Key(testKey), "de bruijn"))
}

// printf 'reverify hash key id' | openssl dgst -sha256 -hmac "$key", cut
// to 16 characters.
func TestKeyID(t *testing.T) {
	assert.Equal(t, "201adb32d880c89a", KeyID(Key(testKey)))
	assert.NotEqual(t, KeyID(Key(testKey)), KeyID(Key(testKey+"x")))
}

func TestPolicies(t *testing.T) {
	assert.Equal(t, []Policy{Omit, Hash, Include}, Policies())
	for _, p := range Policies() {
		assert.True(t, p.Valid(), p)
	}
	for _, p := range []Policy{"", "OMIT", "hashed", "none"} {
		assert.False(t, p.Valid(), p)
	}
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}

	// Surrounding ASCII whitespace is trimmed (what Python's bytes.strip
	// removes); inner spaces and a hex key's characters are kept as is.
	k, err := ReadKeyFile(write("newline", testKey+"\n"))
	require.NoError(t, err)
	assert.Equal(t, Key(testKey), k)
	k, err = ReadKeyFile(write("spaces", " \t\r\n"+testKey+" \v\f\r\n"))
	require.NoError(t, err)
	assert.Equal(t, Key(testKey), k)
	k, err = ReadKeyFile(write("inner", "a b c d e f g h i\n"))
	require.NoError(t, err)
	assert.Equal(t, Key("a b c d e f g h i"), k)

	for name, content := range map[string]string{"empty": "", "blank": " \n\n", "short": "tooshort\n"} {
		path := write(name, content)
		_, err := ReadKeyFile(path)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), path, "the error names the file")
		if name == "short" {
			assert.NotContains(t, err.Error(), "tooshort", "never the key")
			assert.Contains(t, err.Error(), "at least 16 bytes")
		}
	}
	missing := filepath.Join(dir, "missing")
	_, err = ReadKeyFile(missing)
	require.Error(t, err)
	assert.Contains(t, err.Error(), missing)
}

// A key in a struct that is printed, logged or encoded shows as
// <redacted>.
func TestKeyNeverPrints(t *testing.T) {
	type holder struct {
		Policy Policy
		Key    Key
	}
	h := holder{Policy: Hash, Key: Key(testKey)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", h.Key, "holder", h)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "key", h.Key)
	js, err := json.Marshal(h)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(h), fmt.Sprintf("%v %+v %#v %s", h, h, h, h.Key), logged.String(), string(js)} {
		assert.NotContains(t, out, testKey)
		assert.NotContains(t, out, "72657665", "nor its hex")  // "reve"
		assert.True(t, strings.Contains(out, "redacted"), out) // JSON escapes the <>
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/privacy"
)

const fakeHashKey = "hash-key-Very-Long-0123456789abcdef"

// writeKey writes a hash key file and returns its path.
func writeKey(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hash.key")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestPersonalDataDefaultsToOmit(t *testing.T) {
	c, err := Load([]byte(dry), nil)
	require.NoError(t, err)
	assert.Equal(t, privacy.Omit, c.Output.PersonalData)
	assert.False(t, c.Output.DownloadResults)
	assert.Nil(t, c.Output.HashKey)
}

func TestPersonalDataBadValue(t *testing.T) {
	for _, v := range []string{"hashed", "OMIT", "none", "true"} {
		_, err := Load([]byte(dry+"output:\n  personal_data: "+v+"\n"), nil)
		assert.Equal(t, []string{"output.personal_data"}, errFields(t, err), v)
		assert.Contains(t, err.Error(), `output.personal_data: must be omit, hash or include (got "`+v+`")`)
	}
	// Set from the environment or a flag: the same check.
	_, err := Load([]byte(dry), []string{"REVERIFY_OUTPUT_PERSONAL_DATA=hide"})
	assert.Equal(t, []string{"output.personal_data"}, errFields(t, err))
}

// The hash key comes from the file REVERIFY_HASH_KEY_FILE or
// output.hash_key_file names (the variable wins, from every layer),
// trimmed.
func TestHashKeyFromFile(t *testing.T) {
	file := writeKey(t, fakeHashKey+"\n")
	c, err := Load([]byte(dry+"output:\n  personal_data: hash\n  hash_key_file: "+file+"\n"), nil)
	require.NoError(t, err)
	assert.Equal(t, privacy.Key(fakeHashKey), c.Output.HashKey, "trimmed")

	c, err = Load([]byte(dry), []string{EnvHashKeyFile + "=" + file}, Setting{Key: "output.personal_data", Value: "hash"})
	require.NoError(t, err)
	assert.Equal(t, privacy.Key(fakeHashKey), c.Output.HashKey)
	assert.Equal(t, file, c.Output.HashKeyFile)

	other := writeKey(t, "other-key-0123456789abcdef")
	c, err = Load([]byte(dry+"output:\n  personal_data: hash\n  hash_key_file: "+file+"\n"), []string{EnvHashKeyFile + "=" + other},
		Setting{Key: "output.hash_key_file", Value: file, Source: "--set"})
	require.NoError(t, err)
	assert.Equal(t, privacy.Key("other-key-0123456789abcdef"), c.Output.HashKey, "the variable wins")

	// Under another policy the file is not read: a broken one does not matter.
	c, err = Load([]byte(dry+"output:\n  hash_key_file: /nonexistent/hash.key\n"), nil)
	require.NoError(t, err)
	assert.Nil(t, c.Output.HashKey)
	c, err = Load([]byte(dry), []string{EnvHashKeyFile + "=/nonexistent/hash.key"}, Setting{Key: "output.personal_data", Value: "include"})
	require.NoError(t, err)
	assert.Nil(t, c.Output.HashKey)
}

// Under hash, a missing, unreadable, empty or short key is one error on
// output.hash_key_file naming the file (and the variable when it named
// it), never the key.
func TestHashKeyProblems(t *testing.T) {
	hash := []byte(dry + "output:\n  personal_data: hash\n")

	_, err := Load(hash, nil)
	assert.Equal(t, []string{"output.hash_key_file"}, errFields(t, err))
	assert.Contains(t, err.Error(), "required with output.personal_data: hash")
	assert.Contains(t, err.Error(), EnvHashKeyFile)

	missing := filepath.Join(t.TempDir(), "missing.key")
	_, err = Load(hash, []string{EnvHashKeyFile + "=" + missing})
	assert.Equal(t, []string{"output.hash_key_file"}, errFields(t, err), "no second 'required' line")
	assert.Contains(t, err.Error(), "cannot read the HMAC key")
	assert.Contains(t, err.Error(), missing)
	assert.Contains(t, err.Error(), "the file named by "+EnvHashKeyFile)

	for name, content := range map[string]string{"empty": "", "blank": " \n", "short": "hash-key-short\n"} {
		file := writeKey(t, content)
		_, err := Load([]byte(string(hash)+"  hash_key_file: "+file+"\n"), nil)
		assert.Equal(t, []string{"output.hash_key_file"}, errFields(t, err), name)
		assert.Contains(t, err.Error(), file, name)
		assert.Contains(t, err.Error(), "the file named by output.hash_key_file", name)
		assert.NotContains(t, err.Error(), "hash-key-short", name)
	}

	// Validate on its own (Set after Load): hash without a key.
	c := withCreds(Default())
	c.Output.PersonalData = privacy.Hash
	assert.Equal(t, []string{"output.hash_key_file"}, errFields(t, c.Validate()))
}

// Result zips hold the images and every identifier: only with include.
func TestDownloadResultsNeedsInclude(t *testing.T) {
	key := writeKey(t, fakeHashKey)
	for _, policy := range []string{"omit", "hash"} {
		_, err := Load([]byte(dry+"output:\n  download_results: true\n  personal_data: "+policy+"\n  hash_key_file: "+key+"\n"), nil)
		assert.Equal(t, []string{"output.download_results"}, errFields(t, err), policy)
		assert.Contains(t, err.Error(), "output.download_results: true needs output.personal_data: include (got "+policy+")")
		assert.Contains(t, err.Error(), "images")
	}
	c, err := Load([]byte(dry+"output:\n  download_results: true\n  personal_data: include\n"), nil)
	require.NoError(t, err)
	assert.True(t, c.Output.DownloadResults)
}

// The key is never printed: not by --print-config, not in an error, not by
// fmt; the printed configuration still loads back to the same one.
func TestHashKeyNeverPrinted(t *testing.T) {
	file := writeKey(t, fakeHashKey)
	c, err := Load([]byte(dry+"output:\n  personal_data: hash\n"), []string{EnvHashKeyFile + "=" + file})
	require.NoError(t, err)
	out, err := c.Redacted()
	require.NoError(t, err)
	assert.NotContains(t, string(out), fakeHashKey)
	assert.Contains(t, string(out), "personal_data: hash\n")
	assert.Contains(t, string(out), "hash_key_file: "+file+"\n")
	assert.NotContains(t, fmtAll(c), fakeHashKey)
	back, err := Load(out, nil)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, c, back)
}

// A hash_key key, or a variable for one, is refused with where the key
// comes from.
func TestHashKeyNotFromConfiguration(t *testing.T) {
	_, err := Load([]byte(dry+"output:\n  hash_key: "+fakeHashKey+"\n"), nil)
	assert.Equal(t, []string{"output.hash_key"}, errFields(t, err))
	assert.Contains(t, err.Error(), "output.hash_key_file or "+EnvHashKeyFile)
	assert.NotContains(t, err.Error(), fakeHashKey)

	_, err = Load([]byte(dry), []string{"REVERIFY_OUTPUT_HASH_KEY=" + fakeHashKey})
	assert.Equal(t, []string{"REVERIFY_OUTPUT_HASH_KEY"}, errFields(t, err))
	assert.NotContains(t, err.Error(), fakeHashKey)
}

func fmtAll(c Config) string {
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		b.WriteString(fmt.Sprintf(verb, c))
	}
	return b.String()
}

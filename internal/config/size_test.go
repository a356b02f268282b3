package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestParseSize(t *testing.T) {
	ok := map[string]Size{
		"0":           0,
		"1048576":     1 << 20,
		"10MiB":       10 << 20,
		"512KiB":      512 << 10,
		"512 KiB":     512 << 10,
		" 2GiB ":      2 << 30,
		"1TiB":        1 << 40,
		"3B":          3,
		"7mib":        7 << 20,
		"1536MiB":     1536 << 20,
		"8388607TiB":  8388607 << 40,
		"00000000010": 10,
	}
	for in, want := range ok {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	bad := map[string]string{
		"":                     "empty",
		"-1":                   "negative",
		"-5MiB":                "negative",
		"1.5GiB":               "fractions are not supported",
		"10MB":                 `unknown unit "MB"`,
		"10 k":                 `unknown unit "k"`,
		"abc":                  "want bytes or a whole number",
		"MiB":                  "want bytes or a whole number",
		"8388608TiB":           "too large",
		"99999999999999999999": "too large",
		"1e6":                  "unknown unit",
	}
	for in, msg := range bad {
		_, err := ParseSize(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), msg, in)
	}
}

func TestSizeStringRoundTrips(t *testing.T) {
	cases := map[Size]string{0: "0", 1000: "1000", 1024: "1KiB", 10 * MiB: "10MiB", 1536 * KiB: "1536KiB", 3 * GiB: "3GiB", 2 * TiB: "2TiB", MiB + 1: "1048577"}
	for s, want := range cases {
		assert.Equal(t, want, s.String())
		back, err := ParseSize(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, back)
	}
}

func TestSizeYAMLNative(t *testing.T) {
	// Size also works with plain yaml.v3 decoding, through TextUnmarshaler.
	var v struct {
		A Size `yaml:"a"`
	}
	require.NoError(t, yaml.Unmarshal([]byte("a: 10MiB\n"), &v))
	assert.Equal(t, 10*MiB, v.A)
	out, err := yaml.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, "a: 10MiB\n", string(out))
	require.Error(t, yaml.Unmarshal([]byte("a: 1.5GiB\n"), &v))
}

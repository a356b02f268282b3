package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactedHidesSecrets(t *testing.T) {
	c, err := Load(nil, creds)
	require.NoError(t, err)
	out, err := c.Redacted()
	require.NoError(t, err)
	s := string(out)
	assert.NotContains(t, s, fakeSecret)
	assert.NotContains(t, s, fakeID)
	assert.Contains(t, s, "# client_id: <redacted>")
	assert.Contains(t, s, "# client_secret: <redacted>")
	assert.Contains(t, s, "rate: 20\n")
	assert.Contains(t, s, "max_image_bytes: 4MiB\n")
	assert.Contains(t, s, "request_timeout: 30s\n")
	assert.Contains(t, s, "base_delay: 250ms\n")

	d := Default()
	d.Run.DryRun = true
	out, err = d.Redacted()
	require.NoError(t, err)
	assert.Contains(t, string(out), "# client_id: <unset>")
	assert.Contains(t, string(out), "# client_secret: <unset>")
}

func TestRedactedSecretFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(fakeSecret+"\n"), 0o600))
	c, err := Load(nil, []string{EnvClientID + "=" + fakeID, EnvClientSecretFile + "=" + file})
	require.NoError(t, err)
	out, err := c.Redacted()
	require.NoError(t, err)
	assert.NotContains(t, string(out), fakeSecret)
	assert.Contains(t, string(out), "client_secret_file: "+file)
}

// The printed configuration is a valid configuration file giving the same
// configuration back.
func TestRedactedRoundTrips(t *testing.T) {
	c, err := Load([]byte("run:\n  run_id: rt-1\n  shard: 2/5\n  max_duration: 1h30m\nsource:\n  archive: s3://b/p\n  s3: {endpoint: 'http://127.0.0.1:7070', path_style: true}\napi:\n  rate: 12.5\n"),
		append([]string{"REVERIFY_POLL_JITTER=0.1"}, creds...))
	require.NoError(t, err)
	out, err := c.Redacted()
	require.NoError(t, err)
	back, err := Load(out, creds)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, c, back)
	assert.Equal(t, 90*time.Minute, back.Run.MaxDuration)
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0: "0s", 250 * time.Millisecond: "250ms", 20 * time.Second: "20s", 2 * time.Minute: "2m",
		90 * time.Second: "1m30s", time.Hour: "1h", 90 * time.Minute: "1h30m", time.Hour + time.Second: "1h0m1s",
	}
	for d, want := range cases {
		assert.Equal(t, want, FormatDuration(d))
		back, err := time.ParseDuration(want)
		require.NoError(t, err)
		assert.Equal(t, d, back)
	}
	assert.False(t, strings.HasSuffix(FormatDuration(10*time.Hour), "0s"))
}

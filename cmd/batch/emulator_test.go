package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emuBuffer is a bytes.Buffer safe for the command's goroutines.
type emuBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *emuBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *emuBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type emulatorRun struct {
	out, errOut *emuBuffer
	base        string
	done        chan int
}

// startEmulatorCmd runs `batch emulator args...` in the background and waits
// for its listening line.
func startEmulatorCmd(t *testing.T, ctx context.Context, sigs chan os.Signal, args ...string) *emulatorRun {
	t.Helper()
	r := &emulatorRun{out: &emuBuffer{}, errOut: &emuBuffer{}, done: make(chan int, 1)}
	m := &Main{Stdin: strings.NewReader(""), Stdout: r.out, Stderr: r.errOut, Signals: sigs}
	go func() { r.done <- m.Run(ctx, append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)) }()
	// The banner's last line: it is written whole, but wait for all of it.
	re := regexp.MustCompile(`listening on (http://\S+)(?s:.*)time scale: `)
	require.Eventually(t, func() bool {
		if m := re.FindStringSubmatch(r.out.String()); m != nil {
			r.base = m[1]
			return true
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "stdout: %s\nstderr: %s", r.out, r.errOut)
	return r
}

func (r *emulatorRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("batch emulator did not stop")
		return -1
	}
}

func TestEmulatorCommandServesAndStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := startEmulatorCmd(t, ctx, nil, "--client-id", "my-id", "--client-secret", "my-secret", "--time-scale", "0.01", "--seed", "7")
	out := r.out.String()
	assert.Contains(t, out, "token URL:     "+r.base+"/auth/open/connect/token")
	assert.Contains(t, out, "base URL:      "+r.base+"/assure")
	assert.Contains(t, out, "client id:     my-id")
	assert.Contains(t, out, "client secret: my-secret")
	assert.Contains(t, out, "time scale:    0.01, seed 7")

	req, err := http.NewRequest(http.MethodPost, r.base+"/auth/open/connect/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"signicat-api"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("my-id", "my-secret")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&tok))
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	req, err = http.NewRequest(http.MethodPost, r.base+"/assure/dossiers", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode)

	cancel()
	assert.Equal(t, ExitOK, r.wait(t))
	logs := r.errOut.String()
	assert.Contains(t, logs, "endpoint=createDossier")
	assert.Contains(t, logs, "status=201")
	assert.Contains(t, logs, "latency=")
	assert.NotContains(t, logs, tok.AccessToken, "tokens are never logged")
	assert.NotContains(t, logs, "my-secret", "secrets are never logged")
}

func TestEmulatorCommandStopsOnSignal(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	cfg := filepath.Join("..", "..", "configs", "emulator-faults.yaml")
	r := startEmulatorCmd(t, context.Background(), sigs, "--config", cfg, "--time-scale", "0.5")
	assert.Contains(t, r.out.String(), "time scale:    0.5, seed 1", "flags override the file")
	sigs <- os.Interrupt
	assert.Equal(t, ExitOK, r.wait(t))
	assert.Contains(t, r.errOut.String(), "signal=interrupt")
}

func TestEmulatorCommandUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("time_scal: 1\n"), 0o600))
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"unknown flag", []string{"--nope"}, ExitUsage, "flag provided but not defined"},
		{"bad time scale", []string{"--time-scale", "0"}, ExitUsage, "time_scale"},
		{"empty secret", []string{"--client-secret", ""}, ExitUsage, "client_secret"},
		{"unknown config key", []string{"--config", bad}, ExitUsage, "time_scal"},
		{"missing config", []string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, ExitUsage, "none.yaml"},
		{"positional argument", []string{"extra"}, ExitUsage, "unexpected arguments"},
		{"bad address", []string{"--addr", "256.0.0.1:99999"}, ExitFatal, "listen"},
		{"help", []string{"-h"}, ExitOK, "usage: batch emulator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runMain(t, append([]string{"emulator"}, c.args...)...)
			assert.Equal(t, c.code, code, errOut)
			assert.Contains(t, errOut, c.err)
		})
	}
}

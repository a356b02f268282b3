package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"reverify/internal/assure"
)

// A minimal goroutine-safe client for the concurrency test and benchmarks
// (testing's require must not be called from other goroutines).

type flowClient struct {
	base  string
	token string
	hc    *http.Client
}

func postToken(hc *http.Client, server string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, server+tokenPath,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"signicat-api"}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tok assure.TokenResponse
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
		return "", fmt.Errorf("token: %d: %w", res.StatusCode, err)
	}
	return tok.AccessToken, nil
}

// call sends body as JSON and decodes the answer into out (when not nil).
func (c *flowClient) call(method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	return c.callRaw(method, path, rd, want, out)
}

func (c *flowClient) callRaw(method, path string, body io.Reader, want int, out any) error {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

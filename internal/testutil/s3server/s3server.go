// Package s3server gives tests a real S3-compatible server: versitygw
// (docs/archives.md, scripts/s3server.sh).
//
// Start uses the server described by the REVERIFY_TEST_S3_* variables that
// `scripts/s3server.sh start` prints, when they are set; otherwise it starts
// the versitygw binary from the cache folder on a free port with a fresh data
// folder and stops it when the test ends. When no binary is found the test is
// skipped, unless REVERIFY_REQUIRE_S3 is set (CI): then it fails.
package s3server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"reverify/internal/blob"
)

// Environment variables read by Start.
const (
	EnvEndpoint  = "REVERIFY_TEST_S3_ENDPOINT"   // http://127.0.0.1:port of a running server
	EnvAccessKey = "REVERIFY_TEST_S3_ACCESS_KEY" // its root access key
	EnvSecretKey = "REVERIFY_TEST_S3_SECRET_KEY" // its root secret key
	EnvData      = "REVERIFY_TEST_S3_DATA"       // its posix data folder (optional)
	EnvRequire   = "REVERIFY_REQUIRE_S3"         // set: a missing server fails the test
	EnvBinary    = "REVERIFY_VERSITYGW"          // path of the binary (optional)
	EnvCache     = "REVERIFY_CACHE"              // cache folder ($HOME/.cache/reverify)
)

// Region is the region the server runs in.
const Region = "us-east-1"

// Server is a running versitygw.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	// DataDir is the posix backend's folder: a bucket is a folder in it and
	// its files are the bucket's objects. Empty when an external server did
	// not say where its data lives.
	DataDir string
}

// Options returns blob options that reach the server with its credentials.
func (s *Server) Options() blob.S3Options {
	return blob.S3Options{Region: Region, Endpoint: s.Endpoint, PathStyle: true,
		AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, MaxAttempts: 1}
}

// Start returns a running server for the test (see the package comment).
func Start(t testing.TB) *Server {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		s := &Server{Endpoint: ep, AccessKey: os.Getenv(EnvAccessKey), SecretKey: os.Getenv(EnvSecretKey),
			DataDir: os.Getenv(EnvData)}
		if s.AccessKey == "" || s.SecretKey == "" {
			t.Fatalf("%s is set but %s or %s is not", EnvEndpoint, EnvAccessKey, EnvSecretKey)
		}
		if err := waitHealthy(context.Background(), ep, nil, 5*time.Second); err != nil {
			t.Fatalf("S3 server %s from %s: %v", ep, EnvEndpoint, err)
		}
		return s
	}
	bin, err := Binary()
	if err != nil {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("versitygw is required (%s is set): %v; run scripts/s3server.sh install", EnvRequire, err)
		}
		t.Skipf("versitygw not available (%v); run scripts/s3server.sh install, or set %s=1 to fail instead", err, EnvRequire)
	}
	s, err := launch(t, bin)
	if err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	return s
}

// Binary finds the versitygw binary: $REVERIFY_VERSITYGW, then the cache
// folder's bin, then PATH.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, executable(p)
	}
	cache := os.Getenv(EnvCache)
	if cache == "" {
		home, err := os.UserHomeDir()
		if err == nil {
			cache = filepath.Join(home, ".cache", "reverify")
		}
	}
	var tried []string
	if cache != "" {
		p := filepath.Join(cache, "bin", "versitygw")
		if executable(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	tried = append(tried, "versitygw on PATH")
	return "", fmt.Errorf("no versitygw binary (tried %s)", strings.Join(tried, ", "))
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// launch starts bin on a free port with a fresh data folder; it retries on
// another port when the chosen one was taken meanwhile.
func launch(t testing.TB, bin string) (*Server, error) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "s3data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(tmp, "versitygw.log")
	s := &Server{AccessKey: "reverify" + randomHex(4), SecretKey: randomHex(20), DataDir: data}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Endpoint = "http://" + net.JoinHostPort("127.0.0.1", port)
		logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "--port", "127.0.0.1:"+port, "--region", Region, "--health", "/health",
			"--quiet", "posix", data)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		err = cmd.Start()
		logFile.Close() // the child has its own descriptor
		if err != nil {
			return nil, err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		if err := waitHealthy(context.Background(), s.Endpoint, exited, 10*time.Second); err != nil {
			stop()
			out, _ := os.ReadFile(logPath)
			lastErr = fmt.Errorf("%w; output: %s", err, strings.TrimSpace(string(out)))
			continue
		}
		t.Cleanup(stop)
		return s, nil
	}
	return nil, lastErr
}

// waitHealthy polls GET /health until it answers 200, the process exits
// (exited closes) or the timeout passes.
func waitHealthy(ctx context.Context, endpoint string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("versitygw exited before it became healthy")
		case <-ctx.Done():
			return fmt.Errorf("%s/health not healthy after %s", endpoint, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewBucket creates a bucket with a unique name and returns the name.
// Buckets of an external server are shared between test runs: the unique
// name keeps tests apart.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := "reverify-test-" + randomHex(6)
	if s.DataDir != "" {
		if err := os.Mkdir(filepath.Join(s.DataDir, name), 0o755); err != nil {
			t.Fatalf("create bucket %s: %v", name, err)
		}
		return name
	}
	c, err := blob.NewS3Client(context.Background(), s.Options())
	if err != nil {
		t.Fatalf("S3 client: %v", err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// BucketDir returns the folder that holds bucket's objects, so a test can
// write thousands of objects as plain files; "" when the data folder is
// unknown (then write through the S3 API).
func (s *Server) BucketDir(bucket string) string {
	if s.DataDir == "" {
		return ""
	}
	return filepath.Join(s.DataDir, bucket)
}

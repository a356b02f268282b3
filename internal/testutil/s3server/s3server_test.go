package s3server

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
)

// The server answers signed requests, serves files written into a bucket's
// folder, and rejects a wrong secret.
func TestServer(t *testing.T) {
	ctx := context.Background()
	srv := Start(t)
	bucket := srv.NewBucket(t)

	c, err := blob.NewS3Client(ctx, srv.Options())
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/put.txt"),
		Body: bytes.NewReader([]byte("put"))})
	require.NoError(t, err)
	if dir := srv.BucketDir(bucket); dir != "" {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "b"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "b", "file.txt"), []byte("file"), 0o644))
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("b/file.txt")})
		require.NoError(t, err)
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "file", string(b))
	}

	bad := srv.Options()
	bad.SecretAccessKey = "wrong"
	st := blob.NewS3(must(blob.NewS3Client(ctx, bad)), bucket, "", false)
	_, err = st.Get(ctx, "a/put.txt", 0)
	assert.ErrorIs(t, err, blob.ErrAccessDenied)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// scripts/s3server.sh starts a server the helper can use, and stops it.
func TestScript(t *testing.T) {
	if _, err := Binary(); err != nil {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("versitygw is required: %v", err)
		}
		t.Skip(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "s3server.sh"))
	require.NoError(t, err)
	data := filepath.Join(t.TempDir(), "data")
	out, err := exec.Command(script, "start", data).Output()
	require.NoError(t, err)
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		require.True(t, ok, line)
		env[k] = v
	}
	require.NotEmpty(t, env["REVERIFY_TEST_S3_PID"], string(out))
	t.Cleanup(func() { _ = exec.Command(script, "stop", env["REVERIFY_TEST_S3_PID"]).Run() })
	assert.Equal(t, data, env[EnvData])

	for k, v := range env {
		t.Setenv(k, v)
	}
	srv := Start(t) // the external server from the variables
	assert.Equal(t, env[EnvEndpoint], srv.Endpoint)
	bucket := srv.NewBucket(t)
	c, err := blob.NewS3Client(context.Background(), srv.Options())
	require.NoError(t, err)
	_, err = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"),
		Body: bytes.NewReader([]byte("v"))})
	require.NoError(t, err)

	stop := exec.Command(script, "stop")
	stop.Env = append(os.Environ(), "REVERIFY_TEST_S3_PID="+env["REVERIFY_TEST_S3_PID"])
	require.NoError(t, stop.Run())
	_, err = c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k2"),
		Body: bytes.NewReader([]byte("v"))})
	assert.Error(t, err, "the server is gone")
}

func TestBinaryNotFound(t *testing.T) {
	t.Setenv(EnvBinary, "")
	t.Setenv(EnvCache, t.TempDir())
	t.Setenv("PATH", t.TempDir())
	_, err := Binary()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no versitygw binary")

	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "nope"))
	_, err = Binary()
	assert.Error(t, err)
}

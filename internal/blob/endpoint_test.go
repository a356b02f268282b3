package blob_test

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/blob"
	"reverify/internal/testutil/s3server"
)

// The endpoint variables of the AWS SDKs and CLI: NewS3Client leaves them to
// aws-sdk-go-v2 (config.LoadDefaultConfig reads AWS_ENDPOINT_URL into
// BaseEndpoint; s3.NewFromConfig prefers AWS_ENDPOINT_URL_S3), and an
// endpoint in S3Options overrides both.
const (
	envEndpointS3  = "AWS_ENDPOINT_URL_S3"
	envEndpointAll = "AWS_ENDPOINT_URL"
	envIgnore      = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// unsetenv unsets name for the test and restores it afterwards.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // registers the restore
	require.NoError(t, os.Unsetenv(name))
}

// deadEndpoint is a loopback address nothing listens on: a request sent
// there fails at once.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestS3EndpointFromTheEnvironment(t *testing.T) {
	ctx := context.Background()
	srv := s3server.Start(t)
	bucket := srv.NewBucket(t)
	dead := deadEndpoint(t)

	for _, tc := range []struct {
		name          string
		s3, all       string // AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; "" unset
		configured    string // S3Options.Endpoint
		wantReachable bool
	}{
		{name: "AWS_ENDPOINT_URL_S3", s3: srv.Endpoint, wantReachable: true},
		{name: "AWS_ENDPOINT_URL", all: srv.Endpoint, wantReachable: true},
		{name: "AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL", s3: srv.Endpoint, all: dead, wantReachable: true},
		{name: "AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL", s3: dead, all: srv.Endpoint, wantReachable: false},
		{name: "configured endpoint before both", s3: dead, all: dead, configured: srv.Endpoint, wantReachable: true},
		{name: "configured endpoint used as such", s3: srv.Endpoint, all: srv.Endpoint, configured: dead, wantReachable: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetenv(t, envIgnore)
			for name, v := range map[string]string{envEndpointS3: tc.s3, envEndpointAll: tc.all} {
				if v == "" {
					unsetenv(t, name)
				} else {
					t.Setenv(name, v)
				}
			}
			opts := srv.Options()
			opts.Endpoint = tc.configured
			st, err := blob.NewOpener(opts).Open(ctx, "s3://"+bucket+"/env")
			require.NoError(t, err)
			err = st.Put(ctx, "probe.txt", []byte(tc.name))
			if !tc.wantReachable {
				require.Error(t, err, "the request went to the dead endpoint")
				return
			}
			require.NoError(t, err)
			b, err := st.Get(ctx, "probe.txt", 0)
			require.NoError(t, err)
			assert.Equal(t, tc.name, string(b))
		})
	}
}

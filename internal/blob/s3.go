package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options configures the S3 client. Empty fields fall back to the AWS
// default chain (environment, shared config, instance/task role).
type S3Options struct {
	// Region of the bucket; AWS_REGION etc. when empty, else us-east-1.
	Region string `yaml:"region"`
	// Endpoint of an S3-compatible store (http://127.0.0.1:7070); AWS when empty.
	Endpoint string `yaml:"endpoint"`
	// PathStyle addresses buckets as endpoint/bucket (needed by most
	// S3-compatible stores and for localhost).
	PathStyle bool `yaml:"path_style"`
	// AccessKeyID and SecretAccessKey set static credentials; the default
	// credential chain is used when empty.
	AccessKeyID     string `yaml:"-"`
	SecretAccessKey string `yaml:"-"`
	// ChecksumWhenRequired computes and validates checksums only when an
	// operation requires them (for stores that reject the newer defaults).
	ChecksumWhenRequired bool `yaml:"checksum_when_required"`
	// MaxAttempts of the SDK's own retryer (0: SDK default of 3).
	MaxAttempts int `yaml:"max_attempts"`
	// SSE is the server-side encryption asked for on every object the
	// store writes: SSENone (send nothing: the bucket's default applies),
	// SSEAES256 (SSE-S3) or SSEKMS (SSE-KMS). Only an output writes: the
	// configuration refuses it on source.s3.
	SSE string `yaml:"sse"`
	// KMSKeyID is the KMS key of SSEKMS (key id, key ARN or alias ARN);
	// empty: the account's AWS managed key (aws/s3). Only with SSEKMS.
	KMSKeyID string `yaml:"kms_key_id"`
}

// Values of S3Options.SSE.
const (
	SSENone   = ""
	SSEAES256 = string(types.ServerSideEncryptionAes256)
	SSEKMS    = string(types.ServerSideEncryptionAwsKms)
)

// CheckEncryption reports what is wrong with o.SSE and o.KMSKeyID, or nil.
func (o S3Options) CheckEncryption() error {
	switch o.SSE {
	case SSENone, SSEAES256:
		if o.KMSKeyID != "" {
			return fmt.Errorf("a KMS key id needs SSE %s (got SSE %q)", SSEKMS, o.SSE)
		}
	case SSEKMS:
	default:
		return fmt.Errorf("unknown SSE %q (use %q for none, %s or %s)", o.SSE, SSENone, SSEAES256, SSEKMS)
	}
	return nil
}

// Encryption returns only the server-side encryption settings of o (what
// the store does to the objects it writes, as opposed to how it reaches
// them).
func (o S3Options) Encryption() S3Options {
	return S3Options{SSE: o.SSE, KMSKeyID: o.KMSKeyID}
}

// NewS3Client builds an S3 client from opts and the AWS default config chain.
func NewS3Client(ctx context.Context, opts S3Options) (*s3.Client, error) {
	var loads []func(*config.LoadOptions) error
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" || opts.SecretAccessKey != "" {
		loads = append(loads, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")))
	}
	if opts.MaxAttempts > 0 {
		loads = append(loads, config.WithRetryMaxAttempts(opts.MaxAttempts))
	}
	if opts.ChecksumWhenRequired {
		loads = append(loads,
			config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		// Objects written without a checksum (files copied into a posix
		// gateway, old uploads) would otherwise log a line per GET; reverify
		// logs through slog only.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// S3 is a Store over an S3 bucket and key prefix.
type S3 struct {
	client   *s3.Client
	uploader *transfermanager.Client
	bucket   string
	prefix   string // without trailing slash; "" for the bucket root
	// sse and kmsKeyID go on every request that makes an object
	// (WithEncryption): PutObject, the conditional puts and the
	// CreateMultipartUpload of streamed writes, whose parts inherit it.
	sse      types.ServerSideEncryption
	kmsKeyID *string
}

// NewS3 returns a store for bucket/prefix using client.
func NewS3(client *s3.Client, bucket, prefix string, checksumWhenRequired bool) *S3 {
	up := transfermanager.New(client, func(o *transfermanager.Options) {
		if checksumWhenRequired {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
	})
	return &S3{client: client, uploader: up, bucket: bucket, prefix: strings.Trim(prefix, "/")}
}

// WithEncryption returns a store over the same bucket and prefix that asks
// S3 for server-side encryption sse (SSENone, SSEAES256 or SSEKMS, with
// kmsKeyID for SSEKMS only) on every object it writes.
func (s *S3) WithEncryption(sse, kmsKeyID string) (*S3, error) {
	if err := (S3Options{SSE: sse, KMSKeyID: kmsKeyID}).CheckEncryption(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.URI(), err)
	}
	c := *s
	c.sse = types.ServerSideEncryption(sse)
	c.kmsKeyID = nil
	if kmsKeyID != "" {
		c.kmsKeyID = aws.String(kmsKeyID)
	}
	return &c, nil
}

// URI implements Store.
func (s *S3) URI() string { return Location{Scheme: "s3", Bucket: s.bucket, Path: s.prefix}.String() }

// KeyURI implements Store.
func (s *S3) KeyURI(key string) string { return "s3://" + s.bucket + "/" + joinKey(s.prefix, key) }

func (s *S3) fullKey(key string) (string, error) {
	k, err := cleanKey(key)
	if err != nil {
		return "", err
	}
	return joinKey(s.prefix, k), nil
}

// List implements Store with the ListObjectsV2 paginator: one page in memory
// at a time.
func (s *S3) List(ctx context.Context, prefix string, fn func(Object) error) error {
	full := s.prefix
	if full != "" {
		full += "/"
	}
	full += strings.TrimLeft(prefix, "/")
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(full),
	})
	strip := len(s.prefix)
	if strip > 0 {
		strip++ // the slash
	}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", s.URI(), mapS3Err(err))
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if len(key) <= strip || strings.HasSuffix(key, "/") {
				continue // the prefix itself, or a folder marker
			}
			if err := fn(Object{Key: key[strip:], Size: aws.ToInt64(o.Size)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	k, err := s.fullKey(key)
	if err != nil {
		return Object{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return Object{}, fmt.Errorf("stat %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	return Object{Key: key, Size: aws.ToInt64(out.ContentLength)}, nil
}

// Get implements Store. The size cap is checked against Content-Length before
// reading, and enforced while reading.
func (s *S3) Get(ctx context.Context, key string, max int64) ([]byte, error) {
	k, err := s.fullKey(key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	defer out.Body.Close()
	b, err := readCapped(out.Body, max, aws.ToInt64(out.ContentLength))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s.KeyURI(key), classify(err))
	}
	return b, nil
}

// Open implements Store: the object's body streams from the response.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := s.fullKey(key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	return &s3Body{ReadCloser: out.Body, uri: s.KeyURI(key)}, nil
}

// s3Body names the object in read errors (a connection reset mid-body).
type s3Body struct {
	io.ReadCloser
	uri string
}

func (b *s3Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("read %s: %w", b.uri, classify(err))
	}
	return n, err
}

// Put implements Store with a single PutObject (atomic on S3).
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	k, err := s.fullKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(k),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		// Like every write of the store (see the sse field).
		ServerSideEncryption: s.sse,
		SSEKMSKeyId:          s.kmsKeyID,
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	return nil
}

// Create implements Store: the bytes stream through a pipe into a
// transfermanager upload (multipart above 16 MiB), completed at Close. Abort
// cancels the upload, which aborts the multipart upload: no object appears.
func (s *S3) Create(ctx context.Context, key string) (Writer, error) {
	k, err := s.fullKey(key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &s3Writer{pw: pw, cancel: cancel, done: make(chan struct{}), uri: s.KeyURI(key)}
	go func() {
		defer close(w.done)
		_, err := s.uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(s.bucket),
			Key:    aws.String(k),
			Body:   pr,
			// Mapped onto the single PutObject or the CreateMultipartUpload;
			// UploadPart takes no SSE-S3/KMS headers: parts are encrypted as
			// their upload says.
			ServerSideEncryption: tmtypes.ServerSideEncryption(s.sse),
			SSEKMSKeyID:          s.kmsKeyID,
		})
		if err != nil {
			w.err = mapS3Err(err)
		}
		// Unblock a writer still writing after a failed upload.
		pr.CloseWithError(errUploadEnded(w.err))
	}()
	return w, nil
}

func errUploadEnded(err error) error {
	if err != nil {
		return err
	}
	return errors.New("upload ended")
}

type s3Writer struct {
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set by the upload goroutine before done closes
	uri    string
	ended  bool
}

func (w *s3Writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.uri, err)
	}
	return n, nil
}

func (w *s3Writer) Close() error {
	if w.ended {
		return nil
	}
	w.ended = true
	w.pw.Close()
	<-w.done
	w.cancel()
	if w.err != nil {
		return fmt.Errorf("upload %s: %w", w.uri, w.err)
	}
	return nil
}

func (w *s3Writer) Abort() error {
	if w.ended {
		return nil
	}
	w.ended = true
	w.cancel()
	w.pw.CloseWithError(errors.New("upload aborted"))
	<-w.done
	return nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	k, err := s.fullKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		if errors.Is(mapS3Err(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	return nil
}

// mapS3Err maps S3 error codes onto the package's errors, keeping the
// original text (code and message) for the reader, and classifies the rest
// (classify).
func mapS3Err(err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var nsb *types.NoSuchBucket
	switch {
	case errors.As(err, &nsk), errors.As(err, &nf):
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	case errors.As(err, &nsb):
		return fmt.Errorf("bucket does not exist: %w (%v)", ErrNotFound, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Errorf("bucket does not exist: %w (%v)", ErrNotFound, err)
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w (%v)", ErrNotFound, err)
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden",
			"ExpiredToken", "InvalidToken", "AllAccessDisabled":
			return fmt.Errorf("%w: check the S3 credentials and permissions (%v)", ErrAccessDenied, err)
		}
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusForbidden, http.StatusUnauthorized:
			return fmt.Errorf("%w: check the S3 credentials and permissions (%v)", ErrAccessDenied, err)
		case http.StatusNotFound:
			return fmt.Errorf("%w (%v)", ErrNotFound, err)
		}
	}
	return classify(err)
}

package blob

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Opener opens stores by URI, sharing one S3 client across all S3 stores.
// It is safe for concurrent use.
type Opener struct {
	opts   S3Options
	noSync bool

	mu     sync.Mutex
	client *s3.Client
}

// NewOpener returns an Opener whose S3 stores use opts.
func NewOpener(opts S3Options) *Opener { return &Opener{opts: opts} }

// WithoutSync returns an Opener whose local stores do not fsync their writes
// (Local.NoSync): for bulk output that can be made again, such as sample
// archives; never for reports or journals.
func (o *Opener) WithoutSync() *Opener {
	return &Opener{opts: o.opts, noSync: true}
}

// Open returns the store rooted at uri.
func (o *Opener) Open(ctx context.Context, uri string) (Store, error) {
	loc, err := Parse(uri)
	if err != nil {
		return nil, err
	}
	return o.OpenLocation(ctx, loc)
}

// OpenLocation returns the store rooted at loc.
func (o *Opener) OpenLocation(ctx context.Context, loc Location) (Store, error) {
	if loc.Scheme == "file" {
		l, err := NewLocal(loc.Path)
		if err != nil {
			return nil, err
		}
		if o.noSync {
			l = l.NoSync()
		}
		return l, nil
	}
	c, err := o.s3Client(ctx)
	if err != nil {
		return nil, err
	}
	st := NewS3(c, loc.Bucket, loc.Path, o.opts.ChecksumWhenRequired)
	if o.opts.Encryption() == (S3Options{}) {
		return st, nil
	}
	return st.WithEncryption(o.opts.SSE, o.opts.KMSKeyID)
}

func (o *Opener) s3Client(ctx context.Context) (*s3.Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		return o.client, nil
	}
	c, err := NewS3Client(ctx, o.opts)
	if err != nil {
		return nil, fmt.Errorf("S3 client: %w", err)
	}
	o.client = c
	return c, nil
}

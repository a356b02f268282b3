package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Errors of conditional writes.
var (
	// ErrExists: PutIfAbsent found the object already there.
	ErrExists = errors.New("object already exists")
	// ErrChanged: a write or delete conditional on a version found another
	// version (or none).
	ErrChanged = errors.New("object changed")
	// ErrLocked: another process holds the lock.
	ErrLocked = errors.New("locked by another process")
)

// Exclusive is a store that creates an object only if it does not exist,
// atomically: of two writers of the same key, exactly one succeeds.
type Exclusive interface {
	// PutIfAbsent writes the object unless one exists (ErrExists).
	PutIfAbsent(ctx context.Context, key string, data []byte) error
}

// Versioned is a store whose objects carry a version (S3: the ETag) that
// writes and deletes can be conditional on, atomically (S3 conditional
// writes: If-None-Match, If-Match).
type Versioned interface {
	Exclusive
	// GetVersion reads the object and its version.
	GetVersion(ctx context.Context, key string, max int64) ([]byte, string, error)
	// PutIfAbsentVersion is PutIfAbsent returning the new version.
	PutIfAbsentVersion(ctx context.Context, key string, data []byte) (string, error)
	// PutIfVersion replaces the object only if its version is still
	// version (ErrChanged otherwise), and returns the new version.
	PutIfVersion(ctx context.Context, key string, data []byte, version string) (string, error)
	// DeleteIfVersion deletes the object only if its version is still
	// version (ErrChanged otherwise; a missing object is not an error).
	DeleteIfVersion(ctx context.Context, key, version string) error
}

// Locker is a store that can hold an OS lock on a key for this process (a
// local folder: flock): the lock goes when the process does, however it
// ends.
type Locker interface {
	// Lock takes the lock on key without waiting (ErrLocked when another
	// process holds it) and writes info into the lock file for whoever
	// finds it locked. release drops it.
	Lock(key string, info []byte) (release func() error, err error)
	// LockInfo reads what the holder of the lock on key wrote.
	LockInfo(key string) ([]byte, error)
}

// PutIfAbsent implements Exclusive: the object is written to a temporary
// file and hard-linked into place, which fails when the name exists.
func (l *Local) PutIfAbsent(_ context.Context, key string, data []byte) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), dirPerm); err != nil {
		return fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	f, err := os.CreateTemp(filepath.Dir(p), tempPrefix+filepath.Base(p)+".*")
	if err != nil {
		return fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil && !l.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	// The link shares the temporary file's mode: CreateTemp's 0600 (filePerm).
	if err != nil {
		return fmt.Errorf("create %s: %w", l.KeyURI(key), err)
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create %s: %w", l.KeyURI(key), ErrExists)
		}
		return fmt.Errorf("create %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	return nil
}

// Lock implements Locker with flock(2) on the file at key.
func (l *Local) Lock(key string, info []byte) (func() error, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), dirPerm); err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, filePerm)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", l.KeyURI(key), ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", l.KeyURI(key), err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(info, 0)
	}
	return func() error {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return f.Close()
	}, nil
}

// LockInfo implements Locker.
func (l *Local) LockInfo(key string) ([]byte, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read lock %s: %w", l.KeyURI(key), mapFSErr(err))
	}
	return bytes.TrimSpace(b), nil
}

// PutIfAbsent implements Exclusive (If-None-Match: *).
func (s *S3) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	_, err := s.PutIfAbsentVersion(ctx, key, data)
	return err
}

// PutIfAbsentVersion implements Versioned.
func (s *S3) PutIfAbsentVersion(ctx context.Context, key string, data []byte) (string, error) {
	return s.conditionalPut(ctx, key, data, nil, aws.String("*"), ErrExists)
}

// PutIfVersion implements Versioned (If-Match: <ETag>).
func (s *S3) PutIfVersion(ctx context.Context, key string, data []byte, version string) (string, error) {
	return s.conditionalPut(ctx, key, data, aws.String(version), nil, ErrChanged)
}

func (s *S3) conditionalPut(ctx context.Context, key string, data []byte, ifMatch, ifNoneMatch *string, failed error) (string, error) {
	k, err := s.fullKey(key)
	if err != nil {
		return "", err
	}
	out, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
		ServerSideEncryption: s.sse, SSEKMSKeyId: s.kmsKeyID,
	})
	if err != nil {
		if preconditionFailed(err) || (ifMatch != nil && errors.Is(mapS3Err(err), ErrNotFound)) {
			return "", fmt.Errorf("put %s: %w", s.KeyURI(key), failed)
		}
		return "", fmt.Errorf("put %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	return aws.ToString(out.ETag), nil
}

// GetVersion implements Versioned.
func (s *S3) GetVersion(ctx context.Context, key string, max int64) ([]byte, string, error) {
	k, err := s.fullKey(key)
	if err != nil {
		return nil, "", err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return nil, "", fmt.Errorf("get %s: %w", s.KeyURI(key), mapS3Err(err))
	}
	defer out.Body.Close()
	b, err := readCapped(out.Body, max, aws.ToInt64(out.ContentLength))
	if err != nil {
		return nil, "", fmt.Errorf("get %s: %w", s.KeyURI(key), classify(err))
	}
	return b, aws.ToString(out.ETag), nil
}

// DeleteIfVersion implements Versioned (a DeleteObject with If-Match).
func (s *S3) DeleteIfVersion(ctx context.Context, key, version string) error {
	k, err := s.fullKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k),
		IfMatch: aws.String(version)})
	switch {
	case err == nil, errors.Is(mapS3Err(err), ErrNotFound):
		return nil
	case preconditionFailed(err):
		return fmt.Errorf("delete %s: %w", s.KeyURI(key), ErrChanged)
	}
	return fmt.Errorf("delete %s: %w", s.KeyURI(key), mapS3Err(err))
}

// preconditionFailed reports an S3 412 (PreconditionFailed) or 409
// (ConditionalRequestConflict: a concurrent conditional write won).
func preconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && (re.HTTPStatusCode() == 412 || re.HTTPStatusCode() == 409) &&
		!strings.Contains(err.Error(), "BucketAlreadyExists")
}

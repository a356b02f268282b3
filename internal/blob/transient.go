package blob

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Transient reports whether err is a temporary store failure that may succeed
// when tried again later: a network error, a timeout, throttling or a server
// error (5xx), including one the SDK already retried until its attempts ran
// out. Missing objects, size caps, access denied, invalid keys, a canceled
// context and every other client error are not transient: retrying them
// cannot help.
func Transient(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, ErrNotFound),
		errors.Is(err, ErrTooLarge),
		errors.Is(err, ErrAccessDenied),
		errors.Is(err, context.Canceled):
		return false
	}
	var exhausted *retry.MaxAttemptsError
	if errors.As(err, &exhausted) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EAGAIN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

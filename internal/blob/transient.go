package blob

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"reverify/internal/fault"
)

// classify marks a store failure with what the caller should do about it
// (package fault): a temporary failure is fault.Retry; access denied is
// fault.Abort (ErrAccessDenied says so itself); anything else is left to
// the caller, who knows what the object was for (a missing image ends a
// record, a missing archive the run).
func classify(err error) error {
	if transient(err) {
		return fault.Mark(fault.Retry, err)
	}
	return err
}

// transient reports whether err is a temporary store failure that may succeed
// when tried again later: a network error, a timeout, throttling or a server
// error (5xx), including one the SDK already retried until its attempts ran
// out. Missing objects, size caps, access denied, invalid keys, a canceled
// context and every other client error are not transient: retrying them
// cannot help.
func transient(err error) bool {
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

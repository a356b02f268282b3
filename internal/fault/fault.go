// Package fault is reverify's one error vocabulary. Every error a package
// returns answers one question — what should the caller do about it? — with a
// Kind: try again later, give up on this record, abort the run, or fix the
// configuration. Packages mark their errors (Mark, New, or a Fault method on
// their own error types); callers ask Of, and nothing else, whether to retry,
// fail a record or stop.
//
// The package is a leaf: it imports nothing of reverify, so every package may
// use it without tying itself to another.
package fault

import (
	"context"
	"errors"
)

// Kind is what the caller should do about an error.
type Kind uint8

const (
	// None: no error.
	None Kind = iota
	// Retry: a temporary failure (network, throttling, a server error); the
	// same operation may succeed later.
	Retry
	// Record: this record cannot succeed as it is (a bad image, a 4xx answer,
	// retries used up); give up on it, write its row, and go on with the run.
	Record
	// Abort: nothing more of this run can succeed (credentials refused, the
	// journal or the archive unusable, the run's context ended): stop the run.
	Abort
	// Config: the configuration is wrong; nothing was done. Exit code 2.
	Config
)

func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case Retry:
		return "retry"
	case Record:
		return "record"
	case Abort:
		return "abort"
	case Config:
		return "config"
	}
	return "unknown"
}

// Classified is implemented by errors that carry their Kind. A package's own
// error types implement it; Mark and New make errors that do.
type Classified interface {
	error
	Fault() Kind
}

// Of returns what to do about err: the Kind of the outermost classified error
// in its chain; Abort for a context that ended (the run is being stopped);
// Record for any other error (it concerns the operation at hand only).
func Of(err error) Kind {
	if err == nil {
		return None
	}
	var c Classified
	if errors.As(err, &c) {
		return c.Fault()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Abort
	}
	return Record
}

// Fatal reports whether err ends the whole run (Abort or Config).
func Fatal(err error) bool {
	k := Of(err)
	return k == Abort || k == Config
}

// Retryable reports whether err is worth trying again (Retry).
func Retryable(err error) bool { return Of(err) == Retry }

// Mark returns err classified as kind. The result's message is err's;
// errors.Is and errors.As see through it. Mark(k, nil) is nil.
func Mark(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &marked{kind: kind, err: err}
}

type marked struct {
	kind Kind
	err  error
}

func (m *marked) Error() string { return m.err.Error() }
func (m *marked) Unwrap() error { return m.err }
func (m *marked) Fault() Kind   { return m.kind }

// New returns a sentinel error of kind: wrap it with %w to classify an error
// and let callers test for it with errors.Is.
func New(kind Kind, msg string) error { return &sentinel{kind: kind, msg: msg} }

type sentinel struct {
	kind Kind
	msg  string
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Fault() Kind   { return s.kind }

package sample

import (
	"context"
	"sync/atomic"

	"reverify/internal/source"
)

// Skipping is an archive without the records skip names (run.skip_verified_since:
// those verified lately in earlier runs): they are not listed, and get no
// row. Only the shard's records (keep; nil: all) are looked up.
type Skipping struct {
	Lister
	skip    func(id string) bool
	keep    func(id string) bool
	dropped atomic.Int64
}

// NewSkipping drops from inner the records skip names.
func NewSkipping(inner Lister, skip, keep func(id string) bool) *Skipping {
	return &Skipping{Lister: inner, skip: skip, keep: keep}
}

// Dropped is how many of the shard's records the last listing left out.
func (s *Skipping) Dropped() int64 { return s.dropped.Load() }

// Records hands over inner's records but those skip names.
func (s *Skipping) Records(ctx context.Context, fn func(source.Record) error) error {
	var n int64
	err := s.Lister.Records(ctx, func(r source.Record) error {
		if (s.keep == nil || s.keep(r.ID)) && s.skip(r.ID) {
			n++
			return nil
		}
		return fn(r)
	})
	s.dropped.Store(n)
	return err
}

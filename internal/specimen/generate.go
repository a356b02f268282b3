package specimen

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"reverify/internal/blob"
)

// Options configures Generate.
type Options struct {
	// Count is the number of records (> 0).
	Count int
	// Seed makes the archive: the same seed, count and mix give a
	// byte-identical archive.
	Seed int64
	// Mix weighs the cases; nil means DefaultMix.
	Mix Mix
	// Concurrency bounds the object writes in flight (default 16).
	Concurrency int
	// Workers is the number of goroutines drawing and encoding images
	// (default GOMAXPROCS).
	Workers int
	// Force writes into a location that already holds objects; without it
	// Generate fails with ErrNotEmpty. Existing objects are overwritten,
	// other objects are left in place.
	Force bool
}

// DefaultConcurrency is the default number of object writes in flight.
const DefaultConcurrency = 16

// ErrNotEmpty: the target location already holds objects and Options.Force
// is not set.
var ErrNotEmpty = errors.New("location is not empty")

// Summary describes a generated archive.
type Summary struct {
	URI      string
	Records  int
	Cases    map[Case]int
	Objects  int   // objects written, index files included
	Bytes    int64 // bytes written
	Duration time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.Count <= 0 {
		return o, fmt.Errorf("count must be positive, got %d", o.Count)
	}
	if o.Mix == nil {
		o.Mix = DefaultMix()
	}
	if err := o.Mix.Validate(); err != nil {
		return o, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o, nil
}

// Generate writes a specimen archive of opts.Count records into store:
// per record a folder with its images and meta.json, and at the root
// expected.jsonl and manifest.csv, which appear only once every record is
// written. Records are drawn by opts.Workers goroutines and written by up to
// opts.Concurrency concurrent Puts.
func Generate(ctx context.Context, store blob.Store, opts Options) (Summary, error) {
	start := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	if !opts.Force {
		if err := checkEmpty(ctx, store); err != nil {
			return Summary{}, err
		}
	}
	plan, err := Plan(opts.Count, opts.Seed, opts.Mix)
	if err != nil {
		return Summary{}, err
	}
	idx, err := newIndexWriters(ctx, store)
	if err != nil {
		return Summary{}, err
	}

	var objects, bytes atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	recs := make(chan *Record, 2*opts.Workers)
	files := make(chan File, 4*opts.Concurrency)

	// The feeder builds the records in order and writes their index lines.
	g.Go(func() error {
		defer close(recs)
		for i, c := range plan {
			rec := NewRecord(opts.Seed, i, c)
			if err := idx.add(&rec); err != nil {
				return err
			}
			select {
			case recs <- &rec:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	var drawing sync.WaitGroup
	for w := 0; w < opts.Workers; w++ {
		drawing.Add(1)
		g.Go(func() error {
			defer drawing.Done()
			rd := NewRenderer()
			for rec := range recs {
				if err := gctx.Err(); err != nil {
					return err
				}
				fs, err := rd.Render(rec)
				if err != nil {
					return err
				}
				for _, f := range fs {
					select {
					case files <- f:
					case <-gctx.Done():
						return gctx.Err()
					}
				}
			}
			return nil
		})
	}
	g.Go(func() error { drawing.Wait(); close(files); return nil })
	for w := 0; w < opts.Concurrency; w++ {
		g.Go(func() error {
			for f := range files {
				if err := gctx.Err(); err != nil {
					return err // not every store checks the context itself
				}
				if err := store.Put(gctx, f.Key, f.Data); err != nil {
					return fmt.Errorf("write archive: %w", err)
				}
				objects.Add(1)
				bytes.Add(int64(len(f.Data)))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		idx.abort()
		return Summary{}, err
	}
	n, err := idx.close()
	if err != nil {
		return Summary{}, err
	}
	counts, _ := opts.Mix.Counts(opts.Count)
	return Summary{
		URI: store.URI(), Records: opts.Count, Cases: counts,
		Objects: int(objects.Load()) + 2, Bytes: bytes.Load() + n,
		Duration: time.Since(start),
	}, nil
}

// checkEmpty fails with ErrNotEmpty when the store holds any object; a
// missing local folder is empty.
func checkEmpty(ctx context.Context, store blob.Store) error {
	errFound := errors.New("found")
	err := store.List(ctx, "", func(blob.Object) error { return errFound })
	switch {
	case errors.Is(err, errFound):
		return fmt.Errorf("%s: %w", store.URI(), ErrNotEmpty)
	case err == nil, errors.Is(err, blob.ErrNotFound):
		return nil
	}
	return fmt.Errorf("check %s is empty: %w", store.URI(), err)
}

// indexWriters streams expected.jsonl and manifest.csv; they appear when
// closed.
type indexWriters struct {
	expW, manW blob.Writer
	expN, manN *countingWriter
	exp, man   *bufio.Writer
	csv        *csv.Writer
	json       *json.Encoder
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newIndexWriters(ctx context.Context, store blob.Store) (*indexWriters, error) {
	expW, err := store.Create(ctx, ExpectedName)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", ExpectedName, err)
	}
	manW, err := store.Create(ctx, ManifestName)
	if err != nil {
		_ = expW.Abort()
		return nil, fmt.Errorf("create %s: %w", ManifestName, err)
	}
	ix := &indexWriters{expW: expW, manW: manW, expN: &countingWriter{w: expW}, manN: &countingWriter{w: manW}}
	ix.exp = bufio.NewWriterSize(ix.expN, 64<<10)
	ix.man = bufio.NewWriterSize(ix.manN, 64<<10)
	ix.json = json.NewEncoder(ix.exp)
	ix.csv = csv.NewWriter(ix.man)
	if err := ix.csv.Write(ManifestHeader()); err != nil {
		ix.abort()
		return nil, fmt.Errorf("write %s: %w", ManifestName, err)
	}
	return ix, nil
}

func (ix *indexWriters) add(rec *Record) error {
	if err := ix.json.Encode(rec.ExpectedLine()); err != nil {
		return fmt.Errorf("write %s: %w", ExpectedName, err)
	}
	if err := ix.csv.Write(rec.ManifestRow()); err != nil {
		return fmt.Errorf("write %s: %w", ManifestName, err)
	}
	return nil
}

func (ix *indexWriters) abort() {
	_ = ix.expW.Abort()
	_ = ix.manW.Abort()
}

// close completes manifest.csv, then expected.jsonl (whose presence marks a
// complete archive), and returns their total size.
func (ix *indexWriters) close() (int64, error) {
	ix.csv.Flush()
	if err := ix.csv.Error(); err != nil {
		ix.abort()
		return 0, fmt.Errorf("write %s: %w", ManifestName, err)
	}
	for _, f := range []struct {
		name string
		buf  *bufio.Writer
		w    blob.Writer
	}{{ManifestName, ix.man, ix.manW}, {ExpectedName, ix.exp, ix.expW}} {
		if err := f.buf.Flush(); err != nil {
			ix.abort()
			return 0, fmt.Errorf("write %s: %w", f.name, err)
		}
		if err := f.w.Close(); err != nil {
			ix.abort()
			return 0, fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return ix.expN.n + ix.manN.n, nil
}

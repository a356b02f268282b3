package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/parquet-go/parquet-go"

	"reverify/internal/blob"
)

// Reading earlier output back. A part on a local store is read where it is,
// through its file; elsewhere (S3) it is read whole into memory (parts are
// bounded by MaxRowsPerPart rows, a few MiB). Either way it is decoded row
// group by row group in batches; rows are handed to the callback one at a
// time.

const (
	readBatch = 256
	// maxPartBytes refuses to load an absurdly large object named like a part.
	maxPartBytes = 2 << 30
	// partReadBuffer is the read size of a part read through its file.
	partReadBuffer = 256 << 10
)

// Read calls fn for every row of every part of every run below the output
// root, part by part in key order. An error from fn stops the reading and is
// returned. A root without parts gives ErrNoOutput.
func Read(ctx context.Context, store blob.Store, fn func(Row) error) error {
	return readPrefix(ctx, store, RunsPrefix, fn)
}

// ReadRun is Read restricted to one run.
func ReadRun(ctx context.Context, store blob.Store, runID string, fn func(Row) error) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	return readPrefix(ctx, store, RunPrefix(runID), fn)
}

func readPrefix(ctx context.Context, store blob.Store, prefix string, fn func(Row) error) error {
	parts, err := ListParts(ctx, store, prefix)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s: %w", store.KeyURI(prefix), ErrNoOutput)
	}
	for _, p := range parts {
		if err := readPart(ctx, store, p.Key, fn); err != nil {
			return err
		}
	}
	return nil
}

// ListParts lists the parts below prefix (relative to the output root, e.g.
// RunsPrefix or RunPrefix(id)), in key order. Objects that are not parts
// (_summary.json, journals, temporary files, foreign files) are ignored. A
// missing local root lists nothing.
func ListParts(ctx context.Context, store blob.Store, prefix string) ([]PartInfo, error) {
	var parts []PartInfo
	err := store.List(ctx, prefix, func(o blob.Object) error {
		if !isPartKey(o.Key) {
			return nil
		}
		if p, ok := ParsePartKey(o.Key); ok {
			parts = append(parts, p)
		}
		return nil
	})
	if err != nil && !missingLocalRoot(err) {
		return nil, fmt.Errorf("list parts under %s: %w", store.KeyURI(prefix), err)
	}
	return parts, nil
}

// missingLocalRoot reports whether err is a store's root not existing yet
// (blob.ErrNotCreated): an output nobody has written to, not a fault. (A
// missing S3 bucket stays an error.)
func missingLocalRoot(err error) bool {
	return errors.Is(err, blob.ErrNotCreated)
}

// readPart streams the rows of one part to fn.
func readPart(ctx context.Context, store blob.Store, key string, fn func(Row) error) error {
	return readPartAs(ctx, store, key, func(rows []Row) error {
		for i := range rows {
			rows[i].emptyToNil()
			if err := fn(rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// readPartAs decodes the part at key as rows of T (a projection of Row's
// columns) and hands them to fn in batches. The batch is reused: fn must not
// keep it.
func readPartAs[T any](ctx context.Context, store blob.Store, key string, fn func([]T) error) error {
	return readPartFile(ctx, store, key, func(f *parquet.File, uri string) error {
		return readFileAs(ctx, f, uri, fn)
	})
}

// readPartFile opens the part at key and hands it to fn with its URI.
func readPartFile(ctx context.Context, store blob.Store, key string, fn func(f *parquet.File, uri string) error) error {
	_, err := openPart(ctx, store, key, false, fn)
	return err
}

// openPart opens the part at key and hands it to fn with its URI; with
// describe, it also describes the part (manifestPart: size, SHA-256, rows).
func openPart(ctx context.Context, store blob.Store, key string, describe bool, fn func(f *parquet.File, uri string) error) (ManifestPart, error) {
	uri := store.KeyURI(key)
	r, size, done, err := partContent(ctx, store, key)
	if err != nil {
		return ManifestPart{}, fmt.Errorf("read part %s: %w", uri, err)
	}
	defer done()
	f, err := parquet.OpenFile(r, size, parquet.ReadBufferSize(partReadBuffer))
	if err != nil {
		return ManifestPart{}, fmt.Errorf("read part %s: %w", uri, err)
	}
	var mp ManifestPart
	if describe {
		if mp, err = manifestPartOf(key, io.NewSectionReader(r, 0, size), f); err != nil {
			return ManifestPart{}, fmt.Errorf("read part %s: %w", uri, err)
		}
	}
	return mp, fn(f, uri)
}

// partContent gives the content of the part at key and its size; done
// releases it. A part of a local store is read through its file (a
// million-record resume reads every part back: whole, each would be a few
// MiB more of heap at a time, and garbage after); another store's is read
// whole.
func partContent(ctx context.Context, store blob.Store, key string) (io.ReaderAt, int64, func(), error) {
	if _, local := store.(*blob.Local); !local {
		b, err := store.Get(ctx, key, maxPartBytes)
		if err != nil {
			return nil, 0, nil, err
		}
		return bytes.NewReader(b), int64(len(b)), func() {}, nil
	}
	rc, err := store.Open(ctx, key)
	if err != nil {
		return nil, 0, nil, err
	}
	file, ok := rc.(interface {
		io.ReaderAt
		Stat() (fs.FileInfo, error)
	})
	if !ok {
		rc.Close()
		return nil, 0, nil, errors.New("the local store gave no file")
	}
	fi, err := file.Stat()
	if err != nil {
		rc.Close()
		return nil, 0, nil, err
	}
	return file, fi.Size(), func() { rc.Close() }, nil
}

// readFileAs decodes an open part (at uri) as rows of T, in batches.
func readFileAs[T any](ctx context.Context, f *parquet.File, uri string, fn func([]T) error) (err error) {
	// parquet-go panics on a schema it cannot convert to T: turn that into
	// an error naming the file.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read part %s: incompatible schema: %v", uri, p)
		}
	}()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	batch := make([]T, readBatch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		clear(batch) // parquet-go may reuse slices and maps left in the batch
		n, rerr := r.Read(batch)
		if n > 0 {
			if err := fn(batch[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read part %s: %w", uri, rerr)
		}
	}
}

// recordIDOnly is the projection of Row read by CommittedRecords.
type recordIDOnly struct {
	RecordID string `parquet:"record_id"`
}

// CommittedRecords returns the record IDs that have a committed row in the
// parts of one run shard, whatever attempt wrote them: the records a resumed
// run must not write again. Only the record_id column is decoded. An output
// without parts gives an empty set.
func CommittedRecords(ctx context.Context, store blob.Store, runID string, shard, count int) (map[string]struct{}, error) {
	ids := map[string]struct{}{}
	err := EachCommittedRecord(ctx, store, runID, shard, count, func(id string) error {
		ids[id] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// shardParts lists the committed parts of a run shard, after checking the
// run id and the shard.
func shardParts(ctx context.Context, store blob.Store, runID string, shard, count int) ([]PartInfo, error) {
	if err := ValidateRunID(runID); err != nil {
		return nil, err
	}
	if err := validateShard(shard, count); err != nil {
		return nil, err
	}
	return ListParts(ctx, store, ShardPrefix(runID, shard, count))
}

// EachCommittedRecord is CommittedRecords in callback form: fn is called
// once per committed row (a record written twice is seen twice).
func EachCommittedRecord(ctx context.Context, store blob.Store, runID string, shard, count int, fn func(recordID string) error) error {
	parts, err := shardParts(ctx, store, runID, shard, count)
	if err != nil {
		return err
	}
	for _, p := range parts {
		err := readPartAs(ctx, store, p.Key, func(rows []recordIDOnly) error {
			for _, r := range rows {
				if err := fn(r.RecordID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

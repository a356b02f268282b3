package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"

	"reverify/internal/blob"
)

// Writer defaults.
const (
	DefaultMaxRowsPerPart = 50_000
	DefaultMaxPartAge     = 2 * time.Minute
	DefaultRowGroupRows   = 10_000

	// batchRows is how many rows are buffered before they are handed to
	// parquet-go in one call.
	batchRows = 1_000
)

// WriterConfig configures a Writer. RunID, Shard and ShardCount are
// required; the rest has defaults.
type WriterConfig struct {
	RunID      string
	Shard      int
	ShardCount int
	// Attempt identifies this process's attempt at the run in part names;
	// NewAttemptID(now) when empty. Same rules as a run id.
	Attempt string
	// MaxRowsPerPart rolls the part after this many rows (default 50,000).
	MaxRowsPerPart int
	// MaxPartAge commits a part this old (counted from its first row) at the
	// next Write or FlushIfDue (default 2 minutes).
	MaxPartAge time.Duration
	// RowGroupRows bounds a Parquet row group, which parquet-go buffers in
	// memory (default 10,000; at most MaxRowsPerPart).
	RowGroupRows int
	// OnCommit, when set, is called after a part is committed, with the part's
	// URI and the keys (Row.Key: the record ID, but for a repeated record
	// ID's row) of its rows in write order: those rows are now durable. It is called on the goroutine that called Write, Flush,
	// FlushIfDue or Close.
	OnCommit func(part string, recordIDs []string)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Writer writes rows as Parquet parts of one run shard below an output root.
//
// Rows go into the current part, which is streamed to the store and appears
// there only when committed: when it reaches MaxRowsPerPart rows, when it is
// older than MaxPartAge at a Write or FlushIfDue, at Flush and at Close. Rows
// of a part not yet committed are lost if the process dies; OnCommit tells
// which rows are durable.
//
// Memory is bounded by one row group (RowGroupRows rows, buffered by
// parquet-go), one batch of 1,000 rows and the record IDs of the current part.
//
// Every call takes a ctx. A call whose ctx has already ended does nothing and
// returns ctx.Err(): the caller may retry with another ctx (on SIGTERM, a
// grace-period ctx for Close). A ctx that ends while the call writes cancels
// the part's write (on S3 the upload, which otherwise outlives the ctx that
// opened it).
//
// After a failed write or commit, or a ctx that ended during one, the Writer
// is broken: the current part is discarded (its rows are not reported to
// OnCommit) and every later call returns the same error; Abort is still
// allowed. Treat it as fatal for the run: the error names the part's URI.
//
// A Writer is not safe for concurrent use: one goroutine owns it (the
// pipeline's report-writer stage).
type Writer struct {
	store blob.Store
	cfg   WriterConfig

	cur    *part
	seq    int
	totals Totals // rows of committed parts
	err    error  // sticky
	closed bool
}

// part is the part being written.
type part struct {
	key, uri string
	obj      blob.Writer
	pq       *parquet.GenericWriter[Row]
	cancel   context.CancelFunc // cancels the object's write (the S3 upload)
	opened   time.Time
	buf      []Row // rows not yet handed to parquet-go
	ids      []string
	totals   Totals
}

// NewWriter returns a Writer of cfg's run shard below store. Nothing is
// written until the first row.
func NewWriter(store blob.Store, cfg WriterConfig) (*Writer, error) {
	if err := ValidateRunID(cfg.RunID); err != nil {
		return nil, fmt.Errorf("report writer: %w", err)
	}
	if err := validateShard(cfg.Shard, cfg.ShardCount); err != nil {
		return nil, fmt.Errorf("report writer: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Attempt == "" {
		cfg.Attempt = NewAttemptID(cfg.Now())
	}
	if err := validateAttempt(cfg.Attempt); err != nil {
		return nil, fmt.Errorf("report writer: %w", err)
	}
	if cfg.MaxRowsPerPart <= 0 {
		cfg.MaxRowsPerPart = DefaultMaxRowsPerPart
	}
	if cfg.MaxPartAge <= 0 {
		cfg.MaxPartAge = DefaultMaxPartAge
	}
	if cfg.RowGroupRows <= 0 {
		cfg.RowGroupRows = DefaultRowGroupRows
	}
	cfg.RowGroupRows = min(cfg.RowGroupRows, cfg.MaxRowsPerPart)
	return &Writer{store: store, cfg: cfg}, nil
}

// Attempt is the attempt id used in part names.
func (w *Writer) Attempt() string { return w.cfg.Attempt }

// Totals returns the totals of the rows committed so far by this Writer.
func (w *Writer) Totals() Totals { return w.totals.clone() }

// Written returns the totals of every row accepted by Write so far:
// committed, and in the part not yet committed.
func (w *Writer) Written() Totals {
	t := w.totals.clone()
	if w.cur != nil {
		t.merge(&w.cur.totals)
	}
	return t
}

// Pending is the number of rows written but not yet committed.
func (w *Writer) Pending() int {
	if w.cur == nil {
		return 0
	}
	return len(w.cur.ids)
}

// Deadline is when the current part becomes due for commit by age; ok is
// false when no part is open. The owner can arm a timer with it and call
// FlushIfDue.
func (w *Writer) Deadline() (deadline time.Time, ok bool) {
	if w.cur == nil {
		return time.Time{}, false
	}
	return w.cur.opened.Add(w.cfg.MaxPartAge), true
}

// Write adds rows to the current part. Empty RunID, Shard and ShardCount are
// filled in from the Writer's config (a different value is an error), a nil
// RecordedAt becomes now, timestamps are stored in UTC at millisecond
// precision. Every row needs a record_id and a known outcome; an invalid row
// fails the call before any row of it is written. Rows are buffered until
// encoded: the caller must not modify their slices, maps or pointed-to values
// after the call.
func (w *Writer) Write(ctx context.Context, rows ...Row) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := w.cfg.Now()
	for i := range rows {
		if err := w.check(&rows[i]); err != nil {
			return fmt.Errorf("report writer: row %d: %w", i, err)
		}
	}
	for _, r := range rows {
		w.fill(&r, now)
		if w.cur == nil {
			if err := w.open(ctx, now); err != nil {
				return w.fail(err)
			}
		}
		p := w.cur
		p.buf = append(p.buf, r)
		p.ids = append(p.ids, r.Key())
		p.totals.Add(&r)
		if len(p.buf) >= batchRows {
			if err := w.drain(ctx); err != nil {
				return w.fail(err)
			}
		}
		if len(p.ids) >= w.cfg.MaxRowsPerPart {
			if err := w.commit(ctx); err != nil {
				return err
			}
		}
	}
	return w.FlushIfDue(ctx)
}

// FlushIfDue commits the current part if it is older than MaxPartAge.
func (w *Writer) FlushIfDue(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := w.Deadline(); ok && !w.cfg.Now().Before(d) {
		return w.commit(ctx)
	}
	return nil
}

// Flush commits the current part now, if it has rows.
func (w *Writer) Flush(ctx context.Context) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.cur == nil {
		return nil
	}
	return w.commit(ctx)
}

// Close commits the current part and ends the Writer. Closing again returns
// nil, or the error that broke the Writer.
func (w *Writer) Close(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if w.cur != nil {
		err = w.commit(ctx)
	}
	w.closed = true
	return err
}

// Abort discards the current part (nothing of it appears) and ends the
// Writer. Committed parts stay.
func (w *Writer) Abort() error {
	w.closed = true
	if w.cur == nil {
		return nil
	}
	p := w.cur
	w.cur = nil
	p.cancel()
	if err := p.obj.Abort(); err != nil {
		return fmt.Errorf("report writer: abort %s: %w", p.uri, err)
	}
	return nil
}

var errClosed = errors.New("report writer: closed")

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errClosed
	}
	return nil
}

// check validates a row against the Writer's run shard.
func (w *Writer) check(r *Row) error {
	switch {
	case r.RecordID == "":
		return errors.New("empty record_id")
	case !KnownOutcome(r.Outcome):
		return fmt.Errorf("record %q: unknown outcome %q", r.RecordID, r.Outcome)
	case r.RunID != "" && r.RunID != w.cfg.RunID:
		return fmt.Errorf("record %q: run_id %q, but this writer writes run %q", r.RecordID, r.RunID, w.cfg.RunID)
	case r.ShardCount != 0 && (int(r.Shard) != w.cfg.Shard || int(r.ShardCount) != w.cfg.ShardCount):
		return fmt.Errorf("record %q: shard %d of %d, but this writer writes shard %d of %d",
			r.RecordID, r.Shard, r.ShardCount, w.cfg.Shard, w.cfg.ShardCount)
	case r.ShardCount == 0 && r.Shard != 0:
		return fmt.Errorf("record %q: shard %d without shard_count", r.RecordID, r.Shard)
	}
	return nil
}

// fill sets the writer-owned columns and normalises the row.
func (w *Writer) fill(r *Row, now time.Time) {
	r.RunID = w.cfg.RunID
	r.Shard = int32(w.cfg.Shard)
	r.ShardCount = int32(w.cfg.ShardCount)
	r.normalize(now)
}

// open starts a new part.
func (w *Writer) open(ctx context.Context, now time.Time) error {
	key := PartKey(w.cfg.RunID, w.cfg.Shard, w.cfg.ShardCount, w.seq, w.cfg.Attempt)
	uri := w.store.KeyURI(key)
	// The object's write lives as long as the part, not as long as the
	// ctx of the Write that opened it; every call that touches the part
	// ties it to its own ctx (see guard).
	octx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	obj, err := w.store.Create(octx, key)
	if err != nil {
		cancel()
		return fmt.Errorf("report writer: create %s: %w", uri, err)
	}
	pq := parquet.NewGenericWriter[Row](obj,
		parquet.Compression(newZstdCodec()),
		parquet.MaxRowsPerRowGroup(int64(w.cfg.RowGroupRows)),
		parquet.KeyValueMetadata("reverify.run_id", w.cfg.RunID),
		parquet.KeyValueMetadata("reverify.attempt", w.cfg.Attempt),
	)
	w.cur = &part{key: key, uri: uri, obj: obj, pq: pq, cancel: cancel, opened: now,
		buf: make([]Row, 0, batchRows)}
	return nil
}

// guard ties the current part's object write to ctx until the returned
// function is called: if ctx ends first, the write is cancelled and the call
// fails.
func (w *Writer) guard(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, w.cur.cancel)
}

// drain hands the buffered rows to parquet-go, which writes every full row
// group to the object.
func (w *Writer) drain(ctx context.Context) error {
	p := w.cur
	if len(p.buf) == 0 {
		return nil
	}
	defer w.guard(ctx)()
	if _, err := p.pq.Write(p.buf); err != nil {
		return fmt.Errorf("report writer: write %s: %w", p.uri, ctxCause(ctx, err))
	}
	clear(p.buf)
	p.buf = p.buf[:0]
	return nil
}

// commit completes the current part and reports its rows.
func (w *Writer) commit(ctx context.Context) error {
	if err := w.drain(ctx); err != nil {
		return w.fail(err)
	}
	p := w.cur
	stop := w.guard(ctx)
	err := p.pq.Close()
	if err != nil {
		stop()
		return w.fail(fmt.Errorf("report writer: write %s: %w", p.uri, ctxCause(ctx, err)))
	}
	err = p.obj.Close()
	stop()
	if err != nil {
		return w.fail(fmt.Errorf("report writer: commit %s: %w", p.uri, ctxCause(ctx, err)))
	}
	p.cancel()
	w.cur = nil
	w.seq++
	w.totals.merge(&p.totals)
	w.totals.Parts++
	w.totals.Attempts = 1
	if w.cfg.OnCommit != nil {
		w.cfg.OnCommit(p.uri, p.ids)
	}
	return nil
}

// fail discards the current part and makes err sticky.
func (w *Writer) fail(err error) error {
	if w.cur != nil {
		w.cur.cancel()
		_ = w.cur.obj.Abort()
		w.cur = nil
	}
	w.err = err
	return err
}

// ctxCause prefers ctx's error when ctx has ended: a cancelled upload
// reports itself in SDK terms that hide the reason.
func ctxCause(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

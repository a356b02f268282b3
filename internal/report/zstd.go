package report

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// pageWindow is the zstd window of a part's pages: a page is at most
// parquet-go's page buffer (256 KiB) before compression, so a longer window
// finds nothing more.
const pageWindow = 256 << 10

// zstdCodec is parquet-go's zstd codec with a window fitted to a page.
// parquet.Zstd's encoder keeps the default 8 MiB window, and with it 16 MiB
// of match history allocated whatever the page size: the largest single
// allocation of a shard's run (a heap profile at a million records). The
// frames are ordinary zstd, which every reader decodes (parquet-go reads
// parts with its own codec).
type zstdCodec struct {
	mu  sync.Mutex
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newZstdCodec() *zstdCodec { return &zstdCodec{} }

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

// Encode compresses src into dst (reallocated when too small). A part's
// column writers may compress from more than one goroutine: one encoder,
// one at a time.
func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithWindowSize(pageWindow), zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, err
		}
		c.enc = e
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode decompresses src into dst (reallocated when too small).
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dec == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		c.dec = d
	}
	return c.dec.DecodeAll(src, dst[:0])
}

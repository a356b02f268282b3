package source

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxLineBytes bounds one manifest line; longer lines are bad lines, read
// past without being held in memory.
const maxLineBytes = 1 << 20

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// lineReader splits a stream into lines ("\n" or "\r\n"), bounding memory
// by the longest line it keeps.
type lineReader struct {
	r    *bufio.Reader
	max  int
	n    int    // number of the last line returned, from 1
	buf  []byte // the current line, reused
	done bool
	bom  bool // the start of the stream was checked for a byte order mark
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its terminator and its number. A line
// longer than max comes back empty with tooLong set. At the end it returns
// io.EOF; a read error is returned as is. The line is valid until the next
// call. A UTF-8 byte order mark at the start of the stream is dropped.
func (lr *lineReader) next() (line []byte, n int, tooLong bool, err error) {
	if lr.done {
		return nil, lr.n, false, io.EOF
	}
	if !lr.bom {
		lr.bom = true
		if b, _ := lr.r.Peek(3); bytes.Equal(b, utf8BOM) {
			_, _ = lr.r.Discard(3)
		}
	}
	lr.buf = lr.buf[:0]
	read := false
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(chunk) > 0 {
			read = true
			if !tooLong && len(lr.buf)+len(chunk) <= lr.max+2 { // +2: the "\r\n" not yet cut
				lr.buf = append(lr.buf, chunk...)
			} else {
				tooLong = true
				lr.buf = lr.buf[:0]
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			lr.done = true
			if !read {
				return nil, lr.n, false, io.EOF
			}
		} else if err != nil {
			return nil, lr.n, false, err
		}
		break
	}
	lr.n++
	line = bytes.TrimSuffix(lr.buf, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > lr.max {
		tooLong = true
	}
	if tooLong {
		return nil, lr.n, true, nil
	}
	return line, lr.n, false, nil
}

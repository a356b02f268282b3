package source

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvParser parses the lines of a CSV manifest. Each line is one record:
// quoted fields may hold commas and quotes ("") but not line breaks, so a
// broken quote spoils one line, never the rest of the file.
type csvParser struct {
	columns []string // normalized header names; "column_N" for unnamed ones
	split   csvSplitter
}

// newCSVParser reads the header line: names are trimmed and lower-cased;
// record_id and front are required; a name may appear once.
func newCSVParser(header []byte) (*csvParser, error) {
	p := &csvParser{}
	fields, err := p.split.fields(header)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var dups []string
	for i, f := range fields {
		name := strings.ToLower(strings.TrimSpace(f))
		if name == "" {
			name = fmt.Sprintf("column_%d", i+1)
		}
		if seen[name] {
			dups = append(dups, name)
		}
		seen[name] = true
		p.columns = append(p.columns, name)
	}
	var missing []string
	for _, req := range []string{ColRecordID, ColFront} {
		if !seen[req] {
			missing = append(missing, req)
		}
	}
	switch {
	case len(missing) > 0:
		return nil, fmt.Errorf("missing required column(s) %s (the header is %q)",
			strings.Join(missing, ", "), clip(string(header)))
	case len(dups) > 0:
		return nil, fmt.Errorf("column(s) %s appear more than once", strings.Join(dups, ", "))
	}
	return p, nil
}

func (p *csvParser) parse(line []byte, n int) (row, bool) {
	rw := row{line: n, values: map[string]string{}}
	if len(bytes.TrimSpace(line)) == 0 {
		return rw, true
	}
	fields, err := p.split.fields(line)
	if err != nil {
		rw.badf("line %d is not valid CSV: %v", n, err)
		return rw, false
	}
	blank := true
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			blank = false
			break
		}
	}
	if blank {
		return rw, true
	}
	if len(fields) != len(p.columns) {
		rw.badf("line %d has %d fields, the header has %d", n, len(fields), len(p.columns))
	}
	for i, f := range fields {
		if i >= len(p.columns) {
			break
		}
		name, v := p.columns[i], strings.TrimSpace(f)
		switch {
		case knownColumn(name):
			rw.values[name] = v
		case v != "":
			if rw.meta == nil {
				rw.meta = map[string]string{}
			}
			rw.meta[name] = v
		}
	}
	return rw, false
}

// csvSplitter parses one line of CSV at a time (RFC 4180 quoting) with
// encoding/csv, with one csv.Reader for every line: a reader per line would allocate its 4 KiB
// buffer (and its record buffers) a line, 8 GB of garbage for the two
// passes over a million-line manifest. Not safe for concurrent use.
type csvSplitter struct {
	line bytes.Reader
	buf  *bufio.Reader
	r    *csv.Reader
}

// fields splits line. The slice is reused by the next call; the strings
// are the caller's.
func (c *csvSplitter) fields(line []byte) ([]string, error) {
	if c.r == nil {
		c.buf = bufio.NewReader(&c.line)
		c.r = csv.NewReader(c.buf) // reads c.buf itself: it is a bufio.Reader already
		c.r.FieldsPerRecord = -1
		c.r.TrimLeadingSpace = true
		c.r.ReuseRecord = true
	}
	c.line.Reset(line)
	c.buf.Reset(&c.line)
	fields, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("column %d: %v", pe.Column, pe.Err)
		}
		if err == io.EOF {
			return nil, errors.New("no fields")
		}
		return nil, err
	}
	if _, err := c.r.Read(); err != io.EOF {
		return nil, errors.New("more than one CSV record on the line")
	}
	return fields, nil
}

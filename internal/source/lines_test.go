package source

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type gotLine struct {
	text    string
	n       int
	tooLong bool
}

func readLines(t *testing.T, r io.Reader, max int) []gotLine {
	t.Helper()
	lr := newLineReader(r, max)
	var out []gotLine
	for {
		line, n, tooLong, err := lr.next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out = append(out, gotLine{string(line), n, tooLong})
	}
}

func TestLineReader(t *testing.T) {
	in := "\ufeffheader\r\n\nshort\n" + strings.Repeat("x", 20) + "\nexactly10!\r\n" + strings.Repeat("y", 11) + "\r\nlast"
	got := readLines(t, strings.NewReader(in), 10)
	assert.Equal(t, []gotLine{
		{"header", 1, false},
		{"", 2, false},
		{"short", 3, false},
		{"", 4, true},
		{"exactly10!", 5, false},
		{"", 6, true},
		{"last", 7, false},
	}, got)

	// A slow reader (one byte per Read) and a line far longer than the
	// reader's buffer give the same result.
	long := strings.Repeat("z", 200<<10)
	got = readLines(t, iotest.OneByteReader(strings.NewReader("a\n"+long+"\nb\n")), 1000)
	assert.Equal(t, []gotLine{{"a", 1, false}, {"", 2, true}, {"b", 3, false}}, got)

	assert.Empty(t, readLines(t, strings.NewReader(""), 10))
	assert.Equal(t, []gotLine{{"", 1, false}}, readLines(t, strings.NewReader("\n"), 10))
	assert.Empty(t, readLines(t, strings.NewReader("\ufeff"), 10))

	// Read errors come back as they are.
	boom := errors.New("connection reset")
	lr := newLineReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), 10)
	line, _, _, err := lr.next()
	require.NoError(t, err)
	assert.Equal(t, "a", string(line))
	_, _, _, err = lr.next()
	assert.ErrorIs(t, err, boom)
}

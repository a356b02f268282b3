package source

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One splitter serves every line of a manifest: a line's fields, and its
// errors, are its own, whatever the lines before it held.
func TestCSVSplitterLinesAreIndependent(t *testing.T) {
	var c csvSplitter
	type want struct {
		fields []string
		err    string
	}
	lines := []struct {
		line string
		want want
	}{
		{`a,b,c`, want{fields: []string{"a", "b", "c"}}},
		{`"x,y", "q""uote"`, want{fields: []string{"x,y", `q"uote`}}},
		{`bad"quote,z`, want{err: "column 4"}},
		{`"unterminated,z`, want{err: "extraneous or missing"}},
		{`after,an,error`, want{fields: []string{"after", "an", "error"}}},
		{``, want{err: "no fields"}},
		{`last`, want{fields: []string{"last"}}},
	}
	var kept [][]string
	for _, l := range lines {
		var fresh csvSplitter // what a splitter of its own makes of the line
		alone, aloneErr := fresh.fields([]byte(l.line))
		alone = append([]string(nil), alone...)
		got, err := c.fields([]byte(l.line))
		assert.Equal(t, aloneErr, err, l.line)
		if err == nil {
			assert.Equal(t, alone, got, l.line)
		}
		if l.want.err != "" {
			require.Error(t, err, l.line)
			assert.Contains(t, err.Error(), l.want.err, l.line)
			continue
		}
		require.NoError(t, err, l.line)
		assert.Equal(t, l.want.fields, got, l.line)
		kept = append(kept, append([]string(nil), got...))
	}
	assert.Equal(t, [][]string{{"a", "b", "c"}, {"x,y", `q"uote`}, {"after", "an", "error"}, {"last"}}, kept)
}

// Parsing a line allocates no reader of its own (a 4 KiB buffer a line was
// 8 GB of garbage over two passes of a million-line manifest).
func TestCSVSplitterAllocatesLittle(t *testing.T) {
	var c csvSplitter
	line := []byte(`scale-00000001,rec-000001/front.jpg,rec-000001/back.jpg,,NLD_ID_2014,document,accepted,`)
	_, err := c.fields(line)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.fields(line); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 2.0, "allocations a line")
}

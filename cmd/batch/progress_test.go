package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"reverify/internal/pipeline"
)

// On a terminal: a total, a percentage and an ETA as soon as the count
// ahead knows the total ("listing… N so far" until then), a line that fits
// the width, and log lines that clear it and redraw it after, never glued.
func TestProgressOnATerminal(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, true, time.Second, nil)
	p.width = func() int { return 60 }
	log := slog.New(slog.NewTextHandler(p.logWriter(), nil))
	started := time.Now().Add(-10 * time.Second)

	p.snap = pipeline.Progress{Started: started, Done: 5, Listed: 40, Counted: 3000, InFlight: 20}
	p.emit(time.Now())
	assert.Contains(t, p.line, "5 done, listing… 3000 so far")

	p.snap = pipeline.Progress{Started: started, Done: 50, Resumed: 50, Listed: 120, Counted: 1000, CountEnd: true, InFlight: 20,
		Outcomes: map[string]int64{"accepted": 40, "rejected": 10}}
	p.emit(time.Now())
	assert.True(t, strings.HasPrefix(p.line, "100/1000 (10%)  5.0 rec/s  ETA 3m0s"), p.line)
	assert.LessOrEqual(t, len([]rune(p.line)), 59, "fits the width: %q", p.line)
	assert.True(t, strings.HasSuffix(p.line, "…"), "cut: %q", p.line)

	out.Reset()
	log.Info("a log line")
	s := out.String()
	assert.True(t, strings.HasPrefix(s, "\r\033[K"), "the progress line is cleared first: %q", s)
	assert.Contains(t, s, "msg=\"a log line\"\n\r\033[K100/1000", "then redrawn on its own line")
}

// Off a terminal a progress line is a log line with typed fields.
func TestProgressOffATerminal(t *testing.T) {
	var logs bytes.Buffer
	p := newProgress(&bytes.Buffer{}, false, time.Second, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: typedAttr(false)})))
	p.snap = pipeline.Progress{Started: time.Now().Add(-10 * time.Second), Done: 50, Counted: 200, CountEnd: true}
	p.emit(time.Now())
	assert.Contains(t, logs.String(), `"total":200,"percent":25,`)
	assert.Contains(t, logs.String(), `"records_per_s":5,`)
	assert.Contains(t, logs.String(), `"eta_s":30`)
}

func TestFit(t *testing.T) {
	assert.Equal(t, "short", fit("short", 80))
	assert.Equal(t, "abcdefgh…", fit("abcdefghijklmnop", 10), "9 columns of 10: one left for the cursor")
	assert.Equal(t, "no width", fit("no width", 0))
}

// What an interrupted attempt leaves: the total less the rows written, now
// and by earlier attempts (it used to count only the records in flight).
func TestProgressLeft(t *testing.T) {
	p := newProgress(&bytes.Buffer{}, false, time.Second, nil)
	p.snap = pipeline.Progress{Done: 30, Resumed: 20, Listed: 90, Counted: 500}
	_, known := p.left()
	assert.False(t, known, "the total is not known yet")
	p.snap.CountEnd = true
	n, known := p.left()
	assert.True(t, known)
	assert.EqualValues(t, 450, n)
}

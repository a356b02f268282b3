package pipeline

import (
	"time"

	"reverify/internal/assure"
	"reverify/internal/report"
	"reverify/internal/source"
)

// task is one record on its way through the stages. A task is owned by one
// stage at a time (handed over through channels), so it needs no lock.
type task struct {
	rec   source.Record
	row   report.Row
	stats recordStats

	// API state, as far as known.
	dossierID   string
	processID   string
	pages       int
	started     bool
	dossierGone bool // deleted, or known not to exist

	// Resume: the step the task starts at (fresh tasks start at stepLoad).
	from step

	images  *source.Images // held only while uploading
	hasSlot bool           // holds an in-flight slot (Pipeline.slots)

	submitted time.Time // first paid call
	startedAt time.Time // verification started
	deadline  time.Time // timeout when still not final

	// Polling state (scheduler).
	nextPoll     time.Time
	pollInterval time.Duration
	heapIndex    int

	// Result.
	process     *assure.Process // the final process
	interrupted bool            // left unfinished by a stop; resumed by the next run
	timedOut    bool
}

// step is where a task's API work stands.
type step int

const (
	stepLoad          step = iota // fetch and preflight the images
	stepCreateProcess             // the dossier exists
	stepUpload                    // the process exists, not started
	stepPoll                      // verification started
)

func (t *task) externalReference() string { return t.row.ExternalReference }

package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"reverify/internal/assure"
	"reverify/internal/blob"
	"reverify/internal/fault"
	"reverify/internal/journal"
	"reverify/internal/report"
	"reverify/internal/source"
)

// ReconcileAPI is what resuming and cleaning up need of the Assure API.
type ReconcileAPI interface {
	EachProcess(ctx context.Context, q assure.ProcessQuery, fn func(assure.ListedProcess) error) error
	ListDossiers(ctx context.Context) ([]assure.Dossier, error)
	GetDossier(ctx context.Context, dossierID string) (*assure.DossierResponse, error)
	DeleteDossierEvidence(ctx context.Context, dossierID string) (assure.Deletion, error)
}

// listWindow is how far back the API lists processes.
const listWindow = 30 * 24 * time.Hour

// Redrive says which committed `error` rows a later attempt re-attempts.
type Redrive string

const (
	// RedriveNone: none (the default): an error row stays.
	RedriveNone Redrive = "none"
	// RedriveRetryable: rows of failures that may pass another time — a
	// transport error, a 5xx, 429s past the budget, an outcome that stayed
	// unknown, an archive read that failed.
	RedriveRetryable Redrive = "retryable"
	// RedriveAll: every error row, a 400 for a bad image too.
	RedriveAll Redrive = "all"
)

// Valid reports whether r is one of the values above.
func (r Redrive) Valid() bool { return r == RedriveNone || r == RedriveRetryable || r == RedriveAll }

// redrives reports whether an error row of code is re-attempted.
func (r Redrive) redrives(code string) bool {
	return r == RedriveAll || r == RedriveRetryable && retryableCode(code)
}

// LoadResume gathers what earlier attempts of a run shard left: the journal,
// the rows already committed to Parquet (the source of truth for "done"),
// and — when there were earlier attempts — the API's own view, which covers
// the last moments before a crash that the journal could not record.
//
// No paid result is abandoned: a committed `timeout` row's process is
// polled again (its dossier was kept for that), and `error` rows are
// re-attempted as redrive says; their new rows supersede the old
// (report.Supersede). What a later attempt did with such a record before it
// was cut short (its journal, or the API's lists) is resumed whatever this
// attempt's redrive.
func LoadResume(ctx context.Context, out blob.Store, api ReconcileAPI, runID string, shard, count int, redrive Redrive, log *slog.Logger) (*journal.State, error) {
	st, err := journal.Read(ctx, out, report.JournalPrefix(runID, shard, count))
	if err != nil {
		return nil, err
	}
	if prev, err := report.ReadSummary(ctx, out, runID, shard, count); err == nil {
		// Only a size hint: an unreadable summary is reported when the
		// attempt writes its own (its history).
		st.ExpectCommitted(int(prev.Records))
	}
	committed := 0
	again := map[string]string{}    // rows taken up again, and why
	keptErrors := map[string]bool{} // records whose last row is an error left as it is
	err = report.EachCommittedRow(ctx, out, runID, shard, count, func(p report.CommittedPart, row report.CommittedRow) error {
		committed++
		k := row.Key() // a repeated record ID's row is its line's, not its record's
		// What the journal knows of it, if anything: most committed records
		// are not in st.Records (compaction took their entries out) and stay
		// out of it, in its compact set of committed ids.
		r := st.Records[k]
		delete(again, k) // rows come in attempt order: the last one decides
		delete(keptErrors, k)
		switch {
		case r != nil && r.Attempt > p.Attempt:
			// A later attempt took the record up again (a timeout polled, an
			// error redriven) and was cut short before its row: resume
			// what it did.
			r.Committed = false
			again[k] = "resumed"
		case row.Outcome == report.OutcomeTimeout && row.ProcessID != nil && row.DossierID != nil:
			// Its verification is paid for and was kept at the API: poll it.
			*st.Record(k) = journal.Record{Dossier: *row.DossierID, Process: *row.ProcessID, Started: true}
			again[k] = report.OutcomeTimeout
		case row.Outcome == report.OutcomeError && redrive.redrives(row.ErrorCode):
			*st.Record(k) = journal.Record{} // begin again (reconciliation below may find its process)
			again[k] = "redrive"
		default:
			st.MarkCommitted(k)
			if row.Outcome == report.OutcomeError {
				keptErrors[k] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read committed rows: %w", err)
	}
	if len(again) > 0 {
		n := map[string]int{}
		for _, why := range again {
			n[why]++
		}
		log.Info("taking committed rows up again", "timeouts_to_poll", n[report.OutcomeTimeout],
			"errors_to_redrive", n["redrive"], "resumed_from_a_later_attempt", n["resumed"], "redrive", string(redrive))
	}
	if st.Attempts == 0 && committed == 0 {
		// No journal and no rows: a new run — or one whose output was lost
		// (deleted, moved). The API says which: dossiers it still holds with
		// the run's externalReference. Their processes are created after
		// them, so the process list is read from the earliest one on.
		since, known, err := knownToTheAPI(ctx, api, runID, shard, count)
		if err != nil {
			return nil, fmt.Errorf("ask the API whether it knows the run: %w", err)
		}
		if !known {
			return st, nil // a new run
		}
		log.Warn("no journal and no rows, but the API holds dossiers of this run: its output was lost; reconciling with the API",
			"earliest_dossier", since.UTC().Format(time.RFC3339))
		st.RunStart = since
	}
	found, err := reconcile(ctx, api, st, keptErrors, runID, shard, count, log)
	if err != nil {
		return nil, fmt.Errorf("reconcile with the API: %w", err)
	}
	log.Info("resuming run", "earlier_attempts", st.Attempts, "committed_records", committed,
		"journaled_records", len(st.Records), "found_by_reconciliation", found)
	return st, nil
}

// knownToTheAPI reports whether the API holds dossiers of this run shard
// (among its most recent ones), and the earliest one's creation time.
func knownToTheAPI(ctx context.Context, api ReconcileAPI, runID string, shard, count int) (since time.Time, known bool, err error) {
	dossiers, err := api.ListDossiers(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	for _, d := range dossiers {
		id, ok := strings.CutPrefix(d.ExternalReference, runID+"/")
		if !ok || id == "" || !InShard(id, shard, count) {
			continue
		}
		created := d.CreatedAt.Time
		if !known || (!created.IsZero() && created.Before(since)) {
			since = created
		}
		known = true
	}
	return since, known, nil
}

// reconcile adds to st the dossiers and processes of this run shard that the
// API knows and the journal does not: a process created or started just
// before a crash is then polled, not created again. A started process of a
// record whose committed row is an error left as it is (keptErrors) and not
// the journal's is one a later attempt paid for (a redrive whose journal a
// crash lost): it is polled too, and its row replaces the error. It returns
// how many records it updated.
func reconcile(ctx context.Context, api ReconcileAPI, st *journal.State, keptErrors map[string]bool, runID string, shard, count int, log *slog.Logger) (int, error) {
	found := 0
	inShard := func(id string) bool { return InShard(id, shard, count) }
	onProcess := func(id string, p assure.ListedProcess) error {
		r := st.Record(id)
		if keptErrors[id] && r.Committed && p.Status != assure.StatusPending && r.Process != p.ProcessID {
			r.Committed = false
			r.Dossier, r.Process, r.Started, r.Deleted, r.Final = p.Dossier.DossierID, p.ProcessID, true, false, nil
			found++
			return nil
		}
		if r.Committed || r.Final != nil || r.Process == p.ProcessID {
			return nil
		}
		if r.Started && r.Process != "" {
			// The journal's own started process wins; this one was never
			// started by this run (it would be listed as started).
			if p.Status == assure.StatusPending {
				return nil
			}
			log.Warn("record has two started processes", "record_id", id, "process_id", p.ProcessID, "journal_process_id", r.Process)
			return nil
		}
		found++
		if p.Status != assure.StatusPending {
			r.Dossier, r.Process, r.Started, r.Deleted = p.Dossier.DossierID, p.ProcessID, true, false
			return nil
		}
		// Created, not started: the next attempt clears it and creates
		// its own (it needs the creation answer's page count).
		r.Dossier, r.Process, r.Pages, r.Started, r.Deleted = p.Dossier.DossierID, "", 0, false, false
		return nil
	}
	onDossier := func(id string, d assure.Dossier) error {
		r := st.Record(id)
		switch {
		case r.Dossier == d.DossierID:
		case r.Dossier == "" && !r.Committed && r.Final == nil:
			r.Dossier = d.DossierID
			found++
		default:
			// A second dossier of the record (a create whose answer was lost):
			// nothing started in it, or the process list would have said so.
			del, err := api.DeleteDossierEvidence(ctx, d.DossierID)
			if err != nil && assure.StatusCodeOf(err) != http.StatusNotFound {
				log.Warn("stray dossier not deleted", "record_id", id, "dossier_id", d.DossierID, "error", err)
				return nil
			}
			st.Deletions = append(st.Deletions, DeletionEntry(id, d.DossierID, del, time.Now()))
		}
		return nil
	}
	err := eachRunObject(ctx, api, runID, st.RunStart, inShard, onProcess, onDossier)
	return found, err
}

// eachRunObject hands over what the API knows of a run: every process created
// since the run began (GET /processes, paged) and every recent dossier
// (GET /dossiers), whose externalReference is <runID>/<record id> with a
// record id that keep accepts.
func eachRunObject(ctx context.Context, api ReconcileAPI, runID string, runStart time.Time, keep func(string) bool,
	onProcess func(recordID string, p assure.ListedProcess) error, onDossier func(recordID string, d assure.Dossier) error) error {
	recordOf := func(ref string) (string, bool) {
		id, ok := strings.CutPrefix(ref, runID+"/")
		return id, ok && id != "" && keep(id)
	}
	q := assure.ProcessQuery{Start: reconcileStart(runStart, time.Now())}
	err := api.EachProcess(ctx, q, func(p assure.ListedProcess) error {
		if id, ok := recordOf(p.Dossier.ExternalReference); ok {
			return onProcess(id, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	dossiers, err := api.ListDossiers(ctx)
	if err != nil {
		return fmt.Errorf("list dossiers: %w", err)
	}
	for _, d := range dossiers {
		if id, ok := recordOf(d.ExternalReference); ok {
			if err := onDossier(id, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// BeginAttempt opens the journal of the next attempt of a run shard, given
// what earlier attempts left (resume), and returns it with the attempt's id.
// The id starts with the attempt's number (report.AttemptID), so the journal
// folder lists the attempts in the order they ran, which is the order
// journal.Read folds them. The attempt's run entry is on storage when it
// returns (journal.Begin).
// flushEvery is the checkpoint interval where the store cannot append (0:
// journal.DefaultFlushEvery).
func BeginAttempt(ctx context.Context, out blob.Store, runID string, shard, count int, resume *journal.State,
	started time.Time, flushEvery time.Duration) (*journal.Writer, string, error) {
	attempt := report.AttemptID(resume.Attempts+1, started)
	j, err := journal.Begin(ctx, out, report.JournalPrefix(runID, shard, count), attempt, started, resume.RunStart, flushEvery)
	if err != nil {
		return nil, "", err
	}
	// The earlier attempts' results whose rows are committed leave the
	// journal; the others stay until this attempt commits their rows.
	j.Adopt(resume.FinalObjects, resume.PendingFinals())
	return j, attempt, nil
}

// reconcileStart is where to start listing processes: a minute before the
// run began (clock skew), within the API's 30-day window less a day (the
// API checks the window against its own clock, which may run ahead: an
// emulator's runs faster than real time).
func reconcileStart(runStart, now time.Time) time.Time {
	earliest := now.Add(-listWindow).Add(24 * time.Hour)
	if runStart.IsZero() || runStart.Before(earliest) {
		return earliest
	}
	return runStart.Add(-time.Minute)
}

// leftInLog folds a dossier log into targets: a creation adds its dossier
// (when created is set), a deletion the API confirmed (2xx, or 404: gone)
// removes it.
func leftInLog(ctx context.Context, out blob.Store, prefix string, targets map[string]LeftDossier, created bool) error {
	err := journal.Each(ctx, out, prefix, func(_ string, e journal.Entry) error {
		switch {
		case e.Dossier == "":
		case e.Type == journal.TypeDossier && created:
			if _, ok := targets[e.Dossier]; !ok {
				targets[e.Dossier] = LeftDossier{Dossier: e.Dossier, Record: e.Record, Via: "journal"}
			}
		case e.Type == journal.TypeDeleted && (e.Status/100 == 2 || e.Status == http.StatusNotFound):
			delete(targets, e.Dossier)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the dossier log: %w", err)
	}
	return nil
}

// CleanupResult says what Cleanup did.
type CleanupResult struct {
	Found   int // dossiers of the run still at the API
	Deleted int
	Failed  int
	// Left are the dossiers found (CleanupOptions.List: nothing is deleted).
	Left []LeftDossier
	// Shards counts the run's shards found in the output (0: the output
	// does not know the run; only the API's lists were searched).
	Shards int
}

// LeftDossier is a dossier of a run still at the API.
type LeftDossier struct {
	Dossier, Record string
	// Via says how it was found: "journal" (an attempt recorded it and not
	// its deletion) or "api" (the API lists it with the run's external
	// reference).
	Via string
}

// CleanupOptions say how Cleanup works.
type CleanupOptions struct {
	// List finds the dossiers left without deleting any.
	List bool
	// Dossiers, when set, records each deletion with the API's answer
	// (report.CleanupLogPrefix: the evidence of deletion).
	Dossiers Journal
}

// Cleanup deletes every dossier a run created and did not delete: those its
// journals name, and those the API lists with the run's external
// reference. Timed-out records' dossiers are deleted too (their processes
// can no longer be collected afterwards). With opt.List it deletes nothing
// and returns what it would delete: a dossier only the journal names is
// looked up first (a free read), so that one whose deletion the journal did
// not record is not listed.
func Cleanup(ctx context.Context, out blob.Store, api ReconcileAPI, runID string, opt CleanupOptions, log *slog.Logger) (CleanupResult, error) {
	var res CleanupResult
	targets := map[string]LeftDossier{}
	var runStart time.Time
	shards, err := report.Shards(ctx, out, runID)
	if err != nil {
		return res, err
	}
	res.Shards = len(shards)
	for _, sh := range shards {
		st, err := journal.Read(ctx, out, report.JournalPrefix(runID, sh.Shard, sh.Count))
		if err != nil {
			return res, err
		}
		if !st.RunStart.IsZero() && (runStart.IsZero() || st.RunStart.Before(runStart)) {
			runStart = st.RunStart
		}
		for id, r := range st.Records {
			if r.Dossier != "" && !r.Deleted {
				targets[r.Dossier] = LeftDossier{Dossier: r.Dossier, Record: id, Via: "journal"}
			}
		}
		// The journal forgets a committed record (compaction); the dossier
		// log never does: every dossier it created and no deletion followed.
		if err := leftInLog(ctx, out, report.DossierLogPrefix(runID, sh.Shard, sh.Count), targets, true); err != nil {
			return res, err
		}
	}
	if res.Shards > 0 {
		// What earlier cleanups deleted.
		if err := leftInLog(ctx, out, report.CleanupLogPrefix(runID), targets, false); err != nil {
			return res, err
		}
	}
	listed := func(id, dossier string) {
		targets[dossier] = LeftDossier{Dossier: dossier, Record: id, Via: "api"}
	}
	err = eachRunObject(ctx, api, runID, runStart, func(string) bool { return true },
		func(id string, p assure.ListedProcess) error { listed(id, p.Dossier.DossierID); return nil },
		func(id string, d assure.Dossier) error { listed(id, d.DossierID); return nil })
	if err != nil {
		return res, err
	}
	ids := make([]string, 0, len(targets))
	for d := range targets {
		ids = append(ids, d)
	}
	sort.Strings(ids)
	for _, dossier := range ids {
		t := targets[dossier]
		if opt.List {
			if t.Via == "journal" {
				_, err := api.GetDossier(ctx, dossier)
				if assure.StatusCodeOf(err) == http.StatusNotFound {
					continue // deleted; the journal did not record it
				}
				if err != nil && fault.Fatal(err) {
					return res, err
				}
			}
			res.Found++
			res.Left = append(res.Left, t)
			continue
		}
		d, err := api.DeleteDossierEvidence(ctx, dossier)
		switch {
		case err == nil:
			res.Found++
			res.Deleted++
			log.Info("dossier deleted", "record_id", t.Record, "dossier_id", dossier)
		case assure.StatusCodeOf(err) == http.StatusNotFound:
			// Already gone.
		default:
			if fault.Fatal(err) {
				return res, err
			}
			res.Found++
			res.Failed++
			log.Warn("dossier not deleted", "record_id", t.Record, "dossier_id", dossier, "error", err)
			continue
		}
		if opt.Dossiers != nil {
			if err := opt.Dossiers.Append(ctx, DeletionEntry(t.Record, dossier, d, time.Now())); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// resumeKey is what earlier attempts' state of a listed record is filed
// under: its ID — or, for a repeated ID, its line, whose row is its own
// (report.RowKey), so that it takes neither the record's journal (its
// dossier, its process) nor the record's row for its own.
func resumeKey(r *source.Record) string {
	if r.Repeated() {
		return report.DuplicateKey(r.Origin)
	}
	return r.ID
}

// Supersede removes from a run shard's output every row that the attempt
// replaced — a re-polled timeout, a redriven error — so one glob over the
// output gives one row per record (report.Supersede). It runs after the
// attempt's rows are committed, and before its lease is released; a crash
// in it is repaired by the next attempt's.
func Supersede(ctx context.Context, out blob.Store, runID string, shard, count int, attempt string, log *slog.Logger) error {
	log.Debug("removing the rows this attempt replaced")
	res, err := report.Supersede(ctx, out, runID, shard, count, attempt)
	if res.Rows > 0 || res.Repaired > 0 {
		log.Info("superseded rows removed", "rows", res.Rows, "parts_rewritten", res.Rewritten, "parts_deleted", res.Deleted,
			"parts_left_by_a_cut_rewrite", res.Repaired)
	}
	return err
}

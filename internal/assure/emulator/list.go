package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"reverify/internal/assure"
)

// Limits and orders of GET /processes.
const (
	listWindow       = 30 * 24 * time.Hour
	listMaxOffset    = 200000
	listMaxLimit     = 2000
	listDefaultLimit = 100
	// OrderDescending is the documented default order.
	OrderDescending = "createdAtDescending"
	// OrderAscending is the emulator's name for the other order (the real
	// name was not found in Signicat's documentation).
	OrderAscending = "createdAtAscending"
)

// listFilters is the `filters` echo of GET /processes.
type listFilters struct {
	StartCreationDate string          `json:"startCreationDate"`
	EndCreationDate   string          `json:"endCreationDate,omitempty"`
	Status            []assure.Status `json:"status,omitempty"`
	Offset            int             `json:"offset"`
	Limit             int             `json:"limit"`
	Order             string          `json:"order"`
}

type listQuery struct {
	start, end time.Time // end zero: open
	statuses   map[assure.Status]bool
	filters    listFilters
}

// parseListQuery validates the query of GET /processes.
func parseListQuery(q url.Values, now time.Time) (listQuery, *apiError) {
	var lq listQuery
	s := q.Get("startCreationDate")
	if s == "" {
		return lq, badRequest("The query parameter 'startCreationDate' is required.")
	}
	start, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return lq, badRequest("startCreationDate must be an ISO-8601 UTC timestamp such as 2025-01-31T00:00:00Z.")
	}
	if start.Before(now.Add(-listWindow)) {
		return lq, badRequest("startCreationDate must be within the last 30 days.")
	}
	lq.start = start.UTC()
	lq.filters.StartCreationDate = lq.start.Format(assure.TimeLayout)
	if s := q.Get("endCreationDate"); s != "" {
		end, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lq, badRequest("endCreationDate must be an ISO-8601 UTC timestamp such as 2025-01-31T00:00:00Z.")
		}
		if end.Before(start) {
			return lq, badRequest("endCreationDate must not be before startCreationDate.")
		}
		lq.end = end.UTC()
		lq.filters.EndCreationDate = lq.end.Format(assure.TimeLayout)
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			status := assure.Status(strings.TrimSpace(st))
			if !status.Known() {
				return lq, badRequest("Unknown status '%s'.", st)
			}
			if lq.statuses == nil {
				lq.statuses = map[assure.Status]bool{}
			}
			if !lq.statuses[status] {
				lq.statuses[status] = true
				lq.filters.Status = append(lq.filters.Status, status)
			}
		}
	}
	intParam := func(name string, def, lo, hi int) (int, *apiError) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, badRequest("%s must be an integer between %d and %d.", name, lo, hi)
		}
		return n, nil
	}
	var aerr *apiError
	if lq.filters.Offset, aerr = intParam("offset", 0, 0, listMaxOffset); aerr != nil {
		return lq, aerr
	}
	if lq.filters.Limit, aerr = intParam("limit", listDefaultLimit, 1, listMaxLimit); aerr != nil {
		return lq, aerr
	}
	switch o := q.Get("order"); o {
	case "", OrderDescending:
		lq.filters.Order = OrderDescending
	case OrderAscending:
		lq.filters.Order = OrderAscending
	default:
		return lq, badRequest("order must be %s or %s.", OrderDescending, OrderAscending)
	}
	return lq, nil
}

// listProcesses serves GET /processes.
func (e *Emulator) listProcesses(w http.ResponseWriter, r *http.Request, _ params) error {
	lq, aerr := parseListQuery(r.URL.Query(), e.clock.emulated())
	if aerr != nil {
		return aerr
	}
	var cands []*process
	for _, p := range e.store.liveProcesses() {
		c := assure.NewTime(p.createdAt).Time
		if c.Before(lq.start) || (!lq.end.IsZero() && c.After(lq.end)) {
			continue
		}
		cands = append(cands, p)
	}
	sort.Slice(cands, func(i, j int) bool {
		if lq.filters.Order == OrderAscending {
			return cands[i].seq < cands[j].seq
		}
		return cands[i].seq > cands[j].seq
	})
	// Only a status filter needs the status of every candidate.
	var listed []assure.ListedProcess
	total := 0
	for _, p := range cands {
		inPage := total >= lq.filters.Offset && len(listed) < lq.filters.Limit
		if lq.statuses == nil && !inPage {
			total++
			continue
		}
		lp, ok, err := e.listed(p)
		if err != nil {
			return err
		}
		if !ok || (lq.statuses != nil && !lq.statuses[lp.Status]) {
			continue
		}
		if inPage {
			listed = append(listed, lp)
		}
		total++
	}
	filters, err := json.Marshal(lq.filters)
	if err != nil {
		return fmt.Errorf("encode filters: %w", err)
	}
	if listed == nil {
		listed = []assure.ListedProcess{}
	}
	writeJSON(w, http.StatusOK, assure.ProcessList{Processes: listed, Filters: filters, TotalResults: total})
	return nil
}

// listed is a process as GET /processes lists it; false when it or its
// dossier was deleted meanwhile.
func (e *Emulator) listed(p *process) (assure.ListedProcess, bool, error) {
	d, ok := e.store.dossier(p.dossierID)
	if !ok {
		return assure.ListedProcess{}, false, nil
	}
	v, ok, err := e.processView(p)
	if err != nil || !ok {
		return assure.ListedProcess{}, false, err
	}
	return assure.ListedProcess{
		ProcessID: v.ProcessID, Dossier: d.view(), Provider: v.Provider, Status: v.Status,
		ProcessType: v.ProcessType, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
	}, true, nil
}

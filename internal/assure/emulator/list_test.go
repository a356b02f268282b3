package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/inspect"
	"reverify/internal/testutil/testimage"
)

func TestListProcesses(t *testing.T) {
	e := newEnv(t, nil)
	since := e.emu.Now().Add(-time.Hour).Format(time.RFC3339)
	var ids []string
	var dossiers []string
	for i := range 6 {
		d := e.createDossier()
		p := e.createProcess(d, pictureid.ProcessDocument, 137)
		if i < 3 { // three started and final
			require.Equal(t, http.StatusCreated, e.setImages(d, p.ProcessID, map[string][]byte{"front": testimage.FrontJPEG(t, holder())}).code)
			require.Equal(t, http.StatusOK, e.start(d, p.ProcessID).code)
		}
		ids = append(ids, p.ProcessID)
		dossiers = append(dossiers, d)
		e.clock.Advance(time.Minute)
	}
	e.clock.Advance(2 * time.Minute)
	// A deleted process and a deleted dossier are not listed.
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, procPath(dossiers[4], ids[4]), nil).code)
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/assure/dossiers/"+dossiers[5], nil).code)

	list := func(q url.Values) (assure.ProcessList, resp) {
		t.Helper()
		r := e.do(http.MethodGet, "/assure/processes?"+q.Encode(), nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		var pl assure.ProcessList
		r.json(t, &pl)
		return pl, r
	}
	pl, r := list(url.Values{"startCreationDate": {since}})
	assert.Equal(t, 4, pl.TotalResults)
	require.Len(t, pl.Processes, 4)
	assert.Equal(t, []string{ids[3], ids[2], ids[1], ids[0]}, listedIDs(pl), "createdAtDescending by default")
	first := pl.Processes[3]
	assert.Equal(t, dossiers[0], first.Dossier.DossierID)
	assert.Equal(t, "ref-1", first.Dossier.ExternalReference)
	assert.Equal(t, assure.StatusAccepted, first.Status)
	assert.Equal(t, assure.StatusPending, pl.Processes[0].Status)
	var filters map[string]any
	require.NoError(t, json.Unmarshal(pl.Filters, &filters))
	assert.Equal(t, map[string]any{"startCreationDate": since, "offset": 0.0, "limit": 100.0, "order": "createdAtDescending"}, filters)
	keys := inspect.FieldPaths(t, r.body)
	for _, k := range []string{"processes[].processId", "processes[].dossier.dossierId", "processes[].dossier.createdAt",
		"processes[].dossier.updatedAt", "processes[].provider", "processes[].status", "processes[].processType",
		"processes[].createdAt", "processes[].updatedAt", "filters", "totalResults"} {
		assert.Contains(t, keys, k)
	}

	pl, _ = list(url.Values{"startCreationDate": {since}, "order": {"createdAtAscending"}, "offset": {"1"}, "limit": {"2"}})
	assert.Equal(t, []string{ids[1], ids[2]}, listedIDs(pl))
	assert.Equal(t, 4, pl.TotalResults)

	pl, _ = list(url.Values{"startCreationDate": {since}, "status": {"accepted", "processing"}})
	assert.Equal(t, []string{ids[2], ids[1], ids[0]}, listedIDs(pl))
	assert.Equal(t, 3, pl.TotalResults)
	pl, _ = list(url.Values{"startCreationDate": {since}, "status": {"pending"}, "limit": {"1"}})
	assert.Equal(t, []string{ids[3]}, listedIDs(pl))
	assert.Equal(t, 1, pl.TotalResults)

	created1 := e.getProcess(dossiers[1], ids[1]).CreatedAt.Format(time.RFC3339)
	created2 := e.getProcess(dossiers[2], ids[2]).CreatedAt.Format(time.RFC3339)
	pl, _ = list(url.Values{"startCreationDate": {created1}, "endCreationDate": {created2}})
	assert.Equal(t, []string{ids[2], ids[1]}, listedIDs(pl), "both bounds inclusive")

	pl, _ = list(url.Values{"startCreationDate": {since}, "offset": {"10"}})
	assert.Empty(t, pl.Processes)
	assert.NotNil(t, pl.Processes)
	assert.Equal(t, 4, pl.TotalResults)
}

func listedIDs(pl assure.ProcessList) []string {
	var out []string
	for _, p := range pl.Processes {
		out = append(out, p.ProcessID)
	}
	return out
}

func TestListProcessesErrors(t *testing.T) {
	e := newEnv(t, nil)
	now := e.emu.Now()
	ok := now.Add(-time.Hour).Format(time.RFC3339)
	cases := map[string]url.Values{
		"missing start":   {},
		"bad start":       {"startCreationDate": {"yesterday"}},
		"date only":       {"startCreationDate": {now.Format("2006-01-02")}},
		"older than 30d":  {"startCreationDate": {now.Add(-30*24*time.Hour - time.Second).Format(time.RFC3339)}},
		"bad end":         {"startCreationDate": {ok}, "endCreationDate": {"x"}},
		"end before":      {"startCreationDate": {ok}, "endCreationDate": {now.Add(-2 * time.Hour).Format(time.RFC3339)}},
		"bad status":      {"startCreationDate": {ok}, "status": {"done"}},
		"negative offset": {"startCreationDate": {ok}, "offset": {"-1"}},
		"offset too big":  {"startCreationDate": {ok}, "offset": {"200001"}},
		"limit zero":      {"startCreationDate": {ok}, "limit": {"0"}},
		"limit too big":   {"startCreationDate": {ok}, "limit": {"2001"}},
		"limit not int":   {"startCreationDate": {ok}, "limit": {"ten"}},
		"bad order":       {"startCreationDate": {ok}, "order": {"newest"}},
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			assertProblem(t, e.do(http.MethodGet, "/assure/processes?"+q.Encode(), nil), 400, "/assure/processes", "GET", "Bad Request", "")
		})
	}
	for name, q := range map[string]url.Values{
		"exactly 30 days": {"startCreationDate": {now.Add(-30 * 24 * time.Hour).Format(time.RFC3339)}},
		"limits":          {"startCreationDate": {ok}, "offset": {"200000"}, "limit": {"2000"}},
		"comma statuses":  {"startCreationDate": {ok}, "status": {"accepted,failed"}},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/assure/processes?"+q.Encode(), nil).code)
		})
	}
}

// TestListWindowUsesEmulatedClock: with time_scale 0.001, 45 real minutes
// are about 31 emulated days.
func TestListWindowUsesEmulatedClock(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TimeScale = 0.001 })
	start := e.emu.Now().Format(time.RFC3339)
	q := "/assure/processes?startCreationDate=" + url.QueryEscape(start)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, q, nil).code)
	e.clock.Advance(45 * time.Minute)
	assert.Equal(t, http.StatusBadRequest, e.do(http.MethodGet, q, nil).code)
}

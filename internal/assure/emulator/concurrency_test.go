package emulator

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/specimen"
	"reverify/internal/testutil/testimage"
)

// TestConcurrentFlows runs 200 complete flows at once over the real clock,
// each with its own token: token → dossier → process → images → start →
// poll to final → download → delete. Run with -race.
func TestConcurrentFlows(t *testing.T) {
	const n = 200
	e := newRealEnv(t, func(c *Config) {
		c.TimeScale = 0.001 // 5..120 s of processing are 5..120 ms
		// 15 emulated minutes would be 0.9 s of real time, less than a
		// loaded 2-core machine may take between upload and start.
		c.TransactionExpiry = 30 * 24 * time.Hour
	})
	back := testimage.JPEG(t, testimage.Color(40, 30, 3))
	type result struct {
		status assure.Status
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := runFlow(e, i, back)
			results[i] = result{st, err}
		})
	}
	wg.Wait()
	counts := map[assure.Status]int{}
	for i, r := range results {
		require.NoError(t, r.err, "flow %d", i)
		counts[r.status]++
	}
	// Flow i is underage when i%10 == 3 and another person when i%10 == 7.
	assert.Equal(t, map[assure.Status]int{assure.StatusAccepted: n * 8 / 10, assure.StatusRejected: n * 2 / 10}, counts)
	c := e.emu.Counters()
	assert.Equal(t, int64(n), c.DossiersCreated)
	assert.Equal(t, int64(n), c.DossiersDeleted)
	assert.Zero(t, c.DossiersLive)
	assert.Equal(t, int64(n), c.VerificationsStarted)
	assert.Equal(t, int64(1), c.MaxStartRequestsPerProcess)
	assert.Equal(t, int64(n+1), c.TokensIssued)
	assert.Empty(t, e.emu.store.liveProcesses())
}

// runFlow is one client's complete flow with plain HTTP.
func runFlow(e *env, i int, back []byte) (assure.Status, error) {
	tr := e.client
	tokResp, err := postToken(tr, e.srv.URL)
	if err != nil {
		return "", err
	}
	c := &flowClient{base: e.srv.URL + "/assure", token: tokResp, hc: tr}
	var d assure.Dossier
	if err := c.call(http.MethodPost, "/dossiers", map[string]string{"externalReference": fmt.Sprint("flow-", i)}, 201, &d); err != nil {
		return "", err
	}
	var p assure.ProcessResponse
	if err := c.call(http.MethodPost, "/dossiers/"+d.DossierID+"/processes",
		assure.CreateProcessRequest{Provider: assure.ProviderPictureID, DocumentID: 136}, 201, &p); err != nil {
		return "", err
	}
	front := holder()
	front.PersonID = fmt.Sprint("person-", i)
	if i%10 == 3 {
		front.DateOfBirth = "2015-01-01"
	}
	selfie := testimage.SelfieData(front.PersonID, false)
	if i%10 == 7 {
		selfie.PersonID = "someone-else"
	}
	imgs := map[string]string{
		"front":  dataURL(mustEmbed(testimage.MustJPEG(testimage.Color(64, 40, uint8(i))), front)),
		"back":   dataURL(back),
		"selfie": dataURL(mustEmbed(testimage.MustJPEG(testimage.Color(40, 64, uint8(i))), selfie)),
	}
	pp := "/dossiers/" + d.DossierID + "/processes/" + p.ProcessID
	if err := c.call(http.MethodPost, pp+"/images", imgs, 201, nil); err != nil {
		return "", err
	}
	if err := c.call(http.MethodPost, pp, map[string]string{}, 200, nil); err != nil {
		return "", err
	}
	var v assure.Process
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := c.call(http.MethodGet, pp, nil, 200, &v); err != nil {
			return "", err
		}
		if v.Status.Final() {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("flow %d: still %s", i, v.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.call(http.MethodGet, pp+"/download", nil, 200, nil); err != nil {
		return "", fmt.Errorf("status %s: %w", v.Status, err)
	}
	if err := c.call(http.MethodDelete, pp, nil, 204, nil); err != nil {
		return "", err
	}
	if err := c.call(http.MethodDelete, "/dossiers/"+d.DossierID, nil, 204, nil); err != nil {
		return "", err
	}
	return v.Status, nil
}

func mustEmbed(img []byte, d specimen.Data) []byte {
	out, err := specimen.Embed(img, d)
	if err != nil {
		panic(err)
	}
	return out
}

package assure_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"reverify/internal/assure"
	"reverify/internal/assure/emulator"
	"reverify/internal/fault"
	"reverify/internal/pictureid"
	"reverify/internal/testutil/testimage"
)

// These tests pin the call policy (assure.RetryPolicy): every call's
// attempts and elapsed time follow from the one policy block, and a call
// that is not idempotent is sent again only after the caller's read-back
// says it was not applied.

// findByRef is a create-dossier read-back: the dossier of ref among the
// client's recent dossiers, or nil.
func findByRef(c *assure.Client, ref string, calls *atomic.Int32) assure.ReadBack[assure.Dossier] {
	return func(ctx context.Context) (*assure.Dossier, error) {
		calls.Add(1)
		list, err := c.ListDossiers(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			if d.ExternalReference == ref {
				return &d, nil
			}
		}
		return nil, nil
	}
}

func TestReadBackSettlesAnUnknownCreate(t *testing.T) {
	t.Run("not applied: sent again", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		// A 500 before the handler: the API did nothing, but the client
		// cannot know that.
		h.inject(assure.EndpointCreateDossier, emulator.FaultSpec{ServerError: 1})
		h.liftFaultsAfter(assure.EndpointCreateDossier, 1)
		var reads atomic.Int32
		d, err := h.client.CreateDossier(context.Background(), "ref-a", findByRef(h.client, "ref-a", &reads))
		require.NoError(t, err)
		assert.Equal(t, "ref-a", d.ExternalReference)
		assert.EqualValues(t, 1, reads.Load(), "read back once before sending again")
		assert.EqualValues(t, 2, h.total(assure.EndpointCreateDossier))
		assert.EqualValues(t, 1, h.emu.Counters().DossiersCreated)
	})
	t.Run("applied, answer lost: the read-back's dossier, not a second one", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		// The handler runs, then the answer is cut in half.
		h.inject(assure.EndpointCreateDossier, emulator.FaultSpec{Truncate: 1})
		h.liftFaultsAfter(assure.EndpointCreateDossier, 1)
		var reads atomic.Int32
		d, err := h.client.CreateDossier(context.Background(), "ref-b", findByRef(h.client, "ref-b", &reads))
		require.NoError(t, err)
		assert.Equal(t, "ref-b", d.ExternalReference)
		assert.NotEmpty(t, d.DossierID)
		assert.EqualValues(t, 1, reads.Load())
		assert.EqualValues(t, 1, h.total(assure.EndpointCreateDossier), "never sent again")
		assert.EqualValues(t, 1, h.emu.Counters().DossiersCreated)
	})
	t.Run("a failed read-back leaves the outcome unknown", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		h.inject(assure.EndpointCreateDossier, emulator.FaultSpec{Truncate: 1})
		broken := errors.New("lookup failed")
		_, err := h.client.CreateDossier(context.Background(), "ref-c",
			func(context.Context) (*assure.Dossier, error) { return nil, broken })
		require.Error(t, err)
		assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
		assert.Contains(t, err.Error(), "lookup failed")
		assert.Equal(t, fault.Retry, fault.Of(err))
		assert.EqualValues(t, 1, h.total(assure.EndpointCreateDossier))
	})
	t.Run("start: read back through the process, started once", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		ctx := context.Background()
		d, err := h.client.CreateDossier(ctx, "ref-d", nil)
		require.NoError(t, err)
		pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
		require.NoError(t, err)
		require.NoError(t, h.client.SetImages(ctx, d.DossierID, pr.ProcessID, assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}))
		h.inject(assure.EndpointStartVerification, emulator.FaultSpec{Truncate: 1})
		h.liftFaultsAfter(assure.EndpointStartVerification, 1)
		var reads atomic.Int32
		v, err := h.client.StartVerification(ctx, d.DossierID, pr.ProcessID, func(ctx context.Context) (*assure.VerifyResponse, error) {
			reads.Add(1)
			p, err := h.client.GetProcess(ctx, d.DossierID, pr.ProcessID)
			if err != nil || p.Status == assure.StatusPending {
				return nil, err
			}
			return &assure.VerifyResponse{ProcessID: p.ProcessID, Status: p.Status}, nil
		})
		require.NoError(t, err)
		assert.Equal(t, pr.ProcessID, v.ProcessID)
		assert.EqualValues(t, 1, reads.Load())
		c := h.emu.Counters()
		assert.EqualValues(t, 1, c.VerificationsStarted)
		assert.EqualValues(t, 1, c.MaxStartRequestsPerProcess)
	})
}

// Every call — attempts, backoffs, pauses, a stalled server — ends within
// api.retry.max_elapsed, and is sent at most max_attempts times (429s
// excepted). No other layer multiplies the attempts.
func TestEveryCallEndsWithinItsBudget(t *testing.T) {
	const budget = 600 * time.Millisecond
	// What a loaded machine under -race may add after the deadline.
	const slack = 1500 * time.Millisecond
	policy := assure.RetryPolicy{MaxAttempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond,
		MaxPause: 200 * time.Millisecond, MaxElapsed: budget}
	newClient := func(h *harness) *assure.Client {
		return h.newClient(func(c *assure.Config) { c.Retry = policy })
	}
	ready := func(t *testing.T, h *harness) (string, string) {
		ctx := context.Background()
		d, err := h.client.CreateDossier(ctx, "budget", nil)
		require.NoError(t, err)
		pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
		require.NoError(t, err)
		return d.DossierID, pr.ProcessID
	}
	front := func(t *testing.T) assure.Images {
		return assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}
	}

	t.Run("5xx: max_attempts sends", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		d, p := ready(t, h)
		c := newClient(h)
		h.inject(assure.EndpointSetImages, emulator.FaultSpec{ServerError: 1})
		began := time.Now()
		err := c.SetImages(context.Background(), d, p, front(t))
		require.Error(t, err)
		assert.Less(t, time.Since(began), budget+slack)
		assert.Contains(t, err.Error(), "giving up after 3 attempts")
		assert.Equal(t, fault.Retry, fault.Of(err))
		assert.EqualValues(t, 3, h.total(assure.EndpointSetImages), "one retry layer: max_attempts sends, not a product")
	})
	t.Run("429 storm: retried until the budget, not past it", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		d, p := ready(t, h)
		c := newClient(h)
		// 100 emulated seconds: "Retry-After: 0" at this scale, so the
		// client backs off on its own.
		h.inject(assure.EndpointSetImages, emulator.FaultSpec{TooManyRequests: 1, RetryAfter: 100 * time.Second})
		began := time.Now()
		err := c.SetImages(context.Background(), d, p, front(t))
		took := time.Since(began)
		require.Error(t, err)
		assert.Less(t, took, budget+slack)
		assert.Equal(t, 429, assure.StatusCodeOf(err))
		assert.Greater(t, h.total(assure.EndpointSetImages), int64(3), "429s do not use up max_attempts")
	})
	t.Run("a stalled start ends with its attempt, outcome unknown", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, nil)
		d, p := ready(t, h)
		require.NoError(t, h.client.SetImages(context.Background(), d, p, front(t)))
		c := h.newClient(func(c *assure.Config) { c.Retry, c.RequestTimeout = policy, budget/2 })
		// 20 emulated minutes of latency: 1.2 s, twice the budget.
		h.inject(assure.EndpointStartVerification, emulator.FaultSpec{Latency: emulator.FaultLatency{Probability: 1, Min: 20 * time.Minute}})
		began := time.Now()
		_, err := c.StartVerification(context.Background(), d, p, nil)
		require.Error(t, err)
		assert.Less(t, time.Since(began), budget+slack)
		assert.True(t, assure.IsOutcomeUnknown(err), "%v", err)
		assert.Len(t, h.log.of(assure.EndpointStartVerification), 1, "sent once: never repeated blindly")
	})
}

// The provider fails a verification started more than 15 minutes after the
// process's first image. A record's set images and start verification are
// two calls whose bounds follow from the policy (WorstSubmit), so the
// default policy, and every policy batch run accepts (internal/config), fit
// that window; measured here on the worst path: set images failing until its
// budget is nearly spent, then a start refused until its budget is spent.
func TestSubmitStepsFitTheProviderWindow(t *testing.T) {
	def := assure.RetryPolicy{}.WithDefaults()
	// The defaults: set images 2 + 2 min; start 2 + 2 min, then the wait for
	// an unanswered start to be over (2 min + 12 s) and its read-back (as long).
	assert.Equal(t, 12*time.Minute+24*time.Second, def.WorstSubmit(2*time.Minute))
	assert.LessOrEqual(t, def.WorstSubmit(2*time.Minute), assure.SubmitWindow)

	const budget, requestTimeout = 500 * time.Millisecond, 200 * time.Millisecond
	policy := assure.RetryPolicy{MaxAttempts: 100, BaseDelay: 30 * time.Millisecond, MaxDelay: 60 * time.Millisecond,
		MaxPause: time.Second, MaxElapsed: budget}
	h := newHarness(t, nil)
	ctx := context.Background()
	d, err := h.client.CreateDossier(ctx, "window", nil)
	require.NoError(t, err)
	pr, err := h.client.CreateProcess(ctx, d.DossierID, assure.CreateProcessRequest{ProcessType: pictureid.ProcessDocument, DocumentID: 137}, nil)
	require.NoError(t, err)
	c := h.newClient(func(c *assure.Config) { c.Retry, c.RequestTimeout = policy, requestTimeout })

	// Set images: the images are stored but every answer is cut short,
	// until the budget is nearly spent; then it goes through.
	h.inject(assure.EndpointSetImages, emulator.FaultSpec{Truncate: 1})
	first := time.Now()
	time.AfterFunc(budget*3/4, h.noFaults)
	require.NoError(t, c.SetImages(ctx, d.DossierID, pr.ProcessID, assure.Images{Front: img(testimage.FrontJPEG(t, seedHolder()))}))
	// Start: a 500 before the handler every time; the read-back sees the
	// process still pending, so it is sent again until its budget is spent.
	h.inject(assure.EndpointStartVerification, emulator.FaultSpec{ServerError: 1})
	var reads atomic.Int32
	_, err = c.StartVerification(ctx, d.DossierID, pr.ProcessID, func(ctx context.Context) (*assure.VerifyResponse, error) {
		reads.Add(1)
		p, err := c.GetProcess(ctx, d.DossierID, pr.ProcessID)
		if err != nil || p.Status == assure.StatusPending {
			return nil, err
		}
		return &assure.VerifyResponse{ProcessID: p.ProcessID, Status: p.Status}, nil
	})
	took := time.Since(first)
	// "giving up", or "outcome unknown" when the budget ended during a
	// read-back: either way within the bound, and nothing started.
	require.Error(t, err)
	assert.Less(t, took, policy.WorstSubmit(requestTimeout)+time.Second, "first image to the end of start: within WorstSubmit")
	assert.Greater(t, h.total(assure.EndpointSetImages), int64(2))
	assert.Greater(t, reads.Load(), int32(1))
	assert.Zero(t, h.emu.Counters().VerificationsStarted)
}

package emulator

import (
	"maps"
	"sync"
)

// Counters report what the emulator did since it was created or last reset.
// GET /_emulator/counters answers them as JSON.
type Counters struct {
	DossiersCreated int64 `json:"dossiers_created"`
	DossiersDeleted int64 `json:"dossiers_deleted"`
	// DossiersLive is created minus deleted: dossiers still stored.
	DossiersLive     int64 `json:"dossiers_live"`
	ProcessesCreated int64 `json:"processes_created"`
	// ProcessesDeleted counts deleted processes, including those deleted
	// with their dossier.
	ProcessesDeleted int64 `json:"processes_deleted"`
	// VerificationsStarted counts successful start verification calls.
	VerificationsStarted int64 `json:"verifications_started"`
	// StartRequests counts, per process id, every start verification
	// request that reached the handler for an existing process (including
	// 400s and 409s). It survives deletion of the process.
	StartRequests map[string]int64 `json:"start_requests_per_process"`
	// MaxStartRequestsPerProcess is the largest value of StartRequests.
	MaxStartRequestsPerProcess int64 `json:"max_start_requests_per_process"`
	// ImagesUploaded counts accepted images (one per depiction per call).
	ImagesUploaded int64 `json:"images_uploaded"`
	TokensIssued   int64 `json:"tokens_issued"`
	// Requests counts API requests by endpoint name (assure.Endpoint, or
	// "unknown") and status code; a reset connection counts as "reset".
	Requests map[string]map[string]int64 `json:"requests"`
	// Faults counts injected faults by kind: latency, server_error,
	// too_many_requests, rate_limited, reset_before_handler,
	// reset_after_handler, truncate.
	Faults map[string]int64 `json:"faults_injected"`
}

// counters is the emulator's live Counters behind one mutex (every update
// is a few integer operations).
type counters struct {
	mu sync.Mutex
	c  Counters
}

func newCounters() *counters {
	c := &counters{}
	c.reset()
	return c
}

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c = Counters{StartRequests: map[string]int64{}, Requests: map[string]map[string]int64{}, Faults: map[string]int64{}}
}

// add applies f under the lock.
func (c *counters) add(f func(*Counters)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.c)
}

func (c *counters) startRequest(processID string) {
	c.add(func(k *Counters) {
		k.StartRequests[processID]++
		k.MaxStartRequestsPerProcess = max(k.MaxStartRequestsPerProcess, k.StartRequests[processID])
	})
}

func (c *counters) request(endpoint, status string) {
	c.add(func(k *Counters) {
		m := k.Requests[endpoint]
		if m == nil {
			m = map[string]int64{}
			k.Requests[endpoint] = m
		}
		m[status]++
	})
}

func (c *counters) fault(kind string) { c.add(func(k *Counters) { k.Faults[kind]++ }) }

// snapshot is a deep copy.
func (c *counters) snapshot() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.c
	s.DossiersLive = s.DossiersCreated - s.DossiersDeleted
	s.StartRequests = maps.Clone(c.c.StartRequests)
	s.Faults = maps.Clone(c.c.Faults)
	s.Requests = make(map[string]map[string]int64, len(c.c.Requests))
	for k, v := range c.c.Requests {
		s.Requests[k] = maps.Clone(v)
	}
	return s
}

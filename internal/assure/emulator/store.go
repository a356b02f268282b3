package emulator

import (
	"sync"
	"time"

	"reverify/internal/assure"
)

// store holds dossiers and processes. Its lock guards only the maps and the
// sequence; each dossier and process has its own lock for its fields. Lock
// order: dossier.mu, then store.mu; process.finishing, then process.mu,
// which is held with no other; the locks of images are leaves.
type store struct {
	images *imageStore // where processes' images are kept

	mu        sync.RWMutex
	seq       uint64
	dossiers  map[string]*dossier
	processes map[string]*process
}

func newStore(images *imageStore) *store {
	return &store{images: images, dossiers: map[string]*dossier{}, processes: map[string]*process{}}
}

// reset drops every dossier and process, and releases their images.
func (s *store) reset() {
	s.mu.Lock()
	procs := s.processes
	s.dossiers = map[string]*dossier{}
	s.processes = map[string]*process{}
	s.mu.Unlock()
	for _, p := range procs {
		p.markDeleted(s.images)
	}
}

type dossier struct {
	id          string
	externalRef string
	seq         uint64
	createdAt   time.Time // emulated

	mu        sync.Mutex
	updatedAt time.Time
	processes []*process // creation order
	deleted   bool
}

// upload is one decoded data URL.
type upload struct {
	data []byte
	mime string // image/jpeg or image/png
}

// process is one verification process. Its status is computed from the
// emulated clock when read: pending until started, processing until
// startedAt + latency, then the final outcome, computed once and cached.
type process struct {
	id          string
	dossierID   string
	processType string
	documentID  int
	pages       int
	country     string
	seq         uint64
	createdAt   time.Time // emulated

	mu          sync.Mutex
	updatedAt   time.Time
	images      map[string]*storedImage // by depiction; each holds one reference
	firstUpload time.Time               // emulated; zero before the first image
	started     bool
	startedAt   time.Time     // emulated
	latency     time.Duration // emulated
	canceledAt  time.Time     // non-zero once canceled (admin only)
	deleted     bool
	final       *assure.Process // cached final answer

	finishing sync.Mutex // held while final is computed (before mu)
}

func (p *process) dueAt() time.Time { return p.startedAt.Add(p.latency) }

// addDossier stores a new dossier.
func (s *store) addDossier(d *dossier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	d.seq = s.seq
	s.dossiers[d.id] = d
}

func (s *store) dossier(id string) (*dossier, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.dossiers[id]
	return d, ok
}

// addProcess stores p in d. It reports false when d was deleted meanwhile.
func (s *store) addProcess(d *dossier, p *process, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.deleted {
		return false
	}
	s.mu.Lock()
	s.seq++
	p.seq = s.seq
	s.processes[p.id] = p
	s.mu.Unlock()
	d.processes = append(d.processes, p)
	d.updatedAt = now
	return true
}

// process finds a process of a dossier. It answers the 404 to send when
// the dossier or the process does not exist.
func (s *store) process(dossierID, processID string) (*process, *apiError) {
	s.mu.RLock()
	_, okD := s.dossiers[dossierID]
	p, okP := s.processes[processID]
	s.mu.RUnlock()
	if !okD {
		return nil, notFound(detailDossierNotFound)
	}
	if !okP || p.dossierID != dossierID {
		return nil, notFound(detailProcessNotFound)
	}
	return p, nil
}

// deleteDossier removes a dossier and its processes; it returns the number
// of processes removed, or false when the dossier does not exist.
func (s *store) deleteDossier(id string) (int, bool) {
	s.mu.Lock()
	d, ok := s.dossiers[id]
	delete(s.dossiers, id)
	s.mu.Unlock()
	if !ok {
		return 0, false
	}
	d.mu.Lock()
	d.deleted = true
	procs := d.processes
	d.processes = nil
	d.mu.Unlock()
	s.mu.Lock()
	for _, p := range procs {
		delete(s.processes, p.id)
	}
	s.mu.Unlock()
	n := 0
	for _, p := range procs {
		if p.markDeleted(s.images) {
			n++
		}
	}
	return n, true
}

// deleteProcess removes one process of a dossier.
func (s *store) deleteProcess(dossierID, processID string, now time.Time) *apiError {
	s.mu.Lock()
	d, okD := s.dossiers[dossierID]
	p, okP := s.processes[processID]
	if okD && okP && p.dossierID == dossierID {
		delete(s.processes, processID)
	}
	s.mu.Unlock()
	switch {
	case !okD:
		return notFound(detailDossierNotFound)
	case !okP || p.dossierID != dossierID:
		return notFound(detailProcessNotFound)
	}
	d.mu.Lock()
	for i, q := range d.processes {
		if q == p {
			d.processes = append(d.processes[:i:i], d.processes[i+1:]...)
			break
		}
	}
	d.updatedAt = now
	d.mu.Unlock()
	if !p.markDeleted(s.images) {
		return notFound(detailProcessNotFound)
	}
	return nil
}

func (p *process) isDeleted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.deleted
}

// markDeleted releases the process's images; false when already deleted.
func (p *process) markDeleted(images *imageStore) bool {
	p.mu.Lock()
	if p.deleted {
		p.mu.Unlock()
		return false
	}
	p.deleted = true
	imgs := p.images
	p.images = nil
	p.mu.Unlock()
	for _, img := range imgs {
		images.release(img)
	}
	return true
}

// liveDossiers returns the stored dossiers (any order).
func (s *store) liveDossiers() []*dossier {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*dossier, 0, len(s.dossiers))
	for _, d := range s.dossiers {
		out = append(out, d)
	}
	return out
}

// liveProcesses returns the stored processes (any order).
func (s *store) liveProcesses() []*process {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*process, 0, len(s.processes))
	for _, p := range s.processes {
		out = append(out, p)
	}
	return out
}

// processByID finds a process by id alone (admin cancel).
func (s *store) processByID(id string) (*process, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.processes[id]
	return p, ok
}

package specimen

// rng is a small deterministic random source (SplitMix64). Every record draws
// from its own rng derived from the seed and the record index, so output does
// not depend on goroutine scheduling, and the sequence is fixed by this code
// rather than by a library whose algorithm might change.
type rng struct{ s uint64 }

// Streams separate the independent random sequences derived from one seed.
const (
	streamPlan   = 1 // the shuffle of the case plan
	streamRecord = 2 // per-record content
	streamPerson = 3 // a person's appearance, from the person id
	streamRender = 4 // details of the drawings (patterns, signature, smudges)
)

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG returns the rng of (seed, stream, index).
func newRNG(seed int64, stream, index uint64) *rng {
	s := mix64(uint64(seed) + 0x9e3779b97f4a7c15)
	s = mix64(s ^ (stream * 0xd1b54a32d192ed03))
	s = mix64(s ^ (index + 0x632be59bd9b4e019))
	return &rng{s: s}
}

// Uint64 returns the next 64 random bits.
func (r *rng) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// IntN returns an int in [0, n); n must be > 0. The modulo bias is below
// 2^-40 for the small n used here.
func (r *rng) IntN(n int) int { return int(r.Uint64() % uint64(n)) }

// Range returns an int in [lo, hi] (inclusive).
func (r *rng) Range(lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// Float returns a float64 in [0, 1).
func (r *rng) Float() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Chance reports true with probability p.
func (r *rng) Chance(p float64) bool { return r.Float() < p }

// Pick returns a random element of s.
func pick[T any](r *rng, s []T) T { return s[r.IntN(len(s))] }

package emulator

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"
)

// splitmix64 is a fast, well-mixed 64-bit hash step (deterministic draws).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a 64-bit value to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// DrawLatency is the processing latency of a process: log-normal with the
// configured median and sigma, clamped to [Min, Max], drawn deterministically
// from the seed and the process id.
func DrawLatency(l Latency, seed int64, processID string) time.Duration {
	h := sha256.New()
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], uint64(seed))
	h.Write(s[:])
	h.Write([]byte(processID))
	sum := h.Sum(nil)
	// Box-Muller with u1 in (0, 1].
	u1 := 1 - unit(binary.BigEndian.Uint64(sum[0:8]))
	u2 := unit(binary.BigEndian.Uint64(sum[8:16]))
	z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
	d := time.Duration(float64(l.Median) * math.Exp(l.Sigma*z))
	return min(max(d, l.Min), l.Max)
}

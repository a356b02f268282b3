//go:build race

package report

// raceEnabled: the race detector slows CPU-heavy tests about tenfold.
const raceEnabled = true

package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A child's peak resident set, measured as its own.
//
// On Linux a child's ru_maxrss is not its own peak alone: exec records the
// high-water mark of the address space it replaces, and Go starts children
// with vfork, so that address space is the test process's. A child started
// after the test process once held 200 MB reports at least 200 MB, however
// little it used (a benchmark that reads a million rows back before it
// starts the resume measures itself). The child's own peak is VmHWM of
// /proc/<pid>/status, which starts afresh at exec.

// rssWatchEvery is how often a child's VmHWM is sampled.
const rssWatchEvery = 20 * time.Millisecond

// rssWatch samples a child's VmHWM until it exits.
type rssWatch struct {
	parent  int64 // the test process's VmHWM once the child had started
	sampled atomic.Int64
	stop    chan struct{}
	done    chan struct{}
}

// watchRSS starts sampling the child pid; call it right after the child
// started (its exec done).
func watchRSS(pid int) *rssWatch {
	w := &rssWatch{parent: procHWM(os.Getpid()), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(rssWatchEvery)
		defer tick.Stop()
		for {
			if v := procHWM(pid); v > w.sampled.Load() {
				w.sampled.Store(v)
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// peak is the child's own peak resident set in KiB, given its ru_maxrss
// (call it once the child was waited for): ru_maxrss when it is above the
// test process's own peak (it is then the child's, exactly), else the
// highest VmHWM sampled (the child stayed below the test process's peak;
// growth in its last rssWatchEvery before exit may be missed).
func (w *rssWatch) peak(maxrss int64) int64 {
	close(w.stop)
	<-w.done
	if maxrss > w.parent {
		return maxrss
	}
	return w.sampled.Load()
}

// procHWM returns the process's peak resident set in KiB (VmHWM of
// /proc/<pid>/status), 0 when unknown.
func procHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

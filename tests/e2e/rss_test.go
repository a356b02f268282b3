package e2e

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const envRSSChild = "E2E_RSS_CHILD_MIB"

// touched returns n MiB, every page written (resident).
func touched(n int) []byte {
	b := make([]byte, n<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// TestRSSChild is the child of TestChildPeakIsItsOwn: it holds
// $E2E_RSS_CHILD_MIB MiB for a moment and exits.
func TestRSSChild(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(envRSSChild))
	if err != nil {
		t.Skip("run by TestChildPeakIsItsOwn")
	}
	b := touched(n)
	time.Sleep(10 * rssWatchEvery)
	runtime.KeepAlive(b)
}

// A child's peak is its own, not the test process's: ru_maxrss alone
// reports at least the parent's peak (rss.go).
func TestChildPeakIsItsOwn(t *testing.T) {
	if procHWM(os.Getpid()) == 0 {
		t.Skip("no /proc/<pid>/status VmHWM here")
	}
	hold := touched(128) // the test process's peak: at least 128 MiB
	run := func(mib int) (own, raw int64) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envRSSChild+"="+strconv.Itoa(mib))
		require.NoError(t, cmd.Start())
		w := watchRSS(cmd.Process.Pid)
		require.NoError(t, cmd.Wait())
		raw = int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		return w.peak(raw), raw
	}

	own, raw := run(16)
	assert.GreaterOrEqual(t, raw, int64(128<<10), "ru_maxrss of a small child: the parent's peak")
	assert.GreaterOrEqual(t, own, int64(16<<10), "the child's 16 MiB")
	assert.Less(t, own, int64(96<<10), "the child's own peak, not the parent's")

	own, _ = run(192)
	assert.GreaterOrEqual(t, own, int64(192<<10), "a child above the parent's peak")
	assert.Less(t, own, int64(300<<10))
	runtime.KeepAlive(hold)
}

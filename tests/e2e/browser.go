package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ---------------------------------------------------------------------------
// A real headless browser (Chromium, the Debian package), driven over the
// DevTools protocol by chromedp.

// Browser is a headless Chromium for one test.
type Browser struct {
	ctx  context.Context
	path string
}

// Setup names what a screenshot depends on beyond the page: the browser's
// major version and the font the system gives for sans-serif text
// (fontconfig's fc-match).
func (b *Browser) Setup(t testing.TB) string {
	t.Helper()
	v, err := exec.Command(b.path, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", b.path, err)
	}
	major := "unknown"
	for _, f := range strings.Fields(string(v)) {
		if f != "" && f[0] >= '0' && f[0] <= '9' {
			major, _, _ = strings.Cut(f, ".")
			break
		}
	}
	font := "unknown"
	if out, err := exec.Command("fc-match", "-f", "%{family[0]}", "sans-serif").Output(); err == nil {
		font = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("chromium %s, font %s", major, font)
}

// StartBrowser starts headless Chromium ($REVERIFY_TEST_CHROMIUM, else
// chromium or chromium-browser on PATH). The test is skipped when there is
// none, unless REVERIFY_REQUIRE_BROWSER is set (CI sets it).
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	path := os.Getenv("REVERIFY_TEST_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		if os.Getenv("REVERIFY_REQUIRE_BROWSER") != "" {
			t.Fatal("no Chromium found (REVERIFY_REQUIRE_BROWSER is set): apt-get install chromium, or set REVERIFY_TEST_CHROMIUM")
		}
		t.Skip("no Chromium found: apt-get install chromium (or set REVERIFY_TEST_CHROMIUM)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Start the browser now (without a deadline: the first call's context
	// is the browser's life), so that one that cannot start fails here,
	// naming itself.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &Browser{ctx: ctx, path: path}
}

// Visit is what the browser saw while it loaded one page.
type Visit struct {
	// Requests are the URLs the page requested, itself included.
	Requests []string
	// Console holds the page's console messages, uncaught exceptions and
	// the browser's log entries about it (blocked loads, CSP violations,
	// failed requests), of every level.
	Console []string
	// Screenshot is a PNG of the whole page at the viewport's width.
	Screenshot []byte
}

// Problems lists everything of the visit that a clean self-contained page
// would not show: any console message, and requests for anything but the
// page itself.
func (v *Visit) Problems(pageURL string) []string {
	var out []string
	for _, c := range v.Console {
		out = append(out, "console: "+c)
	}
	for _, r := range v.Requests {
		if r != pageURL {
			out = append(out, "request: "+r)
		}
	}
	return out
}

// Open loads url in a new tab with a width × height viewport, waits until
// it has loaded, runs the actions, and takes a screenshot of the whole
// page.
func (b *Browser) Open(t testing.TB, url string, width, height int64, actions ...chromedp.Action[chromedp.Void]) *Visit {
	t.Helper()
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	// The tab's first command opens it; a deadline only after that (a
	// deadline on the first command would end the tab with it).
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("browser: open a tab: %v", err)
	}
	ctx, cancelT := context.WithTimeout(tab, 90*time.Second)
	defer cancelT()
	listen, stopListening := context.WithCancel(ctx)
	v := &Visit{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	console := chromedp.Console(listen)
	requests := chromedp.Events(listen, network.RequestWillBeSent)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			v.Console = append(v.Console, m.String())
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range requests {
			if err != nil {
				return
			}
			mu.Lock()
			v.Requests = append(v.Requests, ev.Request.URL)
			mu.Unlock()
		}
	}()
	steps := append([]chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(width, height),
		chromedp.Navigate(url),
		chromedp.WaitReady(chromedp.CSS("body")),
	}, actions...)
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", url, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot of %s: %v", url, err)
	}
	// Events of the load may still be on their way: a short settle.
	if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatalf("browser: %s: %v", url, err)
	}
	stopListening()
	wg.Wait()
	v.Screenshot = shot
	return v
}

// Evaluate runs a JavaScript expression in the page and stores its value
// (as JSON decodes it) in *into: an action for Open.
func Evaluate[T any](expr string, into *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Evaluate[T](expr)(ctx, t)
		*into = v
		return err
	})
}

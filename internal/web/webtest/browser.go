package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv names the environment variable that turns a missing Chromium
// from a skip into a failure. CI sets it, so that browser tests cannot pass by
// not running.
const RequireEnv = "PORTICO_REQUIRE_BROWSER"

// ChromiumEnv names the environment variable that points at a Chromium or
// Chrome binary to use instead of the ones searched for.
const ChromiumEnv = "PORTICO_CHROMIUM"

// chromiumPaths are searched in order. Debian's /usr/bin/chromium is a shell
// wrapper that adds flags of its own (remote extensions, GPU rasterization);
// the binary it execs comes first, so that the flags below are all there is.
var chromiumPaths = []string{
	"/usr/lib/chromium/chromium",
	"chromium",
	"chromium-browser",
	"google-chrome",
}

// startTimeout bounds the start of the browser. A start is a few seconds on an
// idle machine; a loaded CI runner needs more.
const startTimeout = 90 * time.Second

// flags are the browser's command line beyond chromedp's defaults (which
// already disable sync, background networking, extensions and the first-run
// page, and give the browser a fresh temporary --user-data-dir that chromedp
// removes when the browser stops). These are the ones a closed network needs:
// nothing may try to reach Google's services, and as root there is no sandbox.
func flags(path string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		// The portal picks its language from Accept-Language: a fixed one keeps
		// pages the same on every machine. A test sets another per context.
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US"),
	)
}

// shared is the one browser of the test binary.
var shared struct {
	mainCalled atomic.Bool
	once       sync.Once
	starts     atomic.Int32

	allocCancel   context.CancelFunc
	browser       context.Context // the browser's first tab; new contexts derive from it
	browserCancel context.CancelFunc
	pid           int
	startTook     time.Duration
	err           error
}

// Main runs the tests of m and then stops the browser, if a test started it,
// and runs after (another harness's teardown, such as dbtest.Teardown).
// Call it from TestMain; New fails a test of a binary that does not.
func Main(m *testing.M, after ...func()) {
	shared.mainCalled.Store(true)
	code := m.Run()
	for _, f := range after {
		f()
	}
	if err := shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "webtest: stopping chromium:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// findChromium returns the first browser binary there is, with $PORTICO_CHROMIUM
// first when set.
func findChromium() (string, error) {
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ChromiumEnv, p, err)
		}
		return p, nil
	}
	for _, name := range chromiumPaths {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found (apt-get install chromium, or set " + ChromiumEnv + ")")
}

// missing decides what a test does when there is no browser: skip, unless the
// run requires one.
func missing(t testing.TB, err error, required bool) {
	t.Helper()
	if required {
		t.Fatalf("webtest: %v; with %s or %s set, browser tests must run", err, RequireEnv, ChromiumEnv)
	}
	t.Skipf("webtest: %v; skipping (set %s=1 to fail instead)", err, RequireEnv)
}

// browser returns the context of the shared browser, starting it on first use.
func browser(t testing.TB) context.Context {
	t.Helper()
	if !shared.mainCalled.Load() {
		t.Fatal("webtest: the package's TestMain must call webtest.Main(m), which stops the browser")
	}
	path, err := findChromium()
	if err != nil {
		// A browser named on purpose that is not there is a mistake, not an
		// absent browser.
		missing(t, err, os.Getenv(RequireEnv) != "" || os.Getenv(ChromiumEnv) != "")
	}
	shared.once.Do(func() { start(path) })
	if shared.err != nil {
		t.Fatalf("webtest: starting %s: %v", path, shared.err)
	}
	return shared.browser
}

func start(path string) {
	shared.starts.Add(1)
	began := time.Now()
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), flags(path)...)
	// chromedp logs protocol events it cannot decode; a newer browser than
	// cdproto knows sends some. They say nothing about the page under test.
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		shared.err = err
	case <-time.After(startTimeout):
		shared.err = fmt.Errorf("no answer within %s", startTimeout)
	}
	if shared.err != nil {
		cancel()
		allocCancel()
		return
	}
	shared.allocCancel, shared.browser, shared.browserCancel = allocCancel, ctx, cancel
	shared.pid = chromedp.FromContext(ctx).Browser.Process().Pid
	shared.startTook = time.Since(began)
}

// shutdown closes the browser gracefully, waits for it to exit and lets
// chromedp remove its user data directory.
func shutdown() error {
	if shared.browser == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(shared.browser, 20*time.Second)
	defer cancel()
	err := chromedp.Cancel(ctx)
	shared.browserCancel()
	shared.allocCancel()
	shared.browser = nil
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// BrowserPID is the process id of the test binary's browser, started by the
// first New. Tests use it to show that they share one browser.
func BrowserPID() int { return shared.pid }

// StartTime is how long the browser took to start and answer.
func StartTime() time.Duration { return shared.startTook }

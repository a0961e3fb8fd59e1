package webtest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names the environment variable of the folder that screenshots
// go to. Unset, Screenshot does nothing. A relative folder is taken from the
// module's root (next to go.mod), so that every package's tests write to the
// same place; /screenshots/ there is git-ignored.
const ScreenshotsEnv = "PORTICO_SCREENSHOTS"

// heights pairs each checked width with the height of a common device.
var heights = map[int]int{Phone: 844, Desktop: 800}

// SetWidth sets the viewport to width CSS pixels. Widths under 600 emulate a
// phone (touch, mobile viewport rules); the height is that of a common device.
func (p *Page) SetWidth(width int) {
	p.t.Helper()
	h, ok := heights[width]
	if !ok {
		h = 800
	}
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	run(p, fmt.Sprintf("setting the viewport to %d px", width), chromedp.EmulateViewport(int64(width), int64(h), opts...))
	p.width = width
}

// Width is the viewport width in CSS pixels.
func (p *Page) Width() int { return p.width }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot writes the whole page as $PORTICO_SCREENSHOTS/<test>-<width>.png,
// or <test>-<label>-<width>.png when label is given (for a test that shows
// several pages). It returns the file written, or "" when the variable is unset.
func (p *Page) Screenshot(label string) string {
	p.t.Helper()
	dir := screenshotDir(p.t)
	if dir == "" {
		return ""
	}
	name := p.t.Name()
	if label != "" {
		name += "-" + label
	}
	file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", unsafeName.ReplaceAllString(name, "_"), p.width))
	png := run(p, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Fatalf("webtest: writing %s: %v", file, err)
	}
	return file
}

// screenshotDir is the screenshot folder, made if needed, or "" when unset.
func screenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("webtest: %s=%s: %v", ScreenshotsEnv, dir, err)
		}
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("webtest: %s: %v", ScreenshotsEnv, err)
	}
	return dir
}

// moduleRoot is the nearest folder upwards from the working directory (the
// test's package) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Check fails when the browser reported an error on the way to the current
// page (NoErrors: a refused inline script or style, an uncaught exception),
// then runs axe at each of Widths and takes a screenshot at each (labelled as
// for Screenshot), leaving the viewport as it found it. It is what a page test
// calls on every page it reaches.
func Check(t testing.TB, p *Page, label string) {
	t.Helper()
	NoErrors(t, p)
	was := p.width
	for _, w := range Widths {
		p.SetWidth(w)
		Axe(t, p)
		p.Screenshot(label)
	}
	p.SetWidth(was)
}

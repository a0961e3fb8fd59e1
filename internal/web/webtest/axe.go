package webtest

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored by vendor/update.sh; TestVendoredAxe checks
// it against vendor/axe.min.js.sha256.
//
//go:embed vendor/axe.min.js
var axeSource string

//go:embed vendor/AXE_VERSION
var axeVersion string

// AxeTags are the rule tags axe runs: WCAG 2.0, 2.1 and 2.2 at levels A and
// AA, and Deque's best practices. (axe 4.10 tags no rule "wcag22a": the WCAG
// 2.2 criteria it checks are AA.)
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"}

// AxeResult is what one axe run found.
type AxeResult struct {
	URL        string
	Width      int
	Version    string
	Violations []AxeViolation
	// Overflow is how many px the document is wider than the viewport:
	// anything above 0 makes a phone scroll sideways, which WCAG 1.4.10
	// (reflow) forbids and axe does not check.
	Overflow int
}

// AxeViolation is one rule that failed, with every element that failed it.
type AxeViolation struct {
	ID      string
	Impact  string
	Help    string
	HelpURL string
	Nodes   []AxeNode
}

// AxeNode is one element that failed a rule.
type AxeNode struct {
	Target  []string
	HTML    string
	Summary string
}

// Err is nil when there was no violation, and otherwise lists every one: rule,
// impact, what it asks for, its help page, and each element by selector and
// HTML with axe's summary of what to fix.
func (r AxeResult) Err() error {
	if len(r.Violations) == 0 && r.Overflow <= 0 {
		return nil
	}
	var b strings.Builder
	if r.Overflow > 0 {
		fmt.Fprintf(&b, "%s is %d px wider than the %d px viewport: it scrolls sideways (WCAG 1.4.10 reflow)\n", r.URL, r.Overflow, r.Width)
	}
	fmt.Fprintf(&b, "axe-core %s: %d violation(s) on %s at %d px:", r.Version, len(r.Violations), r.URL, r.Width)
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "\n- %s (%s): %s\n  %s", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n  * %s  %s", strings.Join(n.Target, " "), n.HTML)
			if n.Summary != "" {
				fmt.Fprintf(&b, "\n    %s", strings.ReplaceAll(n.Summary, "\n", "\n    "))
			}
		}
	}
	return fmt.Errorf("%s", b.String())
}

// axeRun runs axe on the document and maps its result to AxeResult's fields.
// Only violations are collected: passes and incomplete results cost time and
// fail nothing.
const axeRun = `axe.run(document, {
	runOnly: {type: "tag", values: %s},
	resultTypes: ["violations"],
}).then(r => ({
	URL: r.url,
	Violations: r.violations.map(v => ({
		ID: v.id, Impact: v.impact || "", Help: v.help, HelpURL: v.helpUrl,
		Nodes: v.nodes.map(n => ({Target: n.target.map(String), HTML: n.html, Summary: n.failureSummary || ""})),
	})),
}))`

// RunAxe injects axe-core into the current document (once per document) and
// runs it. The injection goes through the DevTools protocol, which the page's
// Content-Security-Policy does not govern, so the page is tested with its CSP
// in force. On a Page without JavaScript, scripts are allowed for the run
// alone: axe needs timers and promises, and the page's own scripts were
// already skipped when it loaded.
func RunAxe(p *Page) (AxeResult, error) {
	r := AxeResult{Width: p.width, Version: strings.TrimSpace(axeVersion)}
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		if p.noJS {
			if err := scripts(ctx, tg, true); err != nil {
				return err
			}
			defer func() {
				// A page left running scripts would make the next no-JS
				// check a lie, so a failure here fails the run.
				if off := scripts(context.WithoutCancel(ctx), tg, false); off != nil && err == nil {
					err = fmt.Errorf("turning scripts off again after axe: %w", off)
				}
			}()
		}
		loaded, err := chromedp.Evaluate[bool](`typeof window.axe === "object"`)(ctx, tg)
		if err != nil {
			return fmt.Errorf("looking for axe: %w", err)
		}
		if !loaded {
			if _, err := chromedp.Evaluate[any](axeSource+"\n;void 0")(ctx, tg); err != nil {
				return fmt.Errorf("injecting axe-core: %w", err)
			}
		}
		found, err := chromedp.Evaluate[AxeResult](fmt.Sprintf(axeRun, js(AxeTags)), chromedp.EvalAwaitPromise)(ctx, tg)
		if err != nil {
			return fmt.Errorf("running axe: %w", err)
		}
		r.URL, r.Violations = found.URL, found.Violations
		// Against the emulated width, not innerWidth: a phone widens its
		// layout viewport to fit content that overflows.
		r.Overflow, err = chromedp.Evaluate[int](fmt.Sprintf(`document.documentElement.scrollWidth - %d`, p.width))(ctx, tg)
		if err != nil {
			return fmt.Errorf("measuring the page's width: %w", err)
		}
		return nil
	}))
	return r, err
}

func scripts(ctx context.Context, tg *chromedp.Target, on bool) error {
	_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
	return err
}

// Axe runs axe-core on the Page's current document and fails t, listing every
// violation of any impact, when there is one. t is the test that fails: the
// Page's own test, or a recorder in the harness's self-test.
func Axe(t testing.TB, p *Page) {
	t.Helper()
	r, err := RunAxe(p)
	if err != nil {
		t.Fatalf("webtest: %v", err)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Keys for Press.
const (
	Enter     = kb.Enter
	Tab       = kb.Tab
	Escape    = kb.Escape
	Space     = " "
	ArrowDown = kb.ArrowDown
	ArrowUp   = kb.ArrowUp
)

// The two widths every page is checked at: a phone and a desktop.
const (
	Phone   = 390
	Desktop = 1280
)

// Widths are the viewport widths of Check.
var Widths = []int{Phone, Desktop}

// DefaultTimeout bounds each action and each wait of a Page. Waits end as soon
// as their condition holds; the bound only decides how long a broken page
// takes to fail on a loaded machine.
const DefaultTimeout = 30 * time.Second

// pollEvery is how often a wait looks at the page again. Waits poll from Go,
// not with a promise in the page, because a page without JavaScript runs no
// timers or promises.
const pollEvery = 25 * time.Millisecond

// Page is one tab in a fresh incognito browser context of the shared browser:
// no cookies, storage or cache from another test. A failing action fails the
// test that made the Page; use a Page from that test's goroutine only.
type Page struct {
	t       testing.TB
	ctx     context.Context
	id      cdp.BrowserContextID
	timeout time.Duration
	width   int
	noJS    bool
	lang    string
	setup   time.Duration
	close   context.CancelFunc
	errs    *browserErrors
}

// Option changes a Page before its first navigation.
type Option func(*Page)

// WithoutJS makes a Page whose tab runs no JavaScript of the pages it loads,
// to show that a flow works as plain HTML forms and links. The harness's own
// calls into the page (waits, reading the focus, axe) still work.
func WithoutJS() Option { return func(p *Page) { p.noJS = true } }

// WithLanguage makes the Page's browser ask for pages in lang (an
// Accept-Language value such as "de-DE,de"), and report it as
// navigator.language. Without it the browser asks for en-US.
func WithLanguage(lang string) Option { return func(p *Page) { p.lang = lang } }

// WithTimeout changes the bound of each action and wait (DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(p *Page) { p.timeout = d } }

// New opens a Page for the test, at Desktop width, and closes it and its
// browser context when the test ends. It skips the test when there is no
// browser, unless PORTICO_REQUIRE_BROWSER is set.
func New(t testing.TB, opts ...Option) *Page {
	t.Helper()
	parent := browser(t)
	began := time.Now()
	p := &Page{t: t, timeout: DefaultTimeout, errs: &browserErrors{}}
	for _, o := range opts {
		o(p)
	}
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext(), chromedp.WithListener(p.errs.listen))
	t.Cleanup(cancel)
	p.ctx, p.close = ctx, cancel
	// The first Run creates the context and its tab; it must not carry a
	// deadline, which would close the tab when it passed.
	if err := chromedp.Do(ctx, chromedp.Func(p.prepare)); err != nil {
		t.Fatalf("webtest: opening a browser context: %v", err)
	}
	p.id = chromedp.FromContext(ctx).BrowserContextID
	p.SetWidth(Desktop)
	p.setup = time.Since(began)
	return p
}

// prepare applies the Page's options to its new tab.
func (p *Page) prepare(ctx context.Context, tg *chromedp.Target) error {
	if p.noJS {
		if _, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			return err
		}
	}
	if p.lang != "" {
		v, err := cdp.Call(ctx, tg, cdpbrowser.GetVersion, cdp.Empty{})
		if err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: v.UserAgent, AcceptLanguage: p.lang,
		}); err != nil {
			return err
		}
	}
	return nil
}

// Context is the chromedp context of the Page's tab, for what the helpers do
// not cover: chromedp.Run(p.Context(), ...).
func (p *Page) Context() context.Context { return p.ctx }

// BrowserContextID names the Page's incognito browser context.
func (p *Page) BrowserContextID() cdp.BrowserContextID { return p.id }

// SetupTime is how long New took to open the Page's context and tab.
func (p *Page) SetupTime() time.Duration { return p.setup }

// JavaScript reports whether the Page runs the JavaScript of its pages.
func (p *Page) JavaScript() bool { return !p.noJS }

// run runs a on the tab within the Page's timeout, failing the test with what
// when it fails.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	return within(p, what, func(ctx context.Context) (T, error) { return chromedp.Run(ctx, a) })
}

// within calls f with the tab's context bounded by the Page's timeout,
// failing the test with what when f fails.
func within[T any](p *Page, what string, f func(ctx context.Context) (T, error)) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	v, err := f(ctx)
	if err != nil {
		p.t.Fatalf("webtest: %s: %v", what, err)
	}
	return v
}

// eval evaluates a synchronous JavaScript expression in the page.
func eval[T any](p *Page, what, expr string) T {
	p.t.Helper()
	return run(p, what, chromedp.Evaluate[T](expr))
}

// js quotes v as a JavaScript literal.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Navigate loads url, waits for it to load and returns the HTTP status of the
// document (a 404 page is a status, not an error).
func (p *Page) Navigate(url string) int {
	p.t.Helper()
	resp := run(p, "navigating to "+url, chromedp.NavigateResponse(url))
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// URL is the address of the current document.
func (p *Page) URL() string {
	p.t.Helper()
	return run(p, "reading the location", chromedp.Location())
}

// Title is the current document's title.
func (p *Page) Title() string {
	p.t.Helper()
	return eval[string](p, "reading the title", `document.title`)
}

// Click clicks the first element that sel matches, with the mouse, once it is
// visible and htmx has settled the last swap. It does not wait for what the
// click starts: follow it with a wait, or use ClickNavigate when it loads a
// new document.
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.settled()
	run(p, "clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// settled waits until htmx has finished a swap, settle included. A swapped
// region's new content is in the document before it settles, and settling
// moves the focus (portal.js), which scrolls: a mouse click aimed before
// that lands where the element was.
func (p *Page) settled() {
	p.t.Helper()
	if !p.JavaScript() {
		return
	}
	p.waitFor("waiting for htmx to settle",
		`document.querySelector(".htmx-swapping, .htmx-settling, .htmx-added") === null`, "")
}

// ClickNavigate clicks sel and waits for the document the click loads (a link
// or a submit button without htmx); it returns that document's HTTP status.
func (p *Page) ClickNavigate(sel string) int {
	p.t.Helper()
	return p.navigating("clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Submit submits the form that sel matches by clicking its first submit
// button, as a person would (so it works without JavaScript), and waits for
// the document the form loads. It returns that document's HTTP status.
func (p *Page) Submit(form string) int {
	p.t.Helper()
	button := form + ` :is(button:not([type]), button[type=submit], input[type=submit])`
	if !p.Exists(button) {
		p.t.Fatalf("webtest: form %s has no submit button", form)
	}
	return p.ClickNavigate(button)
}

// PressNavigate presses key on the focused element (Enter on a link or a
// button) and waits for the document it loads; it returns its HTTP status.
func (p *Page) PressNavigate(key string) int {
	p.t.Helper()
	return p.navigating("pressing "+keyName(key), chromedp.KeyEvent(key))
}

func (p *Page) navigating(what string, a chromedp.Action[chromedp.Void]) int {
	p.t.Helper()
	resp := within(p, what+" and waiting for the next page", func(ctx context.Context) (*network.Response, error) {
		return chromedp.RunResponse(ctx, a)
	})
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// SetCookie gives the Page's browser context a cookie for url's site (path /,
// HttpOnly), as a sign-in would: a test that has a session from the API skips
// the sign-in form.
func (p *Page) SetCookie(url, name, value string) {
	p.t.Helper()
	httpOnly := true
	run(p, "setting the cookie "+name, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: name, Value: value, URL: url, Path: "/", HTTPOnly: &httpOnly,
		})
		return err
	}))
}

// Fill puts value into the input, textarea or select that sel matches. Text
// is typed as one insertion, so input events fire as for a person; a select
// gets the option whose value (or, failing that, text) is value; a date, time,
// colour or range input gets value as its value (2026-12-07 for a date).
func (p *Page) Fill(sel, value string) {
	p.t.Helper()
	p.WaitVisible(sel)
	kind := eval[string](p, "filling "+sel, fmt.Sprintf(`(function(sel, v) {
		const el = document.querySelector(sel);
		if (el.tagName === "SELECT") {
			const o = [...el.options].find(o => o.value === v) || [...el.options].find(o => o.text.trim() === v);
			if (!o) return "no option " + JSON.stringify(v) + " among " + JSON.stringify([...el.options].map(o => o.value));
			el.value = o.value;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
			return "select";
		}
		if (!("value" in el)) return el.tagName.toLowerCase() + " has no value";
		if (["date", "datetime-local", "month", "week", "time", "color", "range"].includes(el.type)) {
			// These take no typed text: a person uses a picker, a test sets the value.
			el.focus();
			el.value = v;
			if (el.value !== v) return el.type + " input refuses " + JSON.stringify(v);
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
			return "set";
		}
		el.focus();
		el.value = "";
		return "text";
	})(%s, %s)`, js(sel), js(value)))
	switch kind {
	case "select", "set":
	case "text":
		if value != "" {
			run(p, "typing into "+sel, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: value})
				return err
			}))
		}
	default:
		p.t.Fatalf("webtest: filling %s: %s", sel, kind)
	}
}

// FillForm fills the fields of the form that form matches, by name.
func (p *Page) FillForm(form string, fields map[string]string) {
	p.t.Helper()
	for name, value := range fields {
		p.Fill(fmt.Sprintf(`%s [name=%s]`, form, js(name)), value)
	}
}

// Type types text into the focused element, key by key.
func (p *Page) Type(text string) {
	p.t.Helper()
	run(p, "typing", chromedp.KeyEvent(text))
}

// Press presses each key in turn on the focused element: Tab, Enter, Space,
// Escape, the arrows.
func (p *Page) Press(keys ...string) {
	p.t.Helper()
	for _, k := range keys {
		run(p, "pressing "+keyName(k), chromedp.KeyEvent(k))
	}
}

// ShiftTab moves the focus back by one.
func (p *Page) ShiftTab() {
	p.t.Helper()
	run(p, "pressing Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
}

func keyName(k string) string {
	switch k {
	case Enter:
		return "Enter"
	case Tab:
		return "Tab"
	case Escape:
		return "Escape"
	case Space:
		return "Space"
	case ArrowDown:
		return "ArrowDown"
	case ArrowUp:
		return "ArrowUp"
	}
	return fmt.Sprintf("%q", k)
}

// maxTabs bounds TabTo: a page needing more Tab presses than this to reach
// an element has a keyboard problem of its own.
const maxTabs = 100

// TabTo presses Tab until the focused element matches sel, and fails listing
// the elements the focus passed through when it never does. It is how a
// keyboard-only test moves: it reaches sel only if the tab order does.
func (p *Page) TabTo(sel string) {
	p.t.Helper()
	var path []string // each element once per stay: a date input keeps the focus for its parts
	repeats := map[int]int{}
	for range maxTabs {
		p.Press(Tab)
		if p.FocusMatches(sel) {
			return
		}
		f := p.Focused().String()
		if n := len(path); n > 0 && path[n-1] == f {
			repeats[n-1]++
			continue
		}
		if len(path) > 1 && f == path[0] {
			break // the focus went round the page
		}
		path = append(path, f)
	}
	for i, n := range repeats {
		path[i] += fmt.Sprintf(" (%d more Tabs)", n)
	}
	p.t.Fatalf("webtest: Tab never reached %s; the focus went through:\n  %s", sel, strings.Join(path, "\n  "))
}

// Focus describes the focused element.
type Focus struct {
	Tag   string // lower case; "body" when nothing has the focus
	ID    string
	Name  string
	Label string // aria-label, else the text of its label, else its own text
}

func (f Focus) String() string {
	s := f.Tag
	if f.ID != "" {
		s += "#" + f.ID
	}
	if f.Name != "" {
		s += "[name=" + f.Name + "]"
	}
	if f.Label != "" {
		s += fmt.Sprintf(" %q", f.Label)
	}
	return s
}

// Focused describes the element that has the keyboard focus.
func (p *Page) Focused() Focus {
	p.t.Helper()
	return eval[Focus](p, "reading the focus", `(function() {
		const el = document.activeElement || document.body;
		const label = el.getAttribute("aria-label") ||
			(el.labels && el.labels.length ? el.labels[0].textContent : "") ||
			(el.tagName === "BODY" ? "" : el.textContent || el.value || "");
		return {Tag: el.tagName.toLowerCase(), ID: el.id, Name: el.getAttribute("name") || "",
			Label: label.replace(/\s+/g, " ").trim().slice(0, 80)};
	})()`)
}

// FocusMatches reports whether the focused element matches sel.
func (p *Page) FocusMatches(sel string) bool {
	p.t.Helper()
	return eval[bool](p, "reading the focus", fmt.Sprintf(
		`!!document.activeElement && document.activeElement.matches(%s)`, js(sel)))
}

// Exists reports whether sel matches an element now, without waiting.
func (p *Page) Exists(sel string) bool {
	p.t.Helper()
	return eval[bool](p, "looking for "+sel, fmt.Sprintf(`document.querySelector(%s) !== null`, js(sel)))
}

// Text is the rendered text of the first element sel matches, once there is one.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	p.waitFor("waiting for "+sel, fmt.Sprintf(`document.querySelector(%s) !== null`, js(sel)), "")
	return eval[string](p, "reading "+sel, fmt.Sprintf(`document.querySelector(%s).innerText`, js(sel)))
}

// WaitVisible waits until sel matches an element that is rendered with a size.
func (p *Page) WaitVisible(sel string) {
	p.t.Helper()
	p.waitFor("waiting for "+sel+" to be visible", fmt.Sprintf(`(function(el) {
		return !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
	})(document.querySelector(%s))`, js(sel)), "")
}

// WaitGone waits until sel matches no element.
func (p *Page) WaitGone(sel string) {
	p.t.Helper()
	p.waitFor("waiting for "+sel+" to go", fmt.Sprintf(`document.querySelector(%s) === null`, js(sel)), "")
}

// WaitText waits until the rendered text of the first element sel matches
// contains text, as after an htmx swap or a server-sent event.
func (p *Page) WaitText(sel, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("waiting for %s to contain %q", sel, text),
		fmt.Sprintf(`(function(el) { return !!el && el.innerText.includes(%s); })(document.querySelector(%s))`, js(text), js(sel)),
		fmt.Sprintf(`(function(el) { return el ? el.innerText : "(no such element)"; })(document.querySelector(%s))`, js(sel)))
}

// WaitTrue waits until the JavaScript expression cond is true in the page.
func (p *Page) WaitTrue(cond string) {
	p.t.Helper()
	p.waitFor("waiting for "+cond, cond, "")
}

// waitFor polls cond until it holds or the Page's timeout passes; then it
// fails with what and, when show is given, what that expression says the page
// has instead. An evaluation that fails (the page is between documents) is
// tried again.
func (p *Page) waitFor(what, cond, show string) {
	p.t.Helper()
	deadline := time.Now().Add(p.timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithDeadline(p.ctx, deadline)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().Add(pollEvery).After(deadline) || p.ctx.Err() != nil {
			break
		}
		time.Sleep(pollEvery) // the poll interval of a wait with a deadline
	}
	msg := fmt.Sprintf("webtest: %s: not within %s", what, p.timeout)
	if lastErr != nil {
		msg += fmt.Sprintf(" (last error: %v)", lastErr)
	}
	if show != "" {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		defer cancel()
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](show)); err == nil {
			msg += fmt.Sprintf("; the page has %q", got)
		}
	}
	p.t.Fatal(msg)
}

package webtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

// strictCSP is the portal's policy: no inline script or style at all.
const strictCSP = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"

// page wraps a body in a document that passes axe: language, title, one main
// landmark with a heading, a stylesheet and a script from the same origin.
func page(title, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + title + `</title><link rel="stylesheet" href="/app.css"><script src="/app.js" defer></script></head>
<body><main><h1>` + title + `</h1>` + body + `</main></body></html>`
}

const appCSS = `body { font: 16px/1.5 sans-serif; margin: 1rem; color: #111; background: #fff; }
main { max-width: 40rem; } a, button, input, select { min-height: 44px; min-width: 44px; font: inherit; }
label { display: block; margin-top: .5rem; }`

// appJS marks the document, so that a test sees whether scripts ran.
const appJS = `document.documentElement.dataset.js = "ran";`

const formBody = `<p>Tell us who you are. <a href="/help">Help</a></p>
<noscript><p id="noscript">JavaScript is off.</p></noscript>
<form id="f" method="post" action="/submit">
<label for="name">Name</label><input id="name" name="name" autocomplete="name">
<label for="topic">Topic</label><select id="topic" name="topic"><option value="billing">Billing</option><option value="orders">Orders</option></select>
<label for="due">Due</label><input id="due" type="date" name="due">
<label><input id="agree" type="checkbox" name="agree" value="yes"> I agree</label>
<button type="submit">Send</button>
</form>`

// server serves the self-tests' pages, all under the strict CSP.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	html := func(w http.ResponseWriter, status int, doc string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprint(w, doc)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, appCSS)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, appJS)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { html(w, 200, page("Your requests", formBody)) })
	mux.HandleFunc("GET /no-alt", func(w http.ResponseWriter, r *http.Request) {
		html(w, 200, page("Picture", `<p>A picture:</p><img src="/app.css" width="10" height="10">`))
	})
	mux.HandleFunc("GET /inline", func(w http.ResponseWriter, r *http.Request) {
		// The strict policy must block both of these.
		html(w, 200, page("Inline", `<p id="styled" style="color: rgb(255, 0, 0)">Text</p><script>document.documentElement.dataset.inline = "ran";</script>`))
	})
	mux.HandleFunc("GET /unreachable", func(w http.ResponseWriter, r *http.Request) {
		html(w, 200, page("Unreachable", `<p><a href="/a">First</a> <span id="hidden" tabindex="-1">Not in the tab order</span> <a href="/b">Last</a></p>`))
	})
	mux.HandleFunc("GET /throw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `throw new Error("boom");`)
	})
	mux.HandleFunc("GET /throw", func(w http.ResponseWriter, r *http.Request) {
		html(w, 200, page("Throw", `<p>Text</p><script src="/throw.js"></script>`))
	})
	mux.HandleFunc("GET /trap.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.getElementById("trap").addEventListener("keydown", e => { if (e.key === "Tab") e.preventDefault(); });`)
	})
	mux.HandleFunc("GET /trap", func(w http.ResponseWriter, r *http.Request) {
		html(w, 200, page("Trap", `<label for="trap">Trap</label><input id="trap"> <a href="/after" id="after">After</a><script src="/trap.js"></script>`))
	})
	mux.HandleFunc("GET /lang", func(w http.ResponseWriter, r *http.Request) {
		html(w, 200, page("Language", `<p id="lang">`+r.Header.Get("Accept-Language")+`</p>`))
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("/done?name=%s&topic=%s&agree=%s&due=%s",
			r.PostFormValue("name"), r.PostFormValue("topic"), r.PostFormValue("agree"), r.PostFormValue("due")), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		result := fmt.Sprintf("name=%s topic=%s agree=%s", q.Get("name"), q.Get("topic"), q.Get("agree"))
		if q.Get("due") != "" {
			result += " due=" + q.Get("due")
		}
		html(w, 200, page("Sent", `<p id="result">`+result+`</p>`))
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("set") {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "one", Path: "/"})
		}
		c, _ := r.Cookie("session")
		v := "none"
		if c != nil {
			v = c.Value
		}
		html(w, 200, page("Cookie", `<p id="cookie">`+v+`</p>`))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recorder stands in for a test to show that a helper fails one: Fatal and
// Skip record and end the goroutine, as they do for a test.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	failed  bool
	skipped bool
	msgs    []string
}

func (r *recorder) Helper() {}

func (r *recorder) note(flag *bool, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*flag = true
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) Fatal(args ...any) { r.note(&r.failed, fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Fatalf(f string, args ...any) {
	r.note(&r.failed, fmt.Sprintf(f, args...))
	runtime.Goexit()
}
func (r *recorder) Errorf(f string, args ...any) { r.note(&r.failed, fmt.Sprintf(f, args...)) }
func (r *recorder) Skipf(f string, args ...any) {
	r.note(&r.skipped, fmt.Sprintf(f, args...))
	runtime.Goexit()
}

// record runs f against a recorder in a goroutine of its own and returns the
// recorder once f returned or ended the goroutine.
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func (r *recorder) text() string { return strings.Join(r.msgs, "\n") }

func TestVendoredAxe(t *testing.T) {
	t.Parallel()
	recorded, err := os.ReadFile("vendor/axe.min.js.sha256")
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(axeSource))
	require.Equal(t, strings.Fields(string(recorded))[0], hex.EncodeToString(sum[:]),
		"the embedded axe.min.js is not the one vendor/update.sh recorded: run internal/web/webtest/vendor/update.sh")
	require.Contains(t, axeSource, `.version="`+strings.TrimSpace(axeVersion)+`"`, "vendor/AXE_VERSION names another release")
	for _, f := range []string{"vendor/axe-core.LICENSE", "vendor/axe-core.LICENSE-3RD-PARTY.txt"} {
		_, err := os.Stat(f)
		require.NoError(t, err, "axe-core's licence must be vendored with it")
	}
}

func TestMissingBrowser(t *testing.T) {
	t.Parallel()
	err := errors.New("no chromium found")
	r := record(t, func(tb testing.TB) { missing(tb, err, false) })
	require.True(t, r.skipped)
	require.False(t, r.failed)
	require.Contains(t, r.text(), RequireEnv)

	r = record(t, func(tb testing.TB) { missing(tb, err, true) })
	require.True(t, r.failed, "with %s set, a missing browser fails", RequireEnv)
	require.False(t, r.skipped)
	require.Contains(t, r.text(), "no chromium found")
}

func TestAxeReportsEveryViolation(t *testing.T) {
	srv := server(t)
	p := New(t)
	require.Equal(t, 200, p.Navigate(srv.URL+"/no-alt"))

	res, err := RunAxe(p)
	require.NoError(t, err)
	require.Len(t, res.Violations, 1, "%v", res.Err())
	v := res.Violations[0]
	require.Equal(t, "image-alt", v.ID)
	require.Equal(t, "critical", v.Impact)
	require.Contains(t, v.HelpURL, "/image-alt")
	require.Equal(t, []string{"img"}, v.Nodes[0].Target)

	r := record(t, func(tb testing.TB) { Axe(tb, p) })
	require.True(t, r.failed, "a page with a violation must fail the test")
	msg := r.text()
	for _, want := range []string{"1 violation(s)", srv.URL + "/no-alt", "image-alt (critical)", v.HelpURL, `<img src="/app.css"`, "1280 px"} {
		require.Contains(t, msg, want)
	}
}

func TestAxeErrListsEachNode(t *testing.T) {
	t.Parallel()
	require.NoError(t, AxeResult{}.Err())
	err := AxeResult{URL: "http://x/", Width: 390, Version: "4.10.3", Violations: []AxeViolation{
		{ID: "color-contrast", Impact: "serious", Help: "Contrast", HelpURL: "https://h/cc", Nodes: []AxeNode{
			{Target: []string{"p.a"}, HTML: `<p class="a">`, Summary: "Fix this"},
			{Target: []string{"iframe", "p.b"}, HTML: `<p class="b">`},
		}},
		{ID: "region", Impact: "moderate", Help: "Landmarks", HelpURL: "https://h/region", Nodes: []AxeNode{{Target: []string{"div"}}}},
	}}.Err()
	require.Error(t, err)
	require.Equal(t, `axe-core 4.10.3: 2 violation(s) on http://x/ at 390 px:
- color-contrast (serious): Contrast
  https://h/cc
  * p.a  <p class="a">
    Fix this
  * iframe p.b  <p class="b">
- region (moderate): Landmarks
  https://h/region
  * div  `, err.Error())
}

func TestAxeTagsEachSelectRules(t *testing.T) {
	srv := server(t)
	p := New(t)
	p.Navigate(srv.URL + "/")
	_, err := RunAxe(p) // loads axe into the page
	require.NoError(t, err)
	for _, tag := range AxeTags {
		n := eval[int](p, "counting rules", fmt.Sprintf(`axe.getRules([%s]).length`, js(tag)))
		require.Positive(t, n, "axe-core %s has no rule tagged %s", axeVersion, tag)
	}
}

// pngWidth is the width in pixels of a PNG file.
func pngWidth(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	require.NoError(t, err)
	return cfg.Width
}

func TestCleanPagePassesAtBothWidths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ScreenshotsEnv, dir)
	srv := server(t)
	p := New(t)
	require.Equal(t, 200, p.Navigate(srv.URL+"/"))
	p.SetWidth(Phone)
	Check(t, p, "form")
	require.Equal(t, Phone, p.Width(), "Check leaves the viewport as it found it")
	require.Equal(t, Phone, eval[int](p, "reading the width", `window.innerWidth`))
	for _, w := range Widths {
		file := filepath.Join(dir, fmt.Sprintf("TestCleanPagePassesAtBothWidths-form-%d.png", w))
		require.Equal(t, w, pngWidth(t, file), "the screenshot at %d px", w)
	}
}

func TestScreenshotOnlyWhenAsked(t *testing.T) {
	t.Setenv(ScreenshotsEnv, "")
	srv := server(t)
	p := New(t)
	p.Navigate(srv.URL + "/")
	require.Empty(t, p.Screenshot(""))
}

func TestStrictCSPStaysInForce(t *testing.T) {
	srv := server(t)
	p := New(t)
	require.Equal(t, 200, p.Navigate(srv.URL+"/inline"))
	p.WaitTrue(`document.documentElement.dataset.js === "ran"`) // the same-origin script ran
	require.False(t, eval[bool](p, "reading", `"inline" in document.documentElement.dataset`), "the policy blocks inline scripts")
	require.NotEqual(t, "rgb(255, 0, 0)", eval[string](p, "reading", `getComputedStyle(document.getElementById("styled")).color`),
		"the policy blocks inline styles")
	res, err := RunAxe(p)
	require.NoError(t, err, "axe runs under the strict policy")
	require.NoError(t, res.Err())

	errs := strings.Join(p.Errors(), "\n")
	require.Contains(t, errs, "Executing inline script violates", "the refusal is reported")
	require.Contains(t, errs, "Applying inline style violates")
	require.Empty(t, p.Errors(), "Errors forgets what it returned")
}

func TestCheckFailsOnBrowserErrors(t *testing.T) {
	srv := server(t)
	p := New(t)
	p.Navigate(srv.URL + "/")
	NoErrors(t, p)
	for path, want := range map[string]string{"/throw": "uncaught Error: boom", "/inline": "Executing inline script violates"} {
		p.Navigate(srv.URL + path)
		r := record(t, func(tb testing.TB) { Check(tb, p, "") })
		require.True(t, r.failed, "%s must fail Check", path)
		require.Contains(t, r.text(), want)
	}
}

func TestKeyboardOnly(t *testing.T) {
	srv := server(t)
	p := New(t)
	p.Navigate(srv.URL + "/")
	p.TabTo("#name")
	require.Equal(t, Focus{Tag: "input", ID: "name", Name: "name", Label: "Name"}, p.Focused())
	p.Type("Ada")
	p.TabTo("#topic")
	p.Press(ArrowDown) // the next option
	p.TabTo("#agree")
	p.ShiftTab()
	require.True(t, p.FocusMatches("#due"), "Shift+Tab goes back one field")
	p.Press(Tab, Space)
	require.True(t, eval[bool](p, "reading", `document.getElementById("agree").checked`))
	p.TabTo("#f button")
	require.Equal(t, 200, p.PressNavigate(Enter))
	require.Equal(t, "name=Ada topic=orders agree=yes", p.Text("#result"))
}

// failingFor is p with its failures going to tb.
func failingFor(p *Page, tb testing.TB) *Page {
	q := *p
	q.t = tb
	return &q
}

func TestTabToNamesWhereTheFocusWent(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct {
		path, target string
		want         []string
	}{
		{"/unreachable", "#hidden", []string{`a "First"`, `a "Last"`}},
		{"/trap", "#after", []string{fmt.Sprintf(`input#trap "Trap" (%d more Tabs)`, maxTabs-1)}},
	} {
		p := New(t)
		p.Navigate(srv.URL + tc.path)
		r := record(t, func(tb testing.TB) { failingFor(p, tb).TabTo(tc.target) })
		require.True(t, r.failed, tc.path)
		for _, w := range tc.want {
			require.Contains(t, r.text(), w)
		}
	}
}

func TestFormsWithAndWithoutJS(t *testing.T) {
	srv := server(t)
	for _, tc := range []struct {
		name string
		opts []Option
	}{{"js", nil}, {"nojs", []Option{WithoutJS()}}} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(t, tc.opts...)
			p.Navigate(srv.URL + "/")
			p.FillForm("#f", map[string]string{"name": "Grace", "topic": "Orders", "due": "2026-12-07"})
			p.Click("#agree")
			require.Equal(t, 200, p.Submit("#f"))
			require.Equal(t, "name=Grace topic=orders agree=yes due=2026-12-07", p.Text("#result"))
		})
	}
}

func TestWithoutJSRunsNoScript(t *testing.T) {
	srv := server(t)
	withJS := New(t)
	withJS.Navigate(srv.URL + "/")
	withJS.WaitTrue(`document.documentElement.dataset.js === "ran"`)
	require.False(t, withJS.Exists("#noscript"), "with scripts on, <noscript> is not parsed")

	// Another site gets another renderer process: scripts stay off there too.
	otherSite := strings.Replace(server(t).URL, "127.0.0.1", "localhost", 1)
	p := New(t, WithoutJS())
	require.False(t, p.JavaScript())
	for _, url := range []string{srv.URL + "/", srv.URL + "/done", otherSite + "/done"} {
		p.Navigate(url)
		require.False(t, eval[bool](p, "reading", `"js" in document.documentElement.dataset`), "%s ran a script", url)
		if url == srv.URL+"/" {
			p.WaitVisible("#noscript")
			// axe needs scripts for its own run; afterwards the page is
			// script-free again (the loop's next page checks it).
			res, err := RunAxe(p)
			require.NoError(t, err)
			require.NoError(t, res.Err())
		}
	}
}

var pids struct {
	sync.Mutex
	seen []int
}

// oneBrowser records the browser's pid and checks that every test so far saw
// the same one, and that the binary started one browser.
func oneBrowser(t *testing.T) {
	p := New(t)
	pid := BrowserPID()
	require.NotZero(t, pid)
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	require.NoError(t, err, "the browser process is running")
	require.EqualValues(t, 1, shared.starts.Load(), "one browser per test binary")
	pids.Lock()
	pids.seen = append(pids.seen, pid)
	seen := append([]int(nil), pids.seen...)
	pids.Unlock()
	for _, other := range seen {
		require.Equal(t, pid, other, "the tests share one browser")
	}
	t.Logf("browser pid %d started in %s; this context opened in %s", pid, StartTime(), p.SetupTime())
}

func TestOneBrowserA(t *testing.T) { oneBrowser(t) }
func TestOneBrowserB(t *testing.T) { oneBrowser(t) }

func TestLanguage(t *testing.T) {
	srv := server(t)
	p := New(t)
	p.Navigate(srv.URL + "/lang")
	require.True(t, strings.HasPrefix(p.Text("#lang"), "en-US"), "the default is English: %q", p.Text("#lang"))

	p = New(t, WithLanguage("de-DE,de"))
	p.Navigate(srv.URL + "/lang")
	require.True(t, strings.HasPrefix(p.Text("#lang"), "de-DE"), "asked for German: %q", p.Text("#lang"))
	require.Equal(t, "de-DE", eval[string](p, "reading", `navigator.language`))
}

func TestContextsAreIsolated(t *testing.T) {
	srv := server(t)
	a, b := New(t), New(t)
	require.NotEqual(t, a.BrowserContextID(), b.BrowserContextID())
	a.Navigate(srv.URL + "/cookie?set=1")
	a.Navigate(srv.URL + "/cookie")
	require.Equal(t, "one", a.Text("#cookie"))
	b.Navigate(srv.URL + "/cookie")
	require.Equal(t, "none", b.Text("#cookie"), "a new context has no cookie of another")

	b.SetCookie(srv.URL, "session", "two")
	b.Navigate(srv.URL + "/cookie")
	require.Equal(t, "two", b.Text("#cookie"))
	a.Navigate(srv.URL + "/cookie")
	require.Equal(t, "one", a.Text("#cookie"), "SetCookie changes its own context only")
}

func TestBrowserFlags(t *testing.T) {
	New(t)
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", BrowserPID()))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	args := strings.Split(string(raw), "\x00")
	for _, want := range []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"} {
		require.Contains(t, args, want)
	}
	var dataDir string
	for _, a := range args {
		if d, ok := strings.CutPrefix(a, "--user-data-dir="); ok {
			dataDir = d
		}
	}
	require.True(t, strings.HasPrefix(dataDir, os.TempDir()), "a fresh temporary profile, not %q", dataDir)
}

func TestWaitFailsAtItsDeadline(t *testing.T) {
	srv := server(t)
	p := New(t)
	p.Navigate(srv.URL + "/")
	began := time.Now()
	r := record(t, func(tb testing.TB) {
		q := failingFor(p, tb)
		q.timeout = 500 * time.Millisecond
		q.WaitText("h1", "Not there")
	})
	require.True(t, r.failed)
	require.Contains(t, r.text(), `the page has "Your requests"`)
	require.Less(t, time.Since(began), 10*time.Second)
}

// BenchmarkNewPage measures a test's overhead: opening an incognito context
// and its tab, and closing them again.
func BenchmarkNewPage(b *testing.B) {
	New(b).close() // starts the browser
	for b.Loop() {
		New(b).close()
	}
}

// smallPage serves one page of the size of a portal form.
func smallPage(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, page("Small", formBody))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkAxeSmallPage measures axe on a fresh document: loading it,
// injecting axe-core and running it.
func BenchmarkAxeSmallPage(b *testing.B) {
	url := smallPage(b)
	p := New(b)
	for b.Loop() {
		p.Navigate(url)
		Axe(b, p)
	}
}

// BenchmarkAxeRunOnly measures the axe run alone, on a document that already
// has axe-core: what a second width of Check costs.
func BenchmarkAxeRunOnly(b *testing.B) {
	p := New(b)
	p.Navigate(smallPage(b))
	Axe(b, p)
	for b.Loop() {
		Axe(b, p)
	}
}

func TestNewNeedsMain(t *testing.T) {
	// Not parallel: no other test may open a Page meanwhile.
	shared.mainCalled.Store(false)
	defer shared.mainCalled.Store(true)
	r := record(t, func(tb testing.TB) { New(tb) })
	require.True(t, r.failed)
	require.Contains(t, r.text(), "webtest.Main(m)")
}

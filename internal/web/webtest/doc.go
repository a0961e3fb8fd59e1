// Package webtest drives a real, headless Chromium for the tests of the
// portal's pages: one browser per test binary, a fresh incognito browser
// context per test, helpers for forms, keyboard-only use, viewports and
// screenshots, and axe-core (vendored under vendor/, embedded) for WCAG 2.2 AA.
//
// A test package that uses it calls Main from its TestMain, so that the browser
// it starts is stopped again:
//
//	func TestMain(m *testing.M) { webtest.Main(m) }
//
// A package whose tests also need dbtest's databases wraps m instead, so that
// the browser stops after the tests and before the database:
//
//	func TestMain(m *testing.M) { dbtest.Main(webtest.Wrap(m)) }
//
//	func TestHub(t *testing.T) {
//		p := webtest.New(t)
//		p.Navigate(srv.URL + "/")
//		webtest.Check(t, p, "") // no browser errors; axe at 390 and 1280 px; screenshots
//	}
//
// Start a test's servers before its Page: cleanups run last-first, so the
// Page closes before the server, and no open stream (server-sent events) keeps
// httptest.Server.Close waiting. A Page is one tab; a link that opens another
// window is not followed (and such a window would run JavaScript even for a
// Page made WithoutJS).
//
// Without Chromium the tests skip, unless PORTICO_REQUIRE_BROWSER is set
// (CI sets it), when they fail. The package only drives a browser: it knows
// nothing about Portico's pages, sessions or data; the page tests bring those.
package webtest

package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/web/webtest"
)

// The browser tests drive the production router in headless Chromium
// (internal/web/webtest): each page is checked by webtest.Check (no browser
// error, axe-core at 390 and 1280 px with no violation of any impact, a
// screenshot at each when $PORTICO_SCREENSHOTS is set).

// signInForm signs in through the sign-in form and waits for the status hub.
// With JavaScript the form is sent by htmx (hx-boost), without it by the
// browser.
func signInForm(t *testing.T, p *webtest.Page, base, email string) {
	t.Helper()
	require.Equal(t, http.StatusOK, p.Navigate(base+"/sign-in"))
	p.Fill("#f-email", email)
	p.Fill("#f-password", password)
	if p.JavaScript() {
		p.Click(`form[action="/sign-in"] button[type=submit]`)
	} else {
		require.Equal(t, http.StatusOK, p.Submit(`form[action="/sign-in"]`))
	}
	p.WaitText("h1", "Your overview")
	require.Equal(t, base+"/", p.URL())
}

// evalJS evaluates a JavaScript expression in p's page.
func evalJS[T any](t *testing.T, p *webtest.Page, expr string) T {
	t.Helper()
	v, err := chromedp.Run(p.Context(), chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

// check is webtest.Check for a page the server answered with status: the
// browser logs an error status of the document itself (a 404 page, a form
// sent back with its errors) as a failed load, which is the page working,
// so that one entry is taken out; any other error still fails.
func check(t *testing.T, p *webtest.Page, label string, status int) {
	t.Helper()
	if status >= 400 {
		own := fmt.Sprintf("Failed to load resource: the server responded with a status of %d", status)
		for _, msg := range p.Errors() {
			require.True(t, strings.Contains(msg, own), "the browser reported an error on %s: %s", p.URL(), msg)
		}
	}
	webtest.Check(t, p, label)
}

// roleBlocks are the status hub's blocks each role sees (here and in
// TestHubBlocksFollowRoles).
var roleBlocks = []struct {
	role   string
	blocks []string
}{
	{auth.RoleMember, []string{"cases", "orders", "actions"}},
	{auth.RoleBilling, []string{"invoices", "actions"}},
	{auth.RolePurchasing, []string{"orders", "approvals", "actions"}},
	{auth.RoleAccountAdmin, []string{"cases", "orders", "invoices", "approvals", "actions"}},
}

// TestBrowserEveryPageIsAccessible visits every page of the portal, signed
// out and signed in as each role, and checks each.
func TestBrowserEveryPageIsAccessible(t *testing.T) {
	e := setup(t)
	base := e.srv.URL
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	foreignCase := e.fx.IDs[apitest.Beta]["case"][0]

	t.Run("signed out", func(t *testing.T) {
		p := webtest.New(t)
		for _, pg := range []struct {
			label, path string
			status      int
			h1          string
		}{
			{"sign-in", "/sign-in", http.StatusOK, "Sign in"},
			{"signed-out", "/sign-in?signed_out=1", http.StatusOK, "Sign in"},
			{"reset-request", "/reset-password", http.StatusOK, "Reset your password"},
			{"reset-sent", "/reset-password?sent=1", http.StatusOK, "Reset your password"},
			{"reset-token", "/reset-password?token=x", http.StatusOK, "Choose a new password"},
			{"activate", "/activate?token=x", http.StatusOK, "Activate your account"},
			{"activate-no-token", "/activate", http.StatusOK, "Activate your account"},
			{"not-found", "/no/such/page", http.StatusNotFound, "Page not found"},
		} {
			require.Equal(t, pg.status, p.Navigate(base+pg.path), pg.path)
			require.Contains(t, p.Text("h1"), pg.h1, pg.path)
			check(t, p, pg.label, pg.status)
		}
		// A form sent with errors shows them beside the fields.
		p.Navigate(base + "/sign-in")
		p.Fill("#f-email", "mark@alpha.test")
		p.Fill("#f-password", "not-the-password")
		p.Click(`form[action="/sign-in"] button[type=submit]`)
		p.WaitVisible(`[role=alert]`)
		check(t, p, "sign-in-failed", http.StatusUnauthorized)
	})

	for _, rb := range roleBlocks {
		t.Run(rb.role, func(t *testing.T) {
			email := rb.role + "@alpha.test"
			e.user(email, apitest.Alpha, rb.role)
			p := webtest.New(t)
			signInForm(t, p, base, email)
			require.Equal(t, rb.blocks, evalJS[[]string](t, p, `[...document.querySelectorAll("section.block")].map(s => s.id)`), "the hub's blocks")
			webtest.Check(t, p, "hub")

			pages := []struct {
				label, path string
				status      int
			}{
				{"not-found", "/cases/500A99999999999", http.StatusNotFound},
				{"foreign-case", "/cases/" + foreignCase, http.StatusNotFound},
			}
			if contains(rb.blocks, "cases") {
				pages = append(pages, []struct {
					label, path string
					status      int
				}{
					{"cases", "/cases", http.StatusOK},
					{"cases-closed", "/cases?state=closed", http.StatusOK},
					{"cases-filtered", "/cases?state=all&status=in_progress&q=fire", http.StatusOK},
					{"cases-none", "/cases?state=all&q=nothing-like-this", http.StatusOK},
					{"cases-bad-filter", "/cases?status=exploded", http.StatusUnprocessableEntity},
					{"case", "/cases/" + alphaCase, http.StatusOK},
					{"case-closed", "/cases/" + e.fx.IDs[apitest.Alpha]["case"][2], http.StatusOK},
					{"new-case", "/cases/new", http.StatusOK},
				}...)
			} else {
				pages = append(pages, struct {
					label, path string
					status      int
				}{"new-case-forbidden", "/cases/new", http.StatusForbidden})
			}
			for _, pg := range pages {
				require.Equal(t, pg.status, p.Navigate(base+pg.path), pg.path)
				check(t, p, pg.label, pg.status)
			}
		})
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

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
	signInTo(t, p, base, "", email)
	p.WaitText("h1", "Your overview")
	require.Equal(t, base+"/", p.URL())
}

// signInTo opens the sign-in form on the way to next ("": none) and signs
// email in with the test password; the caller waits for the page it
// expects.
func signInTo(t *testing.T, p *webtest.Page, base, next, email string) {
	t.Helper()
	u := base + "/sign-in"
	if next != "" {
		u += "?next=" + next
	}
	require.Equal(t, http.StatusOK, p.Navigate(u))
	p.Fill("#f-email", email)
	p.Fill("#f-password", password)
	// Not sent by htmx even with JavaScript: signing in changes the header
	// too, not only the main region.
	require.Equal(t, http.StatusOK, p.Submit(`form[action="/sign-in"]`))
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
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	foreignCase := e.fx.IDs[apitest.Beta]["case"][0]

	t.Run("signed out", func(t *testing.T) {
		t.Parallel()
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

	// Each role's user has a change in conflict, so that the conflict
	// pages show one.
	e.fx.Put("salesforce", "Contact", apitest.Alpha, apitest.SFContact(apitest.Alpha, "Alice", "Admin"))
	conflicts := map[string]string{}
	for _, rb := range roleBlocks {
		email := rb.role + "@alpha.test"
		b := e.signedIn(email, apitest.Alpha, rb.role)
		b.get("/profile")
		res := b.post("/profile/contact", url.Values{"first_name": {"Alice"}, "last_name": {"Admin-" + rb.role}, "phone": {"+1 555 0100"}, "title": {"Buyer"}})
		require.Equal(t, http.StatusSeeOther, res.code, res.body)
		b.get("/profile")
		require.Equal(t, http.StatusOK, b.post("/profile/tokens", url.Values{"name": {"Nightly export of " + rb.role}, "scopes": {"portal:read"}}).code)
		conflicts[rb.role] = e.conflicted(t, email, "update_contact", `{"last_name": "Admin-`+rb.role+`", "title": "Buyer"}`,
			`{"last_name": "Admin", "title": "Head of purchasing"}`)
	}
	due := e.fx.IDs[apitest.Alpha]["invoice"][0]
	// The inventory system is down: the order pages say so, in their look.
	_, err := e.pool.Exec(context.Background(), `INSERT INTO sync_cursor (tenant_id, connection, object, synced_through, failing_since)
		VALUES (1, 'inventory', 'order', now() - interval '1 hour', now() - interval '5 minutes')`)
	require.NoError(t, err)
	type pg struct {
		label, path string
		status      int
	}
	// sections are the pages of each part of the portal, for a role that
	// sees it; a role that does not gets the 403 page of its list.
	sections := map[string][]pg{
		"cases": {
			{"cases", "/cases", http.StatusOK},
			{"cases-closed", "/cases?state=closed", http.StatusOK},
			{"cases-filtered", "/cases?state=all&status=in_progress&q=fire", http.StatusOK},
			{"cases-none", "/cases?state=all&q=nothing-like-this", http.StatusOK},
			{"cases-bad-filter", "/cases?status=exploded", http.StatusUnprocessableEntity},
			{"case", "/cases/" + alphaCase, http.StatusOK},
			{"case-closed", "/cases/" + e.fx.IDs[apitest.Alpha]["case"][2], http.StatusOK},
			{"new-case", "/cases/new", http.StatusOK},
		},
		"orders": {
			{"orders", "/orders", http.StatusOK},
			{"orders-all", "/orders?state=all", http.StatusOK},
			{"order", "/orders/ORDA1", http.StatusOK},
		},
		"invoices": {
			{"invoices", "/invoices", http.StatusOK},
			{"invoices-paid", "/invoices?state=paid", http.StatusOK},
			{"invoices-bad-filter", "/invoices?state=overdue", http.StatusUnprocessableEntity},
			{"invoice", "/invoices/" + due, http.StatusOK},
		},
		"approvals": {
			{"approvals", "/approvals", http.StatusOK},
			{"approvals-all", "/approvals?state=all", http.StatusOK},
			{"approval", "/approvals/0Q0A00000000001", http.StatusOK},
			{"approval-decided", "/approvals/0Q0A00000000002", http.StatusOK},
		},
		"account": {
			{"account-users", "/account/users", http.StatusOK},
		},
	}
	forbidden := map[string]pg{
		"cases":     {"new-case-forbidden", "/cases/new", http.StatusForbidden},
		"orders":    {"orders-forbidden", "/orders", http.StatusForbidden},
		"invoices":  {"invoices-forbidden", "/invoices", http.StatusForbidden},
		"approvals": {"approvals-forbidden", "/approvals", http.StatusForbidden},
		"account":   {"account-forbidden", "/account/users", http.StatusForbidden},
	}
	sees := map[string][]string{
		auth.RoleMember:       {"cases", "orders"},
		auth.RoleBilling:      {"invoices"},
		auth.RolePurchasing:   {"orders", "approvals"},
		auth.RoleAccountAdmin: {"cases", "orders", "invoices", "approvals", "account"},
	}
	for _, rb := range roleBlocks {
		t.Run(rb.role, func(t *testing.T) {
			t.Parallel()
			email := rb.role + "@alpha.test"
			p := webtest.New(t)
			signInForm(t, p, base, email)
			require.Equal(t, rb.blocks, evalJS[[]string](t, p, `[...document.querySelectorAll("section.block")].map(s => s.id)`), "the hub's blocks")
			webtest.Check(t, p, "hub")

			pages := []pg{
				{"not-found", "/cases/500A99999999999", http.StatusNotFound},
				{"foreign-case", "/cases/" + foreignCase, http.StatusNotFound},
				{"knowledge", "/knowledge", http.StatusOK},
				{"knowledge-results", "/knowledge?q=router", http.StatusOK},
				{"knowledge-none", "/knowledge?q=nothing-like-this", http.StatusOK},
				{"article", "/knowledge/ka0000000000001", http.StatusOK},
				{"conflicts", "/conflicts", http.StatusOK},
				{"conflict", "/conflicts/" + conflicts[rb.role], http.StatusOK},
				{"profile", "/profile", http.StatusOK},
			}
			for _, section := range []string{"cases", "orders", "invoices", "approvals", "account"} {
				if contains(sees[rb.role], section) {
					pages = append(pages, sections[section]...)
				} else {
					pages = append(pages, forbidden[section])
				}
			}
			for _, pg := range pages {
				require.Equal(t, pg.status, p.Navigate(base+pg.path), pg.path)
				check(t, p, pg.label, pg.status)
				if strings.HasPrefix(pg.path, "/orders/") {
					require.Contains(t, p.Text("#main .fresh.down"), "Inventory is unavailable since", "checked with the source down")
				}
			}
		})
	}
}

// send submits the form that form matches as a person would: with
// JavaScript, htmx sends it and swaps the main region, so the test waits for
// what the next page shows (wait, in sel); without, the browser loads the
// next document.
func send(t *testing.T, p *webtest.Page, form, sel, wait string) {
	t.Helper()
	if p.JavaScript() {
		p.Click(form + ` button[type=submit]`)
	} else {
		p.Submit(form)
	}
	p.WaitText(sel, wait)
}

// follow follows the link sel matches, boosted by htmx or not, and waits for
// the next page's heading.
func follow(t *testing.T, p *webtest.Page, sel, h1 string) {
	t.Helper()
	if p.JavaScript() {
		p.Click(sel)
	} else {
		require.Equal(t, http.StatusOK, p.ClickNavigate(sel))
	}
	p.WaitText("#main h1", h1)
}

// jsModes are the two ways a flow must work: with htmx, and as plain HTML.
var jsModes = []struct {
	name string
	opts []webtest.Option
}{{"javascript", nil}, {"no javascript", []webtest.Option{webtest.WithoutJS()}}}

// TestBrowserCaseFlows signs in, opens a case from the new-case form,
// comments on a case and closes it, meets a foreign case's 404 page and signs
// out: with JavaScript (htmx swaps the main region) and without (plain forms
// and links).
func TestBrowserCaseFlows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := fmt.Sprintf("mark%d@alpha.test", i)
			e.user(email, apitest.Alpha, auth.RoleMember)
			p := webtest.New(t, mode.opts...)
			require.Equal(t, !strings.HasPrefix(mode.name, "no"), p.JavaScript())

			signInForm(t, p, base, email)
			require.Contains(t, p.Text("header .who"), email, "the header shows who is signed in")
			require.True(t, p.Exists(`header nav a[href="/cases"]`), "the header has the menu")

			// A new case from the form.
			follow(t, p, `header nav a[href="/cases"]`, "Cases")
			require.Equal(t, "/cases", evalJS[string](t, p, `document.querySelector("header nav a[aria-current=page]").getAttribute("href")`),
				"the menu marks the page it is on")
			require.True(t, strings.HasPrefix(p.Title(), "Cases"), p.Title())
			require.Equal(t, "/cases", evalJS[string](t, p, `document.querySelector("footer [name=next]").value`),
				"choosing a language comes back to this page")
			follow(t, p, `a[href="/cases/new"]`, "New case")
			subject := "Router blinks red " + mode.name
			p.Fill("#f-subject", subject)
			p.Fill("#f-description", "Since Monday, every few minutes.")
			p.Fill("#f-priority", "high")
			before := e.actions(t, "create_case")
			send(t, p, `form[action="/cases"]`, "#main .notice", "Your case is being sent.")
			require.Equal(t, base+"/cases?sent=case", p.URL())
			require.Equal(t, before+1, e.actions(t, "create_case"))
			check(t, p, "case-sent", 0)
			require.False(t, evalJS[bool](t, p, `[...document.querySelectorAll("#main li")].some(li =>
				li.textContent.includes(`+strconv.Quote(subject)+`) && li.querySelector(".detail"))`),
				"a case not yet numbered shows no empty case number")

			// A comment: an empty one comes back with its error beside the field.
			id := e.fx.IDs[apitest.Alpha]["case"][i]
			follow(t, p, `a[href="/cases/`+id+`"]`, "Printer on fire "+id)
			before = e.actions(t, "add_case_comment")
			send(t, p, `form[action$="/comments"]`, "#f-body-error", "This field is required.")
			require.Equal(t, "true", evalJS[string](t, p, `document.querySelector("#f-body").getAttribute("aria-invalid")`))
			require.Zero(t, e.actions(t, "add_case_comment")-before, "bad input changes nothing")
			if p.JavaScript() {
				// After the swap settles, the focus is on the alert.
				p.WaitTrue(`document.activeElement.matches("[role=alert]")`)
			}
			check(t, p, "comment-invalid", http.StatusUnprocessableEntity)
			p.Fill("#f-body", "Here are the logs.")
			send(t, p, `form[action$="/comments"]`, "#main .notice", "Your comment is being sent.")
			require.Equal(t, base+"/cases/"+id+"?sent=comment", p.URL())
			require.Equal(t, before+1, e.actions(t, "add_case_comment"))
			check(t, p, "comment-sent", 0)

			// Close it.
			before = e.actions(t, "close_case")
			send(t, p, `form[action$="/close"]`, "#main .notice", "Your request to close the case is being sent.")
			require.Contains(t, p.Text(".status-box"), "Your change is being sent.")
			require.Equal(t, before+1, e.actions(t, "close_case"))
			check(t, p, "close-sent", 0)

			// Another account's case is the portal's 404 page, naming nothing of it.
			foreign := e.fx.IDs[apitest.Beta]["case"][0]
			require.Equal(t, http.StatusNotFound, p.Navigate(base+"/cases/"+foreign))
			require.Equal(t, "Page not found", p.Text("#main h1"))
			require.NotContains(t, evalJS[string](t, p, `document.documentElement.outerHTML`), foreign)
			check(t, p, "foreign-case", http.StatusNotFound)

			// Sign out: the session ends.
			require.Equal(t, http.StatusOK, p.ClickNavigate(`form[action="/sign-out"] button:not([formaction])`))
			p.WaitText("#main .notice", "You have signed out.")
			require.Equal(t, http.StatusOK, p.Navigate(base+"/"))
			require.Equal(t, base+"/sign-in", p.URL(), "signed out, the hub asks to sign in")
		})
	}
}

// TestBrowserNewCaseByKeyboard opens a case without a pointer: Tab to each
// control, type, Enter; the focus must land on what each swap brought.
func TestBrowserNewCaseByKeyboard(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.signedInPage(t, "kim@alpha.test", auth.RoleMember)

	// The skip link comes first and moves the focus to the main region.
	skipToMain(t, p)
	enterLink(t, p, `#main a[href="/cases"]`, "Cases")
	enterLink(t, p, `a[href="/cases/new"]`, "New case")

	// Sent empty, the browser keeps the form and puts the focus on the field
	// to fill in.
	p.TabTo(`form[action="/cases"] button[type=submit]`)
	p.Press(webtest.Enter)
	p.WaitTrue(`document.activeElement.id === "f-subject"`)
	require.Zero(t, e.actions(t, "create_case"))

	p.Type("Scanner jams on page two")
	p.TabTo("#f-description")
	p.Type("Every second sheet.")
	p.TabTo("#f-priority")
	was := evalJS[string](t, p, `document.activeElement.value`)
	p.Press(webtest.ArrowDown)
	now := evalJS[string](t, p, `document.activeElement.value`)
	require.NotEqual(t, was, now, "the arrow keys choose a priority")
	p.TabTo(`form[action="/cases"] button[type=submit]`)
	p.Press(webtest.Enter)

	p.WaitText("#main .notice", "Your case is being sent.")
	p.WaitTrue(`document.activeElement === document.querySelector("#main h1")`)
	p.WaitText("#live", "Your case is being sent.")
	require.Equal(t, 1, e.actions(t, "create_case"))
	webtest.Check(t, p, "")
}

// TestBrowserPasswordMails resets a password with the link the reset mail
// carries, and activates an invitation with the link its mail carries.
func TestBrowserPasswordMails(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	for _, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := strings.ReplaceAll(mode.name, " ", "-") + "@alpha.test"
			e.user(email, apitest.Alpha, auth.RoleMember)
			p := webtest.New(t, mode.opts...)

			// Ask for the mail.
			require.Equal(t, http.StatusOK, p.Navigate(base+"/sign-in"))
			follow(t, p, `a[href="/reset-password"]`, "Reset your password")
			p.Fill("#f-email", email)
			send(t, p, `form[action="/reset-password/request"]`, "#main .notice", "a link to reset the password is on its way")
			check(t, p, "reset-sent", 0)

			// The worker mints the link the mail carries.
			msg, ok, err := e.auth.ResetMail(context.Background(), auth.PasswordResetMailArgs{Email: email})
			require.NoError(t, err)
			require.True(t, ok)
			link, err := url.Parse(msg.Link)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, p.Navigate(base+link.RequestURI()))
			require.Equal(t, "Choose a new password", p.Text("#main h1"))

			// Two passwords that differ come back with the error beside the field.
			p.Fill("#f-password", "fresh-password-9931")
			p.Fill("#f-password_confirm", "fresh-password-0000")
			send(t, p, `form[action="/reset-password"]`, "#f-password_confirm-error", "not the same")
			check(t, p, "reset-mismatch", http.StatusUnprocessableEntity)
			p.Fill("#f-password", "fresh-password-9931")
			p.Fill("#f-password_confirm", "fresh-password-9931")
			send(t, p, `form[action="/reset-password"]`, "#main .notice", "Your password has been changed.")
			require.Equal(t, base+"/sign-in?reset=1", p.URL())

			p.Fill("#f-email", email)
			p.Fill("#f-password", "fresh-password-9931")
			require.Equal(t, http.StatusOK, p.Submit(`form[action="/sign-in"]`))
			p.WaitText("#main h1", "Your overview")
			p.ClickNavigate(`form[action="/sign-out"] button:not([formaction])`)

			// An invitation's link opens the activation form.
			invited := "new-" + email
			_, link2, err := auth.Invite(context.Background(), e.pool, auth.NewUser{Email: invited, Roles: []string{auth.RoleMember},
				AccountID: apitest.Alpha, ContactID: "003" + apitest.Alpha[3:], HashParams: fastHash}, base, time.Now())
			require.NoError(t, err)
			activate(t, p, link2, invited)
		})
	}
}

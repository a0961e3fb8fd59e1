package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/web/webtest"
)

// TestBrowserApprovalFlows approves one quote from the status hub and
// rejects another with a reason (an empty reason first comes back beside
// its field, changing nothing): with JavaScript (htmx swaps the main
// region) and without (plain forms and links).
func TestBrowserApprovalFlows(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	// Two quotes awaiting a decision for each mode.
	var quotes []string
	for i := range 2 * len(jsModes) {
		quotes = append(quotes, fmt.Sprintf("0Q0A000000001%02d", i))
		e.fx.Put("salesforce", "Quote", apitest.Alpha, apitest.SFQuote(quotes[i], apitest.Alpha, "Presented"))
	}
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			p := e.signedInPage(t, fmt.Sprintf("pat%d@alpha.test", i), auth.RolePurchasing, mode.opts...)
			approve, reject := quotes[2*i], quotes[2*i+1]

			// From the hub's block to the quote: what is approved, exactly.
			follow(t, p, `#approvals a[href="/approvals/`+approve+`"]`, "Quote "+approve)
			require.Contains(t, p.Text("#main .facts"), "1,200.50")
			before, _ := e.decisions(t, "")
			send(t, p, `form[action$="/approve"]`, "#main .notice", "Your approval is being sent.")
			require.Equal(t, base+"/approvals/"+approve+"?sent=approve", p.URL())
			require.False(t, p.Exists(`form[action$="/approve"]`), "no second decision from the page")
			require.Contains(t, p.Text(".status-box"), "Your change is being sent.")
			after, _ := e.decisions(t, "")
			require.Equal(t, before+1, after)
			check(t, p, "approval-sent", 0)

			// Reject another: the reason is required, and sent with the decision.
			follow(t, p, `a[href="/approvals"]`, "Approvals")
			follow(t, p, `#main a[href="/approvals/`+reject+`"]`, "Quote "+reject)
			send(t, p, `form[action$="/reject"]`, "#f-reason-error", "This field is required.")
			require.Equal(t, "true", evalJS[string](t, p, `document.querySelector("#f-reason").getAttribute("aria-invalid")`))
			if p.JavaScript() {
				p.WaitTrue(`document.activeElement.matches("[role=alert]")`)
			}
			now, _ := e.decisions(t, "")
			require.Equal(t, after, now, "bad input changes nothing")
			check(t, p, "reject-invalid", http.StatusUnprocessableEntity)
			reason := "Too dear, " + mode.name
			p.Fill("#f-reason", reason)
			send(t, p, `form[action$="/reject"]`, "#main .notice", "Your rejection is being sent.")
			require.Equal(t, base+"/approvals/"+reject+"?sent=reject", p.URL())
			all, withReason := e.decisions(t, reason)
			require.Equal(t, after+1, all)
			require.Equal(t, 1, withReason, "the reason goes with the decision")
			require.True(t, strings.HasPrefix(p.Title(), "Approval"), p.Title())
			check(t, p, "reject-sent", 0)
		})
	}
}

// mailedLink works the invitation mail jobs queued so far, as the worker
// process does, delivering over SMTP to the test's server, and returns
// the link in the one mail sent to email.
func (e *env) mailedLink(t *testing.T, smtp *mailtest.Server, email string) *url.URL {
	t.Helper()
	ctx := context.Background()
	sender, err := mail.New("smtp://"+smtp.Addr(), "Portal <portal@example.com>")
	require.NoError(t, err)
	w := rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, mail.NewInvitationWorker(e.auth, sender, nil))
	rows, err := e.pool.Query(ctx, `SELECT args FROM river_job WHERE kind = $1 ORDER BY id`, auth.InvitationMailArgs{}.Kind())
	require.NoError(t, err)
	jobs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)
	for _, raw := range jobs {
		var args auth.InvitationMailArgs
		require.NoError(t, json.Unmarshal(raw, &args))
		require.NoError(t, pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
			_, err := w.Work(ctx, t, tx, args, nil)
			return err
		}))
	}
	msgs, _, _ := smtp.Snapshot()
	var found []string
	for _, m := range msgs {
		head, body, _ := strings.Cut(m, "\n\n")
		if !strings.Contains(head, "\nTo: "+email+"\n") {
			continue
		}
		decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
		require.NoError(t, err)
		found = append(found, regexp.MustCompile(`https?://\S+/activate\?token=\S+`).FindString(string(decoded)))
	}
	require.Len(t, found, 1, "one invitation mail to %s", email)
	link, err := url.Parse(found[0])
	require.NoError(t, err)
	return link
}

// TestBrowserInviteAndActivate: an account admin invites a user from the
// users page and gives them a second role there; the invited user opens
// the link of the mail the SMTP server received, chooses a password and
// signs in to the hub their roles make; the admin then disables them,
// confirming it in their row. With JavaScript and without.
func TestBrowserInviteAndActivate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	smtp := mailtest.Start(t)
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			p := e.signedInPage(t, fmt.Sprintf("alice%d@alpha.test", i), auth.RoleAccountAdmin, mode.opts...)
			follow(t, p, `header nav a[href="/account/users"]`, "Users of your account")

			// Sent without a role, the choice is asked for beside the roles.
			invited := fmt.Sprintf("new%d@alpha.test", i)
			p.Fill("#f-email", invited)
			send(t, p, `form[action="/account/users"]`, "#f-roles-error", "")
			require.Equal(t, invited, evalJS[string](t, p, `document.querySelector("#f-email").value`), "what was typed stays")
			check(t, p, "invite-invalid", http.StatusUnprocessableEntity)
			p.Click(`#invite input[value="member"]`)
			send(t, p, `form[action="/account/users"]`, "#main .notice", "The invitation is on its way.")
			require.Contains(t, p.Text("#main .users"), invited)
			check(t, p, "invited", 0)

			// A second role for the invited user, from their row.
			id := e.userID(t, invited)
			roles := `form[action="/account/users/` + id + `/roles"]`
			p.Click(`details:has(` + roles + `) > summary`)
			p.Click(roles + ` input[value="billing"]`)
			send(t, p, roles, "#main .notice", "The roles were changed.")
			require.Equal(t, []string{"member", "billing"}, e.roles(t, invited))

			// The invited user's mail, its link, a password, the hub.
			link := e.mailedLink(t, smtp, invited)
			q := webtest.New(t, mode.opts...)
			activate(t, q, base+link.RequestURI(), invited)
			require.Equal(t, []string{"cases", "orders", "invoices", "actions"},
				evalJS[[]string](t, q, `[...document.querySelectorAll("section.block")].map(s => s.id)`), "a member's and billing's blocks")
			require.Equal(t, "active", e.userStatus(t, invited))

			// Disabling them asks for a confirmation in their row first
			// (the page is still the users page of the roles' change).
			disable := `form[action="/account/users/` + id + `/disable"]`
			p.Click(`details:has(` + disable + `) > summary`)
			send(t, p, disable, "#f-confirm-"+id+"-error", "Confirm that the user is to be disabled.")
			require.Equal(t, "active", e.userStatus(t, invited))
			check(t, p, "disable-unconfirmed", http.StatusUnprocessableEntity)
			p.Click("#f-confirm-" + id)
			send(t, p, disable, "#main .notice", "The user was disabled.")
			require.Equal(t, "disabled", e.userStatus(t, invited))
		})
	}
}

// TestBrowserApproveByKeyboard approves a quote without a pointer: Tab to
// each control, Enter or Space; after each htmx swap the focus must be on
// what the swap brought (the heading, or the alert of a refused form).
func TestBrowserApproveByKeyboard(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.signedInPage(t, "pat@alpha.test", auth.RolePurchasing)
	quote := "0Q0A00000000001"
	skipToMain(t, p)

	// From the hub's approvals block to the quote.
	enterLink(t, p, `#approvals a[href="/approvals/`+quote+`"]`, "Quote "+quote)

	// Reject without a reason: the alert takes the focus, nothing is sent.
	p.TabTo(`form[action$="/reject"] button[type=submit]`)
	p.Press(webtest.Space)
	p.WaitText("#f-reason-error", "This field is required.")
	p.WaitTrue(`document.activeElement.matches("#main [role=alert]")`)
	all, _ := e.decisions(t, "")
	require.Zero(t, all)

	// Approve: from the alert at the top, on down to its button.
	p.TabTo(`form[action$="/approve"] button[type=submit]`)
	p.Press(webtest.Enter)
	p.WaitText("#main .notice", "Your approval is being sent.")
	p.WaitTrue(`document.activeElement === document.querySelector("#main h1")`)
	p.WaitText("#live", "Your approval is being sent.")
	require.Equal(t, e.srv.URL+"/approvals/"+quote+"?sent=approve", p.URL())
	all, _ = e.decisions(t, "")
	require.Equal(t, 1, all)
	check(t, p, "", http.StatusUnprocessableEntity) // the refused reject is the one error logged
}

// signedInPage is a new browser page signed in through the form as a new
// user of Alpha with role.
func (e *env) signedInPage(t *testing.T, email, role string, opts ...webtest.Option) *webtest.Page {
	t.Helper()
	e.user(email, apitest.Alpha, role)
	p := webtest.New(t, opts...)
	signInForm(t, p, e.srv.URL, email)
	return p
}

// skipToMain is the first Tab of a keyboard user: it reaches the skip
// link, whose Enter moves the focus to the main region.
func skipToMain(t *testing.T, p *webtest.Page) {
	t.Helper()
	p.Press(webtest.Tab)
	require.True(t, p.FocusMatches("a.skip-link"), "the first Tab reaches the skip link, not %s", p.Focused())
	p.Press(webtest.Enter)
	p.WaitTrue(`document.activeElement.id === "main"`)
}

// enterLink tabs to the link sel and follows it with Enter; the next
// page's heading h1 must take the focus.
func enterLink(t *testing.T, p *webtest.Page, sel, h1 string) {
	t.Helper()
	p.TabTo(sel)
	p.Press(webtest.Enter)
	p.WaitText("#main h1", h1)
	p.WaitTrue(`document.activeElement === document.querySelector("#main h1")`)
}

// activate opens an invitation's link, chooses a password, and signs in
// with it to the status hub.
func activate(t *testing.T, p *webtest.Page, link, email string) {
	t.Helper()
	require.Equal(t, http.StatusOK, p.Navigate(link))
	require.Equal(t, "Activate your account", p.Text("#main h1"))
	check(t, p, "activate", 0)
	p.Fill("#f-password", "a-long-new-secret-77")
	p.Fill("#f-password_confirm", "a-long-new-secret-77")
	send(t, p, `form[action="/activate"]`, "#main .notice", "Your account is ready.")
	p.Fill("#f-email", email)
	p.Fill("#f-password", "a-long-new-secret-77")
	require.Equal(t, http.StatusOK, p.Submit(`form[action="/sign-in"]`))
	p.WaitText("#main h1", "Your overview")
}

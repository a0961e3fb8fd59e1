package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/web/webtest"
)

// TestLiveStatusChangesWithoutReload: in a real browser, under the
// pages' CSP, a case page that says the user's change is being sent says
// "Received by Salesforce." once the source took it, in the same document.
func TestLiveStatusChangesWithoutReload(t *testing.T) {
	t.Parallel()
	e := setup(t) // before the Page: the Page closes first, and its stream with it
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	mark.get("/cases/" + alphaCase)
	require.Equal(t, http.StatusSeeOther, mark.post("/cases/"+alphaCase+"/close", url.Values{"idempotency_key": {"close-b"}}).code)
	action := e.lastAction()

	p := browserOf(t, e, mark)
	require.Equal(t, http.StatusOK, p.Navigate(e.srv.URL+"/cases/"+alphaCase))
	p.WaitText("#case-status", "Your change is being sent.")
	p.WaitTrue(`(window.sameDocument = true) === true`)
	e.waitStreams(1)

	e.apply(action, alphaCase)
	p.WaitText("#case-status", "Received by Salesforce.")
	p.WaitTrue(`window.sameDocument === true`)
	p.WaitText("#live", "Received by Salesforce.")
	webtest.NoErrors(t, p)
}

// browserOf is a Page signed in with b's session.
func browserOf(t *testing.T, e *env, b *browser) *webtest.Page {
	t.Helper()
	p := webtest.New(t)
	site, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	for _, c := range b.c.Jar.Cookies(site) {
		p.SetCookie(e.srv.URL, c.Name, c.Value)
	}
	return p
}

// TestLiveHubBlockRefreshesWithoutReload: in a real browser, under the
// pages' CSP, the status hub's block of cases shows a case's new status
// from the source, and a case that arrives, in the same document, and
// says so in the live region; the other blocks are not read again.
func TestLiveHubBlockRefreshesWithoutReload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	p := browserOf(t, e, mark)
	require.Equal(t, http.StatusOK, p.Navigate(e.srv.URL+"/"))
	p.WaitText("#cases", "Printer on fire "+alphaCase)
	require.NotContains(t, p.Text("#cases"), "Waiting for you")
	p.WaitTrue(`(window.sameDocument = true) === true`)
	// Marks on the other blocks, which a read would replace.
	p.WaitTrue(`(document.getElementById("orders").dataset.untouched = "yes") === "yes"`)
	e.waitStreams(1)

	e.syncCase(apitest.Alpha, alphaCase, "Waiting on Customer")
	p.WaitText("#cases", "Waiting for you")
	p.WaitText("#live", "Open cases: updated.")
	e.fx.Put("salesforce", "Case", apitest.Alpha, apitest.SFCase("500A00000000777", apitest.Alpha, "New"))
	p.WaitText("#cases", "Printer on fire 500A00000000777")
	p.WaitTrue(`window.sameDocument === true`)
	p.WaitTrue(`document.getElementById("orders").dataset.untouched === "yes"`)
	webtest.Check(t, p, "hub-live")
	// A refreshed block's links still open pages as the rest do (htmx,
	// the same document, the focus on the new heading).
	p.Click(`#cases a[href="/cases/500A00000000777"]`)
	p.WaitText("#main h1", "Printer on fire 500A00000000777")
	p.WaitTrue(`window.sameDocument === true && document.activeElement === document.querySelector("#main h1")`)
}

// TestLiveCaseShowsASyncedCommentWithoutReload: a staff comment the sync
// stores appears in the open case page's history, in the same document,
// and the live region says the history has something new.
func TestLiveCaseShowsASyncedCommentWithoutReload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	p := browserOf(t, e, mark)
	require.Equal(t, http.StatusOK, p.Navigate(e.srv.URL+"/cases/"+alphaCase))
	p.WaitText("#timeline", "We are on it")
	p.WaitTrue(`(window.sameDocument = true) === true`)
	e.waitStreams(1)

	e.fx.Put("salesforce", "CaseComment", apitest.Alpha,
		apitest.SFComment("00aA00000000777", alphaCase, "Could you send a photo of the label?", true))
	p.WaitText("#timeline", "Could you send a photo of the label?")
	p.WaitText("#live", "The history has something new.")
	p.WaitTrue(`window.sameDocument === true`)
	webtest.Check(t, p, "case-live-comment")
}

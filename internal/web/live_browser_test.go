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

	p := webtest.New(t)
	site, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	for _, c := range mark.c.Jar.Cookies(site) {
		p.SetCookie(e.srv.URL, c.Name, c.Value)
	}
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

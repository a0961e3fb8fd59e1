package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/connect"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/web/webtest"
)

// credStore is the credential store the connectors would read, in memory.
type credStore struct {
	mu    sync.Mutex
	saved map[string]connectors.Credentials
}

func (s *credStore) Load(_ context.Context, name string) (connectors.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.saved[name]
	if !ok {
		return c, errors.New("none")
	}
	return c, nil
}

func (s *credStore) Save(_ context.Context, name string, c connectors.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saved == nil {
		s.saved = map[string]connectors.Credentials{}
	}
	s.saved[name] = c
	return nil
}

func (s *credStore) get(name string) connectors.Credentials {
	c, _ := s.Load(context.Background(), name)
	return c
}

// connectSetup is a portal whose sync page has a Connect button for the
// connection salesforce, to the simulated org, answering to the portal's
// callback.
func connectSetup(t *testing.T) (*env, *credStore) {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 50})
	cr := sim.Credentials(srv.URL)
	conn := func(name string, c fakesource.SystemCredentials, auth string) config.ConnectionConfig {
		return config.ConnectionConfig{Name: name, Type: name, BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
			ClientSecret: c.ClientSecret, AuthURL: auth}
	}
	store := &credStore{}
	cons := &connect.Console{Store: store, Conns: []config.ConnectionConfig{conn("salesforce", cr.Salesforce, ""),
		conn("accounting", cr.Accounting, srv.URL+"/connect/oauth2"), conn("inventory", cr.Inventory, "")}}
	e := setup(t, func(o *options) { o.syncStatus, o.connect = fixedSync, cons })
	cons.Callback = e.srv.URL + "/console/connect/callback"
	cons.Audit = e.pool
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM tenant WHERE slug = 'default'`).Scan(&cons.TenantID))
	e.staff("ops@operator.test")
	return e, store
}

var consentLink = regexp.MustCompile(`<a href="([^"]+)" hx-boost="false" id="consent">`)

// The console's Connect button runs Salesforce's web server flow with
// PKCE against the simulated org: the consent page's answer comes back to
// the portal's callback, the tokens are stored, and the page says so (in
// English and German). An answer without the flow's cookie or with
// another state stores nothing; customers see no such pages.
func TestConsoleConnect(t *testing.T) {
	t.Parallel()
	e, store := connectSetup(t)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	customer.get("/")
	require.Equal(t, http.StatusNotFound, customer.post("/console/sync/salesforce/connect", nil).code)
	require.Equal(t, http.StatusNotFound, customer.get("/console/connect/callback?code=x&state=y").code)

	staff := e.browser()
	staff.signInStaff("ops@operator.test")
	page := staff.get("/console/sync")
	require.Contains(t, page.body, `<form method="post" action="/console/sync/salesforce/connect">`)
	require.Contains(t, page.body, html.EscapeString(e.srv.URL+"/console/connect/callback"))

	// No flow waiting: nothing is stored.
	res := staff.get("/console/connect/callback?code=x&state=y")
	require.Equal(t, http.StatusBadRequest, res.code)
	require.Contains(t, res.body, "no Connect is waiting for an answer in this browser")
	require.Equal(t, http.StatusNotFound, staff.post("/console/sync/nosuch/connect", nil).code)

	staff.get("/console/sync")
	res = staff.post("/console/sync/salesforce/connect", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	m := consentLink.FindStringSubmatch(res.body)
	require.NotNil(t, m, res.body)
	consent := html.UnescapeString(m[1])
	require.Contains(t, consent, "code_challenge_method=S256")

	// The simulated user allows access: the org redirects to the callback.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(consent)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	answer, err := resp.Location()
	require.NoError(t, err)
	q := answer.Query()

	// An answer with another state is not this flow's.
	forged := q.Get("code")
	res = staff.get("/console/connect/callback?code=" + forged + "&state=forged")
	require.Equal(t, http.StatusBadRequest, res.code)
	require.Contains(t, res.body, "state mismatch")
	require.Empty(t, store.get("salesforce").RefreshToken)

	res = staff.get(answer.Path + "?" + answer.RawQuery)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/console/sync?connected=salesforce", res.location())
	got := store.get("salesforce")
	require.NotEmpty(t, got.RefreshToken)
	require.NotEmpty(t, got.AccessToken)
	require.Contains(t, staff.get(res.location()).body, "Connected salesforce: its tokens are stored, encrypted.")
	staff.lang = "de"
	require.Contains(t, staff.get(res.location()).body, "salesforce ist verbunden")

	// The code was traded once: the same answer again fails, and says why.
	res = staff.get(answer.Path + "?" + answer.RawQuery)
	require.Equal(t, http.StatusBadRequest, res.code, "the flow's cookie is gone")

	// QuickBooks' flow keeps the company's realm id; Square's has no PKCE.
	staff.lang = ""
	for _, name := range []string{"accounting", "inventory"} {
		staff.get("/console/sync")
		res = staff.post("/console/sync/"+name+"/connect", nil)
		require.Equal(t, http.StatusOK, res.code, res.body)
		m := consentLink.FindStringSubmatch(res.body)
		require.NotNil(t, m, res.body)
		resp, err := noFollow.Get(html.UnescapeString(m[1]))
		require.NoError(t, err)
		resp.Body.Close()
		answer, err := resp.Location()
		require.NoError(t, err, name)
		res = staff.get(answer.Path + "?" + answer.RawQuery)
		require.Equal(t, http.StatusSeeOther, res.code, "%s: %s", name, res.body)
		require.NotEmpty(t, store.get(name).AccessToken, name)
	}
	require.NotEmpty(t, store.get("accounting").Realm)

	// Each Connect is audited: who, which connection, how, QuickBooks'
	// company; never a token. The refused answers left nothing. Read as
	// the console's audit page reads it (personal fields are sealed).
	events, bad, err := audit.New(e.pool, slog.New(slog.DiscardHandler)).Search(context.Background(), url.Values{"action": {"connection.connect"}})
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Len(t, events.Events, 3)
	for i, name := range []string{"inventory", "accounting", "salesforce"} { // newest first
		ev := events.Events[i]
		require.Equal(t, "staff:"+e.userID(t, "ops@operator.test"), ev.Actor)
		require.Equal(t, name, *ev.ObjectID)
		var after map[string]string
		require.NoError(t, json.Unmarshal(ev.After, &after), string(ev.After))
		require.Equal(t, "consent", after["how"])
		require.Equal(t, name, after["connection"])
		require.Equal(t, store.get(name).Realm, after["realm"])
		require.NotContains(t, string(ev.After), store.get(name).AccessToken)
	}
}

// signInStaff signs a staff user in through the form.
func (b *browser) signInStaff(email string) {
	b.e.t.Helper()
	b.get("/sign-in")
	res := b.post("/sign-in", map[string][]string{"email": {email}, "password": {password}})
	require.Equal(b.e.t, http.StatusSeeOther, res.code, res.body)
}

// The Connect button in a browser, with and without JavaScript: the
// consent page (the simulated org approves at once) sends the browser
// back to the console, which says the connection is connected; axe finds
// nothing on the way.
func TestBrowserConsoleConnect(t *testing.T) {
	t.Parallel()
	for _, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			e, store := connectSetup(t)
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, e.srv.URL, "/console/sync", "ops@operator.test")
			p.WaitText("#main h1", "Sync health")
			check(t, p, "console-connect", 0)
			send(t, p, `form[action="/console/sync/salesforce/connect"]`, "#main .notice", "To connect salesforce")
			check(t, p, "console-connect-consent", 0)
			p.Click("#consent")
			p.WaitText("#main .notice", "Connected salesforce")
			require.NotEmpty(t, store.get("salesforce").RefreshToken)
			check(t, p, "console-connected", 0)
		})
	}
}

package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/web/webtest"
)

// demoDay is the simulators' clock in the demo hub test: the story's
// dates (due, valid until, shipped) follow from it.
var demoDay = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestBrowserDemoHub is the status hub of `portico dev`'s demo story as
// Alice, the account admin of the story's subsidiary, sees it: the
// simulators tell the story and every mapped object syncs once into the
// cache over their HTTP APIs. Its clocks are fixed (the simulators' day,
// and the portal's twelve seconds after the sync), so the page is the same
// on every run: with PORTICO_SCREENSHOTS set, its 1280 px screenshot is
// the README's docs/hub.png (copy TestBrowserDemoHub-1280.png over it).
func TestBrowserDemoHub(t *testing.T) {
	t.Parallel()
	synced := time.Now().UTC().Truncate(time.Second)
	e := setup(t, func(o *options) { o.now = func() time.Time { return synced.Add(12 * time.Second) } })
	ctx := context.Background()

	sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: 300, Now: func() time.Time { return demoDay }})
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	story, err := sim.TellStory()
	require.NoError(t, err)
	cr := sim.Credentials(srv.URL)
	srcs, err := sources.Open(context.Background(), sources.Options{Connections: devenv.SimConnections(cr), Registry: builtin.Registry(),
		Credentials: &conntest.MemoryCredentials{}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	s := syncer.New(syncer.Options{Pool: e.pool, TenantID: 1, Connectors: srcs.Connectors(), Mappings: e.set})
	for _, tg := range s.Targets() {
		_, err := s.Incremental(ctx, tg.Connection, tg.Object)
		require.NoError(t, err, "%s %s", tg.Connection, tg.Object)
	}
	// "Updated 12 seconds ago", whenever the test runs.
	_, err = e.pool.Exec(ctx, `UPDATE record SET synced_at = $1`, synced)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, `UPDATE sync_cursor SET synced_through = $1`, synced)
	require.NoError(t, err)

	alice := story.People[0]
	_, err = auth.CreateUser(ctx, e.pool, auth.NewUser{Email: alice.Email, Password: password, AccountID: alice.Account,
		ContactID: alice.Contact, Roles: []string{auth.RoleAccountAdmin}, HashParams: fastHash})
	require.NoError(t, err)

	// Her change of phone met a newer version at the CRM, as `portico
	// dev` makes it (its date fixed too).
	b := e.browser()
	b.signIn(alice.Email)
	b.get("/profile")
	res := b.post("/profile/contact", url.Values{"first_name": {"Alice"}, "last_name": {"Adams"}, "phone": {"+1 555 0140"},
		"title": {"Owner"}, "idempotency_key": {"web-demo-phone"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	id := e.conflicted(t, alice.Email, "update_contact", `{"phone": "+1 555 0140"}`, `{"phone": "+1 555 0100"}`)
	_, err = e.pool.Exec(ctx, `UPDATE action SET created_at = $1 WHERE id = $2`, demoDay.Add(2*time.Hour), id)
	require.NoError(t, err)

	p := webtest.New(t)
	signInForm(t, p, e.srv.URL, alice.Email)
	require.Equal(t, http.StatusOK, p.Navigate(e.srv.URL+"/"))
	for _, want := range []struct{ sel, text string }{
		{"#cases", "Espresso grinder rattles since Monday"},
		{"#cases", "Waiting for you"},
		{"#orders", "PO-CAFE-0417"},
		{"#invoices", "2026-1042"},
		{"#invoices", "due on Mar 15, 2026"},
		{"#approvals", "Q-CAFE-2 Second espresso station"},
		{"#approvals", "valid until Mar 23, 2026"},
		{"#cases", "Updated 12 seconds ago"},
		{"#actions", "Mar 2, 2026"},
	} {
		require.Contains(t, p.Text(want.sel), want.text, want.sel)
	}
	check(t, p, "", http.StatusOK)
}

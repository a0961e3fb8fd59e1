package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// adminRoute is one route under /admin, with its parameters filled in.
type adminRoute struct{ method, path string }

// adminRoutes walks the server's router for every /admin route, so that a
// route added later is covered without editing this test.
func (e *env) adminRoutes() []adminRoute {
	e.t.Helper()
	var out []adminRoute
	err := chi.Walk(e.srv.Config.Handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		switch method {
		case http.MethodConnect, http.MethodTrace, http.MethodOptions:
			return nil // chi lists them for Handle; no client sends them here
		}
		if !strings.HasPrefix(route, "/admin/") {
			return nil
		}
		path := strings.NewReplacer("{id}", "1", "{connection}", "salesforce", "{object}", "Case", "/*", "/").Replace(route)
		out = append(out, adminRoute{method, strings.TrimSuffix(path, "/")})
		return nil
	})
	require.NoError(e.t, err)
	require.GreaterOrEqual(e.t, len(out), 4, "the /admin routes: %v", out)
	return out
}

// TestAccessSuiteAdmin: operator_admin staff reach /admin by session and
// by a scoped API token; every customer role, by session or by any token
// it can hold, is refused on every /admin route; changes from another
// site are refused whatever the credential.
func TestAccessSuiteAdmin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	routes := e.adminRoutes()
	forbidden := `{"error":{"code":"forbidden","message":"staff only"}}` + "\n"

	// Customers: every role of an account, and a parent admin who sees
	// child accounts; by session and by API token.
	var customers []*client
	for i, roles := range [][]string{{"account_admin"}, {"member"}, {"billing"}, {"purchasing"}, {"account_admin", "member", "billing", "purchasing"}} {
		customers = append(customers, e.user(fmt.Sprintf("customer%d@alpha.example", i), Alpha, roles, i == 4, false))
	}
	for i, c := range customers {
		tok := c.token(t, "portal:read", "portal:write")
		for _, rt := range routes {
			for _, who := range []*client{c, tok} {
				res := who.do(rt.method, rt.path, nil, nil)
				require.Equal(t, http.StatusForbidden, res.code, "customer %d (%s): %s %s: %s", i, who.email, rt.method, rt.path, res.body)
				if rt.method != http.MethodHead {
					require.Equal(t, forbidden, string(res.body))
				}
			}
		}
		// Customers cannot hold an admin scope at all.
		res := c.post("/auth/tokens", map[string]any{"name": "x", "scopes": []string{"admin:read"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	}
	anon := &client{e: e, http: http.DefaultClient}
	for _, rt := range routes {
		require.Equal(t, http.StatusUnauthorized, anon.do(rt.method, rt.path, nil, nil).code, "%s %s", rt.method, rt.path)
	}

	// Staff by session: reads, and writes with the CSRF token.
	staff := e.user("ops@operator.example", "", []string{"operator_admin"}, false, true)
	require.Equal(t, http.StatusOK, staff.get("/admin/audit").code)
	require.Equal(t, http.StatusOK, staff.get("/admin/actions").code)
	for _, rt := range routes {
		// River UI's script cannot send the CSRF token: its changes need
		// the browser's Origin instead.
		res := staff.do(rt.method, rt.path, nil, http.Header{"Origin": {e.srv.URL}})
		require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, res.code, "staff: %s %s: %s", rt.method, rt.path, res.body)
	}
	noCSRF := *staff
	noCSRF.csrf = ""
	res := noCSRF.post("/admin/actions/1/retry", nil)
	require.Equal(t, http.StatusForbidden, res.code)
	require.Contains(t, string(res.body), `"code":"csrf"`)
	res = noCSRF.post("/admin/riverui/api/jobs/retry", nil)
	require.Equal(t, http.StatusForbidden, res.code, "a session's River UI change without an Origin")
	require.Contains(t, string(res.body), `"code":"cross_site"`)
	res = noCSRF.do("POST", "/admin/riverui/api/jobs/retry", `{"ids":["1"]}`, http.Header{"Origin": {e.srv.URL}, "Content-Type": {"text/plain;charset=UTF-8"}})
	require.Equal(t, http.StatusOK, res.code, "River UI's own request shape, from this origin")
	// Cross-site: refused even with the CSRF token, and even as text/plain.
	for _, h := range []http.Header{
		{"Origin": {"https://evil.example"}},
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}, "Content-Type": {"text/plain"}},
	} {
		res = staff.do("POST", "/admin/actions/1/retry", nil, h)
		require.Equal(t, http.StatusForbidden, res.code, "%v: %s", h, res.body)
		require.Contains(t, string(res.body), `"code":"cross_site"`)
	}
	res = staff.do("POST", "/admin/actions/1/retry", "x", http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusUnsupportedMediaType, res.code, string(res.body))

	// A staff member's change is audited as that member, not as the
	// shared token.
	submitter := customers[1]
	res = submitter.post("/api/v1/cases", map[string]any{"subject": "Help"})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	actionID := res.json(t)["id"].(string)
	_, err := e.pool.Exec(context.Background(), `UPDATE action SET state = 'failed' WHERE id = $1`, actionID)
	require.NoError(t, err)
	res = staff.post("/admin/actions/"+actionID+"/discard", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	var actor string
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT actor FROM audit_event WHERE action = 'admin.action.discard' AND object_id = $1`, actionID).Scan(&actor))
	var staffID int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM auth_user WHERE email = 'ops@operator.example'`).Scan(&staffID))
	require.Equal(t, fmt.Sprintf("staff:%d", staffID), actor)

	// Staff by API token: the scope decides.
	reader := staff.token(t, "admin:read")
	require.Equal(t, http.StatusOK, reader.get("/admin/audit").code)
	res = reader.post("/admin/actions/1/retry", nil)
	require.Equal(t, http.StatusForbidden, res.code)
	require.Contains(t, string(res.body), `"code":"insufficient_scope"`)
	writer := staff.token(t, "admin:write")
	require.Equal(t, http.StatusNotFound, writer.post("/admin/actions/999999/retry", nil).code, "admitted; no such action")
	portalOnly := staff.token(t, "portal:read")
	require.Equal(t, http.StatusForbidden, portalOnly.get("/admin/audit").code)

	// The shared admin token still works, for bootstrap and scripts.
	res = anon.do("GET", "/admin/audit", nil, http.Header{"Authorization": {"Bearer " + adminToken}})
	require.Equal(t, http.StatusOK, res.code)
}

// token creates an API token of c's user and returns a client that uses
// it (no cookies, no CSRF).
func (c *client) token(t *testing.T, scopes ...string) *client {
	t.Helper()
	res := c.post("/auth/tokens", map[string]any{"name": strings.Join(scopes, " "), "scopes": scopes})
	require.Equal(t, http.StatusCreated, res.code, string(res.body))
	return &client{e: c.e, http: &http.Client{}, email: c.email + " (token)", bearer: res.json(t)["token"].(string)}
}

package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
)

// openAPISecurity is every operation's security requirements, by
// "METHOD /path".
func openAPISecurity(t *testing.T) map[string][]map[string][]string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Security *[]map[string][]string `json:"security"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(api.OpenAPI, &doc))
	out := map[string][]map[string][]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.Security != nil {
				out[strings.ToUpper(method)+" "+path] = *op.Security
			}
		}
	}
	return out
}

// The /auth operations are the route table (auth.RouteScopes), each with
// the security its access level means: none for public routes, the
// session alone for session routes, the session or an API token holding
// the scope otherwise; the CSRF token with the session on every change.
func TestOpenAPIAuthOperationsAreTheRouteTable(t *testing.T) {
	t.Parallel()
	documented, err := apitest.Operations("/auth/")
	require.NoError(t, err)
	var routed []string
	for route := range auth.RouteScopes() {
		method, path, _ := strings.Cut(route, " ")
		routed = append(routed, method+" /auth"+path)
	}
	slices.Sort(routed)
	require.Equal(t, routed, documented, "auth.RouteScopes (left) and openapi.json (right)")

	security := openAPISecurity(t)
	for route, access := range auth.RouteScopes() {
		method, path, _ := strings.Cut(route, " ")
		session := map[string][]string{"session": {}}
		if method != http.MethodGet {
			session["csrf"] = []string{}
		}
		var want []map[string][]string
		switch access {
		case auth.AccessPublic:
			want = []map[string][]string{}
		case auth.AccessSession:
			want = []map[string][]string{session}
		default:
			want = []map[string][]string{session, {"token": {access}}}
		}
		got, ok := security[method+" /auth"+path]
		require.True(t, ok, "%s declares no security of its own", route)
		require.Equal(t, want, got, "%s needs %s", route, access)
	}
}

// What integrators and staff script, end to end through the server's
// router: every exchange goes through openapi.json (client.do), so a
// change to any of these answers that the document does not describe
// fails here.
func TestContractAuthScripts(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.noWrites = true })
	admin := e.user("boss@alpha.example", Alpha, []string{"account_admin", "member"}, false, false)

	res := admin.get("/auth/csrf")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, admin.csrf, res.json(t)["csrf_token"])
	require.Equal(t, http.StatusOK, admin.get("/auth/me").code)

	tok := admin.token(t, "portal:read")
	require.Equal(t, http.StatusOK, tok.get("/auth/me").code)
	require.Equal(t, http.StatusForbidden, tok.get("/auth/tokens").code, "token management is for sessions")
	res = admin.get("/auth/tokens")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	id := int64(res.json(t)["tokens"].([]any)[0].(map[string]any)["id"].(float64))
	require.Equal(t, http.StatusNoContent, admin.do("DELETE", fmt.Sprintf("/auth/tokens/%d", id), nil, nil).code)
	require.Equal(t, http.StatusNotFound, admin.do("DELETE", fmt.Sprintf("/auth/tokens/%d", id+1000), nil, nil).code)
	require.Equal(t, http.StatusUnauthorized, tok.get("/auth/me").code, "revoked")
	require.Equal(t, http.StatusUnprocessableEntity, admin.post("/auth/tokens", map[string]any{"name": "", "scopes": []string{}}).code)

	res = admin.post("/auth/invitations", map[string]any{"email": "new@alpha.example", "roles": []string{"member"}})
	require.Equal(t, http.StatusCreated, res.code, string(res.body))
	res = admin.post("/auth/invitations", map[string]any{"email": "new2@alpha.example", "roles": []string{"member"}, "see_child_accounts": true})
	require.Equal(t, http.StatusForbidden, res.code, "a right the inviter does not hold: %s", res.body)
	res = admin.do("POST", "/auth/invitations", `{"email":`, nil)
	require.Equal(t, http.StatusBadRequest, res.code, string(res.body))
	res = admin.do("POST", "/auth/invitations", "x", http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusUnsupportedMediaType, res.code, string(res.body))

	anon := &client{e: e, http: http.DefaultClient}
	require.Equal(t, http.StatusAccepted, anon.post("/auth/password-reset", map[string]any{"email": "boss@alpha.example"}).code)
	require.Equal(t, http.StatusUnauthorized, anon.get("/auth/me").code)
	require.Equal(t, http.StatusUnauthorized, anon.post("/auth/login", map[string]any{"email": "boss@alpha.example", "password": "wrong"}).code)

	require.Equal(t, http.StatusNoContent, admin.post("/auth/logout-all", map[string]any{"keep_api_tokens": true}).code)
	require.Equal(t, http.StatusUnauthorized, admin.get("/auth/me").code, "logged out")
}

// What staff script under /admin: the action queue and the audit trail,
// by session, by API token and by the shared admin token.
func TestContractAdminScripts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	staff := e.user("ops@operator.example", "", []string{"operator_admin"}, false, true)
	res := customer.post("/api/v1/cases", map[string]any{"subject": "Help"})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	pending := res.json(t)["id"].(string)
	res = customer.post("/api/v1/cases", map[string]any{"subject": "Help again"})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	failed := res.json(t)["id"].(string)
	_, err := e.pool.Exec(t.Context(), `UPDATE action SET state = 'failed', error_detail = 'source said no' WHERE id = $1`, failed)
	require.NoError(t, err)

	res = staff.get("/admin/actions")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Len(t, res.json(t)["data"], 1, "failed and conflicting actions by default")
	res = staff.get("/admin/actions?state=pending,failed&after=0")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Len(t, res.json(t)["data"], 2)
	require.Equal(t, http.StatusBadRequest, staff.get("/admin/actions?state=lost").code)
	require.Equal(t, http.StatusConflict, staff.post("/admin/actions/"+pending+"/retry", nil).code, "only failed and conflict")
	require.Equal(t, http.StatusNotFound, staff.post("/admin/actions/999999/retry", nil).code)
	require.Equal(t, http.StatusBadRequest, staff.post("/admin/actions/x/retry", nil).code)
	// (A failed action's projection was undone when it failed; this one's
	// was not, so it is discarded here rather than retried.)
	res = staff.post("/admin/actions/"+failed+"/discard", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, "rejected", res.json(t)["state"])
	require.Equal(t, "source said no", res.json(t)["error_detail"])

	writer := staff.token(t, "admin:write")
	res = writer.get("/admin/audit?limit=1")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	page := res.json(t)
	require.Len(t, page["events"], 1)
	require.NotEmpty(t, page["next_cursor"], "the cases submitted are older")
	res = writer.get("/admin/audit?cursor=" + page["next_cursor"].(string) + "&since=2020-01-01T00:00:00Z")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	res = writer.get("/admin/audit?colour=red")
	require.Equal(t, http.StatusBadRequest, res.code, string(res.body))
	require.Equal(t, []string{"colour"}, fieldPaths(t, res))

	anon := &client{e: e, http: http.DefaultClient}
	res = anon.get("/admin/audit")
	require.Equal(t, http.StatusUnauthorized, res.code)
	require.NotEmpty(t, res.header.Get("WWW-Authenticate"))
	res = anon.do("GET", "/admin/audit?actor_kind=staff", nil, http.Header{"Authorization": {"Bearer " + adminToken}})
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+adminToken))}}
	res = anon.do("GET", "/admin/actions", nil, basic)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	basic.Set("Origin", e.srv.URL)
	res = anon.do("POST", "/admin/actions/"+pending+"/discard", nil, basic)
	require.Equal(t, http.StatusConflict, res.code, "admitted by basic auth from this origin: %s", res.body)
}

func fieldPaths(t *testing.T, r reply) []string {
	t.Helper()
	var out []string
	for _, f := range r.json(t)["error"].(map[string]any)["fields"].([]any) {
		out = append(out, f.(map[string]any)["path"].(string))
	}
	return out
}

package api_test

import (
	"encoding/json"
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

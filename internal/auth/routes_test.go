package auth_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

// Every /auth route declares what it needs, and the router holds no route
// outside that table: a route added without a scope fails here.
func TestEveryAuthRouteDeclaresItsScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	declared := auth.RouteScopes()
	seen := map[string]bool{}
	err := chi.Walk(b.svc.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		key := method + " " + route
		access, ok := declared[key]
		if !ok {
			return fmt.Errorf("%s has no entry in auth.RouteScopes", key)
		}
		if access != auth.AccessPublic && access != auth.AccessSession && !slices.Contains(auth.Scopes, access) {
			return fmt.Errorf("%s needs %q, which is no scope", key, access)
		}
		seen[key] = true
		return nil
	})
	require.NoError(t, err)
	require.Len(t, seen, len(declared), "every declared route is mounted")
}

// A portal:read token could revoke its sibling token and log its user out
// everywhere. Token management and logout are for browser sessions now;
// the sibling and the sessions survive the attempt.
func TestTokenScopesOnAuthRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	ana := b.browser(t)
	ana.mustLogin("ana@acme.test")
	mint := func(scopes ...string) (string, int64) {
		r := ana.do("POST", "/auth/tokens", map[string]any{"name": "robot", "scopes": scopes})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		return r.body["token"].(string), int64(r.body["id"].(float64))
	}
	reader, _ := mint(auth.ScopePortalRead)
	writer, writerID := mint(auth.ScopePortalRead, auth.ScopePortalWrite)
	robot := b.browser(t)
	as := func(token, method, path string) reply {
		return robot.do(method, path, map[string]any{}, "Authorization", "Bearer "+token)
	}
	for _, tc := range []struct{ method, path string }{
		{"DELETE", fmt.Sprintf("/auth/tokens/%d", writerID)}, {"POST", "/auth/logout-all"}, {"POST", "/auth/logout"},
		{"GET", "/auth/tokens"}, {"POST", "/auth/tokens"}, {"GET", "/auth/csrf"},
	} {
		for _, tok := range []string{reader, writer} {
			r := as(tok, tc.method, tc.path)
			require.Equal(t, http.StatusForbidden, r.status, "%s %s: %s", tc.method, tc.path, r.raw)
			require.Equal(t, "insufficient_scope", r.errCode())
		}
	}
	require.Equal(t, http.StatusOK, as(writer, "GET", "/auth/me").status, "the sibling token still works")
	require.Equal(t, http.StatusOK, ana.me().status, "the session survived")
	require.Equal(t, http.StatusForbidden, as(writer, "POST", "/auth/invitations").status, "invitations need admin:write")
	require.NotContains(t, b.audit.actions(), "auth.token_revoke")
	require.NotContains(t, b.audit.actions(), "auth.logout_all")
}

package auth_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

// An account admin sets the roles of their account's users within their
// own rights, never leaves the account without an active admin, and every
// change is audited; each refusal names the field and changes nothing.
func TestAccountAdminSetsRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	boss := b.user(t, auth.NewUser{Email: "boss@acme.test", Password: goodPassword, AccountID: "001ACME", ContactID: "003BOSS",
		Roles: []string{auth.RoleAccountAdmin, auth.RoleMember}})
	ana := b.member(t, "ana@acme.test")
	bill := b.member(t, "bill@acme.test", auth.RoleBilling)
	other := b.user(t, auth.NewUser{Email: "otto@other.test", Password: goodPassword, AccountID: "001OTHER", ContactID: "003OTHER",
		Roles: []string{auth.RoleAccountAdmin}})
	path := func(u auth.User) string { return fmt.Sprintf("/auth/users/%d/roles", u.ID) }
	roles := func(u auth.User) []string {
		var got []string
		require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT roles FROM auth_user WHERE id = $1`, u.ID).Scan(&got))
		return got
	}

	admin := b.browser(t)
	admin.mustLogin("boss@acme.test")
	member := b.browser(t)
	member.mustLogin("ana@acme.test")

	// Only an account admin changes roles.
	res := member.do("PUT", path(bill), map[string]any{"roles": []string{auth.RoleMember}})
	require.Equal(t, http.StatusForbidden, res.status, string(res.raw))

	// A role the admin does not hold is refused, naming it.
	res = admin.do("PUT", path(ana), map[string]any{"roles": []string{auth.RoleMember, auth.RolePurchasing}})
	require.Equal(t, http.StatusForbidden, res.status, string(res.raw))
	require.Equal(t, []string{"roles[1]"}, res.fieldPaths())
	// Bad roles are named.
	for body, field := range map[string]string{`{"roles":["member","pilot"]}`: "roles[1]", `{"roles":[]}`: "roles", `{}`: "roles",
		`{"roles":"member"}`: "roles"} {
		res = admin.do("PUT", path(ana), body)
		require.Equal(t, http.StatusUnprocessableEntity, res.status, body)
		require.Equal(t, []string{field}, res.fieldPaths(), body)
	}
	// Another account's user is the same answer as a missing one.
	missing := admin.do("PUT", "/auth/users/999999/roles", map[string]any{"roles": []string{auth.RoleMember}})
	require.Equal(t, http.StatusNotFound, missing.status)
	foreign := admin.do("PUT", path(other), map[string]any{"roles": []string{auth.RoleMember}})
	require.Equal(t, http.StatusNotFound, foreign.status)
	require.Equal(t, missing.body["error"].(map[string]any)["message"], foreign.body["error"].(map[string]any)["message"])
	require.Equal(t, []string{"id"}, admin.do("PUT", "/auth/users/x/roles", map[string]any{"roles": []string{auth.RoleMember}}).fieldPaths())
	require.Equal(t, []string{auth.RoleMember}, roles(ana))
	require.Equal(t, []string{auth.RoleAccountAdmin}, roles(other))
	require.NotContains(t, b.audit.actions(), "auth.user_roles", "refusals change nothing")

	// A role the user holds already may stay though the admin lacks it.
	res = admin.do("PUT", path(bill), map[string]any{"roles": []string{auth.RoleBilling, auth.RoleMember}})
	require.Equal(t, http.StatusOK, res.status, string(res.raw))
	require.Equal(t, []string{auth.RoleBilling, auth.RoleMember}, roles(bill))

	// Ana becomes an admin: her open session has the role at once.
	res = admin.do("PUT", path(ana), map[string]any{"roles": []string{auth.RoleAccountAdmin, " member ", auth.RoleMember}})
	require.Equal(t, http.StatusOK, res.status, string(res.raw))
	require.Equal(t, []any{auth.RoleAccountAdmin, auth.RoleMember}, res.body["user"].(map[string]any)["roles"])
	require.Eventually(t, func() bool {
		return member.do("PUT", path(bill), map[string]any{"roles": []string{auth.RoleBilling}}).status == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
	require.Contains(t, b.audit.actions(), "auth.user_roles")

	// The boss steps down; Ana, now the last admin, cannot.
	res = admin.do("PUT", path(boss), map[string]any{"roles": []string{auth.RoleMember}})
	require.Equal(t, http.StatusOK, res.status, string(res.raw))
	res = member.do("PUT", path(ana), map[string]any{"roles": []string{auth.RoleMember}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, string(res.raw))
	require.Equal(t, []string{"roles"}, res.fieldPaths())
	require.Equal(t, []string{auth.RoleAccountAdmin, auth.RoleMember}, roles(ana))
}

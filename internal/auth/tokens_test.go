package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
)

func TestInvitationIsSingleUseAndExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) { d.PublicURL = "https://portal.example.com/" })
	b.staff(t, "ops@operator.test")
	admin := b.browser(t)
	admin.mustLogin("ops@operator.test")

	invite := map[string]any{"email": "new@acme.test", "account_id": "001ACME", "contact_id": "003NEW", "roles": []string{"member", "purchasing"}, "see_child_accounts": true}
	r := admin.do("POST", "/auth/invitations", invite)
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.Equal(t, "invited", r.body["user"].(map[string]any)["status"])
	msg := b.mail.all()[0]
	require.Equal(t, "new@acme.test", msg.To)
	require.True(t, strings.HasPrefix(msg.Link, "https://portal.example.com/activate?token="), msg.Link)
	require.Contains(t, msg.Body, msg.Link)
	tok := b.mail.lastToken(t)

	var stored int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM auth_user_token WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, tok).Scan(&stored))
	require.Equal(t, 1, stored, "the database keeps the SHA-256 of the token, not the token")

	newcomer := b.browser(t)
	require.Equal(t, http.StatusUnauthorized, newcomer.login("new@acme.test", goodPassword).status, "no login before activation")
	weak := newcomer.do("POST", "/auth/activate", map[string]string{"token": tok, "password": "password1234"})
	require.Equal(t, http.StatusUnprocessableEntity, weak.status)
	require.Equal(t, []string{"password"}, weak.fieldPaths())
	r = newcomer.do("POST", "/auth/activate", map[string]string{"token": tok, "password": goodPassword})
	require.Equal(t, http.StatusOK, r.status, "a refused password left the token unspent: %s", r.raw)
	r = newcomer.do("POST", "/auth/activate", map[string]string{"token": tok, "password": goodPassword + "!"})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "single use")
	require.Equal(t, []string{"token"}, r.fieldPaths())
	newcomer.mustLogin("new@acme.test")
	p := newcomer.me().body["principal"].(map[string]any)
	require.Equal(t, true, p["see_child_accounts"])
	require.Equal(t, "003NEW", p["contact_id"])

	require.Equal(t, http.StatusCreated, admin.do("POST", "/auth/invitations", map[string]any{
		"email": "late@acme.test", "account_id": "001ACME", "roles": []string{"member"}}).status)
	late := b.mail.lastToken(t)
	b.clock.Advance(auth.InvitationTTL + time.Minute)
	r = newcomer.do("POST", "/auth/activate", map[string]string{"token": late, "password": goodPassword})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "expired")
	admin.mustLogin("ops@operator.test") // a week later the staff session has ended too

	// Re-inviting a user not yet activated issues a fresh link; the old
	// one stops working.
	require.Equal(t, http.StatusCreated, admin.do("POST", "/auth/invitations", map[string]any{
		"email": "late@acme.test", "account_id": "001ACME", "roles": []string{"member"}}).status)
	require.Equal(t, http.StatusOK, newcomer.do("POST", "/auth/activate", map[string]string{"token": b.mail.lastToken(t), "password": goodPassword}).status)
	r = admin.do("POST", "/auth/invitations", map[string]any{"email": "late@acme.test", "account_id": "001ACME", "roles": []string{"member"}})
	require.Equal(t, http.StatusConflict, r.status, "an active user is not re-invited")
	require.Contains(t, b.audit.actions(), "auth.invite")
	require.Contains(t, b.audit.actions(), "auth.activate")
}

func TestInvitationPermissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "boss@acme.test", auth.RoleAccountAdmin)
	b.member(t, "ana@acme.test", auth.RoleMember)
	boss, ana := b.browser(t), b.browser(t)
	boss.mustLogin("boss@acme.test")
	ana.mustLogin("ana@acme.test")

	r := ana.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"member"}})
	require.Equal(t, http.StatusForbidden, r.status, "members do not invite")

	r = boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "account_id": "001OTHER", "roles": []string{"account_admin"}})
	require.Equal(t, http.StatusForbidden, r.status, "account admins invite into their own account only")
	require.Equal(t, []string{"account_id"}, r.fieldPaths())
	r = boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "staff": true})
	require.Equal(t, http.StatusForbidden, r.status)

	r = boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"account_admin", "superuser"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, []string{"roles"}, r.fieldPaths())
	require.Empty(t, b.mail.all(), "bad input sends nothing")

	// Only rights the inviter holds: roles, the child accounts.
	r = boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"account_admin", "billing", " purchasing "}})
	require.Equal(t, http.StatusForbidden, r.status, string(r.raw))
	require.Equal(t, []string{"roles[1]", "roles[2]"}, r.fieldPaths())
	r = boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"account_admin"}, "see_child_accounts": true})
	require.Equal(t, http.StatusForbidden, r.status, string(r.raw))
	require.Equal(t, []string{"see_child_accounts"}, r.fieldPaths())

	// Only contacts of the inviter's account, and a contact of another
	// account answers exactly as one that does not exist.
	other := boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"account_admin"}, "contact_id": "003OTHER"})
	require.Equal(t, http.StatusUnprocessableEntity, other.status, string(other.raw))
	require.Equal(t, []string{"contact_id"}, other.fieldPaths())
	missing := boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"account_admin"}, "contact_id": "003NOPE"})
	require.Equal(t, other.raw, missing.raw)
	require.Empty(t, b.mail.all(), "refused invitations send nothing")

	r = boss.do("POST", "/auth/invitations", map[string]any{"email": "x@acme.test", "roles": []string{"account_admin"}, "contact_id": "003NEW"})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	require.Equal(t, "001ACME", r.body["user"].(map[string]any)["account_id"], "the admin's own account")
	require.Equal(t, "003NEW", r.body["user"].(map[string]any)["contact_id"])

	b.member(t, "billing-boss@acme.test", auth.RoleAccountAdmin, auth.RoleBilling)
	bb := b.browser(t)
	bb.mustLogin("billing-boss@acme.test")
	r = bb.do("POST", "/auth/invitations", map[string]any{"email": "y@acme.test", "roles": []string{"billing"}})
	require.Equal(t, http.StatusCreated, r.status, "a role the inviter holds: %s", r.raw)

	users, err := auth.ListUsers(context.Background(), b.pool, 0, "001ACME")
	require.NoError(t, err)
	require.Len(t, users, 5)
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	old := b.browser(t)
	old.mustLogin("ana@acme.test")
	br := b.browser(t)

	known := br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"})
	unknown := br.do("POST", "/auth/password-reset", map[string]string{"email": "nobody@acme.test"})
	require.Equal(t, http.StatusAccepted, known.status)
	require.Equal(t, known.status, unknown.status)
	require.Equal(t, known.raw, unknown.raw, "the answer never reveals whether the email exists")
	require.Len(t, b.mail.all(), 1, "only the real user gets mail")
	first := b.mail.lastToken(t)

	require.Equal(t, http.StatusAccepted, br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"}).status)
	second := b.mail.lastToken(t)
	r := br.do("POST", "/auth/password-reset/confirm", map[string]string{"token": first, "password": "a-brand-new-secret-77"})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "a newer link replaces the older")

	newPassword := "a-brand-new-secret-77"
	r = br.do("POST", "/auth/password-reset/confirm", map[string]string{"token": second, "password": newPassword})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	r = br.do("POST", "/auth/password-reset/confirm", map[string]string{"token": second, "password": newPassword + "x"})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "single use")
	require.Equal(t, http.StatusUnauthorized, old.me().status, "a reset ends every session")
	require.Equal(t, http.StatusUnauthorized, br.login("ana@acme.test", goodPassword).status)
	require.Equal(t, http.StatusOK, br.login("ana@acme.test", newPassword).status)

	require.Equal(t, http.StatusAccepted, br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"}).status)
	late := b.mail.lastToken(t) // the link's hour starts when it is sent
	b.clock.Advance(auth.PasswordResetTTL + time.Second)
	r = br.do("POST", "/auth/password-reset/confirm", map[string]string{"token": late, "password": "yet-another-secret-99"})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "expired")
	require.Equal(t, []string{"token"}, r.fieldPaths())
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.staff(t, "ops@operator.test")
	b.member(t, "ana@acme.test")
	ops, ana := b.browser(t), b.browser(t)
	ops.mustLogin("ops@operator.test")
	ana.mustLogin("ana@acme.test")

	r := ana.do("POST", "/auth/tokens", map[string]any{"name": "sync", "scopes": []string{"sync:run", "portal:read", "nope"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, []string{"scopes[0]", "scopes[2]"}, r.fieldPaths(), "staff-only and unknown scopes")

	r = ops.do("POST", "/auth/tokens", map[string]any{"name": "dashboards", "scopes": []string{"admin:read"}, "expires_in_days": 30})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	secret := r.body["token"].(string)
	require.True(t, strings.HasPrefix(secret, auth.APITokenPrefix))
	id := int64(r.body["id"].(float64))

	list := ops.do("GET", "/auth/tokens", nil)
	require.Equal(t, http.StatusOK, list.status)
	require.NotContains(t, string(list.raw), secret, "shown once")
	require.Contains(t, string(list.raw), `"dashboards"`)

	robot := b.browser(t)
	bearer := func(method, path string) reply {
		return robot.do(method, path, nil, "Authorization", "Bearer "+secret)
	}
	r = bearer("GET", "/admin/probe")
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, []any{"admin:read"}, r.body["token_scopes"])
	r = bearer("POST", "/admin/probe")
	require.Equal(t, http.StatusForbidden, r.status, "admin:write is not in the token's scopes")
	require.Equal(t, "insufficient_scope", r.errCode())
	require.Equal(t, http.StatusOK, bearer("POST", "/api/echo").status, "API tokens need no CSRF token")
	require.Empty(t, robot.cookie(auth.SessionCookie), "token requests make no session")
	require.Equal(t, http.StatusForbidden, robot.do("POST", "/auth/tokens", map[string]any{"name": "x", "scopes": []string{"admin:read"}},
		"Authorization", "Bearer "+secret).status, "a token cannot mint tokens")
	require.Equal(t, http.StatusOK, ops.do("GET", "/admin/probe", nil).status, "a staff session has every scope")
	require.Equal(t, http.StatusForbidden, ana.do("GET", "/admin/probe", nil).status, "customers are not staff")

	require.Equal(t, http.StatusNotFound, ana.do("DELETE", fmt.Sprintf("/auth/tokens/%d", id), nil).status, "someone else's token is not found")
	r = ana.do("DELETE", "/auth/tokens/abc", nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "a field error, as the API answers it")
	require.Equal(t, []string{"id"}, r.fieldPaths())
	require.Equal(t, http.StatusNoContent, ops.do("DELETE", fmt.Sprintf("/auth/tokens/%d", id), nil).status)
	r = bearer("GET", "/admin/probe")
	require.Equal(t, http.StatusUnauthorized, r.status, "revoked")
	require.Equal(t, "invalid_token", r.errCode())

	r = ops.do("POST", "/auth/tokens", map[string]any{"name": "short", "scopes": []string{"admin:read"}, "expires_in_days": 1})
	require.Equal(t, http.StatusCreated, r.status)
	short := r.body["token"].(string)
	require.Equal(t, http.StatusOK, robot.do("GET", "/admin/probe", nil, "Authorization", "Bearer "+short).status)
	b.clock.Advance(25 * time.Hour)
	require.Equal(t, http.StatusUnauthorized, robot.do("GET", "/admin/probe", nil, "Authorization", "Bearer "+short).status, "expired")
	require.Equal(t, http.StatusUnauthorized, robot.do("GET", "/admin/probe", nil, "Authorization", "Bearer pt_made-up").status)
	require.Subset(t, b.audit.actions(), []string{"auth.token_create", "auth.token_revoke"})
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cases := []struct {
		nu     auth.NewUser
		fields []string
	}{
		{auth.NewUser{Email: "not an email", AccountID: "001A", Roles: []string{"member"}}, []string{"email"}},
		{auth.NewUser{Email: "a@b.test", Roles: []string{"member"}}, []string{"account_id"}},
		{auth.NewUser{Email: "a@b.test", AccountID: "001A"}, []string{"roles"}},
		{auth.NewUser{Email: "a@b.test", AccountID: "001A", Roles: []string{"operator_admin"}}, []string{"roles"}},
		{auth.NewUser{Email: "a@b.test", AccountID: "001A", Staff: true}, []string{"account_id"}},
		{auth.NewUser{Email: "a@b.test", AccountID: "001A", Roles: []string{"member"}, Password: "short"}, []string{"password"}},
	}
	for _, c := range cases {
		_, err := auth.CreateUser(ctx, b.pool, c.nu)
		var v *auth.ValidationError
		require.ErrorAs(t, err, &v, "%+v", c.nu)
		var paths []string
		for _, f := range v.Fields {
			paths = append(paths, f.Path)
		}
		require.Equal(t, c.fields, paths)
	}
	b.member(t, "ana@acme.test")
	_, err := auth.CreateUser(ctx, b.pool, auth.NewUser{Email: "ANA@acme.test", AccountID: "001B", Roles: []string{"member"}})
	require.ErrorIs(t, err, auth.ErrDuplicate, "emails are unique per tenant, case-insensitively")
	users, err := auth.ListUsers(ctx, b.pool, 0, "")
	require.NoError(t, err)
	require.Len(t, users, 1, "bad input changed nothing")
}

func TestPasswordResetMailIsThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) {
		d.Config.Throttle = config.ThrottleConfig{PerEmail: 2, PerIP: 100, Window: time.Hour}
	})
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	for range 4 {
		require.Equal(t, http.StatusAccepted, br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"}).status)
		b.mail.all() // each mail is sent before the next request
	}
	require.Len(t, b.mail.all(), 2, "no more than the per-email budget of mails")
	b.clock.Advance(time.Hour + time.Second)
	require.Equal(t, http.StatusAccepted, br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"}).status)
	require.Len(t, b.mail.all(), 3)
}

// A re-invitation is checked like a first one, and cannot touch a pending
// user of another account: it answers as for an existing user, and the
// pending invitation keeps working.
func TestReinvitationCannotReachAnotherAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.staff(t, "ops@operator.test")
	b.user(t, auth.NewUser{Email: "admin@acme.test", Password: goodPassword, AccountID: "001ACME", Roles: []string{auth.RoleAccountAdmin}})
	ops, admin := b.browser(t), b.browser(t)
	ops.mustLogin("ops@operator.test")
	admin.mustLogin("admin@acme.test")

	r := ops.do("POST", "/auth/invitations", map[string]any{"email": "pending@other.test", "account_id": "001OTHER", "roles": []string{"member"}})
	require.Equal(t, http.StatusCreated, r.status, string(r.raw))
	tok := b.mail.lastToken(t)
	sent := len(b.mail.all())

	r = admin.do("POST", "/auth/invitations", map[string]any{"email": "pending@other.test", "roles": []string{"account_admin"}})
	require.Equal(t, http.StatusConflict, r.status, string(r.raw))
	require.NotContains(t, string(r.raw), "001OTHER", "nothing about the other account's user comes back")
	require.Len(t, b.mail.all(), sent, "no new invitation was sent")

	r = ops.do("POST", "/auth/invitations", map[string]any{"email": "pending@other.test", "account_id": "001OTHER", "roles": []string{"superuser"}})
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "a re-invitation is validated like a first one: %s", r.raw)

	newcomer := b.browser(t)
	require.Equal(t, http.StatusOK, newcomer.do("POST", "/auth/activate", map[string]string{"token": tok, "password": goodPassword}).status,
		"the original invitation still works")
}

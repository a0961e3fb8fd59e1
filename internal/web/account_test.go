package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
)

func (e *env) userID(t *testing.T, email string) string {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM auth_user WHERE email = $1`, email).Scan(&id))
	return strconv.FormatInt(id, 10)
}

func (e *env) userStatus(t *testing.T, email string) string {
	t.Helper()
	var s string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM auth_user WHERE email = $1`, email).Scan(&s))
	return s
}

func (e *env) invitationMails(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = $1`,
		auth.InvitationMailArgs{}.Kind()).Scan(&n))
	return n
}

// An account admin lists their account's users, disables one (whose
// session ends) and sends an invitation again; users of other accounts
// are the 404 page, and other roles get the 403 page.
func TestAccountAdminUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, mark, bea := setupMarkAndBea(t)
	admin := e.signedIn("alice@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	e.fx.Put("salesforce", "Contact", apitest.Alpha, apitest.SFContact(apitest.Alpha, "Alice", "Admin"))
	_, _, err := auth.Invite(ctx, e.pool, auth.NewUser{Email: "ivy@alpha.test", AccountID: apitest.Alpha, ContactID: "003" + apitest.Alpha[3:],
		Roles: []string{auth.RoleMember}}, "https://portal.test", time.Now())
	require.NoError(t, err)
	_, _, err = auth.Invite(ctx, e.pool, auth.NewUser{Email: "ian@alpha.test", AccountID: apitest.Alpha, ContactID: "003" + apitest.Alpha[3:],
		Roles: []string{auth.RoleBilling}}, "https://portal.test", time.Now())
	require.NoError(t, err)

	list := admin.get("/account/users")
	require.Equal(t, http.StatusOK, list.code, list.body)
	for _, email := range []string{"alice@alpha.test", "mark@alpha.test", "ivy@alpha.test"} {
		require.Contains(t, list.body, email)
	}
	require.NotContains(t, list.body, "bea@beta.test")
	require.Contains(t, list.body, `action="/account/users/`+e.userID(t, "ivy@alpha.test")+`/resend"`)
	require.NotContains(t, list.body, `action="/account/users/`+e.userID(t, "alice@alpha.test")+`/disable"`, "not oneself")
	require.Contains(t, list.body, `href="/account/users"`, "the menu shows the page to admins")
	e.noForeign(t, list.body, apitest.Alpha)

	// Other roles: the 403 page, to see and to act; nothing changes.
	require.NotContains(t, mark.get("/").body, `href="/account/users"`)
	for _, res := range []page{mark.get("/account/users"), mark.post("/account/users/"+e.userID(t, "ivy@alpha.test")+"/disable", nil)} {
		require.Equal(t, http.StatusForbidden, res.code)
		require.Contains(t, res.body, "Not allowed")
	}
	require.Equal(t, "invited", e.userStatus(t, "ivy@alpha.test"))

	// Another account's user is the same 404 as a missing one.
	admin.get("/account/users")
	missing := admin.post("/account/users/999999/disable", nil)
	require.Equal(t, http.StatusNotFound, missing.code)
	foreign := admin.post("/account/users/"+e.userID(t, "bea@beta.test")+"/disable", nil)
	require.Equal(t, http.StatusNotFound, foreign.code)
	require.Equal(t, missing.body, foreign.body)
	confirmed := url.Values{"confirm": {"yes"}}
	require.Equal(t, missing.body, admin.post("/account/users/999999/disable", confirmed).body)
	require.Equal(t, missing.body, admin.post("/account/users/"+e.userID(t, "bea@beta.test")+"/disable", confirmed).body)
	require.Equal(t, http.StatusNotFound, admin.post("/account/users/"+e.userID(t, "bea@beta.test")+"/resend", nil).code)
	require.Equal(t, "active", e.userStatus(t, "bea@beta.test"))
	require.Equal(t, http.StatusOK, bea.get("/").code)

	// Re-sending queues a mail; an active user has no invitation to send.
	before := e.invitationMails(t)
	res := admin.post("/account/users/"+e.userID(t, "ivy@alpha.test")+"/resend", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/account/users?done=resent", res.location())
	require.Equal(t, before+1, e.invitationMails(t))
	require.Equal(t, http.StatusConflict, admin.post("/account/users/"+e.userID(t, "mark@alpha.test")+"/resend", nil).code)

	// Disabling asks for a confirmation first: without it nothing
	// changes, and Mark's row says what is missing beside the box.
	markID := e.userID(t, "mark@alpha.test")
	res = admin.post("/account/users/"+markID+"/disable", nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.code, res.body)
	require.Equal(t, "active", e.userStatus(t, "mark@alpha.test"))
	require.Contains(t, res.body, `id="f-confirm-`+markID+`" aria-invalid="true" aria-describedby="f-confirm-`+markID+`-error"`)
	require.Contains(t, res.body, `<p class="field-error" id="f-confirm-`+markID+`-error">Confirm that the user is to be disabled.</p>`)
	require.Equal(t, http.StatusForbidden, mark.post("/account/users/"+e.userID(t, "ivy@alpha.test")+"/disable", confirmed).code)
	res = admin.post("/account/users/"+markID+"/disable", confirmed)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "disabled", e.userStatus(t, "mark@alpha.test"))
	waitFor(t, func() bool { return mark.get("/").code == http.StatusSeeOther })
	require.Contains(t, admin.get(res.location()).body, "The user was disabled.")
}

// Re-sending an invitation is held to the trust limits: an admin without
// the billing role cannot re-send an invitation granting it.
func TestAccountAdminResendWithinOwnRights(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	admin := e.signedIn("alice@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	e.fx.Put("salesforce", "Contact", apitest.Alpha, apitest.SFContact(apitest.Alpha, "Alice", "Admin"))
	_, _, err := auth.Invite(ctx, e.pool, auth.NewUser{Email: "staffish@alpha.test", AccountID: apitest.Alpha, ContactID: "003" + apitest.Alpha[3:],
		Roles: []string{auth.RoleAccountAdmin}, SeeChildAccounts: true}, "https://portal.test", time.Now())
	require.NoError(t, err)
	admin.get("/account/users")
	before := e.invitationMails(t)
	res := admin.post("/account/users/"+e.userID(t, "staffish@alpha.test")+"/resend", nil)
	require.Equal(t, http.StatusForbidden, res.code, "the admin does not see child accounts, so cannot grant it")
	require.Equal(t, before, e.invitationMails(t))
}

// An account admin invites into their own account; bad input is named
// beside its field, and an email already in use too.
func TestAccountAdminInvites(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.signedIn("alice@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	e.user("bea@beta.test", apitest.Beta, auth.RoleMember)
	admin.get("/account/users")
	before := e.invitationMails(t)

	bad := admin.post("/account/users", url.Values{"email": {"not-an-email"}, "roles": {"member"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `id="f-email-error"`)
	require.Contains(t, bad.body, `value="member" checked`, "the choice stays")
	bad = admin.post("/account/users", url.Values{"email": {"new@alpha.test"}, "roles": {"superuser"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `id="f-roles-error"`)
	taken := admin.post("/account/users", url.Values{"email": {"bea@beta.test"}, "roles": {"member"}})
	require.Equal(t, http.StatusConflict, taken.code)
	require.Contains(t, taken.body, "This email already has a portal user.")
	require.Equal(t, before, e.invitationMails(t))

	res := admin.post("/account/users", url.Values{"email": {"new@alpha.test"}, "roles": {"member"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "invited", e.userStatus(t, "new@alpha.test"))
	var account string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT account_id FROM auth_user WHERE email = 'new@alpha.test'`).Scan(&account))
	require.Equal(t, apitest.Alpha, account, "into the admin's own account")
	require.Equal(t, before+1, e.invitationMails(t))
	require.Contains(t, admin.get(res.location()).body, "new@alpha.test")

	// A member may not invite: the 403 page, and nobody is invited.
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	res = mark.post("/account/users", url.Values{"email": {"sneaky@alpha.test"}, "roles": {"member"}})
	require.Equal(t, http.StatusForbidden, res.code)
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_user WHERE email = 'sneaky@alpha.test'`).Scan(&n))
	require.Zero(t, n)
}

// The new pages have the strict policy and what every page needs to be
// usable without sight or pointer.
func TestProfileConflictAndAccountPagesPolicyAndLandmarks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fx.Put("salesforce", "Contact", apitest.Alpha, apitest.SFContact(apitest.Alpha, "Alice", "Admin"))
	admin := e.signedIn("alice@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	alphaCase := e.fx.IDs[apitest.Alpha]["case"][0]
	admin.get("/cases/" + alphaCase)
	require.Equal(t, http.StatusSeeOther, admin.post("/cases/"+alphaCase+"/close", nil).code)
	id := e.conflicted(t, "alice@alpha.test", "close_case", `{"status": "closed"}`, `{"status": "in_progress"}`)
	for _, path := range []string{"/conflicts", "/conflicts/" + id, "/profile", "/account/users"} {
		res := admin.get(path)
		require.Equal(t, http.StatusOK, res.code, path)
		checkPageHeaders(t, res)
		checkLandmarks(t, res.body)
	}
}

func (e *env) roles(t *testing.T, email string) []string {
	t.Helper()
	var roles []string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT roles FROM auth_user WHERE email = $1`, email).Scan(&roles))
	return roles
}

// An account admin changes a user's roles from the users page: the user's
// menu follows at once; no role, or the account's last admin stepping
// down, is named in that user's row and changes nothing; another
// account's user is the 404 page, another role gets the 403 page.
func TestAccountAdminChangesRoles(t *testing.T) {
	t.Parallel()
	e, mark, bea := setupMarkAndBea(t)
	admin := e.signedIn("alice@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	markID, aliceID := e.userID(t, "mark@alpha.test"), e.userID(t, "alice@alpha.test")

	list := admin.get("/account/users")
	require.Contains(t, list.body, `action="/account/users/`+markID+`/roles"`)
	require.Regexp(t, `action="/account/users/`+markID+`/roles"(?s:.*?)value="member" checked`, list.body)

	res := admin.post("/account/users/"+markID+"/roles", url.Values{"roles": {"member", "billing"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/account/users?done=roles", res.location())
	require.Contains(t, admin.get(res.location()).body, "The roles were changed.")
	require.Equal(t, []string{"member", "billing"}, e.roles(t, "mark@alpha.test"))
	waitFor(t, func() bool { return contains(navLinks(mark.get("/").body), "/invoices") })

	// Refusals are named in the user's row, with what was ticked.
	bad := admin.post("/account/users/"+markID+"/roles", url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `<fieldset aria-describedby="f-roles-`+markID+`-error">`)
	require.Contains(t, bad.body, `id="f-roles-`+markID+`-error">Please choose at least one role.</p>`)
	bad = admin.post("/account/users/"+markID+"/roles", url.Values{"roles": {"member", "pilot"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `id="f-roles-`+markID+`-error">Please choose one of the options.</p>`)
	bad = admin.post("/account/users/"+aliceID+"/roles", url.Values{"roles": {"member"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, "Your account needs an active account admin.")
	require.Regexp(t, `action="/account/users/`+aliceID+`/roles"(?s:.*?)value="member" checked`, bad.body, "the choice stays")
	require.Equal(t, []string{"account_admin"}, e.roles(t, "alice@alpha.test"))
	require.Equal(t, []string{"member", "billing"}, e.roles(t, "mark@alpha.test"))

	// Another account's user: the same 404 as a missing one; other roles: 403.
	missing := admin.post("/account/users/999999/roles", url.Values{"roles": {"member"}})
	require.Equal(t, http.StatusNotFound, missing.code)
	foreign := admin.post("/account/users/"+e.userID(t, "bea@beta.test")+"/roles", url.Values{"roles": {"account_admin"}})
	require.Equal(t, http.StatusNotFound, foreign.code)
	require.Equal(t, missing.body, foreign.body)
	require.Equal(t, []string{"member"}, e.roles(t, "bea@beta.test"))
	mark.get("/")
	require.Equal(t, http.StatusForbidden, mark.post("/account/users/"+markID+"/roles", url.Values{"roles": {"account_admin"}}).code)
	require.Equal(t, []string{"member", "billing"}, e.roles(t, "mark@alpha.test"))
	_ = bea
}

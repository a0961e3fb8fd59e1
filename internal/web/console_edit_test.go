package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/web/webtest"
)

// staffBrowser signs the staff member email in (creating them).
func (e *env) staffBrowser(email string) *browser {
	e.t.Helper()
	e.staff(email)
	b := e.browser()
	b.signInStaff(email)
	return b
}

// audited is who the audit log says made the latest change of action to
// the object with id objectID ("" when there is none): its actor and kind.
func (e *env) audited(action, objectID string) (actor, kind string) {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT actor, actor_kind FROM audit_event WHERE action = $1 AND object_id = $2 ORDER BY id DESC LIMIT 1`, action, objectID)
	require.NoError(e.t, err)
	defer rows.Close()
	for rows.Next() {
		require.NoError(e.t, rows.Scan(&actor, &kind))
	}
	require.NoError(e.t, rows.Err())
	return actor, kind
}

func (e *env) userCount() int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_user`).Scan(&n))
	return n
}

func (e *env) rolesOf(email string) string {
	e.t.Helper()
	var roles []string
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT roles FROM auth_user WHERE email = $1`, email).Scan(&roles))
	return strings.Join(roles, ",")
}

// The console invites customers of any account and staff through the
// auth service: bad input changes nothing and is named beside its field
// (422), an email in use is 409 beside the email; an invitation answers
// 303 to the new user's page and is audited as the staff member.
// Customers meet the 404 page.
func TestConsoleInvite(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	invite := url.Values{"email": {"new@beta.test"}, "account_id": {apitest.Beta}, "roles": {auth.RoleMember, auth.RoleBilling}}
	require.Equal(t, http.StatusNotFound, customer.post("/console/users/invitations", invite).code)

	staff := e.staffBrowser("ops@operator.test")
	require.Contains(t, staff.get("/console/users").body, `action="/console/users/invitations"`)
	users := e.userCount()
	for _, bad := range []struct {
		form  url.Values
		field string
		says  string
	}{
		{url.Values{"email": {"not an email"}, "account_id": {apitest.Beta}, "roles": {auth.RoleMember}}, "email", "Enter an email address"},
		{url.Values{"email": {"new@beta.test"}, "roles": {auth.RoleMember}}, "account_id", "Enter the CRM account id"},
		{url.Values{"email": {"new@beta.test"}, "account_id": {apitest.Beta}}, "roles", "Please choose at least one role."},
		{url.Values{"email": {"new@beta.test"}, "account_id": {apitest.Beta}, "roles": {"owner"}}, "roles", "Please choose at least one role."},
		{url.Values{"email": {"new@beta.test"}, "account_id": {apitest.Beta}, "contact_id": {"003nope"}, "roles": {auth.RoleMember}}, "contact_id", "The account has no contact with this id."},
		{url.Values{"email": {"boss@operator.test"}, "staff": {"yes"}, "account_id": {apitest.Beta}}, "account_id", "Leave this empty for a staff member."},
	} {
		res := staff.post("/console/users/invitations", bad.form)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, res.body)
		require.Contains(t, res.body, `id="f-`+bad.field+`-error"`, bad.field)
		require.Contains(t, res.body, bad.says)
		require.Contains(t, res.body, `value="`+bad.form.Get("email")+`"`, "what was entered stays")
		require.Equal(t, users, e.userCount(), "nothing created")
	}
	res := staff.post("/console/users/invitations", url.Values{"email": {"ada@alpha.test"}, "account_id": {apitest.Alpha}, "roles": {auth.RoleMember}})
	require.Equal(t, http.StatusConflict, res.code)
	require.Contains(t, res.body, `id="f-email-error"`)

	invite.Del("csrf_token") // the customer's, set by the refused post above
	res = staff.post("/console/users/invitations", invite)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	id := e.userID(t, "new@beta.test")
	require.Equal(t, "/console/users/"+id+"?done=invited", res.location())
	page := staff.get(res.location())
	require.Equal(t, http.StatusOK, page.code)
	require.Contains(t, page.body, "The invitation is on its way.")
	require.Contains(t, page.body, "Invited")
	require.Equal(t, "invited", e.userStatus(t, "new@beta.test"))
	require.Equal(t, "member,billing", e.rolesOf("new@beta.test"))
	actor, kind := e.audited("auth.invite", id)
	require.Equal(t, "staff", kind)
	require.Equal(t, "staff:"+e.userID(t, "ops@operator.test"), actor)

	// Sent again (the mail worker mints the fresh link).
	require.Contains(t, page.body, `action="/console/users/`+id+`/resend"`)
	res = staff.post("/console/users/"+id+"/resend", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Contains(t, staff.get(res.location()).body, "The invitation was sent again.")
	var invites int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_event WHERE action = 'auth.invite' AND object_id = $1 AND actor_kind = 'staff'`, id).Scan(&invites))
	require.Equal(t, 2, invites, "the invitation and the one sent again")
	require.Equal(t, http.StatusConflict, staff.post("/console/users/"+e.userID(t, "ada@alpha.test")+"/resend", nil).code, "active")

	res = staff.post("/console/users/invitations", url.Values{"email": {"boss@operator.test"}, "staff": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, auth.RoleOperatorAdmin, e.rolesOf("boss@operator.test"))
	require.Contains(t, staff.get(res.location()).body, "Staff")

	staff.lang = "de"
	res = staff.post("/console/users/invitations", url.Values{"email": {"x"}, "account_id": {apitest.Beta}, "roles": {auth.RoleMember}})
	require.Contains(t, res.body, "Geben Sie eine E-Mail-Adresse wie ana@example.com ein.")
}

// The console changes a customer's roles, disables a user once the form
// confirms it (their sessions end) and enables them again, each through
// the auth service, audited as the staff member and answered 303 to the
// user's page. Bad input (no role, the account's last admin, no
// confirmation, disabling oneself) changes nothing and is named beside
// its field.
func TestConsoleUserChanges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	e.user("bob@alpha.test", apitest.Alpha, auth.RoleMember)
	bob, ada := e.userID(t, "bob@alpha.test"), e.userID(t, "ada@alpha.test")
	require.Equal(t, http.StatusNotFound, customer.get("/console/users/"+bob).code)
	require.Equal(t, http.StatusNotFound, customer.post("/console/users/"+bob+"/disable", url.Values{"confirm": {"yes"}}).code)
	require.Equal(t, "active", e.userStatus(t, "bob@alpha.test"))

	staff := e.staffBrowser("ops@operator.test")
	ops := e.userID(t, "ops@operator.test")
	page := staff.get("/console/users")
	require.Contains(t, page.body, `<a href="/console/users/`+bob+`">bob@alpha.test</a>`)
	page = staff.get("/console/users/" + bob)
	require.Equal(t, http.StatusOK, page.code, page.body)
	require.Contains(t, page.body, `action="/console/users/`+bob+`/roles"`)
	require.Contains(t, page.body, `action="/console/users/`+bob+`/disable"`)
	require.Equal(t, http.StatusNotFound, staff.get("/console/users/999999").code)

	// Roles.
	res := staff.post("/console/users/"+bob+"/roles", url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `id="f-roles-error"`)
	res = staff.post("/console/users/"+ada+"/roles", url.Values{"roles": {auth.RoleMember}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, "The account needs an active account admin.")
	require.Equal(t, auth.RoleAccountAdmin, e.rolesOf("ada@alpha.test"), "the last admin keeps the role")
	res = staff.post("/console/users/"+ops+"/roles", url.Values{"roles": {auth.RoleMember}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code, "staff hold operator_admin alone")
	require.Equal(t, auth.RoleOperatorAdmin, e.rolesOf("ops@operator.test"))
	res = staff.post("/console/users/"+bob+"/roles", url.Values{"roles": {auth.RoleMember, auth.RolePurchasing}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/console/users/"+bob+"?done=roles", res.location())
	require.Equal(t, "member,purchasing", e.rolesOf("bob@alpha.test"))
	require.Contains(t, staff.get(res.location()).body, "The roles were changed.")
	actor, kind := e.audited("auth.user_roles", bob)
	require.Equal(t, "staff:"+ops, actor)
	require.Equal(t, "staff", kind)

	// Disable: confirmed, not oneself.
	res = staff.post("/console/users/"+ada+"/disable", url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `id="f-confirm" name="confirm" aria-invalid="true"`)
	require.Equal(t, "active", e.userStatus(t, "ada@alpha.test"))
	require.NotContains(t, staff.get("/console/users/"+ops).body, `action="/console/users/`+ops+`/disable"`)
	res = staff.post("/console/users/"+ops+"/disable", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, "You cannot disable yourself.")
	require.Equal(t, "active", e.userStatus(t, "ops@operator.test"))

	res = staff.post("/console/users/"+ada+"/disable", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/console/users/"+ada+"?done=disabled", res.location())
	require.Equal(t, "disabled", e.userStatus(t, "ada@alpha.test"))
	page = staff.get(res.location())
	require.Contains(t, page.body, "The user was disabled")
	require.Contains(t, page.body, `action="/console/users/`+ada+`/enable"`)
	actor, _ = e.audited("auth.user_disable", ada)
	require.Equal(t, "staff:"+ops, actor)
	waitFor(t, func() bool { return customer.get("/").code == http.StatusSeeOther }) // signed out

	// Enable: ada has a password, so she is active again.
	res = staff.post("/console/users/"+ada+"/enable", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "active", e.userStatus(t, "ada@alpha.test"))
	require.Contains(t, staff.get(res.location()).body, "The user can sign in again.")
	actor, _ = e.audited("auth.user_enable", ada)
	require.Equal(t, "staff:"+ops, actor)
	customer.signIn("ada@alpha.test")
}

// The erasure's outcome is a page of its own (303 after the erasure): a
// reload reads the report again and erases nothing more.
func TestConsoleErasureRedirects(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("bob@beta.test", apitest.Beta, auth.RoleMember)
	staff := e.staffBrowser("ops@operator.test")
	staff.get("/console/privacy")
	res := staff.post("/console/privacy/erasures", url.Values{"email": {"bob@beta.test"}, "reason": {"Letter of 2026-12-01"}, "confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	var id string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id::text FROM privacy_erasure ORDER BY id DESC LIMIT 1`).Scan(&id))
	require.Equal(t, "/console/privacy/erasures/"+id+"#erased-heading", res.location())
	for range 2 { // read, and read again
		page := staff.get("/console/privacy/erasures/" + id)
		require.Equal(t, http.StatusOK, page.code, page.body)
		require.Contains(t, page.body, "The person was erased.")
		require.Contains(t, page.body, "erased-")
	}
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM privacy_erasure`).Scan(&n))
	require.Equal(t, 1, n)
	require.Equal(t, http.StatusNotFound, staff.get("/console/privacy/erasures/999999").code)
	require.Equal(t, http.StatusNotFound, staff.get("/console/privacy/erasures/x").code)
}

// brandForm posts the brand form as the browser does: multipart, the
// form token first, then the fields and the logo (none when nil).
func (b *browser) brandForm(fields url.Values, logoName string, logo []byte) page {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(b.e.t, mw.WriteField("csrf_token", b.csrf))
	for k, vs := range fields {
		for _, v := range vs {
			require.NoError(b.e.t, mw.WriteField(k, v))
		}
	}
	fw, err := mw.CreateFormFile("logo", logoName)
	require.NoError(b.e.t, err)
	_, err = fw.Write(logo)
	require.NoError(b.e.t, err)
	require.NoError(b.e.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+"/console/brand", &body)
	require.NoError(b.e.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// testPNG is a real 1x1 PNG, which a browser decodes.
var testPNG = []byte("\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\x9c\x63\xa8\xd1\x15\xfa\x0f\x00\x03\x9f\x01\xbb\x1f\x41\x22\x83\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82")

// The console's brand form stores the brand as `portico brand set`
// checks it: a bad colour or logo changes nothing and is named beside
// its field (422); a good change answers 303, is audited as the staff
// member, and the portal's header shows it at once. An emptied field
// follows the configuration again, and the uploaded logo can be dropped.
func TestConsoleBrandEdit(t *testing.T) {
	t.Parallel()
	e := setup(t, acmeBrand)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	require.Equal(t, http.StatusNotFound, customer.brandForm(url.Values{"name": {"Evil"}}, "x.png", testPNG).code)
	stored := func() int {
		var n int
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM brand_setting`).Scan(&n))
		return n
	}
	require.Zero(t, stored())

	staff := e.staffBrowser("ops@operator.test")
	page := staff.get("/console/brand")
	require.Contains(t, page.body, `action="/console/brand" enctype="multipart/form-data"`)
	require.Contains(t, page.body, "Empty: the configuration&#39;s Acme portal.")
	for _, bad := range []struct {
		form  url.Values
		logo  []byte
		field string
		says  string
	}{
		{url.Values{"name": {"Globex"}, "primary_color": {"#ffff00"}}, nil, "primary_color", "reaches a contrast of 4.5:1 on white"},
		{url.Values{"support_url": {"javascript:alert(1)"}}, nil, "support_url", "starts with https://"},
		{url.Values{"support_email": {"Help <help@globex.test>"}}, nil, "support_email", "help@example.com"},
		{url.Values{"name": {"Globex"}}, []byte("GIF89a\x01\x00\x01\x00"), "logo", "must be a PNG, SVG, WebP or JPEG image"},
		{url.Values{"name": {"Globex"}}, append(testPNG, make([]byte, 256<<10)...), "logo", "larger than 256 KiB"},
	} {
		res := staff.brandForm(bad.form, "logo.img", bad.logo)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, res.body)
		require.Contains(t, res.body, `id="f-`+bad.field+`-error"`, bad.field)
		require.Contains(t, res.body, bad.says)
		require.Zero(t, stored(), "nothing stored")
	}

	res := staff.brandForm(url.Values{"name": {"Globex portal"}, "primary_color": {"#7C2D12"}, "support_phone": {"+49 30 1234567"}}, "logo.png", testPNG)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/console/brand?done=saved", res.location())
	page = staff.get(res.location())
	require.Contains(t, page.body, "The branding was saved.")
	require.Contains(t, page.body, `value="#7c2d12"`, "stored normalised")
	actor, kind := e.audited("brand.set", "brand")
	require.Equal(t, "staff:"+e.userID(t, "ops@operator.test"), actor)
	require.Equal(t, "staff", kind)
	home := customer.get("/")
	require.Contains(t, home.body, `<img class="logo" src="/static/logo-`)
	require.Contains(t, home.body, "Globex portal</a>")
	css := customer.get("/static/brand-" + between(home.body, `<link rel="stylesheet" href="/static/brand-`, `"`))
	require.Contains(t, css.body, "--primary: #7c2d12;")

	// The name emptied follows config again; the logo is dropped.
	staff.get("/console/brand")
	res = staff.brandForm(url.Values{"primary_color": {"#7c2d12"}, "drop_logo": {"yes"}}, "", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	home = customer.get("/")
	require.Contains(t, home.body, "Acme portal</a>")
	require.NotContains(t, home.body, `<img class="logo"`)

	// Back to the configuration altogether, once confirmed.
	page = staff.get("/console/brand")
	require.Contains(t, page.body, `action="/console/brand/reset"`)
	res = staff.post("/console/brand/reset", url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `id="f-confirm" name="confirm" aria-invalid="true"`)
	require.Contains(t, res.body, `value="#7c2d12"`, "the brand form keeps the stored values")
	require.Equal(t, 1, stored(), "nothing dropped")
	res = staff.post("/console/brand/reset", url.Values{"confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/console/brand?done=reset", res.location())
	require.Zero(t, stored())
	page = staff.get(res.location())
	require.Contains(t, page.body, "The stored branding was dropped")
	require.NotContains(t, page.body, `action="/console/brand/reset"`, "nothing left to drop")
	actor, _ = e.audited("brand.reset", "brand")
	require.Equal(t, "staff:"+e.userID(t, "ops@operator.test"), actor)
}

// The users pages in a browser, with and without JavaScript: a staff
// member invites a user, changes their roles and disables them after
// confirming; axe finds nothing on the way.
func TestBrowserConsoleUserChanges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			staffEmail := []string{"ops-js@operator.test", "ops-nojs@operator.test"}[i]
			person := []string{"new-js@beta.test", "new-nojs@beta.test"}[i]
			e.staff(staffEmail)
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, e.srv.URL, "/console/users", staffEmail)
			p.WaitText("#main h1", "Users and accounts")
			check(t, p, "console-users-invite", 0)

			p.Fill("#f-email", person)
			send(t, p, `form[action="/console/users/invitations"]`, "#f-account_id-error", "Enter the CRM account id")
			check(t, p, "console-users-invite-refused", http.StatusUnprocessableEntity)
			p.Fill("#f-account_id", apitest.Beta)
			p.Click(`#invite input[value="member"]`)
			send(t, p, `form[action="/console/users/invitations"]`, "#main .notice", "The invitation is on its way.")
			check(t, p, "console-user-invited", 0)
			id := e.userID(t, person)

			p.Click(`#main form[action="/console/users/` + id + `/roles"] input[value="billing"]`)
			send(t, p, `form[action="/console/users/`+id+`/roles"]`, "#main .notice", "The roles were changed.")
			require.Equal(t, "member,billing", e.rolesOf(person))

			send(t, p, `form[action="/console/users/`+id+`/disable"]`, "#f-confirm-error", "Confirm that the user is to be disabled.")
			check(t, p, "console-user-disable-refused", http.StatusUnprocessableEntity)
			require.Equal(t, "invited", e.userStatus(t, person))
			p.Click("#f-confirm")
			send(t, p, `form[action="/console/users/`+id+`/disable"]`, "#main .notice", "The user was disabled")
			require.Equal(t, "disabled", e.userStatus(t, person))
			check(t, p, "console-user-disabled", 0)
		})
	}
}

// The brand form in a browser, with and without JavaScript: a refused
// colour is named beside its field, then a new name and logo are saved
// and the portal's header shows them; axe finds nothing on the way.
func TestBrowserConsoleBrandEdit(t *testing.T) {
	t.Parallel()
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, acmeBrand)
			e.staff("ops@operator.test")
			name := []string{"Globex JS", "Globex no JS"}[i]
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, e.srv.URL, "/console/brand", "ops@operator.test")
			p.WaitText("#main h1", "Branding")
			check(t, p, "console-brand-form", 0)

			p.Fill("#f-name", name)
			p.Fill("#f-primary_color", "#ffff00")
			send(t, p, `form[action="/console/brand"]`, "#f-primary_color-error", "contrast of 4.5:1")
			check(t, p, "console-brand-refused", http.StatusUnprocessableEntity)

			p.Fill("#f-primary_color", "#7c2d12")
			logo := filepath.Join(t.TempDir(), "logo.png")
			require.NoError(t, os.WriteFile(logo, testPNG, 0o600))
			setFile(t, p, "#f-logo", logo)
			send(t, p, `form[action="/console/brand"]`, "#main .notice", "The branding was saved.")
			p.WaitText("header .brand", name)
			require.True(t, p.Exists(`header .brand img.logo`))
			require.Positive(t, evalJS[float64](t, p, `document.querySelector("header .brand img.logo").naturalWidth`), "the logo is served and decodes")
			check(t, p, "console-brand-saved", 0)
		})
	}
}

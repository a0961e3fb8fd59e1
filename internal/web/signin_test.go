package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
)

func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	b := e.browser()

	// A page asks for a session first and comes back after it.
	res := b.get("/cases?state=closed")
	require.Equal(t, http.StatusSeeOther, res.code)
	require.Equal(t, "/sign-in?next="+url.QueryEscape("/cases?state=closed"), res.location())

	form := b.get("/sign-in?next=" + url.QueryEscape("/cases?state=closed"))
	require.Equal(t, http.StatusOK, form.code)
	require.Contains(t, form.body, `<label for="f-email">Email</label>`)
	require.Contains(t, form.body, `name="next" value="/cases?state=closed"`)
	require.NotContains(t, form.body, "Sign in with", "no single sign-on configured")

	// Without the form's token nothing is tried.
	res = b.post("/sign-in", url.Values{"csrf_token": {"forged"}, "email": {"mark@alpha.test"}, "password": {password}})
	require.Equal(t, http.StatusForbidden, res.code)
	require.Contains(t, res.body, "This form has expired")

	res = b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {"wrong-password-1234"}, "next": {"/cases"}})
	require.Equal(t, http.StatusUnauthorized, res.code)
	require.Contains(t, res.body, `role="alert"`)
	require.Contains(t, res.body, "The email or password is incorrect.")
	require.Contains(t, res.body, `value="mark@alpha.test"`, "the email stays filled in")

	res = b.post("/sign-in", url.Values{"email": {""}, "password": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `aria-invalid="true" aria-describedby="f-email-error"`)
	require.Contains(t, res.body, `<p class="field-error" id="f-email-error">This field is required.</p>`)

	res = b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {password}, "next": {"/cases?state=closed"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/cases?state=closed", res.location())
	home := b.get("/")
	require.Equal(t, http.StatusOK, home.code)
	require.Contains(t, home.body, "mark@alpha.test")
	// Signed in, the sign-in page sends the user on.
	require.Equal(t, "/", b.get("/sign-in").location())

	res = b.post("/sign-out", nil)
	require.Equal(t, http.StatusSeeOther, res.code)
	require.Equal(t, "/sign-in?signed_out=1", res.location())
	require.Contains(t, b.get("/sign-in?signed_out=1").body, "You have signed out.")
	require.Equal(t, http.StatusSeeOther, b.get("/").code, "the session has ended")
}

func TestSignInGoesOnlyToThisSite(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\t/evil.example"} {
		b := e.browser()
		b.get("/sign-in")
		res := b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {password}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, res.code)
		require.Equal(t, "/", res.location(), next)
	}
}

func TestSignInLockoutInWords(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) {
		o.throttle = config.ThrottleConfig{PerEmail: 2, PerIP: 1000, Window: 15 * time.Minute}
	})
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	b := e.browser()
	b.get("/sign-in")
	for range 2 {
		require.Equal(t, http.StatusUnauthorized, b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {"not-the-password-1"}}).code)
	}
	// Even the right password waits now, and the page says how long.
	res := b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {password}})
	require.Equal(t, http.StatusTooManyRequests, res.code)
	require.NotEmpty(t, res.header.Get("Retry-After"))
	require.Contains(t, res.body, "Too many failed sign-ins. For your security, signing in is paused for 15 minutes.")

	b.lang = "de"
	res = b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {password}})
	require.Contains(t, res.body, "die Anmeldung für 15 Minuten gesperrt")
}

func TestSignInWithProviderLink(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.oidc = true })
	res := e.browser().get("/sign-in?next=/cases")
	require.Contains(t, res.body, `href="/auth/oidc/login?return_to=%2Fcases"`)
	require.Contains(t, res.body, "Sign in with Example SSO")
}

func TestActivateFromInvitation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, link, err := auth.Invite(context.Background(), e.pool, auth.NewUser{Email: "new@alpha.test", Roles: []string{auth.RoleMember},
		AccountID: apitest.Alpha, ContactID: "003" + apitest.Alpha[3:], HashParams: fastHash}, "http://portal.test", time.Now())
	require.NoError(t, err)
	path := strings.TrimPrefix(link, "http://portal.test")
	require.True(t, strings.HasPrefix(path, "/activate?token="), "the link the mail carries opens this page")
	token := strings.TrimPrefix(path, "/activate?token=")

	b := e.browser()
	form := b.get(path)
	require.Equal(t, http.StatusOK, form.code)
	require.Contains(t, form.body, "Activate your account")
	require.Contains(t, form.body, `<label for="f-password">New password</label>`)

	res := b.post("/activate", url.Values{"token": {token}, "password": {"a-long-new-secret-77"}, "password_confirm": {"something-else-77"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `<p class="field-error" id="f-password_confirm-error">The two passwords are not the same.</p>`)

	res = b.post("/activate", url.Values{"token": {token}, "password": {"short"}, "password_confirm": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `id="f-password-error"`, "the service's password rule is shown beside the field")

	res = b.post("/activate", url.Values{"token": {token}, "password": {"a-long-new-secret-77"}, "password_confirm": {"a-long-new-secret-77"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/sign-in?activated=1", res.location())
	require.Contains(t, b.get(res.location()).body, "Your account is ready.")

	// The token is spent.
	res = b.post("/activate", url.Values{"token": {token}, "password": {"another-long-secret-8"}, "password_confirm": {"another-long-secret-8"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, "This link is invalid, already used or expired.")

	res = b.post("/sign-in", url.Values{"email": {"new@alpha.test"}, "password": {"a-long-new-secret-77"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	b := e.browser()
	require.Contains(t, b.get("/reset-password").body, "Reset your password")

	// Known or not, the answer is the same.
	for _, email := range []string{"nobody@alpha.test", "mark@alpha.test"} {
		res := b.post("/reset-password/request", url.Values{"email": {email}})
		require.Equal(t, http.StatusSeeOther, res.code)
		require.Equal(t, "/reset-password?sent=1", res.location())
	}
	require.Contains(t, b.get("/reset-password?sent=1").body, "a link to reset the password is on its way")
	res := b.post("/reset-password/request", url.Values{"email": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `id="f-email-error"`)

	// The worker mints the link the mail carries.
	msg, ok, err := e.auth.ResetMail(context.Background(), auth.PasswordResetMailArgs{Email: "mark@alpha.test"})
	require.NoError(t, err)
	require.True(t, ok)
	u, err := url.Parse(msg.Link)
	require.NoError(t, err)
	require.Equal(t, "/reset-password", u.Path)
	require.Contains(t, b.get(u.RequestURI()).body, "Choose a new password")

	res = b.post("/reset-password", url.Values{"token": {u.Query().Get("token")}, "password": {"fresh-password-9931"}, "password_confirm": {"fresh-password-9931"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/sign-in?reset=1", res.location())
	b.get("/sign-in")
	require.Equal(t, http.StatusUnauthorized, b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {password}}).code)
	require.Equal(t, http.StatusSeeOther, b.post("/sign-in", url.Values{"email": {"mark@alpha.test"}, "password": {"fresh-password-9931"}}).code)
}

func TestSignOutEverywhere(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	phone, laptop := e.browser(), e.browser()
	phone.signIn("mark@alpha.test")
	laptop.signIn("mark@alpha.test")
	res := laptop.post("/sign-out-everywhere", nil)
	require.Equal(t, http.StatusSeeOther, res.code)
	require.Equal(t, "/sign-in?signed_out=everywhere", res.location())
	require.Contains(t, laptop.get(res.location()).body, "You have signed out on every device")
	waitFor(t, func() bool { return phone.get("/").code == http.StatusSeeOther })
	require.Equal(t, http.StatusSeeOther, laptop.get("/").code)
}

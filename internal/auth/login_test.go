package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/store"
)

func TestLoginSetsCookieAndRotatesSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test", auth.RoleMember, auth.RoleBilling)
	br := b.browser(t)

	require.Equal(t, http.StatusUnauthorized, br.me().status)

	r := br.login("Ana@Acme.test", goodPassword)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	first := br.cookie(auth.SessionCookie)
	require.NotEmpty(t, first)
	setCookie := strings.Join(r.header.Values("Set-Cookie"), "\n")
	require.Contains(t, setCookie, auth.SessionCookie+"=")
	require.Contains(t, setCookie, "HttpOnly")
	require.Contains(t, setCookie, "SameSite=Lax")
	require.NotContains(t, setCookie, "Secure", "plain http public URL: no Secure flag")
	require.Equal(t, br.csrf, br.cookie(auth.CSRFCookie), "the CSRF cookie carries the session's token")

	me := br.me()
	require.Equal(t, http.StatusOK, me.status)
	p := me.body["principal"].(map[string]any)
	require.Equal(t, "ana@acme.test", p["email"])
	require.Equal(t, "001ACME", p["account_id"])
	require.Equal(t, "003ANA", p["contact_id"])
	require.ElementsMatch(t, []any{"member", "billing"}, p["roles"])
	require.Equal(t, http.StatusOK, br.do("GET", "/billing/probe", nil).status)

	// Logging in again on the same browser rotates the session id and
	// ends the old session: a stolen pre-login cookie is worthless.
	br.mustLogin("ana@acme.test")
	second := br.cookie(auth.SessionCookie)
	require.NotEqual(t, first, second)
	old := b.browser(t)
	old.c.Jar.SetCookies(mustURL(t, b.srv.URL), []*http.Cookie{{Name: auth.SessionCookie, Value: first}})
	require.Equal(t, http.StatusUnauthorized, old.me().status, "the pre-rotation cookie no longer authenticates")
	require.Equal(t, http.StatusOK, br.me().status)

	require.Contains(t, b.audit.actions(), "auth.login")
	e := b.audit.events[0]
	require.Equal(t, "127.0.0.1", e.IP)
	require.Equal(t, "auth-test", e.UserAgent)
}

func TestSessionFixationCookieIsReplaced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	planted := "attacker-chosen-session-token-value-0123456789ab"
	br.c.Jar.SetCookies(mustURL(t, b.srv.URL), []*http.Cookie{{Name: auth.SessionCookie, Value: planted}})
	br.mustLogin("ana@acme.test")
	require.NotEqual(t, planted, br.cookie(auth.SessionCookie))
}

func TestSecureCookieWithHTTPSPublicURL(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) { d.PublicURL = "https://portal.example.com" })
	b.member(t, "ana@acme.test")
	r := b.browser(t).login("ana@acme.test", goodPassword)
	require.Equal(t, http.StatusOK, r.status)
	for _, c := range r.header.Values("Set-Cookie") {
		require.Contains(t, c, "Secure", c)
	}
}

func TestWrongPasswordAndUnknownEmailLookTheSame(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	disabled := b.member(t, "gone@acme.test")
	_, err := auth.DisableUser(context.Background(), b.pool, 0, disabled.Email, b.clock.Now())
	require.NoError(t, err)
	br := b.browser(t)

	wrong := br.login("ana@acme.test", "not-the-password-at-all")
	unknown := br.login("nobody@acme.test", "not-the-password-at-all")
	off := br.login("gone@acme.test", goodPassword)
	require.Equal(t, http.StatusUnauthorized, wrong.status)
	require.Equal(t, wrong.status, unknown.status)
	require.Equal(t, wrong.raw, unknown.raw, "identical bodies")
	require.Equal(t, wrong.raw, off.raw, "a disabled user gets the same answer")
	require.Equal(t, "invalid_credentials", wrong.errCode())
	require.Empty(t, br.cookie(auth.SessionCookie), "no session for a failed login")

	var failed int
	for _, a := range b.audit.actions() {
		if a == "auth.login_failed" {
			failed++
		}
	}
	require.Equal(t, 3, failed)
}

// TestUnknownEmailCostsAPasswordHash compares the fastest of several
// attempts with production hash parameters: without the dummy hash an
// unknown email would answer in a fraction of the time.
func TestUnknownEmailCostsAPasswordHash(t *testing.T) {
	b := setup(t, func(d *auth.Deps) {
		d.HashParams = auth.DefaultHashParams
		d.Config.Throttle.PerEmail, d.Config.Throttle.PerIP = 100, 100
	})
	u := b.member(t, "ana@acme.test")
	hash, err := auth.HashPassword(goodPassword, auth.DefaultHashParams)
	require.NoError(t, err)
	_, err = b.pool.Exec(context.Background(), "UPDATE auth_user SET password_hash = $1 WHERE id = $2", hash, u.ID)
	require.NoError(t, err)
	br := b.browser(t)
	attempt := func(email string) time.Duration {
		start := time.Now()
		require.Equal(t, http.StatusUnauthorized, br.login(email, "not-the-password-at-all").status)
		return time.Since(start)
	}
	known, unknown := time.Hour, time.Hour
	for range 5 { // interleaved, so that load from elsewhere hits both alike
		known = min(known, attempt("ana@acme.test"))
		unknown = min(unknown, attempt("nobody@acme.test"))
	}
	t.Logf("wrong password %s, unknown email %s", known, unknown)
	// Without the dummy hash an unknown email answers tens of times faster.
	require.Greater(t, unknown, known/3, "an unknown email costs a password hash too")
	require.Greater(t, known, unknown/3)
}

func TestLockoutPerEmail(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) {
		d.Config.Throttle = config.ThrottleConfig{PerEmail: 3, PerIP: 100, Window: 15 * time.Minute}
	})
	b.member(t, "ana@acme.test")
	br := b.browser(t)

	for i := range 3 {
		require.Equal(t, http.StatusUnauthorized, br.login("ana@acme.test", "wrong-password-attempt").status, "attempt %d", i)
		require.Equal(t, http.StatusUnauthorized, br.login("nobody@acme.test", "wrong-password-attempt").status, "attempt %d", i)
	}
	locked := br.login("ana@acme.test", goodPassword)
	require.Equal(t, http.StatusTooManyRequests, locked.status, "even the right password waits out the lockout")
	require.NotEmpty(t, locked.header.Get("Retry-After"))
	lockedUnknown := br.login("nobody@acme.test", goodPassword)
	require.Equal(t, locked.status, lockedUnknown.status, "an unknown email locks out the same way")
	require.Equal(t, locked.raw, lockedUnknown.raw)
	require.Equal(t, locked.header.Get("Retry-After"), lockedUnknown.header.Get("Retry-After"))

	require.Equal(t, http.StatusUnauthorized, br.login("other@acme.test", "x-wrong-password").status, "other emails are not locked")

	b.clock.Advance(15*time.Minute + time.Second)
	require.Equal(t, http.StatusOK, br.login("ana@acme.test", goodPassword).status, "the lockout ends with the window")
}

func TestLockoutPerIP(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) {
		d.Config.Throttle = config.ThrottleConfig{PerEmail: 100, PerIP: 4, Window: time.Hour}
	})
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	for _, e := range []string{"a@x.test", "b@x.test", "c@x.test", "d@x.test"} {
		require.Equal(t, http.StatusUnauthorized, br.login(e, "wrong-password-spray").status)
	}
	r := br.login("ana@acme.test", goodPassword)
	require.Equal(t, http.StatusTooManyRequests, r.status, "the address is locked out for every email")
	require.Equal(t, "too_many_attempts", r.errCode())
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	br.mustLogin("ana@acme.test")
	token := br.csrf

	got := br.do("GET", "/auth/csrf", nil)
	require.Equal(t, http.StatusOK, got.status)
	require.Equal(t, token, got.body["csrf_token"])

	br.csrf = ""
	r := br.do("POST", "/api/echo", map[string]string{})
	require.Equal(t, http.StatusForbidden, r.status, "no token")
	require.Equal(t, "csrf", r.errCode())
	r = br.do("POST", "/auth/logout", nil, auth.CSRFHeader, "forged")
	require.Equal(t, http.StatusForbidden, r.status, "wrong token")
	require.Equal(t, http.StatusOK, br.me().status, "the refused logout changed nothing")

	br.csrf = token
	require.Equal(t, http.StatusOK, br.do("POST", "/api/echo", map[string]string{}).status)
	require.Equal(t, http.StatusNoContent, br.do("POST", "/auth/logout", nil).status)
	require.Equal(t, http.StatusUnauthorized, br.me().status)
}

func TestLogoutAndLogoutEverywhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	b.member(t, "bo@acme.test")
	laptop, phone, tablet, other := b.browser(t), b.browser(t), b.browser(t), b.browser(t)
	for _, br := range []*browser{laptop, phone, tablet} {
		br.mustLogin("ana@acme.test")
	}
	other.mustLogin("bo@acme.test")

	require.Equal(t, http.StatusNoContent, tablet.do("POST", "/auth/logout", nil).status)
	require.Equal(t, http.StatusUnauthorized, tablet.me().status)
	require.Equal(t, http.StatusOK, laptop.me().status, "logout ends only this session")

	require.Equal(t, http.StatusNoContent, phone.do("POST", "/auth/logout-all", nil).status)
	require.Equal(t, http.StatusUnauthorized, phone.me().status)
	require.Equal(t, http.StatusUnauthorized, laptop.me().status, "logout-all ends every session of the user")
	require.Equal(t, http.StatusOK, other.me().status, "other users keep theirs")

	var rows int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM auth_session s JOIN auth_user u ON u.id = s.user_id WHERE u.email = 'ana@acme.test'`).Scan(&rows))
	require.Zero(t, rows)
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_web_session`).Scan(&rows))
	require.Equal(t, 1, rows, "only bo's web session is left in the store")
	require.Subset(t, b.audit.actions(), []string{"auth.logout", "auth.logout_all"})
}

func TestIdleAndAbsoluteTimeouts(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) {
		d.Config.SessionIdleTimeout = 30 * time.Minute
		d.Config.SessionLifetime = 2 * time.Hour
	})
	b.member(t, "ana@acme.test")

	idle := b.browser(t)
	idle.mustLogin("ana@acme.test")
	b.clock.Advance(29 * time.Minute)
	require.Equal(t, http.StatusOK, idle.me().status, "activity within the idle timeout")
	b.clock.Advance(29 * time.Minute)
	require.Equal(t, http.StatusOK, idle.me().status, "each request restarts the idle timer")
	b.clock.Advance(31 * time.Minute)
	require.Equal(t, http.StatusUnauthorized, idle.me().status, "idle too long")

	busy := b.browser(t)
	busy.mustLogin("ana@acme.test")
	for range 5 {
		b.clock.Advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, busy.me().status)
	}
	b.clock.Advance(20 * time.Minute) // 2h after login
	require.Equal(t, http.StatusUnauthorized, busy.me().status, "the absolute lifetime ends even an active session")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)

	r := br.do("POST", "/auth/login", `{"email":"a@b.test","password":"x"}`, "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, r.status)
	// Field errors answer as the API's do: 422 naming the field.
	r = br.do("POST", "/auth/login", `{"email":"a@b.test","password":"x","remember":true}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, []string{"remember"}, r.fieldPaths())
	r = br.do("POST", "/auth/login", `{"email":"a@b.test",`)
	require.Equal(t, http.StatusBadRequest, r.status)
	r = br.do("POST", "/auth/login", `{"email":42,"password":"x"}`)
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, []string{"email"}, r.fieldPaths())
	require.Equal(t, "invalid", r.errCode())
	r = br.do("POST", "/auth/login", `{"email":"a@b.test","password":"`+strings.Repeat("x", 20000)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	r = br.do("POST", "/auth/login", map[string]string{})
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Equal(t, []string{"email", "password"}, r.fieldPaths())
	require.Equal(t, "invalid", r.errCode())

	r = br.do("GET", "/auth/oidc/login", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "oidc_disabled", r.errCode())

	r = br.do("GET", "/auth/nowhere", nil)
	require.Equal(t, http.StatusNotFound, r.status)
	require.Equal(t, "not_found", r.errCode(), "the API's error shape: %s", r.raw)
	r = br.do("GET", "/auth/login", nil)
	require.Equal(t, http.StatusMethodNotAllowed, r.status)
	require.Equal(t, "method_not_allowed", r.errCode())
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestLoginPrunesExpiredSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.member(t, "ana@acme.test")
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `INSERT INTO auth_web_session (token, data, expiry) VALUES ('expired', '\x00', now() - interval '1 minute')`)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO auth_session (user_id, store_token, method, created_at) VALUES ($1, 'expired', 'password', $2)`,
		u.ID, b.clock.Now().Add(-2*time.Hour))
	require.NoError(t, err)

	b.browser(t).mustLogin("ana@acme.test")
	var web, sessions int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM auth_web_session WHERE token = 'expired'`).Scan(&web))
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM auth_session WHERE store_token = 'expired'`).Scan(&sessions))
	require.Zero(t, web)
	require.Zero(t, sessions)
}

func TestTenantsAreSeparate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	other, err := store.TenantCreate(ctx, b.pool, "other", "Other operator")
	require.NoError(t, err)
	_, err = auth.CreateUser(ctx, b.pool, auth.NewUser{TenantID: other.ID, Email: "x@other.test", Password: goodPassword,
		Staff: true, HashParams: fastHash})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, b.browser(t).login("x@other.test", goodPassword).status,
		"a user of another tenant does not log in here")

	// The service's requests run as portico_api with the tenant set, and
	// row-level security hides other tenants' users from them.
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	def, err := store.TenantBySlug(ctx, tx, "default")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SELECT set_config('portico.tenant_id', $1, true), set_config('role', 'portico_api', true)", fmt.Sprint(def.ID))
	require.NoError(t, err)
	var role string
	var visible int
	require.NoError(t, tx.QueryRow(ctx, "SELECT current_user, (SELECT count(*) FROM auth_user WHERE email = 'x@other.test')").Scan(&role, &visible))
	require.Equal(t, "portico_api", role)
	require.Zero(t, visible)
	_, err = tx.Exec(ctx, "DELETE FROM auth_user")
	require.ErrorContains(t, err, "permission denied", "the API role never deletes users")
}

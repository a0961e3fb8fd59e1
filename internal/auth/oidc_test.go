package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

// oidcSetup runs a real OIDC provider in-process (discovery, JWKS, signed
// ID tokens, PKCE checked at the token endpoint) and points the service at it.
func oidcSetup(t *testing.T, mode string, contacts map[string][2]string, tweak ...func(*auth.Deps)) (*bundle, *mockoidc.MockOIDC) {
	t.Helper()
	m, err := mockoidc.Run()
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Shutdown() })
	b := setup(t, func(d *auth.Deps) {
		cfg := m.Config()
		d.Config.UnknownOIDCEmail = mode
		d.Config.OIDC.IssuerURL = cfg.Issuer
		d.Config.OIDC.ClientID = cfg.ClientID
		d.Config.OIDC.ClientSecret = cfg.ClientSecret
		d.ContactByEmail = func(_ context.Context, _ int64, email string) (string, string, bool, error) {
			c, ok := contacts[email]
			return c[0], c[1], ok, nil
		}
		for _, f := range tweak {
			f(d)
		}
	})
	return b, m
}

// startOIDC follows the login redirect to the provider and returns the
// provider's redirect back to the callback (not yet followed).
func startOIDC(t *testing.T, br *browser, user *mockoidc.MockUser, m *mockoidc.MockOIDC) *url.URL {
	t.Helper()
	m.QueueUser(user)
	r := br.do("GET", "/auth/oidc/login?return_to=/cases", nil)
	require.Equal(t, http.StatusFound, r.status, string(r.raw))
	authURL, err := url.Parse(r.header.Get("Location"))
	require.NoError(t, err)
	q := authURL.Query()
	require.Equal(t, "S256", q.Get("code_challenge_method"), "PKCE")
	require.NotEmpty(t, q.Get("code_challenge"))
	require.NotEmpty(t, q.Get("state"))
	require.NotEmpty(t, q.Get("nonce"))
	require.Equal(t, br.b.srv.URL+"/auth/oidc/callback", q.Get("redirect_uri"))
	resp, err := br.c.Get(authURL.String())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return back
}

func callback(t *testing.T, br *browser, back *url.URL) reply {
	t.Helper()
	return br.do("GET", "/auth/oidc/callback?"+back.RawQuery, nil)
}

func TestOIDCLoginEndToEnd(t *testing.T) {
	t.Parallel()
	b, m := oidcSetup(t, "refuse", nil)
	b.member(t, "jane@acme.test", auth.RoleBilling)
	br := b.browser(t)

	back := startOIDC(t, br, &mockoidc.MockUser{Subject: "s1", Email: "Jane@acme.test", EmailVerified: true}, m)
	preLogin := br.cookie(auth.SessionCookie)
	require.NotEmpty(t, preLogin, "the flow's state waits in a pre-login session")
	r := callback(t, br, back)
	require.Equal(t, http.StatusSeeOther, r.status, string(r.raw))
	require.Equal(t, "/cases", r.header.Get("Location"))
	require.NotEqual(t, preLogin, br.cookie(auth.SessionCookie), "the session id rotates at login")

	me := br.me()
	require.Equal(t, http.StatusOK, me.status)
	require.Equal(t, "jane@acme.test", me.body["principal"].(map[string]any)["email"])
	br.csrf = br.cookie(auth.CSRFCookie)
	require.Equal(t, http.StatusOK, br.do("POST", "/api/echo", map[string]string{}).status)

	replay := callback(t, b.browser(t), back)
	require.Equal(t, http.StatusUnauthorized, replay.status, "a callback from another browser has no state")
	require.Equal(t, "invalid_state", replay.errCode())
	again := callback(t, br, back)
	require.Equal(t, "invalid_state", again.errCode(), "state is single use")

	require.Contains(t, b.audit.actions(), "auth.login")

}

// return_to takes a path on this site and nothing a browser could read as
// another site: the query values below are as an attacker would send them.
func TestOIDCReturnToIsALocalPath(t *testing.T) {
	t.Parallel()
	b, _ := oidcSetup(t, "refuse", nil)
	br := b.browser(t)
	for _, raw := range []string{
		"/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "/%00/evil.example", "/%7F/evil.example",
		"/%C2%85/evil.example", // NEL, a C1 control
		"//evil.example", "%2F%2Fevil.example", "///evil.example", "//@evil.example",
		"/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "%5C/evil.example",
		"/%2509/evil.example", "/%252F/evil.example", "/%255C/evil.example", // decoded once more
		"https://evil.example", "https:evil.example", "http:/evil.example", "javascript:alert(1)",
		"evil.example", "cases", "%25", "/%25zz",
	} {
		r := br.do("GET", "/auth/oidc/login?return_to="+raw, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "return_to=%s answered %d %s", raw, r.status, r.raw)
		require.Equal(t, []string{"return_to"}, r.fieldPaths(), raw)
		require.Empty(t, r.header.Get("Location"), raw)
	}
	for _, raw := range []string{"", "/", "/cases", "%2Fcases%3Fstatus%3Dopen", "/cases/500A00000000001%23top", "/a/b/./c", "/caf%C3%A9"} {
		r := br.do("GET", "/auth/oidc/login?return_to="+raw, nil)
		require.Equal(t, http.StatusFound, r.status, "return_to=%s answered %d %s", raw, r.status, r.raw)
	}
}

// TestOIDCCodeIsBoundToItsVerifier injects a code issued to one browser's
// flow into another's: the state matches the second browser, but the
// provider refuses the exchange because the PKCE verifier does not match.
func TestOIDCCodeIsBoundToItsVerifier(t *testing.T) {
	t.Parallel()
	b, m := oidcSetup(t, "refuse", nil)
	b.member(t, "jane@acme.test")
	victim, attacker := b.browser(t), b.browser(t)

	victimBack := startOIDC(t, victim, &mockoidc.MockUser{Subject: "s1", Email: "jane@acme.test", EmailVerified: true}, m)
	attackerBack := startOIDC(t, attacker, &mockoidc.MockUser{Subject: "s2", Email: "mallory@evil.test", EmailVerified: true}, m)
	q := attackerBack.Query()
	q.Set("code", victimBack.Query().Get("code"))
	attackerBack.RawQuery = q.Encode()

	r := callback(t, attacker, attackerBack)
	require.Equal(t, http.StatusUnauthorized, r.status, string(r.raw))
	require.Equal(t, "oidc_exchange", r.errCode())
	require.Equal(t, http.StatusUnauthorized, attacker.me().status)
}

func TestOIDCUnknownEmailRefused(t *testing.T) {
	t.Parallel()
	b, m := oidcSetup(t, "refuse", map[string][2]string{"new@acme.test": {"001ACME", "003NEW"}})
	br := b.browser(t)
	r := callback(t, br, startOIDC(t, br, &mockoidc.MockUser{Subject: "s3", Email: "new@acme.test", EmailVerified: true}, m))
	require.Equal(t, http.StatusForbidden, r.status)
	require.Equal(t, "unknown_user", r.errCode())
	require.Equal(t, http.StatusUnauthorized, br.me().status)
	users, err := auth.ListUsers(context.Background(), b.pool, 0, "")
	require.NoError(t, err)
	require.Empty(t, users, "refuse mode creates no user")
}

func TestOIDCUnknownEmailMatchedToContact(t *testing.T) {
	t.Parallel()
	b, m := oidcSetup(t, "match_contact", map[string][2]string{"new@acme.test": {"001ACME", "003NEW"}})
	br := b.browser(t)
	r := callback(t, br, startOIDC(t, br, &mockoidc.MockUser{Subject: "s3", Email: "new@acme.test", EmailVerified: true}, m))
	require.Equal(t, http.StatusSeeOther, r.status, string(r.raw))
	p := br.me().body["principal"].(map[string]any)
	require.Equal(t, "001ACME", p["account_id"])
	require.Equal(t, "003NEW", p["contact_id"])
	require.Equal(t, []any{"member"}, p["roles"])

	stranger := b.browser(t)
	r = callback(t, stranger, startOIDC(t, stranger, &mockoidc.MockUser{Subject: "s4", Email: "who@else.test", EmailVerified: true}, m))
	require.Equal(t, http.StatusForbidden, r.status, "no contact has this email")
}

// A provider that sends no email_verified claim (mockoidc omits it when
// false) has not said the email is verified: refused unless
// auth.oidc.trust_email_without_verified_claim says that provider
// verifies every address.
func TestOIDCEmailWithoutVerifiedClaim(t *testing.T) {
	t.Parallel()
	unverified := func(sub string) *mockoidc.MockUser {
		return &mockoidc.MockUser{Subject: sub, Email: "jane@acme.test", EmailVerified: false}
	}
	b, m := oidcSetup(t, "refuse", nil)
	b.member(t, "jane@acme.test")
	br := b.browser(t)
	r := callback(t, br, startOIDC(t, br, unverified("s1"), m))
	require.Equal(t, http.StatusUnauthorized, r.status, string(r.raw))
	require.Equal(t, "email_unverified", r.errCode())
	require.Equal(t, http.StatusUnauthorized, br.me().status)

	trusting, m2 := oidcSetup(t, "refuse", nil, func(d *auth.Deps) { d.Config.OIDC.TrustEmailWithoutVerifiedClaim = true })
	trusting.member(t, "jane@acme.test")
	br = trusting.browser(t)
	r = callback(t, br, startOIDC(t, br, unverified("s2"), m2))
	require.Equal(t, http.StatusSeeOther, r.status, string(r.raw))
	require.Equal(t, http.StatusOK, br.me().status)
}

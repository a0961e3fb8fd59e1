package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

// Two API processes share one database. Each serves a session from memory
// once it has read it, and forgets it as soon as another process ends the
// session or changes the user's rights.
func TestSessionCacheAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one := setup(t)
	two := setupOn(t, one.pool)
	one.member(t, "ana@acme.test", "member")
	one.member(t, "bo@acme.test")

	ana := one.browser(t)
	ana.mustLogin("ana@acme.test")
	// The same browser (same cookie jar) talking to the other process.
	anaTwo := &browser{t: t, b: two, c: ana.c, csrf: ana.csrf}
	bo := two.browser(t)
	bo.mustLogin("bo@acme.test")

	hitsAfter := func(b *bundle, n int) int64 {
		for range n {
			require.Equal(t, http.StatusOK, (&browser{t: t, b: b, c: ana.c}).me().status)
		}
		_, hits, _ := b.svc.CacheStats()
		return hits
	}
	before := hitsAfter(two, 1)
	require.Greater(t, hitsAfter(two, 5), before, "repeated requests are served from the cache")

	eventually := func(what string, cond func() bool) {
		t.Helper()
		require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, what)
	}

	// A role change made anywhere (here: straight in the database, as
	// `portico users` would) reaches the process that cached the user.
	_, err := one.pool.Exec(ctx, `UPDATE auth_user SET roles = '{member,billing}' WHERE email = 'ana@acme.test'`)
	require.NoError(t, err)
	eventually("process two sees ana's new role", func() bool {
		return anaTwo.do("GET", "/billing/probe", nil).status == http.StatusOK
	})

	// Log out everywhere through process one: process two refuses the
	// cookie it had cached; bo, untouched, keeps his session there.
	require.Equal(t, http.StatusNoContent, ana.do("POST", "/auth/logout-all", nil).status)
	eventually("process two forgets ana's session", func() bool { return anaTwo.me().status == http.StatusUnauthorized })
	require.Equal(t, http.StatusOK, bo.me().status)

	// Disabling a user ends their sessions in every process.
	_, err = one.pool.Exec(ctx, `UPDATE auth_user SET status = 'disabled' WHERE email = 'bo@acme.test'`)
	require.NoError(t, err)
	eventually("process two refuses a disabled user", func() bool { return bo.me().status == http.StatusUnauthorized })
}

// When the listener's connection dies, the cache stops serving (every
// request reads the database) until the listener is back, and then
// starts empty.
func TestSessionCacheListenerLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	br.mustLogin("ana@acme.test")
	require.Equal(t, http.StatusOK, br.me().status)

	var killed int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %portico_auth%'`).Scan(&killed))
	require.Equal(t, 1, killed)
	require.Eventually(t, func() bool { live, _, _ := b.svc.CacheStats(); return !live }, 5*time.Second, time.Millisecond,
		"the cache notices its listener is gone")
	// Not live: a change is seen at once, without any notification.
	_, err := b.pool.Exec(ctx, `UPDATE auth_user SET roles = '{member,billing}' WHERE email = 'ana@acme.test'`)
	require.NoError(t, err)
	_, hits, _ := b.svc.CacheStats()
	require.Equal(t, http.StatusOK, br.do("GET", "/billing/probe", nil).status)
	_, hits2, _ := b.svc.CacheStats()
	require.Equal(t, hits, hits2, "nothing is served from a cache that is not live")

	require.Eventually(t, func() bool { live, _, _ := b.svc.CacheStats(); return live }, 10*time.Second, 5*time.Millisecond,
		"the listener reconnects")
	require.Equal(t, http.StatusOK, br.me().status)
}

// API tokens are cached like sessions: a second process serves a token
// from memory and refuses it as soon as it is revoked elsewhere, or its
// user disabled.
func TestTokenCacheAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	one := setup(t)
	two := setupOn(t, one.pool)
	one.member(t, "ana@acme.test")
	one.member(t, "bo@acme.test")
	mint := func(email string) (string, int64) {
		br := one.browser(t)
		br.mustLogin(email)
		r := br.do("POST", "/auth/tokens", map[string]any{"name": "robot", "scopes": []string{"portal:read", "portal:write"}})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		return r.body["token"].(string), int64(r.body["id"].(float64))
	}
	anaToken, anaTokenID := mint("ana@acme.test")
	boToken, _ := mint("bo@acme.test")
	robot := two.browser(t)
	use := func(token string) int {
		return robot.do("POST", "/api/echo", map[string]any{}, "Authorization", "Bearer "+token).status
	}
	require.Equal(t, http.StatusOK, use(anaToken))
	_, before, _ := two.svc.CacheStats()
	require.Equal(t, http.StatusOK, use(anaToken))
	_, after, _ := two.svc.CacheStats()
	require.Greater(t, after, before, "the second use is served from memory")

	eventually := func(what string, cond func() bool) {
		t.Helper()
		require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, what)
	}
	_, err := one.pool.Exec(ctx, `UPDATE auth_api_token SET revoked_at = now() WHERE id = $1`, anaTokenID)
	require.NoError(t, err)
	eventually("process two refuses the revoked token", func() bool { return use(anaToken) == http.StatusUnauthorized })

	require.Equal(t, http.StatusOK, use(boToken))
	_, err = one.pool.Exec(ctx, `UPDATE auth_user SET status = 'disabled' WHERE email = 'bo@acme.test'`)
	require.NoError(t, err)
	eventually("process two refuses a disabled user's token", func() bool { return use(boToken) == http.StatusUnauthorized })
}

// auth.cache: false (for poolers that cannot LISTEN) reads every session
// from the database.
func TestSessionCacheOff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(d *auth.Deps) { d.Config.Cache = false })
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	br.mustLogin("ana@acme.test")
	for range 3 {
		require.Equal(t, http.StatusOK, br.me().status)
	}
	live, hits, _ := b.svc.CacheStats()
	require.False(t, live)
	require.Zero(t, hits)
	_, err := b.pool.Exec(context.Background(), `UPDATE auth_user SET status = 'disabled' WHERE email = 'ana@acme.test'`)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, br.me().status, "seen at once, with no notification needed")
}

// A password reset and logging out everywhere revoke the user's API
// tokens unless the user keeps them, and every process stops taking them
// (the token's cache entry is dropped by the k:<id> notification).
func TestResetAndLogoutAllRevokeAPITokensEverywhere(t *testing.T) {
	t.Parallel()
	one := setup(t)
	two := setupOn(t, one.pool)
	one.member(t, "ana@acme.test")
	ana := one.browser(t)
	ana.mustLogin("ana@acme.test")
	mint := func() string {
		r := ana.do("POST", "/auth/tokens", map[string]any{"name": "robot", "scopes": []string{"portal:read"}})
		require.Equal(t, http.StatusCreated, r.status, string(r.raw))
		return r.body["token"].(string)
	}
	robot := two.browser(t)
	use := func(b *bundle, token string) int {
		return (&browser{t: t, b: b, c: robot.c}).do("GET", "/auth/me", nil, "Authorization", "Bearer "+token).status
	}
	// cached makes process two serve the token from memory.
	cached := func(token string) {
		t.Helper()
		require.Equal(t, http.StatusOK, use(two, token))
		_, before, _ := two.svc.CacheStats()
		require.Equal(t, http.StatusOK, use(two, token))
		_, after, _ := two.svc.CacheStats()
		require.Greater(t, after, before, "process two serves the token from memory")
	}
	refusedEverywhere := func(what, token string) {
		t.Helper()
		require.Equal(t, http.StatusUnauthorized, use(one, token), what)
		require.Eventually(t, func() bool { return use(two, token) == http.StatusUnauthorized }, 5*time.Second, 5*time.Millisecond, what)
	}
	// reset sets a new password through a reset link and logs ana in
	// with it; it returns how many API tokens the reset revoked.
	password := goodPassword
	reset := func(body map[string]any) any {
		t.Helper()
		require.Equal(t, http.StatusAccepted, one.browser(t).do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"}).status)
		password = fmt.Sprintf("a-new-secret-%d-harbour", len(one.mail.all()))
		body["token"], body["password"] = one.mail.lastToken(t), password
		r := one.browser(t).do("POST", "/auth/password-reset/confirm", body)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		ana = one.browser(t)
		require.Equal(t, http.StatusOK, ana.login("ana@acme.test", password).status)
		return r.body["api_tokens_revoked"]
	}

	kept := mint()
	cached(kept)
	require.EqualValues(t, 0, reset(map[string]any{"keep_api_tokens": true}))
	require.Equal(t, http.StatusOK, use(one, kept), "the user chose to keep the tokens")
	cached(kept)
	require.EqualValues(t, 1, reset(map[string]any{}))
	refusedEverywhere("a reset revokes API tokens by default", kept)

	tok := mint()
	cached(tok)
	require.Equal(t, http.StatusNoContent, ana.do("POST", "/auth/logout-all", map[string]any{"keep_api_tokens": true}).status)
	require.Equal(t, http.StatusOK, use(one, tok), "kept on request")
	require.Equal(t, http.StatusOK, use(two, tok))
	ana = one.browser(t)
	require.Equal(t, http.StatusOK, ana.login("ana@acme.test", password).status)
	require.Equal(t, http.StatusNoContent, ana.do("POST", "/auth/logout-all", nil).status)
	refusedEverywhere("logging out everywhere revokes API tokens by default", tok)

	bad := one.browser(t).do("POST", "/auth/activate", map[string]any{"token": "x", "password": goodPassword, "keep_api_tokens": true})
	require.Equal(t, http.StatusUnprocessableEntity, bad.status, "activation has no tokens to keep")
	require.Equal(t, []string{"keep_api_tokens"}, bad.fieldPaths())
}

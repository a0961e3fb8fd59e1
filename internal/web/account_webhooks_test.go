package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/web/webtest"
)

// An account admin's webhooks: a member is refused; a bad or repeated URL
// is refused beside the field and adds nothing; a new hook's secret is
// shown once; a hook that was turned off shows why and can be turned on
// again, and removed. Another account's hook is the 404 page.
func TestAccountWebhooks(t *testing.T) {
	t.Parallel()
	var svc *notify.Service
	e := setup(t, withNotify(&svc))
	member := e.signedIn("mia@alpha.test", apitest.Alpha, auth.RoleMember)
	require.Equal(t, http.StatusForbidden, member.get("/account/webhooks").code)
	admin := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	res := admin.get("/account/webhooks")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, "Your account has no webhook.")
	require.Contains(t, admin.get("/account/users").body, `href="/account/webhooks"`)
	hooks := func() int {
		var n int
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM notify_webhook WHERE account_id = $1`, apitest.Alpha).Scan(&n))
		return n
	}

	res = admin.post("/account/webhooks", url.Values{"url": {"ftp://tools.alpha.test/in"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code, res.body)
	require.Contains(t, res.body, `id="f-url" name="url" aria-invalid="true"`)
	require.Contains(t, res.body, "Enter an http or https URL.")
	require.Zero(t, hooks())

	res = admin.post("/account/webhooks", url.Values{"url": {"https://tools.alpha.test/in"}})
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, `id="new-secret">whsec_`)
	require.NotContains(t, res.body, "signed with the old secret as well", "a new webhook replaced none")
	require.Contains(t, res.body, "https://tools.alpha.test/in")
	require.Equal(t, 1, hooks())
	require.NotContains(t, admin.get("/account/webhooks").body, "whsec_", "the secret is shown once")
	require.Contains(t, admin.get("/account/webhooks").body, "None yet", "no delivery yet")
	res = admin.post("/account/webhooks", url.Values{"url": {"https://tools.alpha.test/in"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, "Your account has a webhook for this URL already.")
	require.Equal(t, 1, hooks())

	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `UPDATE notify_webhook SET failures = 10, disabled_at = now(),
		disabled_reason = 'webhook: https://tools.alpha.test/in answered 500' WHERE account_id = $1 RETURNING id`, apitest.Alpha).Scan(&id))
	var beta int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `INSERT INTO notify_webhook (tenant_id, account_id, url, secret, failures, disabled_at, disabled_reason)
		VALUES (1, $1, 'https://hooks.beta.test/in', 'whsec-0123456789abcdef', 10, now(), 'beta') RETURNING id`, apitest.Beta).Scan(&beta))
	res = admin.get("/account/webhooks")
	require.Contains(t, res.body, "Turned off")
	require.Contains(t, res.body, "webhook: https://tools.alpha.test/in answered 500", "the reason")
	require.NotContains(t, res.body, "hooks.beta.test")
	for _, step := range []string{"enable", "remove", "rotate", "ping"} {
		require.Equal(t, http.StatusNotFound, admin.post("/account/webhooks/"+strconv.FormatInt(beta, 10)+"/"+step, nil).code)
	}
	require.Equal(t, http.StatusConflict, admin.post("/account/webhooks/"+strconv.FormatInt(id, 10)+"/ping", nil).code, "turned off: no test delivery")

	res = admin.post("/account/webhooks/"+strconv.FormatInt(id, 10)+"/enable", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Contains(t, admin.get(res.location()).body, "The webhook is on again.")
	var failures int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT failures FROM notify_webhook WHERE id = $1 AND disabled_at IS NULL`, id).Scan(&failures))
	require.Zero(t, failures)

	// A test delivery, and its outcome as the last delivery.
	res = admin.post("/account/webhooks/"+strconv.FormatInt(id, 10)+"/ping", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Contains(t, admin.get(res.location()).body, "A test delivery is on its way")
	_, err := e.pool.Exec(context.Background(), `UPDATE notify_webhook SET last_delivery_at = now(), last_delivery_ok = false,
		last_delivery_error = 'webhook: https://tools.alpha.test/in answered 404' WHERE id = $1`, id)
	require.NoError(t, err)
	require.Contains(t, admin.get("/account/webhooks").body, "failed (webhook: https://tools.alpha.test/in answered 404)")

	// A new secret, shown once, replaces the old one (which signs beside
	// it for a day).
	var before, after string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT secret FROM notify_webhook WHERE id = $1`, id).Scan(&before))
	res = admin.post("/account/webhooks/"+strconv.FormatInt(id, 10)+"/rotate", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT secret FROM notify_webhook WHERE id = $1`, id).Scan(&after))
	require.NotEqual(t, before, after)
	require.Contains(t, res.body, `id="new-secret">`+after+`<`)
	require.Contains(t, res.body, "For 24 hours each delivery is signed with the old secret as well", "the overlap is said")
	require.NotContains(t, admin.get("/account/webhooks").body, "whsec_")

	res = admin.post("/account/webhooks/"+strconv.FormatInt(id, 10)+"/remove", nil)
	require.Equal(t, http.StatusSeeOther, res.code)
	require.Contains(t, admin.get(res.location()).body, "The webhook was removed.")
	require.Zero(t, hooks())

	// Each change is audited, by the admin, for the account, without the
	// secret; the refused ones are not.
	var actions []string
	var secrets int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT coalesce(array_agg(action ORDER BY id), '{}'),
		count(*) FILTER (WHERE concat(before::text, after::text) LIKE '%whsec%')
		FROM audit_event WHERE object = 'webhook' AND account_id = $1 AND actor_kind = 'user'`, apitest.Alpha).Scan(&actions, &secrets))
	require.Equal(t, []string{"webhook.create", "webhook.enable", "webhook.ping", "webhook.rotate_secret", "webhook.delete"}, actions)
	require.Zero(t, secrets)
}

// The webhooks page in a browser, with and without JavaScript: axe finds
// nothing on the page, a refused URL or the new secret.
func TestBrowserAccountWebhooks(t *testing.T) {
	t.Parallel()
	var svc *notify.Service
	e := setup(t, withNotify(&svc))
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := []string{"ada-js@alpha.test", "ada-nojs@alpha.test"}[i]
			e.user(email, apitest.Alpha, auth.RoleAccountAdmin)
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, e.srv.URL, "/account/webhooks", email)
			p.WaitText("#main h1", "Webhooks of your account")
			check(t, p, "account-webhooks", 0)
			p.Fill("#f-url", "not a url")
			send(t, p, `form[action="/account/webhooks"]`, "#f-url-error", "Enter an http or https URL.")
			check(t, p, "account-webhooks-refused", http.StatusUnprocessableEntity)
			p.Fill("#f-url", "https://tools.alpha.test/"+mode.name)
			send(t, p, `form[action="/account/webhooks"]`, "#new-secret", "whsec_")
			check(t, p, "account-webhooks-added", 0)
			send(t, p, `form[action$="/ping"]`, "#main .notice", "A test delivery is on its way")
			check(t, p, "account-webhooks-pinged", 0)
			send(t, p, `form[action$="/rotate"]`, "#new-secret", "whsec_")
			check(t, p, "account-webhooks-rotated", 0)
		})
	}
}

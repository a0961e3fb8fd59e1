package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
)

// The profile shows the contact's own details and sends a change as an
// update_contact write-back; the contact mapping's rules come back inline
// beside their fields and change nothing.
func TestProfileContactDetails(t *testing.T) {
	t.Parallel()
	e, mark, _ := setupMarkAndBea(t)
	e.fx.Put("salesforce", "Contact", apitest.Alpha, apitest.SFContact(apitest.Alpha, "Mark", "Miller"))
	e.fx.Put("salesforce", "Contact", apitest.Beta, apitest.SFContact(apitest.Beta, "Bea", "Secretname"))

	page := mark.get("/profile")
	require.Equal(t, http.StatusOK, page.code, page.body)
	require.Contains(t, page.body, `value="Mark"`)
	require.Contains(t, page.body, `value="Miller"`)
	require.Contains(t, page.body, `value="&#43;1 555 0100"`)
	require.NotContains(t, page.body, "Secretname")
	e.noForeign(t, page.body, apitest.Alpha)

	form := url.Values{"first_name": {"Mark"}, "last_name": {"Miller"}, "phone": {"call me"}, "title": {"Buyer"}}
	bad := mark.post("/profile/contact", form)
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Regexp(t, `id="f-phone" name="phone" aria-invalid="true" aria-describedby="f-phone-error"`, bad.body)
	require.Contains(t, bad.body, `value="call me"`, "what was typed stays")
	form.Set("phone", "+49 30 1234")
	form.Set("last_name", "")
	bad = mark.post("/profile/contact", form)
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, bad.body, `id="f-last_name-error"`)
	require.Equal(t, 0, e.actions(t, "update_contact"))

	form.Set("last_name", "Miller-Smith")
	res := mark.post("/profile/contact", form)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/profile?sent=contact", res.location())
	require.Equal(t, 1, e.actions(t, "update_contact"))
	var target string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT target FROM action WHERE kind = 'update_contact'`).Scan(&target))
	require.Equal(t, "003"+apitest.Alpha[3:], target, "the user's own contact")
	after := mark.get(res.location())
	require.Contains(t, after.body, "Your change is being sent.")
}

var newToken = regexp.MustCompile(`<code id="new-token">(pt_[^<]+)</code>`)

// API tokens are listed, created (the secret shown once) and revoked
// through the auth service; another user's token is the 404 page.
func TestProfileAPITokens(t *testing.T) {
	t.Parallel()
	e, mark, bea := setupMarkAndBea(t)
	mark.get("/profile")
	bad := mark.post("/profile/tokens", url.Values{"name": {""}, "scopes": {"portal:read"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, bad.body, `id="f-name-error"`)
	bad = mark.post("/profile/tokens", url.Values{"name": {"ops"}, "scopes": {"admin:read"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, "a staff scope is not for customers")
	require.Contains(t, bad.body, `id="f-scopes-error"`)
	bad = mark.post("/profile/tokens", url.Values{"name": {"ops"}, "scopes": {"portal:read"}, "expires_in_days": {"999"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, bad.body, `id="f-expires_in_days-error"`)

	created := mark.post("/profile/tokens", url.Values{"name": {"CI export"}, "scopes": {"portal:read"}})
	require.Equal(t, http.StatusOK, created.code, created.body)
	m := newToken.FindStringSubmatch(created.body)
	require.NotNil(t, m, created.body)
	secret := m[1]
	require.Equal(t, http.StatusOK, bearer(t, e, secret))
	list := mark.get("/profile")
	require.Contains(t, list.body, "CI export")
	require.NotContains(t, list.body, secret, "the secret is shown once")

	bea.get("/profile")
	require.Equal(t, http.StatusOK, bea.post("/profile/tokens", url.Values{"name": {"Bea's"}, "scopes": {"portal:read"}}).code)
	beaToken := tokenID(t, e, "Bea's")
	require.NotContains(t, list.body, "Bea&#39;s")
	res := mark.post("/profile/tokens/"+beaToken+"/revoke", nil)
	require.Equal(t, http.StatusNotFound, res.code)
	missing := mark.post("/profile/tokens/999999999/revoke", nil)
	require.Equal(t, http.StatusNotFound, missing.code)
	require.Equal(t, missing.body, res.body, "a foreign token is as missing as one that never was")

	mark.get("/profile")
	res = mark.post("/profile/tokens/"+tokenID(t, e, "CI export")+"/revoke", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	waitFor(t, func() bool { return bearer(t, e, secret) == http.StatusUnauthorized })
	require.Contains(t, mark.get("/profile").body, "Revoked")
}

func tokenID(t *testing.T, e *env, name string) string {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM auth_api_token WHERE name = $1`, name).Scan(&id))
	return strconv.FormatInt(id, 10)
}

// bearer is the status of GET /api/v1/me with an API token.
func bearer(t *testing.T, e *env, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	return res.StatusCode
}

// Notification preferences are shown and saved as PATCH
// /api/v1/me/notifications saves them: a box not ticked is off.
func TestProfileNotifications(t *testing.T) {
	t.Parallel()
	e, mark, bea := setupMarkAndBea(t)
	page := mark.get("/profile")
	require.Contains(t, page.body, `name="order_updates" value="on" checked`, "defaults: everything")
	res := mark.post("/profile/notifications", url.Values{"email": {"on"}, "case_updates": {"on"}, "invoice_issued": {"on"}, "approvals": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	after := mark.get(res.location())
	require.Contains(t, after.body, `name="order_updates" value="on">`)
	require.Contains(t, after.body, `name="case_updates" value="on" checked`)
	require.Contains(t, after.body, "Your notification preferences were saved.")
	var orders bool
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT order_updates FROM notification_preference p
		JOIN auth_user u ON u.id = p.user_id WHERE u.email = 'mark@alpha.test'`).Scan(&orders))
	require.False(t, orders)
	require.Contains(t, bea.get("/profile").body, `name="order_updates" value="on" checked`, "Bea's are her own")
}

package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hookCount is how many webhooks account has.
func (e *env) hookCount(account string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM notify_webhook WHERE account_id = $1`, account).Scan(&n))
	return n
}

// foreignHook places a disabled webhook of account, as its own admin
// would have made it.
func (e *env) foreignHook(account string) string {
	e.t.Helper()
	var id int64
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `INSERT INTO notify_webhook (tenant_id, account_id, url, secret, failures, disabled_at, disabled_reason)
		VALUES (1, $1, 'https://hooks.example/'||$1, 'whsec-0123456789abcdef', 10, now(), 'gone') RETURNING id`, account).Scan(&id))
	return strconv.FormatInt(id, 10)
}

// The webhooks API is the page's: only an account admin (403 for any
// other role and for staff, whatever the id); a bad or repeated URL is a
// 422 naming url and adds nothing; the secret is answered once, on
// creation and on rotation; a disabled hook shows why and is turned on
// again; another account's hook is the 404 of a record that does not
// exist and changes nothing; every change is audited, without a secret.
func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	member := e.user("hooks-member@alpha.example", Alpha, []string{"member", "billing"}, false, false)
	staff := e.user("hooks-ops@operator.example", "", []string{"operator_admin"}, false, true)
	admin := e.user("hooks-admin@alpha.example", Alpha, []string{"account_admin"}, false, false)
	beta := e.foreignHook(Beta)
	for _, c := range []*client{member, staff} {
		require.Equal(t, http.StatusForbidden, c.get("/api/v1/webhooks").code)
		require.Equal(t, http.StatusForbidden, c.post("/api/v1/webhooks", map[string]any{"url": "https://x.example/in"}).code)
		require.Equal(t, http.StatusForbidden, c.post("/api/v1/webhooks/"+beta+"/enable", nil).code)
	}
	res := admin.get("/api/v1/webhooks")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.JSONEq(t, `{"data":[]}`, string(res.body))

	for _, bad := range []map[string]any{{"url": "ftp://tools.alpha.example/in"}, {"url": "not a url"}, {"url": ""}, {}} {
		res = admin.post("/api/v1/webhooks", bad)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
		require.Equal(t, []string{"url"}, fieldPaths(t, res))
	}
	res = admin.post("/api/v1/webhooks", map[string]any{"url": "https://tools.alpha.example/in", "events": []string{"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code, "an unknown field: %s", res.body)
	require.Zero(t, e.hookCount(Alpha))

	res = admin.post("/api/v1/webhooks", map[string]any{"url": " https://tools.alpha.example/in "})
	require.Equal(t, http.StatusCreated, res.code, string(res.body))
	made := res.json(t)
	id := made["id"].(string)
	secret := made["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	require.Equal(t, "/api/v1/webhooks/"+id, res.header.Get("Location"))
	require.Equal(t, "https://tools.alpha.example/in", made["url"])
	require.Equal(t, "active", made["state"])
	require.Nil(t, made["last_delivery"])
	res = admin.get("/api/v1/webhooks")
	require.NotContains(t, string(res.body), secret, "the secret is shown once")
	require.NotContains(t, string(res.body), "hooks.example/"+Beta, "another account's hook")
	require.Len(t, res.json(t)["data"], 1)
	res = admin.post("/api/v1/webhooks", map[string]any{"url": "https://tools.alpha.example/in"})
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	require.Equal(t, []string{"url"}, fieldPaths(t, res))
	require.Contains(t, string(res.body), "already")
	require.Equal(t, 1, e.hookCount(Alpha))

	// Another account's hook, and none at all: the one 404, nothing changed.
	notFound := `{"error":{"code":"not_found","message":"no such record"}}` + "\n"
	for _, other := range []string{beta, "999999", "x"} {
		for _, ep := range []struct{ method, path string }{{"GET", ""}, {"DELETE", ""}, {"POST", "/enable"}, {"POST", "/rotate-secret"}, {"POST", "/ping"}} {
			res = admin.do(ep.method, "/api/v1/webhooks/"+other+ep.path, nil, nil)
			require.Equal(t, http.StatusNotFound, res.code, "%s %s", ep.method, ep.path)
			require.Equal(t, notFound, string(res.body))
		}
	}
	var betaDisabled bool
	var betaSecret string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT disabled_at IS NOT NULL, secret FROM notify_webhook WHERE id = $1`, beta).Scan(&betaDisabled, &betaSecret))
	require.True(t, betaDisabled)
	require.Equal(t, "whsec-0123456789abcdef", betaSecret)

	// Turned off after failures: the reason shows; no ping until it is on.
	_, err := e.pool.Exec(context.Background(), `UPDATE notify_webhook SET failures = 10, disabled_at = now(),
		disabled_reason = 'webhook: https://tools.alpha.example/in answered 500' WHERE id = $1`, id)
	require.NoError(t, err)
	res = admin.get("/api/v1/webhooks/" + id)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	got := res.json(t)
	require.Equal(t, "disabled", got["state"])
	require.Equal(t, "webhook: https://tools.alpha.example/in answered 500", got["disabled_reason"])
	require.EqualValues(t, 10, got["failures"])
	res = admin.post("/api/v1/webhooks/"+id+"/ping", nil)
	require.Equal(t, http.StatusConflict, res.code, string(res.body))
	res = admin.post("/api/v1/webhooks/"+id+"/enable", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	got = res.json(t)
	require.Equal(t, "active", got["state"])
	require.Nil(t, got["disabled_reason"])
	require.EqualValues(t, 0, got["failures"])

	res = admin.post("/api/v1/webhooks/"+id+"/rotate-secret", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	rotated := res.json(t)["secret"].(string)
	require.NotEqual(t, secret, rotated)
	var stored string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT secret FROM notify_webhook WHERE id = $1`, id).Scan(&stored))
	require.Equal(t, rotated, stored)
	require.Equal(t, http.StatusAccepted, admin.post("/api/v1/webhooks/"+id+"/ping", nil).code)

	require.Equal(t, http.StatusNoContent, admin.do("DELETE", "/api/v1/webhooks/"+id, nil, nil).code)
	require.Zero(t, e.hookCount(Alpha))
	require.Equal(t, http.StatusNotFound, admin.do("DELETE", "/api/v1/webhooks/"+id, nil, nil).code)

	// Audited: who, what, for which account; the URL sealed under the
	// admin's key (customer input), never a secret, as staff read it.
	res = staff.get("/admin/audit?action=webhook.*&limit=50")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	var log struct {
		Events []struct {
			Action    string          `json:"action"`
			AccountID string          `json:"account_id"`
			ObjectID  string          `json:"object_id"`
			ActorKind string          `json:"actor_kind"`
			Before    json.RawMessage `json:"before"`
			After     json.RawMessage `json:"after"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(res.body, &log))
	var actions []string
	for _, ev := range slices.Backward(log.Events) {
		require.Equal(t, Alpha, ev.AccountID)
		require.Equal(t, id, ev.ObjectID)
		require.Equal(t, "user", ev.ActorKind)
		require.NotContains(t, string(ev.Before)+string(ev.After), "whsec_")
		actions = append(actions, ev.Action)
	}
	require.Equal(t, []string{"webhook.create", "webhook.enable", "webhook.rotate_secret", "webhook.ping", "webhook.delete"}, actions)
	require.Contains(t, string(log.Events[0].Before), `"url":"https://tools.alpha.example/in"`, "the removed hook, opened")
	var sealed int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_event WHERE object = 'webhook'
		AND concat(before::text, after::text) LIKE '%tools.alpha.example%'`).Scan(&sealed))
	require.Zero(t, sealed, "the URL is not stored in clear")
}

// signedDelivery is one request a receiver got.
type signedDelivery struct {
	signature string
	body      []byte
	at        time.Time
}

// verifySignature checks a Portico-Signature header the way
// docs/notifications.md tells a receiver to: t=<unix seconds>,
// v1=<hex HMAC-SHA256 of "<t>.<body>"> under the secret, t within five
// minutes of now.
func verifySignature(header string, body []byte, secret string, now time.Time) bool {
	var t string
	var v1s []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			t = v
		case "v1":
			v1s = append(v1s, v)
		}
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(unix, 0)).Abs() > 5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t + "." + string(body)))
	want := m.Sum(nil)
	for _, v1 := range v1s {
		if got, err := hex.DecodeString(v1); err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// A webhook made through the API receives a real signed delivery over
// HTTP (its ping, through River's notify queue and notify's worker), which
// verifies with the secret answered on creation by the documented scheme;
// after a rotation the next delivery verifies with the new secret only.
// The list shows the last delivery.
func TestWebhookSignedDeliveryThroughAPI(t *testing.T) {
	t.Parallel()
	e := setup(t, withDelivery)
	got := make(chan signedDelivery, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- signedDelivery{signature: r.Header.Get("Portico-Signature"), body: body, at: time.Now()}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	admin := e.user("hooks-admin@alpha.example", Alpha, []string{"account_admin"}, false, false)
	res := admin.post("/api/v1/webhooks", map[string]any{"url": receiver.URL + "/portico"})
	require.Equal(t, http.StatusCreated, res.code, string(res.body))
	id, secret := res.json(t)["id"].(string), res.json(t)["secret"].(string)

	receive := func() signedDelivery {
		t.Helper()
		select {
		case d := <-got:
			return d
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery within 30s")
			return signedDelivery{}
		}
	}
	res = admin.post("/api/v1/webhooks/"+id+"/ping", nil)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	require.Equal(t, "ping", res.json(t)["event"])
	d := receive()
	require.True(t, verifySignature(d.signature, d.body, secret, d.at), "signature %q of %s", d.signature, d.body)
	require.False(t, verifySignature(d.signature, d.body, "whsec_not-the-secret-at-all", d.at))
	require.False(t, verifySignature(d.signature, append([]byte(" "), d.body...), secret, d.at), "a changed body")
	var payload map[string]any
	require.NoError(t, json.Unmarshal(d.body, &payload))
	require.Equal(t, "ping", payload["event"])
	require.Equal(t, Alpha, payload["account_id"])

	res = admin.post("/api/v1/webhooks/"+id+"/rotate-secret", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	rotated := res.json(t)["secret"].(string)
	require.Equal(t, http.StatusAccepted, admin.post("/api/v1/webhooks/"+id+"/ping", nil).code)
	d = receive()
	require.True(t, verifySignature(d.signature, d.body, rotated, d.at), "signed with the new secret")
	require.True(t, verifySignature(d.signature, d.body, secret, d.at), "and for a day with the old one beside it, so the receiver can switch over")
	require.Len(t, strings.Split(d.signature, ",v1="), 3, d.signature)

	// The outcome is recorded right after the receiver answers.
	require.Eventually(t, func() bool {
		res := admin.get("/api/v1/webhooks/" + id)
		last, _ := res.json(t)["last_delivery"].(map[string]any)
		return last != nil && last["ok"] == true && last["error"] == nil
	}, 10*time.Second, 20*time.Millisecond)
}

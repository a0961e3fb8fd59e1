package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/config"
)

// adminScript calls /admin with the shared admin token, as a staff
// script does, and checks each exchange against openapi.json.
type adminScript struct {
	t   *testing.T
	srv *httptest.Server
}

type adminAnswer struct {
	code int
	body map[string]any
}

func (a adminScript) do(method, path string, body any) adminAnswer {
	a.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(a.t, err)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, nil)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer test-admin-token-0123456789")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res := checked(a.t, http.DefaultClient, req, raw)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	out := adminAnswer{code: res.StatusCode, body: map[string]any{}}
	if len(b) > 0 {
		require.NoError(a.t, json.Unmarshal(b, &out.body), string(b))
	}
	return out
}

// fields are the paths an error answer names.
func (x adminAnswer) fields() []string {
	var out []string
	e, _ := x.body["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		out = append(out, f.(map[string]any)["path"].(string))
	}
	return out
}

// lastAudit is the newest audit event of action on objectID.
func (a adminScript) lastAudit(action, objectID string) map[string]any {
	a.t.Helper()
	res := a.do(http.MethodGet, "/admin/audit?action="+action+"&object_id="+objectID+"&limit=1", nil)
	require.Equal(a.t, http.StatusOK, res.code)
	events := res.body["events"].([]any)
	require.Len(a.t, events, 1, action)
	return events[0].(map[string]any)
}

// /admin/users: staff scripts invite, read, change the roles of, disable
// and enable users through the console's services; bad input is 422
// naming the field and creates nothing; every change is audited as the
// admin token.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	_, srv := serveOnly(t)
	a := adminScript{t: t, srv: srv}

	res := a.do(http.MethodPost, "/admin/users", map[string]any{"email": "not an email", "roles": []string{"owner"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.ElementsMatch(t, []string{"email", "account_id", "roles"}, res.fields())
	res = a.do(http.MethodPost, "/admin/users", map[string]any{"email": "ops@operator.example", "staff": true, "account_id": apitest.Alpha})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Equal(t, []string{"account_id"}, res.fields())
	require.Empty(t, a.do(http.MethodGet, "/admin/users", nil).body["users"], "nothing created")

	res = a.do(http.MethodPost, "/admin/users", map[string]any{"email": "ada@alpha.example", "account_id": apitest.Alpha, "roles": []string{"member"}})
	require.Equal(t, http.StatusCreated, res.code, res.body)
	user := res.body["user"].(map[string]any)
	require.Equal(t, "invited", user["status"])
	id := strconv.Itoa(int(user["id"].(float64)))
	ev := a.lastAudit("auth.invite", id)
	require.Equal(t, "token:admin", ev["actor"])
	require.Equal(t, "token", ev["actor_kind"])
	require.Equal(t, http.StatusConflict, a.do(http.MethodPost, "/admin/users", map[string]any{"email": "ada@alpha.example", "account_id": apitest.Beta, "roles": []string{"member"}}).code)
	res = a.do(http.MethodPost, "/admin/users", map[string]any{"email": "ops@operator.example", "staff": true})
	require.Equal(t, http.StatusCreated, res.code, res.body)

	res = a.do(http.MethodGet, "/admin/users?account="+apitest.Alpha, nil)
	require.Equal(t, http.StatusOK, res.code)
	require.Len(t, res.body["users"], 1)
	require.Equal(t, http.StatusOK, a.do(http.MethodGet, "/admin/users/"+id, nil).code)
	require.Equal(t, http.StatusNotFound, a.do(http.MethodGet, "/admin/users/999999", nil).code)
	require.Equal(t, http.StatusUnprocessableEntity, a.do(http.MethodGet, "/admin/users/x", nil).code)

	res = a.do(http.MethodPut, "/admin/users/"+id+"/roles", map[string]any{"roles": []string{}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Equal(t, []string{"roles"}, res.fields())
	res = a.do(http.MethodPut, "/admin/users/"+id+"/roles", map[string]any{"roles": []string{"member", "billing"}})
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Equal(t, []any{"member", "billing"}, res.body["user"].(map[string]any)["roles"])
	ev = a.lastAudit("auth.user_roles", id)
	require.Equal(t, "token:admin", ev["actor"])
	require.Equal(t, map[string]any{"roles": "member"}, ev["before"], "what the change replaced")
	require.Equal(t, "member,billing", ev["after"].(map[string]any)["roles"])

	res = a.do(http.MethodPost, "/admin/users/"+id+"/resend", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Equal(t, "invited", res.body["user"].(map[string]any)["status"])

	res = a.do(http.MethodPost, "/admin/users/"+id+"/disable", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Equal(t, "disabled", res.body["user"].(map[string]any)["status"])
	require.Equal(t, "token:admin", a.lastAudit("auth.user_disable", id)["actor"])
	res = a.do(http.MethodPost, "/admin/users/"+id+"/enable", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Equal(t, "invited", res.body["user"].(map[string]any)["status"], "never signed in: invited again")
	require.Equal(t, "token:admin", a.lastAudit("auth.user_enable", id)["actor"])
	require.Equal(t, http.StatusConflict, a.do(http.MethodPost, "/admin/users/"+id+"/enable", nil).code)
	require.Equal(t, http.StatusOK, a.do(http.MethodPost, "/admin/users/"+id+"/disable", nil).code)
	require.Equal(t, http.StatusConflict, a.do(http.MethodPost, "/admin/users/"+id+"/resend", nil).code, "disabled: not invited")
}

// /admin/brand: a script reads the brand, stores fields and a logo as
// `portico brand set` does (a bad value is 422 naming the field and
// stores nothing), the served brand changes at once, and DELETE returns
// to the configuration's; each change is audited.
func TestAdminBrand(t *testing.T) {
	t.Parallel()
	_, srv := serveOnly(t)
	a := adminScript{t: t, srv: srv}
	res := a.do(http.MethodGet, "/admin/brand", nil)
	require.Equal(t, http.StatusOK, res.code)
	require.Equal(t, "#1d4ed8", res.body["served"].(map[string]any)["primary_color"])

	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"), make([]byte, 40)...)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "Globex", "primary_color": "#ffff00"}, "primary_color"},
		{map[string]any{"support_url": "javascript:alert(1)"}, "support_url"},
		{map[string]any{"logo": base64.StdEncoding.EncodeToString([]byte("GIF89a\x01\x00\x01\x00"))}, "logo"},
		{map[string]any{"logo": base64.StdEncoding.EncodeToString(append(png, bytes.Repeat([]byte{0}, 256<<10)...))}, "logo"},
	} {
		res := a.do(http.MethodPut, "/admin/brand", bad.body)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, res.body)
		require.Equal(t, []string{bad.field}, res.fields())
	}
	require.Empty(t, a.do(http.MethodGet, "/admin/brand", nil).body["stored"], "nothing stored")

	res = a.do(http.MethodPut, "/admin/brand", map[string]any{"name": "Globex", "primary_color": "#7C2D12",
		"logo": base64.StdEncoding.EncodeToString(png)})
	require.Equal(t, http.StatusOK, res.code, res.body)
	served := res.body["served"].(map[string]any)
	require.Equal(t, "Globex", served["name"])
	require.Equal(t, "#7c2d12", served["primary_color"])
	require.Regexp(t, `^/static/logo-[0-9a-f]{16}\.png$`, served["logo"].(map[string]any)["path"])
	ev := a.lastAudit("brand.set", "brand")
	require.Equal(t, "token:admin", ev["actor"])
	after := ev["after"].(map[string]any)
	require.Equal(t, "Globex", after["name"])
	require.Equal(t, "image/png", after["logo"].(map[string]any)["type"], "the logo's type and size, never its bytes")
	logo, err := http.Get(srv.URL + served["logo"].(map[string]any)["path"].(string))
	require.NoError(t, err)
	require.NoError(t, logo.Body.Close())
	require.Equal(t, http.StatusOK, logo.StatusCode, "the portal serves the new logo")

	res = a.do(http.MethodDelete, "/admin/brand", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Empty(t, res.body["stored"])
	require.NotContains(t, res.body["served"], "name")
	require.NotContains(t, res.body["served"], "logo")
	require.Equal(t, "token:admin", a.lastAudit("brand.reset", "brand")["actor"])
}

// A brand stored through one serving process reaches another serving the
// same database without a restart (the setting's notification).
func TestAdminBrandReachesEveryServer(t *testing.T) {
	t.Parallel()
	var url string
	_, one := serveOnly(t, func(c *config.Config) { url = c.DatabaseURL })
	_, two := serveOnly(t, func(c *config.Config) { c.DatabaseURL = url })
	res := adminScript{t: t, srv: one}.do(http.MethodPut, "/admin/brand", map[string]any{"name": "Globex"})
	require.Equal(t, http.StatusOK, res.code, res.body)
	other := adminScript{t: t, srv: two}
	require.Eventually(t, func() bool {
		return other.do(http.MethodGet, "/admin/brand", nil).body["served"].(map[string]any)["name"] == "Globex"
	}, 10*time.Second, 20*time.Millisecond)
}

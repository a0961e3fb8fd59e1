package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"

	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
	"net/http/httptest"
	"strings"

	"github.com/porticohq/portico/internal/api"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCasesReadWithCommentsAndTimeline(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)

	res := c.get("/api/v1/cases")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	list := res.json(t)
	data := list["data"].([]any)
	require.Len(t, data, 3)
	first := data[0].(map[string]any)
	require.Contains(t, first, "freshness")
	require.NotEmpty(t, first["status_label"])

	res = c.get("/api/v1/cases/500A00000000000")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	got := res.json(t)
	require.Equal(t, "Received", got["status_label"])
	comments := got["comments"].([]any)
	require.Len(t, comments, 1, "the internal note stays hidden")
	require.Equal(t, "We are on it", comments[0].(map[string]any)["fields"].(map[string]any)["body"])
	require.NotEmpty(t, got["timeline"])

	// ETag and 304.
	etag := res.header.Get("ETag")
	require.NotEmpty(t, etag)
	again := c.do("GET", "/api/v1/cases/500A00000000000", nil, http.Header{"If-None-Match": {etag}})
	require.Equal(t, http.StatusNotModified, again.code)

	// Another account's case and a missing one answer the same 404.
	foreign := c.get("/api/v1/cases/500B00000000000")
	missing := c.get("/api/v1/cases/500X00000000000")
	require.Equal(t, http.StatusNotFound, foreign.code)
	require.Equal(t, foreign.body, missing.body)
}

func TestOrdersInvoicesArticlesAndMe(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.user("admin@alpha.example", Alpha, []string{"account_admin"}, false, false)

	order := admin.get("/api/v1/orders/ORDA1").json(t)
	fields := order["fields"].(map[string]any)
	require.Len(t, fields["lines"], 1)
	ship := fields["shipments"].([]any)[0].(map[string]any)
	require.Equal(t, "1Z999", ship["tracking_number"])
	require.Equal(t, "In progress", order["status_label"])

	inv := admin.get("/api/v1/invoices/9A1").json(t)
	require.Equal(t, "partially_paid", inv["status"])
	pays := inv["payments"].([]any)
	require.Len(t, pays, 1)
	require.Equal(t, "8A1", pays[0].(map[string]any)["id"])

	// Ranked search: the title match first; drafts are never found.
	found := admin.get("/api/v1/articles?q=router").json(t)["data"].([]any)
	require.Len(t, found, 2)
	require.Equal(t, "ka0000000000001", found[0].(map[string]any)["id"])
	require.Empty(t, admin.get("/api/v1/articles?q=secrets").json(t)["data"])

	me := admin.get("/api/v1/me").json(t)
	require.Equal(t, "admin@alpha.example", me["user"].(map[string]any)["email"])
	require.Equal(t, "Alpha Ltd", me["account"].(map[string]any)["fields"].(map[string]any)["name"])
	require.Equal(t, true, me["notifications"].(map[string]any)["case_updates"])

	// Field visibility: the account's ids in other systems are for admins.
	require.Equal(t, "qb-"+Alpha, me["account"].(map[string]any)["fields"].(map[string]any)["accounting_customer_id"])
	member := e.user("member@alpha.example", Alpha, []string{"member"}, false, false)
	require.NotContains(t, member.get("/api/v1/me").json(t)["account"].(map[string]any)["fields"], "accounting_customer_id")

	// A role that does not reach an object sees an empty list and 404s.
	billing := e.user("bill@alpha.example", Alpha, []string{"billing"}, false, false)
	require.Empty(t, billing.get("/api/v1/cases").json(t)["data"])
	require.Equal(t, http.StatusNotFound, billing.get("/api/v1/cases/500A00000000000").code)
	require.Len(t, billing.get("/api/v1/invoices").json(t)["data"], 2)
}

func TestListPagingFiltersAndBadParameters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	var ids []string
	path := "/api/v1/cases?limit=2&sort=updated_at"
	for path != "" {
		page := c.get(path).json(t)
		for _, r := range page["data"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		path = ""
		if next, ok := page["next_cursor"].(string); ok {
			path = "/api/v1/cases?limit=2&sort=updated_at&cursor=" + next
		}
	}
	require.Equal(t, []string{"500A00000000000", "500A00000000001", "500A00000000002"}, ids)

	closed := c.get("/api/v1/cases?status=closed").json(t)["data"].([]any)
	require.Len(t, closed, 1)
	require.Equal(t, "closed", closed[0].(map[string]any)["status"])

	for param, value := range map[string]string{"limit": "0", "sort": "subject", "status": "lost", "updated_since": "yesterday", "cursor": "bogus"} {
		res := c.get("/api/v1/cases?" + param + "=" + value)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, param)
		require.Equal(t, param, res.json(t)["error"].(map[string]any)["fields"].([]any)[0].(map[string]any)["path"])
	}
}

func TestInputHygieneHeadersAndAuthentication(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)

	res := c.do("POST", "/api/v1/cases", `{"subject":"x"}`, http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusUnsupportedMediaType, res.code)
	res = c.post("/api/v1/cases/500A00000000000/comments", map[string]any{"body": "hi", "admin": true})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Equal(t, "admin", res.json(t)["error"].(map[string]any)["fields"].([]any)[0].(map[string]any)["path"])
	res = c.post("/api/v1/cases/500A00000000000/comments", map[string]any{"body": 42})
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	res = c.post("/api/v1/cases", `{"subject": "`+strings.Repeat("x", 70<<10)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, res.code)
	res = c.post("/api/v1/cases", `{"subject": `)
	require.Equal(t, http.StatusBadRequest, res.code)

	// Cookie-authenticated writes need the CSRF token.
	noCSRF := *c
	noCSRF.csrf = ""
	require.Equal(t, http.StatusForbidden, noCSRF.post("/api/v1/cases", map[string]any{"subject": "x"}).code)

	// Anonymous requests are 401 in the common error shape.
	anon := &client{e: e, http: http.DefaultClient}
	res = anon.get("/api/v1/cases")
	require.Equal(t, http.StatusUnauthorized, res.code)
	require.Equal(t, "unauthenticated", res.json(t)["error"].(map[string]any)["code"])

	// Security headers on every answer; no CORS unless configured.
	h := c.get("/api/v1/cases").header
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	require.Empty(t, h.Get("Strict-Transport-Security"), "no HSTS without TLS")
	res = c.do("GET", "/api/v1/cases", nil, http.Header{"Origin": {"https://evil.example"}})
	require.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	doc := anon.get("/api/openapi.json")
	require.Equal(t, http.StatusOK, doc.code)
	require.Equal(t, "3.1.0", doc.json(t)["openapi"])
}

func TestCORSAllowList(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	h := api.CORS([]string{"https://portal.example"}, ok)
	do := func(method, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/v1/cases", nil)
		r.Header.Set("Origin", origin)
		if method == http.MethodOptions {
			r.Header.Set("Access-Control-Request-Method", "POST")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := do("GET", "https://portal.example")
	require.Equal(t, "https://portal.example", w.Header().Get("Access-Control-Allow-Origin"))
	require.Equal(t, http.StatusNoContent, do("OPTIONS", "https://portal.example").Code)
	require.Equal(t, http.StatusForbidden, do("OPTIONS", "https://evil.example").Code)
	require.Empty(t, do("GET", "https://evil.example").Header().Get("Access-Control-Allow-Origin"))
}

// TestOpenAPICaseIntakeIsTheMappings keeps the contract's case form in
// step with the mapping that validates it.
func TestOpenAPICaseIntakeIsTheMappings(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	obj, _ := set.Object("case")
	var want map[string]any
	require.NoError(t, json.Unmarshal(obj.IntakeSchema(mapping.OpCreate), &want))
	for _, k := range []string{"$id", "$schema", "title"} {
		delete(want, k)
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(api.OpenAPI, &doc))
	require.Equal(t, want, doc.Components.Schemas["CaseCreate"])
}

// Every status change the source confirms lands in the case's timeline at
// the source's time; a customer's pending close shows as where the case
// stands, not as a confirmed change.
func TestCaseTimelineShowsConfirmedStatusChanges(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	const id = "500A00000000000"
	obj, _ := e.set.BySource("salesforce", "Case")
	sync := func(status string, version string, at time.Time) {
		raw := sfCase(id, Alpha, status)
		raw["LastModifiedDate"], raw["SystemModstamp"] = sfTime(at), sfTime(at)
		b, err := json.Marshal(raw)
		require.NoError(t, err)
		row, err := syncer.MapRecord(obj, connectors.Record{Object: "Case", ID: id, Version: version, Modified: at, Raw: b})
		require.NoError(t, err)
		row.OwnerAccount, row.OwnerRefKey, row.OwnerRefValue = Alpha, "", ""
		_, err = store.UpsertRows(context.Background(), e.pool, store.Page{TenantID: 1, Connection: "salesforce", Object: "case", SourceObject: "Case", MappingHash: obj.Hash()}, []store.Row{row})
		require.NoError(t, err)
	}
	steps := func() []map[string]any {
		res := c.get("/api/v1/cases/" + id)
		require.Equal(t, http.StatusOK, res.code, string(res.body))
		var out []map[string]any
		for _, s := range res.json(t)["timeline"].([]any) {
			if s := s.(map[string]any); s["kind"] != "comment" {
				out = append(out, map[string]any{"kind": s["kind"], "status": s["status"], "at": s["at"]})
			}
		}
		return out
	}
	require.Equal(t, []map[string]any{{"kind": "opened", "status": "new", "at": "2026-03-01T09:00:00Z"}}, steps())

	sync("Working", "v2", epoch.Add(3*time.Hour))
	sync("Working", "v3", epoch.Add(4*time.Hour))   // another edit, same status: no step
	sync("Escalated", "v4", epoch.Add(5*time.Hour)) // internal: still in progress to the customer
	sync("Waiting on Customer", "v5", epoch.Add(6*time.Hour))
	require.Equal(t, []map[string]any{
		{"kind": "opened", "status": "new", "at": "2026-03-01T09:00:00Z"},
		{"kind": "status", "status": "in_progress", "at": "2026-03-01T12:00:00Z"},
		{"kind": "status", "status": "waiting_on_you", "at": "2026-03-01T15:00:00Z"},
	}, steps())

	// The customer closes it: pending, shown as where it stands now.
	require.Equal(t, http.StatusAccepted, c.post("/api/v1/cases/"+id+"/close", nil).code)
	got := steps()
	require.Len(t, got, 4)
	require.Equal(t, "closed", got[3]["status"])

	// Another account's user sees none of it.
	other := e.user("bob@beta.example", Beta, []string{"member"}, false, false)
	require.Equal(t, http.StatusNotFound, other.get("/api/v1/cases/"+id).code)
}

// Text PostgreSQL cannot store (a NUL, bytes that are not UTF-8) is bad
// input: 404 for an id, 422 naming the field or parameter, never a 500,
// and nothing is written.
func TestTextTheDatabaseCannotStore(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	for _, path := range []string{"/api/v1/cases/%00", "/api/v1/cases/%FF", "/api/v1/orders/a%00b"} {
		require.Equal(t, http.StatusNotFound, c.get(path).code, path)
	}
	cursor := base64.RawURLEncoding.EncodeToString([]byte("2026-01-01T00:00:00Z|x\x00y"))
	res := c.get("/api/v1/cases?cursor=" + cursor)
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	require.Contains(t, string(res.body), `"path":"cursor"`)
	res = c.get("/api/v1/articles?q=a%00b")
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	require.Contains(t, string(res.body), `"path":"q"`)

	res = c.post("/api/v1/cases", `{"subject":"a\u0000b"}`)
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	require.Contains(t, string(res.body), `"path":"subject"`)
	var actions int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM action`).Scan(&actions))
	require.Zero(t, actions, "nothing was written")

	login, err := http.Post(e.srv.URL+"/auth/login", "application/json", strings.NewReader(`{"email":"a\u0000b@x.test","password":"p"}`))
	require.NoError(t, err)
	login.Body.Close()
	require.Equal(t, http.StatusUnprocessableEntity, login.StatusCode)
}

// Values encoding/json would quietly change or choke on (bytes that are
// not UTF-8, a lone surrogate escape, a number beyond float64) are a 422
// naming the field, on /api/v1 and /auth alike, and nothing is written.
func TestBadJSONValuesAreFieldErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member", "account_admin"}, false, false)
	type fieldsBody struct {
		Error struct {
			Code   string `json:"code"`
			Fields []struct {
				Path string `json:"path"`
			} `json:"fields"`
		} `json:"error"`
	}
	for _, tc := range []struct{ path, body, field string }{
		{"/api/v1/cases", "{\"subject\":\"caf\xe9 au lait\"}", "subject"},
		{"/api/v1/cases", `{"subject":"\udc00"}`, "subject"},
		{"/api/v1/cases", `{"subject":1e400}`, "subject"},
		{"/api/v1/cases", `{"subject":"ok","description":-1e999}`, "description"},
		{"/api/v1/cases/" + e.ids[Alpha]["case"][0] + "/comments", "{\"body\":\"\xff\"}", "body"},
		{"/api/v1/cases/" + e.ids[Alpha]["case"][0] + "/comments", `{"body":1}`, "body"},
		{"/auth/invitations", "{\"email\":\"\xffnew@alpha.example\",\"roles\":[\"member\"]}", "email"},
		{"/auth/invitations", `{"email":"new@alpha.example","roles":"member"}`, "roles"},
		{"/auth/invitations", `{"email":"new@alpha.example","roles":["member"],"see_child_accounts":"yes"}`, "see_child_accounts"},
		{"/auth/invitations", `{"email":"new@alpha.example","roles":["member"],"admin":true}`, "admin"},
		{"/auth/login", `{"email":1,"password":"x"}`, "email"},
		{"/auth/tokens", `{"name":"robot","scopes":["portal:read"],"expires_in_days":1e400}`, "expires_in_days"},
		{"/auth/tokens", `{"name":"robot","scopes":["portal:read"],"expires_in_days":1.5}`, "expires_in_days"},
	} {
		res := c.post(tc.path, tc.body)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, "%s %s: %s", tc.path, tc.body, res.body)
		var got fieldsBody
		require.NoError(t, json.Unmarshal(res.body, &got), string(res.body))
		require.Equal(t, "invalid", got.Error.Code, string(res.body))
		require.Len(t, got.Error.Fields, 1, string(res.body))
		require.Equal(t, tc.field, got.Error.Fields[0].Path, "%s %s: %s", tc.path, tc.body, res.body)
		require.NotContains(t, string(res.body), "[]string", "no Go type names")
	}
	var actions, users, tokens int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM action), (SELECT count(*) FROM auth_user), (SELECT count(*) FROM auth_api_token)`).Scan(&actions, &users, &tokens))
	require.Zero(t, actions, "no action was written")
	require.Equal(t, 1, users, "no user was invited")
	require.Zero(t, tokens, "no token was made")
}

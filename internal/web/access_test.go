package web_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/notify"
)

// A route's id is one of these kinds of record; byID is none (the route
// names no record: it is checked for foreign values only).
const (
	byCase     = "case"
	byOrder    = "order"
	byInvoice  = "invoice"
	byApproval = "approval"
	byConflict = "conflict"
	byUser     = "user"
	byToken    = "token"
	byArticle  = "article"
	byExport   = "export"  // a data export's one-time link
	byNotice   = "notice"  // a notice in a user's inbox
	byWebhook  = "webhook" // an account's webhook
	noID       = ""
	// byBlock is a hub block's fragment: it names a block of the user's
	// own records, each checked for foreign values.
	byBlock = "block"
	// notAPage is a route the suite does not request: static files, and
	// the forms of signed-out visitors, which name no record.
	notAPage = "-"
	// staffOnly is an operator console page: every customer role meets
	// the 404 page, as for a foreign record.
	staffOnly = "staff"
)

// pageRoutes is every route of the portal's router and the kind of record
// its {id} (or, for /events, its ?case=) names. A route missing here fails
// TestPagesAccessSuite, so a page added later is covered or the test says
// why not.
var pageRoutes = map[string]string{
	"GET /static/{hash}/*":                    notAPage,
	"GET /static/brand-{hash}.css":            notAPage, // the deployment's colours, the same for everyone
	"GET /static/logo-{file}":                 notAPage, // the deployment's logo
	"GET /hub/{block}":                        byBlock,
	"GET /sign-in":                            notAPage,
	"POST /sign-in":                           notAPage,
	"POST /sign-out":                          notAPage,
	"POST /sign-out-everywhere":               notAPage,
	"GET /activate":                           notAPage,
	"POST /activate":                          notAPage,
	"GET /reset-password":                     notAPage,
	"POST /reset-password":                    notAPage,
	"POST /reset-password/request":            notAPage,
	"POST /language":                          notAPage,
	"GET /events":                             byCase,
	"GET /":                                   noID,
	"GET /cases":                              noID,
	"GET /cases/new":                          noID,
	"POST /cases":                             notAPage, // opens a new case: names none
	"GET /cases/{id}":                         byCase,
	"POST /cases/{id}/comments":               byCase,
	"POST /cases/{id}/close":                  byCase,
	"POST /cases/{id}/files":                  byCase,
	"GET /cases/{id}/document.pdf":            byCase,
	"GET /orders":                             noID,
	"GET /orders/{id}":                        byOrder,
	"GET /orders/{id}/document.pdf":           byOrder,
	"GET /invoices":                           noID,
	"GET /invoices/{id}":                      byInvoice,
	"GET /invoices/{id}/document.pdf":         byInvoice,
	"GET /approvals":                          noID,
	"GET /approvals/{id}":                     byApproval,
	"GET /approvals/{id}/document.pdf":        byApproval,
	"POST /approvals/{id}/approve":            byApproval,
	"POST /approvals/{id}/reject":             byApproval,
	"POST /approvals/{id}/sign":               byApproval,
	"POST /approvals/{id}/files":              byApproval,
	"GET /knowledge":                          noID,
	"GET /knowledge/{id}":                     byArticle,
	"GET /conflicts":                          noID,
	"GET /conflicts/{id}":                     byConflict,
	"POST /conflicts/{id}/resolve":            byConflict,
	"GET /profile":                            noID,
	"POST /profile/contact":                   notAPage, // the user's own contact
	"POST /profile/notifications":             notAPage, // the user's own settings
	"POST /profile/tokens":                    notAPage, // a new token of the user's
	"POST /profile/files":                     notAPage, // a file for the user's own account
	"POST /profile/tokens/{id}/revoke":        byToken,
	"POST /profile/data-export":               notAPage, // the user's own data
	"GET /profile/data-export/{id}":           byExport,
	"GET /notifications":                      noID,
	"POST /notifications/read":                notAPage, // marks the user's own inbox read
	"POST /notifications/{id}/read":           byNotice,
	"GET /notifications/preferences":          noID,
	"POST /notifications/preferences":         notAPage, // the user's own settings
	"GET /notify/unsubscribe":                 notAPage, // a signed link names its user; a forged one is refused (internal/notify)
	"POST /notify/unsubscribe":                notAPage,
	"GET /notify/click/{id}":                  notAPage, // a signed link names its notice; a forged one is the 404 page (internal/notify)
	"GET /account/users":                      noID,
	"POST /account/users":                     notAPage, // invites into the admin's own account
	"POST /account/users/{id}/disable":        byUser,
	"POST /account/users/{id}/resend":         byUser,
	"POST /account/users/{id}/roles":          byUser,
	"GET /account/webhooks":                   noID,
	"POST /account/webhooks":                  notAPage, // adds to the admin's own account
	"POST /account/webhooks/{id}/remove":      byWebhook,
	"POST /account/webhooks/{id}/enable":      byWebhook,
	"POST /account/webhooks/{id}/rotate":      byWebhook,
	"POST /account/webhooks/{id}/ping":        byWebhook,
	"GET /console":                            staffOnly,
	"GET /console/reports":                    staffOnly,
	"GET /console/reports/{name}":             staffOnly,
	"GET /console/actions":                    staffOnly,
	"POST /console/actions/{id}/{step}":       staffOnly,
	"GET /console/sync":                       staffOnly,
	"POST /console/sync/{connection}/connect": staffOnly,
	"GET /console/connect/callback":           staffOnly,
	"GET /console/audit":                      staffOnly,
	"GET /console/brand":                      staffOnly,
	"POST /console/brand":                     staffOnly,
	"POST /console/brand/reset":               staffOnly,
	"GET /console/users":                      staffOnly,
	"POST /console/users/invitations":         staffOnly,
	"GET /console/users/{id}":                 staffOnly,
	"POST /console/users/{id}/roles":          staffOnly,
	"POST /console/users/{id}/disable":        staffOnly,
	"POST /console/users/{id}/enable":         staffOnly,
	"POST /console/users/{id}/resend":         staffOnly,
	"GET /console/privacy":                    staffOnly,
	"POST /console/privacy/erasures":          staffOnly,
	"GET /console/privacy/erasures/{id}":      staffOnly,
}

// missingIDs are ids no record has, by kind.
var missingIDs = map[string]string{
	byCase: "500A99999999999", byOrder: "ORDA9", byInvoice: "9A9", byApproval: "0Q0A99999999999",
	byConflict: "999999", byUser: "999999", byToken: "999999", byArticle: "ka9999999999999",
	byExport: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", byNotice: "999999", byWebhook: "999999",
}

// TestPagesAccessSuite requests every page and fragment URL of the
// portal's router, GET and POST, with every foreign id (another account's
// case, order, invoice, quote, conflict, user and API token, and a draft
// article) as each demo role. Each answers exactly what a missing id does
// (the 404 page, or the 403 page of a role-gated page), changes nothing,
// and no page the suite sees names anything of the other accounts.
func TestPagesAccessSuite(t *testing.T) {
	t.Parallel()
	var svc *notify.Service
	e := setup(t, withNotify(&svc))
	// Beta's records with values found nowhere in Alpha's.
	zebra := apitest.SFCase("500B00000000777", apitest.Beta, "New")
	zebra["Subject"] = "Zebra merger plan"
	e.fx.Put("salesforce", "Case", apitest.Beta, zebra)
	e.fx.Put("accounting", "Invoice", apitest.Beta, apitest.QBInvoice("9B7", 98765.43, 98765.43))
	quote := apitest.SFQuote("0Q0B00000000777", apitest.Beta, "Presented")
	quote["GrandTotal"] = 4321.99
	e.fx.Put("salesforce", "Quote", apitest.Beta, quote)
	foreignValues := []string{"Zebra merger plan", "98,765.43", "98765.43", "4,321.99", "4321.99", "Beta GmbH",
		"bea@beta.test", "bob@beta.test", "Bea secret token", "secret-beta-status", "Draft router secrets",
		"hooks.beta.test", "Beta's hook answered 500"}

	// Beta's users, one of whom has a conflict and an API token.
	e.user("bob@beta.test", apitest.Beta, auth.RoleAccountAdmin)
	bea := e.signedIn("bea@beta.test", apitest.Beta, auth.RoleMember)
	betaCase := e.fx.IDs[apitest.Beta]["case"][0]
	bea.get("/cases/" + betaCase)
	require.Equal(t, http.StatusSeeOther, bea.post("/cases/"+betaCase+"/close", nil).code)
	conflict := e.conflicted(t, "bea@beta.test", "close_case", `{"status": "closed"}`, `{"status": "secret-beta-status"}`)
	bea.get("/profile")
	require.Equal(t, http.StatusOK, bea.post("/profile/tokens", url.Values{"name": {"Bea secret token"}, "scopes": {"portal:read"}}).code)
	bea.get("/profile")
	beaExport := exportLink.FindStringSubmatch(bea.post("/profile/data-export", nil).body)
	require.NotNil(t, beaExport)
	e.workExports()
	var beaNotice int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `INSERT INTO notice (tenant_id, user_id, kind, connection, object, source_id, title, email)
		VALUES (1, $1, 'case_status', 'salesforce', 'case', $2, 'Zebra merger plan', 'none') RETURNING id`, e.userID(t, "bea@beta.test"), betaCase).Scan(&beaNotice))

	var betaHook int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `INSERT INTO notify_webhook (tenant_id, account_id, url, secret, failures, disabled_at, disabled_reason)
		VALUES (1, $1, 'https://hooks.beta.test/in', 'whsec-0123456789abcdef', 10, now(), 'Beta''s hook answered 500') RETURNING id`, apitest.Beta).Scan(&betaHook))

	foreign := map[string][]string{
		byCase:     {betaCase, "500B00000000777", e.fx.IDs[apitest.Parent]["case"][0]},
		byOrder:    {e.fx.IDs[apitest.Beta]["order"][0], e.fx.IDs[apitest.Parent]["order"][0]},
		byInvoice:  {e.fx.IDs[apitest.Beta]["invoice"][0], "9B7", e.fx.IDs[apitest.Parent]["invoice"][0]},
		byApproval: {"0Q0B00000000001", "0Q0B00000000777", "0Q0P00000000001"},
		byConflict: {conflict},
		byUser:     {e.userID(t, "bea@beta.test"), e.userID(t, "bob@beta.test")},
		byToken:    {tokenID(t, e, "Bea secret token")},
		byArticle:  {"ka0000000000003"},
		byExport:   {strings.TrimPrefix(beaExport[1], "/profile/data-export/")},
		byNotice:   {strconv.FormatInt(beaNotice, 10)},
		byWebhook:  {strconv.FormatInt(betaHook, 10)},
	}

	routes := walkPages(t, e)
	checked := 0
	for _, rb := range roleBlocks {
		email := rb.role + "@alpha.test"
		b := e.signedIn(email, apitest.Alpha, rb.role)
		// A stream that opened by mistake ends the request, not the test.
		b.c.Timeout = 10 * time.Second
		state := e.fingerprint(t)
		for _, route := range routes {
			method, pattern, _ := strings.Cut(route, " ")
			kind := pageRoutes[route]
			switch kind {
			case notAPage:
				continue
			case byBlock:
				for _, block := range []string{"cases", "orders", "invoices", "approvals", "actions", "nothing"} {
					res := b.fetch(method, strings.Replace(pattern, "{block}", block, 1), true)
					require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, res.code, "%s %s as %s", method, block, rb.role)
					e.noForeignValues(t, res.body, foreignValues)
				}
				continue
			case staffOnly:
				for _, hx := range []bool{false, true} {
					path := strings.NewReplacer("{name}", "writeback", "{id}", "1", "{step}", "discard", "{connection}", "salesforce").Replace(pattern)
					res := b.fetch(method, path, hx)
					require.Equal(t, http.StatusNotFound, res.code, "%s %s as %s", method, pattern, rb.role)
					e.noForeignValues(t, res.body, foreignValues)
				}
				continue
			case noID:
				for _, hx := range []bool{false, true} {
					res := b.fetch(method, pattern, hx)
					require.Contains(t, []int{http.StatusOK, http.StatusForbidden}, res.code, "%s %s as %s", method, pattern, rb.role)
					e.noForeignValues(t, res.body, foreignValues)
				}
				continue
			}
			at := func(id string) string {
				if pattern == "/events" {
					return "/events?case=" + url.QueryEscape(id)
				}
				return strings.Replace(pattern, "{id}", url.PathEscape(id), 1)
			}
			for _, hx := range []bool{false, true} {
				want := b.fetch(method, at(missingIDs[kind]), hx)
				require.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, want.code,
					"%s %s with a missing id as %s: %s", method, pattern, rb.role, want.body)
				for _, id := range foreign[kind] {
					got := b.fetch(method, at(id), hx)
					label := fmt.Sprintf("%s %s as %s (htmx %v)", method, at(id), rb.role, hx)
					require.Equal(t, want.code, got.code, label)
					require.Equal(t, want.body, got.body, "%s must answer what a missing id does", label)
					e.noForeignValues(t, got.body, foreignValues)
					checked++
				}
			}
		}
		require.Equal(t, state, e.fingerprint(t), "%s's requests with foreign ids changed something", rb.role)
	}
	t.Logf("%d routes; %d requests with a foreign id, each the same as a missing one's", len(routes), checked)
}

// walkPages lists the routes of the portal's router (chi.Walk), so that a
// route added later is in the suite, and fails on any the suite does not
// know.
func walkPages(t *testing.T, e *env) []string {
	t.Helper()
	r := chi.NewRouter()
	e.web.Mount(r, http.NotFound)
	routes, err := apitest.Routes(r, "/")
	require.NoError(t, err)
	var unknown []string
	for _, route := range routes {
		if _, ok := pageRoutes[route]; !ok {
			unknown = append(unknown, route)
		}
	}
	require.Empty(t, unknown, "routes without a case in pageRoutes (access_test.go)")
	require.Len(t, routes, len(pageRoutes), "pageRoutes names a route the router no longer has")
	return routes
}

// fetch sends method to path as a person's browser would: a GET as a link
// (or, with hx, as htmx asks for a region), a POST as a form with the
// page's CSRF token and whatever fields any of the portal's forms take.
func (b *browser) fetch(method, path string, hx bool) page {
	b.e.t.Helper()
	var req *http.Request
	var err error
	switch {
	case method == http.MethodPost && strings.HasSuffix(path, "/files"):
		// An upload: the form token first, then a small text file.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		require.NoError(b.e.t, mw.WriteField("csrf_token", b.csrf))
		fw, err := mw.CreateFormFile("file", "note.txt")
		require.NoError(b.e.t, err)
		_, err = fw.Write([]byte("a note for the case\n"))
		require.NoError(b.e.t, err)
		require.NoError(b.e.t, mw.Close())
		req, err = http.NewRequest(method, b.e.srv.URL+path, &body)
		require.NoError(b.e.t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
	case method == http.MethodPost:
		form := url.Values{"csrf_token": {b.csrf}, "body": {"a comment"}, "reason": {"too dear"}, "resolution": {"keep_mine"},
			"roles": {auth.RoleAccountAdmin}, "idempotency_key": {"web-" + fmt.Sprint(time.Now().UnixNano())}}
		req, err = http.NewRequest(method, b.e.srv.URL+path, strings.NewReader(form.Encode()))
		require.NoError(b.e.t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		req, err = http.NewRequest(method, b.e.srv.URL+path, nil)
		require.NoError(b.e.t, err)
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	return b.do(req)
}

// noForeignValues is noForeign for Alpha's pages, and also for values
// that name no id: subjects, amounts, names.
func (e *env) noForeignValues(t *testing.T, body string, values []string) {
	t.Helper()
	e.noForeign(t, body, apitest.Alpha, "") // "": the articles, everyone's
	for _, v := range values {
		require.NotContains(t, body, v, "a foreign value leaked")
	}
}

// fingerprint is what a request could change: actions and their state,
// users' roles and status, API tokens revoked, and jobs queued (mails,
// write-backs).
func (e *env) fingerprint(t *testing.T) string {
	t.Helper()
	var s string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT concat_ws('|',
		(SELECT string_agg(id || ':' || state || ':' || coalesce(expected_version, ''), ',' ORDER BY id) FROM action),
		(SELECT string_agg(id || ':' || status || ':' || array_to_string(roles, '+'), ',' ORDER BY id) FROM auth_user),
		(SELECT count(*) FROM auth_api_token WHERE revoked_at IS NOT NULL),
		(SELECT count(*) FROM river_job),
		(SELECT count(*) FROM file),
		(SELECT string_agg(id || ':' || failures || ':' || (disabled_at IS NOT NULL) || ':' || md5(secret), ',' ORDER BY id) FROM notify_webhook))`).Scan(&s))
	return s
}

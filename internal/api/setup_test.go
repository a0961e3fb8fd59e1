package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/jackc/pgx/v5"
	"github.com/porticohq/portico/connectors"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/auth/authtest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/server"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/writeback"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var fastHash = authtest.FastHash

const password = authtest.Password

// adminToken is the shared bootstrap token of /admin.
const adminToken = "test-admin-token-0123456789"

// Accounts of the fixture: Parent is Alpha's parent account; Beta stands
// alone. Every record id embeds its account's letter so a leak is obvious.
const (
	Parent = "001P00000000001AAA"
	Alpha  = "001A00000000001AAA"
	Beta   = "001B00000000001AAA"
)

type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	set     *mapping.Set
	srv     *httptest.Server
	api     *api.API
	actions api.Actions
	// ids are every seeded record id by account and object.
	ids map[string]map[string][]string
}

type options struct {
	noWrites bool
}

func setup(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	e := &env{t: t, pool: dbtest.Pool(t), set: set, ids: map[string]map[string][]string{}}
	ac := config.Default().Auth
	ac.Throttle.PerEmail, ac.Throttle.PerIP = 1000, 100000
	svc, err := auth.New(auth.Deps{Pool: e.pool, Config: ac, HashParams: fastHash,
		ContactInAccount: api.ContactInAccount(e.pool), RoleCovered: set.Covers})
	require.NoError(t, err)
	reader := records.New(records.Options{Pool: e.pool, Mappings: set})
	var wb *writeback.Service
	if !o.noWrites {
		var rc *river.Client[pgx.Tx]
		wb = writeback.New(writeback.Options{
			Pool: e.pool, Mappings: set,
			// Submit only checks that the connection exists; nothing here
			// applies actions.
			Connectors: map[string]connectors.Connector{"salesforce": nil, "accounting": nil, "inventory": nil},
			Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
				return rc.InsertTx(ctx, tx, args, opts)
			},
		})
		reg := jobs.NewRegistry()
		writeback.Register(reg, wb)
		rc, err = jobs.NewClient(e.pool, config.Default().River, reg, jobs.InsertOnly, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		e.actions = api.Writeback{Service: wb, Pool: e.pool, Mappings: set}
	}
	e.api, err = api.New(api.Deps{Pool: e.pool, Records: reader, Mappings: set, Policy: access.NewPolicy(e.pool), Auth: svc,
		Actions: e.actions, Audit: audit.New(e.pool, slog.New(slog.DiscardHandler)), Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil)),
		PageCacheBytes: 8 << 20})
	require.NoError(t, err)
	// The session and page caches run, as in production.
	ctx, cancel := context.WithCancel(context.Background())
	var listeners sync.WaitGroup
	listeners.Go(func() { svc.ListenCache(ctx) })
	listeners.Go(func() { e.api.ListenCache(ctx) })
	t.Cleanup(func() { cancel(); listeners.Wait() })
	require.Eventually(t, func() bool {
		authLive, _, _ := svc.CacheStats()
		pagesLive, _, _ := e.api.PageCacheStats()
		return authLive && pagesLive
	}, 10*time.Second, 5*time.Millisecond, "the caches' listeners did not connect")
	// The server's router, as in production: its middleware and /admin.
	h := server.NewRouter(server.Options{
		Config: config.Default().HTTP, Logger: slog.New(slog.DiscardHandler), Registry: metrics.NewRegistry(),
		AdminToken: adminToken, Staff: svc, Mount: func(r chi.Router) { e.api.Mount(r, nil) },
		RiverUI: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "river ui") }),
		MountAdmin: func(r chi.Router) {
			r.Mount("/audit", audit.AdminRoutes(audit.New(e.pool, slog.New(slog.DiscardHandler))))
			if wb != nil {
				r.Mount("/actions", wb.AdminRoutes(1))
			}
		},
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.seed()
	return e
}

// tWriter sends the API's log to the test's.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func sfTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000+0000") }

// put maps raw source records through the shipped mapping and stores
// them, owned by account (set directly, as the cache does once a
// reference or parent resolves).
func (e *env) put(connection, sourceObject, account string, raws ...map[string]any) []string {
	e.t.Helper()
	obj, ok := e.set.BySource(connection, sourceObject)
	require.True(e.t, ok, sourceObject)
	var rows []store.Row
	var ids []string
	for i, raw := range raws {
		b, err := json.Marshal(raw)
		require.NoError(e.t, err)
		m, err := obj.ToPortal(b)
		require.NoError(e.t, err)
		mod := epoch.Add(time.Duration(len(e.ids[account][obj.Name()])+i) * time.Hour)
		row, err := syncer.MapRecord(obj, connectors.Record{Object: sourceObject, ID: m.ID, Version: "v1", Modified: mod, Raw: b})
		require.NoError(e.t, err)
		if !obj.Public() {
			row.OwnerAccount, row.OwnerRefKey, row.OwnerRefValue = account, "", ""
		}
		rows = append(rows, row)
		ids = append(ids, m.ID)
	}
	_, err := store.UpsertRows(context.Background(), e.pool, store.Page{TenantID: 1, Connection: connection, Object: obj.Name(), SourceObject: sourceObject, MappingHash: obj.Hash()}, rows)
	require.NoError(e.t, err)
	if e.ids[account] == nil {
		e.ids[account] = map[string][]string{}
	}
	e.ids[account][obj.Name()] = append(e.ids[account][obj.Name()], ids...)
	return ids
}

func (e *env) seed() {
	e.t.Helper()
	e.put("salesforce", "Account", Parent, sfAccount(Parent, "Parent Holdings", ""))
	e.put("salesforce", "Account", Alpha, sfAccount(Alpha, "Alpha Ltd", Parent))
	e.put("salesforce", "Account", Beta, sfAccount(Beta, "Beta GmbH", ""))
	for _, acc := range []string{Parent, Alpha, Beta} {
		l := acc[3:4] // P, A or B
		var cases []map[string]any
		for i := range 3 {
			status := []string{"New", "Working", "Closed"}[i]
			cases = append(cases, sfCase(fmt.Sprintf("500%s00000000%03d", l, i), acc, status))
		}
		caseIDs := e.put("salesforce", "Case", acc, cases...)
		e.put("salesforce", "CaseComment", acc,
			sfComment("00a"+l+"00000000001", caseIDs[0], "We are on it", true),
			sfComment("00a"+l+"00000000002", caseIDs[0], "Internal note", false),
			sfComment("00a"+l+"00000000003", caseIDs[1], "Please send logs", true))
		e.put("salesforce", "Quote", acc,
			sfQuote("0Q0"+l+"00000000001", acc, "Presented"), sfQuote("0Q0"+l+"00000000002", acc, "Accepted"),
			sfQuote("0Q0"+l+"00000000003", acc, "Draft"))
		inv := e.put("accounting", "Invoice", acc, qbInvoice("9"+l+"1", 100, 40), qbInvoice("9"+l+"2", 50, 0))
		e.put("accounting", "Payment", acc, qbPayment("8"+l+"1", 60, inv[0]), qbPayment("8"+l+"2", 50, inv[1]))
		e.put("inventory", "order", acc, sqOrder("ORD"+l+"1", "OPEN"), sqOrder("ORD"+l+"2", "COMPLETED"))
	}
	e.put("salesforce", "Knowledge__kav", "",
		sfArticle("ka0000000000001", "Resetting your router", "Turn it off and on", "Unplug the router for ten seconds.", "Online"),
		sfArticle("ka0000000000002", "Billing questions", "Invoices and payments", "Your invoice lists every router you rented.", "Online"),
		sfArticle("ka0000000000003", "Draft router secrets", "Not yet", "router router router", "Draft"))
}

func sfAccount(id, name, parent string) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": "Account"}, "Id": id, "Name": name,
		"SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch), "QuickBooks_Customer_Id__c": "qb-" + id}
	if parent != "" {
		m["ParentId"] = parent
	}
	return m
}

func sfCase(id, account, status string) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": "Case"}, "Id": id, "CaseNumber": "0000" + id[len(id)-4:],
		"Subject": "Printer on fire " + id, "Description": "It smokes", "Status": status, "Priority": "High",
		"AccountId": account, "ContactId": "003" + account[3:], "CreatedDate": sfTime(epoch),
		"SystemModstamp": sfTime(epoch.Add(time.Hour)), "LastModifiedDate": sfTime(epoch.Add(time.Hour))}
	if status == "Closed" {
		m["ClosedDate"] = sfTime(epoch.Add(2 * time.Hour))
	}
	return m
}

func sfComment(id, caseID, body string, published bool) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "CaseComment"}, "Id": id, "ParentId": caseID, "CommentBody": body,
		"IsPublished": published, "CreatedById": "005000000000001", "CreatedDate": sfTime(epoch.Add(30 * time.Minute)),
		"SystemModstamp": sfTime(epoch.Add(30 * time.Minute))}
}

func sfQuote(id, account, status string) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "Quote"}, "Id": id, "Name": "Quote " + id, "Status": status,
		"GrandTotal": 1200.5, "ExpirationDate": "2026-06-30", "AccountId": account, "ContactId": "003" + account[3:],
		"SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch)}
}

func sfArticle(id, title, summary, body, status string) map[string]any {
	return map[string]any{"attributes": map[string]any{"type": "Knowledge__kav"}, "Id": id, "Title": title, "Summary": summary,
		"UrlName": strings.ToLower(strings.ReplaceAll(title, " ", "-")), "ArticleBody__c": body, "PublishStatus": status,
		"SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch)}
}

func qbInvoice(id string, total, balance float64) map[string]any {
	return map[string]any{"Id": id, "DocNumber": "INV-" + id, "TxnDate": "2026-02-01", "DueDate": "2026-03-01",
		"TotalAmt": total, "Balance": balance, "CurrencyRef": map[string]any{"value": "USD"}, "CustomerRef": map[string]any{"value": "58"},
		"SyncToken": "0", "MetaData": map[string]any{"LastUpdatedTime": "2026-02-01T10:00:00-08:00"},
		"Line": []any{map[string]any{"DetailType": "SalesItemLineDetail", "Amount": total, "Description": "Router rental",
			"SalesItemLineDetail": map[string]any{"Qty": 1, "UnitPrice": total, "ItemRef": map[string]any{"value": "7"}}}}}
}

func qbPayment(id string, amount float64, invoice string) map[string]any {
	return map[string]any{"Id": id, "TotalAmt": amount, "TxnDate": "2026-02-10", "CurrencyRef": map[string]any{"value": "USD"},
		"CustomerRef": map[string]any{"value": "58"}, "SyncToken": "0", "MetaData": map[string]any{"LastUpdatedTime": "2026-02-10T10:00:00-08:00"},
		"Line": []any{map[string]any{"Amount": amount, "LinkedTxn": []any{map[string]any{"TxnId": invoice, "TxnType": "Invoice"}}}}}
}

func sqOrder(id, state string) map[string]any {
	return map[string]any{"id": id, "customer_id": "SQ" + id, "state": state, "version": 1, "location_id": "L1",
		"created_at": "2026-02-01T10:00:00Z", "updated_at": "2026-02-02T10:00:00Z",
		"total_money": map[string]any{"amount": 2500, "currency": "USD"},
		"line_items": []any{map[string]any{"uid": "li1", "name": "Router", "quantity": "1", "catalog_object_id": "P1",
			"base_price_money": map[string]any{"amount": 2500, "currency": "USD"}}},
		"fulfillments": []any{map[string]any{"uid": "f1", "type": "SHIPMENT", "state": "COMPLETED",
			"shipment_details": map[string]any{"carrier": "UPS", "tracking_number": "1Z999", "shipped_at": "2026-02-02T09:00:00Z",
				"recipient": map[string]any{"display_name": "Ada"}}}}}
}

// client is a logged-in user.
type client struct {
	e     *env
	http  *http.Client
	email string
	csrf  string
	// bearer is the API token sent as Authorization: Bearer, if any.
	bearer string
}

// user creates a user and logs in.
func (e *env) user(email, account string, roles []string, children, staff bool) *client {
	e.t.Helper()
	nu := auth.NewUser{Email: email, Password: password, Roles: roles, Staff: staff, SeeChildAccounts: children, HashParams: fastHash}
	if !staff {
		nu.AccountID, nu.ContactID = account, "003"+account[3:]
	}
	_, err := auth.CreateUser(context.Background(), e.pool, nu)
	require.NoError(e.t, err)
	return e.login(email)
}

// login logs an existing user in with the test password.
func (e *env) login(email string) *client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{e: e, http: &http.Client{Jar: jar}, email: email}
	res := c.do("POST", "/auth/login", map[string]string{"email": email, "password": password}, nil)
	require.Equal(e.t, http.StatusOK, res.code, string(res.body))
	for _, ck := range jar.Cookies(mustURL(e.srv.URL)) {
		if ck.Name == auth.CSRFCookie {
			c.csrf = ck.Value
		}
	}
	require.NotEmpty(e.t, c.csrf)
	return c
}

type reply struct {
	code   int
	header http.Header
	body   []byte
	req    *http.Request
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func (c *client) get(path string) reply { return c.do("GET", path, nil, nil) }

func (c *client) post(path string, body any) reply { return c.do("POST", path, body, nil) }

func (c *client) do(method, path string, body any, header http.Header) reply {
	c.e.t.Helper()
	var sent []byte
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			sent = []byte(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(c.e.t, err)
			sent = b
		}
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	require.NoError(c.e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(auth.CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := c.http.Do(req)
	require.NoError(c.e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.e.t, err)
	out := reply{code: res.StatusCode, header: res.Header, body: b, req: req}
	if inContract(req.URL.Path) {
		apitest.Check(c.e.t, apitest.Exchange{Request: req, RequestBody: sent, Status: res.StatusCode, Header: res.Header, Body: b})
	}
	return out
}

// inContract reports whether openapi.json describes path's part of the
// server: everything but River UI, which is River's own.
func inContract(path string) bool {
	for _, p := range []string{"/api/", "/auth/", "/admin/"} {
		if strings.HasPrefix(path, p) {
			return !strings.HasPrefix(path, "/admin/riverui")
		}
	}
	return false
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

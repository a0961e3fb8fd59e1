package api_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/auth/authtest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/seal/sealtest"
	"github.com/porticohq/portico/internal/server"
	"github.com/porticohq/portico/internal/writeback"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var fastHash = authtest.FastHash

const password = authtest.Password

// adminToken is the shared bootstrap token of /admin.
const adminToken = "test-admin-token-0123456789"

// Accounts of the fixture (apitest).
const (
	Parent = apitest.Parent
	Alpha  = apitest.Alpha
	Beta   = apitest.Beta
)

type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	set     *mapping.Set
	srv     *httptest.Server
	api     *api.API
	actions api.Actions
	files   *files.Service
	// events records the portal events the reports count.
	events *reports.Recorder
	// notify serves the inbox and preferences (its events are not
	// dispatched here: tests place notices themselves); privacy serves
	// "download my data", whose queued exports land in exports for the
	// test to build (buildExports).
	notify  *notify.Service
	privacy *privacy.Service
	exports chan privacy.ExportArgs
	// ids are every seeded record id by account and object.
	ids map[string]map[string][]string
}

type options struct {
	noWrites bool
	// fileMax caps uploads (0: files.DefaultMaxBytes).
	fileMax int64
	scanner files.Scanner
	// signing turns on approvals' states and signatures, with a test
	// certificate and apitest.Documents.
	signing bool
	// sourceFiles reads synced documents' content (api.Deps.SourceFiles).
	sourceFiles func(connection string) (connectors.FileReader, bool)
	// deliver runs River's notify queue with notify's real workers, so
	// that webhook deliveries are posted (otherwise jobs are dropped).
	deliver bool
}

// withDelivery works the notify queue: webhooks receive their deliveries.
func withDelivery(o *options) { o.deliver = true }

func withSigning(o *options) { o.signing = true }

func setup(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	e := &env{t: t, pool: dbtest.Pool(t), set: set, ids: map[string]map[string][]string{}}
	e.events = reports.NewRecorder(e.pool, 1, slog.New(slog.DiscardHandler))
	ac := config.Default().Auth
	ac.Throttle.PerEmail, ac.Throttle.PerIP = 1000, 100000
	svc, err := auth.New(auth.Deps{Pool: e.pool, Config: ac, HashParams: fastHash,
		ContactInAccount: api.ContactInAccount(e.pool), RoleCovered: set.Covers,
		SignedIn: func(userID int64, accountID string) {
			e.events.Record(reports.Event{Kind: reports.SignIn, UserID: userID, AccountID: accountID})
		}})
	require.NoError(t, err)
	reader := records.New(records.Options{Pool: e.pool, Mappings: set})
	var wb *writeback.Service
	if !o.noWrites {
		wb = apitest.Writeback(t, e.pool, set)
		e.actions = api.Writeback{Service: wb, Pool: e.pool, Mappings: set}
	}
	e.files = files.New(files.Options{Pool: e.pool, MaxBytes: o.fileMax, Scanner: o.scanner})
	var queue *river.Client[pgx.Tx] // the notify queue, withDelivery
	e.notify, err = notify.New(notify.Options{Pool: e.pool, Records: reader, Policy: access.NewPolicy(e.pool),
		SigningKey: bytes.Repeat([]byte("k"), 32), Events: e.events, WebhookMaxFailures: 10, WebhookPrivateTargets: true,
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			if queue == nil {
				return nil, nil
			}
			return queue.InsertTx(ctx, tx, args, opts)
		}})
	require.NoError(t, err)
	if o.deliver {
		queue = notifyQueue(t, e.pool, e.notify)
	}
	e.exports = make(chan privacy.ExportArgs, 16)
	e.privacy = privacy.New(privacy.Options{Pool: e.pool, TenantID: 1,
		Insert: func(_ context.Context, _ pgx.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			e.exports <- args.(privacy.ExportArgs)
			return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
		}})
	deps := api.Deps{Pool: e.pool, Records: reader, Mappings: set, Policy: access.NewPolicy(e.pool), Auth: svc,
		Actions: e.actions, Files: e.files, Audit: audit.New(e.pool, slog.New(slog.DiscardHandler)), Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil)),
		PageCacheBytes: 8 << 20, Events: e.events, Notify: e.notify, Privacy: e.privacy, SourceFiles: o.sourceFiles}
	if o.signing {
		// The fixture's quotes expire on 2026-06-30: its clock is before.
		deps.Approvals, deps.Sealer = approval.New(e.pool, func() time.Time { return epoch }), sealtest.Signer(t, false)
	}
	e.api, err = api.New(deps)
	require.NoError(t, err)
	// The session and page caches run, as in production.
	ctx, cancel := context.WithCancel(context.Background())
	var listeners sync.WaitGroup
	listeners.Go(func() { svc.ListenCache(ctx) })
	listeners.Go(func() { e.api.ListenCache(ctx) })
	listeners.Go(func() { e.events.Run(ctx) })
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
			r.Mount("/reports", reports.AdminRoutes(reports.New(e.pool, 1), slog.New(slog.DiscardHandler)))
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

// notifyQueue works the notify queue with notify's workers until the
// test ends.
func notifyQueue(t *testing.T, pool *pgxpool.Pool, svc *notify.Service) *river.Client[pgx.Tx] {
	t.Helper()
	reg := jobs.NewRegistry()
	notify.Register(reg, svc, time.Hour)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{jobs.QueueNotify: {MaxWorkers: 2}}, Workers: reg.Workers,
		FetchPollInterval: 20 * time.Millisecond, FetchCooldown: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = client.Stop(stop)
		cancel()
	})
	return client
}

// tWriter sends the API's log to the test's.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var epoch = apitest.Epoch

// The fixture's raw source records (apitest).
var (
	sfTime = apitest.SFTime
	sfCase = apitest.SFCase
)

// put stores raw source records owned by account (apitest.Fixture.Put).
func (e *env) put(connection, sourceObject, account string, raws ...map[string]any) []string {
	e.t.Helper()
	return e.fixture().Put(connection, sourceObject, account, raws...)
}

func (e *env) seed() { e.fixture().Seed() }

func (e *env) fixture() *apitest.Fixture {
	return &apitest.Fixture{T: e.t, Pool: e.pool, Set: e.set, IDs: e.ids}
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

package web_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/seal/sealtest"
	"github.com/porticohq/portico/internal/server"
	"github.com/porticohq/portico/internal/web"
	"github.com/porticohq/portico/internal/web/webtest"
	"github.com/porticohq/portico/internal/writeback"
	"github.com/porticohq/portico/mappings"
)

// The browser tests (browser_test.go) share one browser, stopped after the
// tests and before the database.
func TestMain(m *testing.M) { dbtest.Main(webtest.Wrap(m)) }

var fastHash = auth.HashParams{Memory: 1024, Time: 1, Threads: 1}

const password = "violet-harbour-lantern-42"

// env is the portal over a seeded cache, served by the production router.
type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	set  *mapping.Set
	auth *auth.Service
	srv  *httptest.Server
	fx   *apitest.Fixture
	web  *web.Web
	// privacy serves data exports; exports receives the jobs it queues.
	privacy *privacy.Service
	exports chan privacy.ExportArgs
}

type options struct {
	throttle config.ThrottleConfig
	oidc     bool
	// heartbeat and maxStreams set the live updates' (0: defaults).
	heartbeat  time.Duration
	maxStreams int
	// now is the portal's clock (nil: the time).
	now func() time.Time
	// writeback, when set, builds the write-back service (default: one
	// that accepts actions and applies none).
	writeback func(t *testing.T, pool *pgxpool.Pool, set *mapping.Set) *writeback.Service
	// brand is the deployment's branding (nil: the default).
	brand *brand.Current
	// scanner scans uploads (nil: none).
	scanner files.Scanner
	// signing: approvals' states and signatures, with a test sealing
	// certificate and apitest.Documents, on the fixture's clock.
	signing bool
	// notify, when set, receives the notifications' service the portal
	// is given (nil: no inbox).
	notify **notify.Service
	// syncStatus is the console's sync health (nil: no sync page).
	syncStatus web.SyncStatus
	// connect runs the sync page's Connect buttons (nil: none).
	connect web.ConnectFlows
	// sourceFiles reads synced documents from their source (nil: none).
	sourceFiles func(connection string) (connectors.FileReader, bool)
}

func setup(t *testing.T, opts ...func(*options)) *env {
	t.Helper()
	o := options{throttle: config.ThrottleConfig{PerEmail: 1000, PerIP: 100000, Window: 15 * time.Minute}}
	for _, f := range opts {
		f(&o)
	}
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	e := &env{t: t, pool: dbtest.Pool(t), set: set}
	cfg := config.Default().Auth
	if o.oidc {
		cfg.OIDC = config.OIDCConfig{IssuerURL: "https://sso.example.test", ClientID: "portal"}
	}
	cfg.Throttle = o.throttle
	e.auth, err = auth.New(auth.Deps{Pool: e.pool, Config: cfg, HashParams: fastHash,
		ContactInAccount: api.ContactInAccount(e.pool), RoleCovered: set.Covers,
		Auditor: api.AuthAuditor{Log: audit.New(e.pool, slog.New(slog.DiscardHandler))}})
	require.NoError(t, err)
	if o.writeback == nil {
		o.writeback = func(t *testing.T, pool *pgxpool.Pool, set *mapping.Set) *writeback.Service {
			return apitest.Writeback(t, pool, set)
		}
	}
	wb := o.writeback(t, e.pool, set)
	fs := files.New(files.Options{Pool: e.pool, Scanner: o.scanner})
	deps := api.Deps{Pool: e.pool, Records: records.New(records.Options{Pool: e.pool, Mappings: set}), Mappings: set,
		Policy: access.NewPolicy(e.pool), Auth: e.auth, Actions: api.Writeback{Service: wb, Pool: e.pool, Mappings: set},
		Audit: audit.New(e.pool, slog.New(slog.DiscardHandler)), Files: fs,
		Brand: o.brand, SourceFiles: o.sourceFiles}
	if o.signing {
		// The fixture's quotes are valid until 2026-06-30.
		deps.Approvals = approval.New(e.pool, func() time.Time { return apitest.Epoch })
		deps.Sealer = sealtest.Signer(t, false)
	}
	a, err := api.New(deps)
	require.NoError(t, err)
	var svc *notify.Service
	if o.notify != nil {
		svc = newNotify(t, e)
		*o.notify = svc
	}
	// Data exports: the job a request queues is kept for the test to work
	// (workExports), as a worker would.
	parts := &privacy.Registry{}
	parts.MustRegister(privacy.Builtin(fs)...)
	e.exports = make(chan privacy.ExportArgs, 16)
	e.privacy = privacy.New(privacy.Options{Pool: e.pool, TenantID: 1, Registry: parts, Config: config.Default().Privacy,
		Insert: func(_ context.Context, _ pgx.Tx, args river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			e.exports <- args.(privacy.ExportArgs)
			return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
		}})
	// The console's brand form stores over a configuration holding the
	// brand the test serves.
	if o.brand == nil {
		o.brand = brand.NewCurrent(brand.NewSite(brand.Default(), nil))
	}
	served := o.brand.Get().Brand
	brandCfg := config.BrandConfig{Name: served.Name, PrimaryColor: served.PrimaryColor, AccentColor: served.AccentColor,
		SupportEmail: served.SupportEmail, SupportPhone: served.SupportPhone, SupportURL: served.SupportURL}
	portal, err := web.New(web.Deps{API: a, Auth: e.auth, Mappings: set, SignOnName: "Example SSO",
		Logger:        slog.New(slog.NewTextHandler(tWriter{t}, nil)),
		LiveHeartbeat: o.heartbeat, LiveMaxPerUser: o.maxStreams, Now: o.now, Brand: o.brand, Notify: svc, Privacy: e.privacy,
		BrandEditor: app.NewBrandService(e.pool, 1, brandCfg, o.brand, nil, slog.New(slog.DiscardHandler)),

		Reports: reports.New(e.pool, 1), StaffActions: wb, TenantID: 1, SyncStatus: o.syncStatus, Connect: o.connect,
		Audit: audit.New(e.pool, slog.New(slog.DiscardHandler)),
		Users: func(ctx context.Context, account string) ([]auth.User, error) {
			return auth.ListUsers(ctx, e.pool, 1, account)
		}})
	require.NoError(t, err)
	e.web = portal
	// Sessions are cached, and live updates fed, by one listener as in
	// production.
	ctx, cancel := context.WithCancel(context.Background())
	subs := map[string]pgnotify.Subscriber{}
	maps.Copy(subs, e.auth.CacheSubscriptions())
	maps.Copy(subs, portal.LiveSubscriptions())
	var listeners sync.WaitGroup
	listeners.Go(func() { pgnotify.Listen(ctx, e.pool, subs, slog.New(slog.DiscardHandler)) })
	t.Cleanup(func() { cancel(); listeners.Wait() })
	h := server.NewRouter(server.Options{
		Config: config.Default().HTTP, Logger: slog.New(slog.DiscardHandler), Registry: metrics.NewRegistry(),
		Staff: e.auth, MountAdmin: func(r chi.Router) {
			r.Mount("/reports", reports.AdminRoutes(reports.New(e.pool, 1), slog.New(slog.DiscardHandler)))
		},
		Mount: func(r chi.Router) {
			a.Mount(r, nil)
			portal.Mount(r, reply.New(nil).NoEndpoint)
		},
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	// Open event streams end first, as when a server stops.
	t.Cleanup(portal.CloseLive)
	e.fx = &apitest.Fixture{T: t, Pool: e.pool, Set: set, IDs: map[string]map[string][]string{}}
	e.fx.Seed()
	return e
}

// tWriter sends the portal's log to the test's.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// user creates an active user of account with roles.
func (e *env) user(email, account string, roles ...string) {
	e.t.Helper()
	_, err := auth.CreateUser(context.Background(), e.pool, auth.NewUser{Email: email, Password: password, Roles: roles,
		AccountID: account, ContactID: "003" + account[3:], HashParams: fastHash})
	require.NoError(e.t, err)
}

// signedIn creates a user and signs them in on a new browser.
func (e *env) signedIn(email, account, role string) *browser {
	e.t.Helper()
	e.user(email, account, role)
	b := e.browser()
	b.signIn(email)
	return b
}

// browser is one browser: cookies, no script, redirects not followed so
// that tests see each 303.
type browser struct {
	e    *env
	c    *http.Client
	lang string
	// csrf is the synchronizer token of the last page that had a form.
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one answer.
type page struct {
	code   int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	res, err := b.c.Do(req)
	require.NoError(b.e.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.e.t, err)
	p := page{code: res.StatusCode, header: res.Header, body: string(body)}
	if m := csrfInput.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(b.e.t, err)
	return b.do(req)
}

// post sends a form with the last page's CSRF token, as the browser would.
func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in through the form and lands on the status hub.
func (b *browser) signIn(email string) {
	b.e.t.Helper()
	b.get("/sign-in")
	res := b.post("/sign-in", url.Values{"email": {email}, "password": {password}})
	require.Equal(b.e.t, http.StatusSeeOther, res.code, res.body)
	require.Equal(b.e.t, "/", res.location())
	require.Equal(b.e.t, http.StatusOK, b.get("/").code)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond)
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/app/apptest"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/tracing"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) {
	proctest.Child(workerEnv, runWorkerChild)
	dbtest.Main(proctest.Main(m))
}

type running struct {
	app *app.App
	sim *fakesource.Sim
	api string
}

// start runs serve and work in-process over a simulated Salesforce.
func start(t *testing.T, webhooks bool, interval time.Duration, tweak ...func(*config.Config)) *running {
	t.Helper()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	return startWith(t, world{webhooks: webhooks, interval: interval, mappings: set}, tweak...)
}

// world is what startWith runs over: the simulated org, what happens in it
// before Portico starts, and the mappings.
type world struct {
	webhooks bool
	interval time.Duration
	sim      func(*fakesource.Options)
	before   func(*fakesource.Sim)
	mappings *mapping.Set
	// tracing records spans (nil: tracing off); logs receives the app's
	// log lines (nil: discarded).
	tracing *tracing.Provider
	logs    io.Writer
	// databaseURL is the database Portico runs on (empty: one of
	// dbtest's).
	databaseURL string
}

// startWith is start over a world of the test's own.
func startWith(t *testing.T, w world, tweak ...func(*config.Config)) *running {
	t.Helper()
	webhooks, interval := w.webhooks, w.interval
	url := w.databaseURL
	if url == "" {
		url = dbtest.URL(t)
	}
	cfg := apptest.Config(t, url)
	api := cfg.HTTP.PublicURL

	opts := fakesource.Options{Seed: 4, Records: 600, WebhookSecret: "hook-secret"}
	if webhooks {
		opts.WebhookURL = api + "/hooks/{system}"
	}
	if w.sim != nil {
		w.sim(&opts)
	}
	sim, srv := fakesourcetest.Start(t, opts)
	if w.before != nil {
		w.before(sim)
	}
	cr := sim.Credentials(srv.URL).Salesforce
	cfg.Sync.Interval = interval
	cfg.Connections = []config.ConnectionConfig{devenv.SimConnection(fakesource.Salesforce, cr)}
	for _, f := range tweak {
		f(&cfg)
	}
	logger := slog.New(slog.DiscardHandler)
	if w.logs != nil {
		logger = slog.New(slog.NewJSONHandler(w.logs, nil))
	}
	p := apptest.Start(t, &cfg, logger, app.Mode{Serve: true, Work: true}, app.Deps{Connectors: builtin.Registry(), Mappings: w.mappings, Tracing: w.tracing})
	r := &running{app: p.App, sim: sim, api: api}
	cases := sim.Stats().Records["salesforce"]["Case"]
	require.Eventually(t, func() bool { return r.casesCached(t) == cases }, 30*time.Second, 20*time.Millisecond, "first sync")
	return r
}

func (r *running) casesCached(t *testing.T) int {
	page, err := r.app.Records().List(context.Background(), access.Scope{TenantID: r.app.TenantID(), Staff: true}, "case", records.ListOptions{Limit: 200})
	require.NoError(t, err)
	n := len(page.Records)
	for page.Next != "" {
		page, err = r.app.Records().List(context.Background(), access.Scope{TenantID: r.app.TenantID(), Staff: true}, "case", records.ListOptions{Limit: 200, Cursor: page.Next})
		require.NoError(t, err)
		n += len(page.Records)
	}
	return n
}

func (r *running) subject(t *testing.T, id string) string {
	rec, err := r.app.Records().Get(context.Background(), access.Scope{TenantID: r.app.TenantID(), Staff: true}, "case", id, records.GetOptions{})
	require.NoError(t, err)
	return fmt.Sprint(rec.Field("subject"))
}

func TestStaffEditWithWebhookIsVisibleQuickly(t *testing.T) {
	t.Parallel()
	r := start(t, true, time.Hour) // no polling to speak of: the webhook alone
	id, err := r.sim.SeedID("salesforce", "Case", 3)
	require.NoError(t, err)
	require.NoError(t, r.sim.StaffEdit("salesforce", "Case", id, map[string]any{"Subject": "Changed by staff"}))
	require.Eventually(t, func() bool { return r.subject(t, id) == "Changed by staff" }, 2*time.Second, 10*time.Millisecond)

	// A notice with a bad signature is refused, and logged.
	resp, err := http.Post(r.api+"/hooks/salesforce", "text/xml", bytes.NewReader([]byte(`<soapenv:Envelope/>`)))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, []int{http.StatusUnauthorized, http.StatusBadRequest}, resp.StatusCode, string(body))
	resp, err = http.Post(r.api+"/hooks/nope", "application/json", bytes.NewReader([]byte(`{}`)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, err = http.Get(r.api + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		"portico_sync_lag_seconds", "portico_sync_records_total", "portico_sync_runs_total",
		"portico_source_requests_total", "portico_breaker_state", "portico_quota_remaining",
		"portico_river_jobs", "portico_http_requests_total",
		`portico_cache_live{cache="sessions"}`, `portico_cache_hits_total{cache="pages"}`, `portico_cache_misses_total{cache="sessions"}`,
	} {
		require.Contains(t, string(metrics), name)
	}

	// Both caches go live on one LISTEN connection.
	require.Eventually(t, func() bool {
		resp, err := http.Get(r.api + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		m, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(m), `portico_cache_live{cache="pages"} 1`) && strings.Contains(string(m), `portico_cache_live{cache="sessions"} 1`)
	}, 10*time.Second, 10*time.Millisecond)
	var listeners int
	require.NoError(t, r.app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %portico_%'`).Scan(&listeners))
	require.Equal(t, 1, listeners)
}

func TestStaffEditWithoutWebhookIsVisibleWithinThePollingInterval(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	r := start(t, false, interval)
	// Steady state: the periodic schedule is running (River elects a
	// leader to enqueue periodic jobs at start-up).
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, r.app.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM sync_run WHERE object = 'Case' AND kind = 'incremental' AND state = 'succeeded'`).Scan(&n))
		return n > 0
	}, 30*time.Second, 20*time.Millisecond)
	id, err := r.sim.SeedID("salesforce", "Case", 5)
	require.NoError(t, err)
	require.NoError(t, r.sim.StaffEdit("salesforce", "Case", id, map[string]any{"Subject": "Polled change"}))
	require.Eventually(t, func() bool { return r.subject(t, id) == "Polled change" }, interval+time.Second, 10*time.Millisecond)

}

func TestOperatorAsksForAFullResync(t *testing.T) {
	t.Parallel()
	r := start(t, false, time.Hour)
	send := func(method, path, token string) (int, string) {
		req, err := http.NewRequest(method, r.api+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp := checked(t, http.DefaultClient, req, nil)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(path, token string) (int, string) { return send(http.MethodPost, path, token) }
	const token = "test-admin-token-0123456789"
	r2 := config.Default().River
	require.EqualValues(t, 8+16+r2.SyncWorkers+r2.WritebackWorkers+r2.NotifyWorkers+r2.DefaultWorkers, r.app.Pool().Config().MaxConns,
		"the pool has a connection for every worker slot and room for the API")
	code, _ := post("/admin/sync/salesforce/Case?mode=full", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body := post("/admin/sync/salesforce/Case?mode=sideways", token)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `"path":"mode"`)
	code, _ = post("/admin/sync/salesforce/Nope", token)
	require.Equal(t, http.StatusNotFound, code)

	code, body = post("/admin/sync/salesforce/Case?mode=full", token)
	require.Equal(t, http.StatusAccepted, code, body)
	ctx := context.Background()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, r.app.Pool().QueryRow(ctx, `SELECT count(*) FROM sync_run WHERE object = 'Case' AND kind = 'full' AND state = 'succeeded'`).Scan(&n))
		return n >= 2 // the first sync, and the one asked for
	}, 10*time.Second, 20*time.Millisecond)
	var audited int
	require.NoError(t, r.app.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_event WHERE action = 'admin.sync.full' AND object_id = 'salesforce/Case'`).Scan(&audited))
	require.Equal(t, 1, audited)

	// The status shows the runs, as openapi.json describes them.
	code, body = send(http.MethodGet, "/admin/sync", token)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"kind":"full","state":"succeeded"`)
	code, body = send(http.MethodGet, "/admin/audit?action=admin.sync.full&limit=5", token)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"object_id":"salesforce/Case"`)
}

// With mail.smtp_url set, an invitation reaches the SMTP server, with the
// activation link, from the configured sender; and auth.throttle reaches
// the login service.
func TestInvitationIsMailedOverSMTPAndThrottleIsConfigured(t *testing.T) {
	t.Parallel()
	smtpd := mailtest.Start(t)
	r := start(t, false, time.Hour, func(c *config.Config) {
		c.Mail.SMTPURL = "smtp://portal:pw@" + smtpd.Addr()
		c.Mail.From = "Portal <portal@example.com>"
		c.Auth.Throttle.PerEmail = 2
	})
	ops := loginStaff(t, r.app.Pool(), r.api)
	ops.invite()
	// A running River client works the invitation's job.
	link := activationLink(t, smtpd)
	msgs, _, _ := smtpd.Snapshot()
	require.Contains(t, msgs[0], "From: \"Portal\" <portal@example.com>")
	activate(t, r.api, link)

	for range 2 {
		resp := ops.post("/auth/login", map[string]string{"email": "ops@operator.test", "password": "wrong-password-attempt"})
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp := ops.post("/auth/login", map[string]string{"email": "ops@operator.test", "password": staffPassword})
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "locked out after auth.throttle.per_email (2) failures")
}

// X-Forwarded-For is believed only from http.trusted_proxies: a client
// that rotates it is still one address to the login throttle and the
// audit log, while a trusted proxy's forwarded clients count apart.
// The trusted proxy is 127.0.0.2, which on Linux reaches the server's
// 127.0.0.1 like any loopback address.
func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	r := start(t, false, time.Hour, func(c *config.Config) {
		c.HTTP.TrustedProxies = []string{"127.0.0.2"}
		c.Auth.Throttle.PerIP = 3
	})
	login := func(from, forwarded string, i int) int {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
		defer client.CloseIdleConnections()
		b, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("nobody%d@%s.test", i, strings.ReplaceAll(from, ".", "-")), "password": "wrong-password-attempt"})
		req, _ := http.NewRequest(http.MethodPost, r.api+"/auth/login", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwarded)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	// An untrusted peer forging a new address each time is locked out
	// after auth.throttle.per_ip failures all the same.
	for i := range 3 {
		require.Equal(t, http.StatusUnauthorized, login("127.0.0.1", fmt.Sprintf("198.51.100.%d", i+1), i))
	}
	require.Equal(t, http.StatusTooManyRequests, login("127.0.0.1", "198.51.100.99", 3), "the forged header must not escape the per-IP throttle")
	// Through the trusted proxy, each forwarded client is its own.
	for i := range 5 {
		require.Equal(t, http.StatusUnauthorized, login("127.0.0.2", fmt.Sprintf("1.2.3.4, 203.0.113.%d", i+1), i))
	}

	// The typed address is sealed under its email subject (invariant 10).
	rows, err := r.app.Pool().Query(context.Background(), `SELECT tenant_id, host(ip), after FROM audit_event WHERE action = 'auth.login_failed' ORDER BY id`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var tenant int64
		var ip string
		var sealed []byte
		require.NoError(t, rows.Scan(&tenant, &ip, &sealed))
		require.NotContains(t, string(sealed), "@")
		after, err := audit.NewOpener(r.app.Pool(), tenant).JSON(context.Background(), "after", sealed)
		require.NoError(t, err)
		var v struct{ Email string }
		require.NoError(t, json.Unmarshal(after, &v))
		got = append(got, ip+" "+v.Email)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"127.0.0.1 nobody0@127-0-0-1.test", "127.0.0.1 nobody1@127-0-0-1.test", "127.0.0.1 nobody2@127-0-0-1.test",
		"203.0.113.1 nobody0@127-0-0-2.test", "203.0.113.2 nobody1@127-0-0-2.test", "203.0.113.3 nobody2@127-0-0-2.test",
		"203.0.113.4 nobody3@127-0-0-2.test", "203.0.113.5 nobody4@127-0-0-2.test",
	}, got, "the audit log records the real peer, and the forwarded client only from the trusted proxy")
}

// TestCloseStopsRiverUI: River UI's background queries end with Close,
// before the pool does; one that outlived it logged "closed pool" as the
// last line of `portico bench api`. Not parallel: it counts goroutines.
func TestCloseStopsRiverUI(t *testing.T) {
	cfg := config.Default()
	cfg.DatabaseURL = dbtest.URL(t)
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	var logs logtest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Open(context.Background(), &cfg, logger, app.Mode{Serve: true}, app.Deps{Mappings: set})
	require.NoError(t, err)
	// The context outlives the app, as `portico bench api`'s does.
	_, err = a.Handler(context.Background())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return goroutinesIn("riverui/internal/querycacher") > 0 }, 5*time.Second, 5*time.Millisecond,
		"River UI's query cacher runs (the control that makes this test meaningful)")
	a.Close()
	require.Zero(t, goroutinesIn("riverui/internal/querycacher"), "River UI still queries after Close")
	require.NotContains(t, logs.String(), "closed pool")
}

func goroutinesIn(pkg string) int {
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, pkg) {
			n++
		}
	}
	return n
}

// serveOnly is an API process without connections, served by httptest.
func serveOnly(t *testing.T, tweak ...func(*config.Config)) (*app.App, *httptest.Server) {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = dbtest.URL(t)
	cfg.Admin.Token = "test-admin-token-0123456789"
	for _, f := range tweak {
		f(&cfg)
	}
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	a, err := app.Open(context.Background(), &cfg, slog.New(slog.DiscardHandler), app.Mode{Serve: true}, app.Deps{Mappings: set})
	require.NoError(t, err)
	h, err := a.Handler(context.Background())
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); a.Close() })
	return a, srv
}

// Every route group answers with the security headers, whatever the
// status; River UI gets a policy of its own that still forbids framing.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	t.Parallel()
	_, srv := serveOnly(t, func(c *config.Config) { c.HTTP.PublicURL = "https://portal.example.com" })
	admin := http.Header{"Authorization": {"Bearer test-admin-token-0123456789"}}
	for _, tc := range []struct {
		method, path string
		header       http.Header
		want         int
		csp          string
	}{
		{"GET", "/api/v1/cases", nil, http.StatusUnauthorized, "default-src 'none'"},
		{"GET", "/api/openapi.json", nil, http.StatusOK, "default-src 'none'"},
		{"GET", "/auth/me", nil, http.StatusUnauthorized, "default-src 'none'"},
		{"POST", "/auth/login", nil, http.StatusUnsupportedMediaType, "default-src 'none'"},
		{"GET", "/admin/sync", nil, http.StatusUnauthorized, "default-src 'none'"},
		{"GET", "/admin/sync", admin, http.StatusOK, "default-src 'none'"},
		{"GET", "/admin/audit", admin, http.StatusOK, "default-src 'none'"},
		{"GET", "/admin/riverui/", admin, http.StatusOK, "script-src 'self'"},
		{"GET", "/admin/riverui/api/states", admin, http.StatusOK, "script-src 'self'"},
		{"POST", "/hooks/nope", nil, http.StatusNotFound, "default-src 'none'"},
		{"GET", "/healthz", nil, http.StatusOK, "default-src 'none'"},
		{"GET", "/readyz", nil, http.StatusOK, "default-src 'none'"},
		{"GET", "/metrics", nil, http.StatusOK, "default-src 'none'"},
		{"GET", "/no/such/route", nil, http.StatusNotFound, "default-src 'none'"},
		{"DELETE", "/healthz", nil, http.StatusMethodNotAllowed, "default-src 'none'"},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		require.NoError(t, err)
		maps.Copy(req.Header, tc.header)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := tc.method + " " + tc.path
		require.Equal(t, tc.want, resp.StatusCode, "%s: %s", name, body)
		h := resp.Header
		require.Contains(t, h.Get("Content-Security-Policy"), tc.csp, name)
		require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'", name)
		require.NotContains(t, h.Get("Content-Security-Policy"), "unsafe-", name)
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), name)
		require.Equal(t, "DENY", h.Get("X-Frame-Options"), name)
		require.Equal(t, "no-referrer", h.Get("Referrer-Policy"), name)
		require.Contains(t, h.Get("Strict-Transport-Security"), "max-age=", name)
	}
}

// TestServeSaysWhetherUploadsAreScanned: without clamd a serving process
// warns at start that uploads are not scanned; with it, it names it.
func TestServeSaysWhetherUploadsAreScanned(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	for _, c := range []struct{ address, want string }{
		{"", "uploads are NOT scanned for malware"},
		{"tcp:127.0.0.1:3310", "uploads are scanned for malware by clamd"},
	} {
		cfg := config.Default()
		cfg.DatabaseURL = dbtest.URL(t)
		cfg.Files.Clamd.Address = c.address
		var logs logtest.Buffer
		a, err := app.Open(context.Background(), &cfg, slog.New(slog.NewTextHandler(&logs, nil)), app.Mode{Serve: true}, app.Deps{Mappings: set})
		require.NoError(t, err)
		a.Close()
		require.Contains(t, logs.String(), c.want)
	}
}

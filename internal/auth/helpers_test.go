package auth_test

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
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/auth/authtest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mail"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var fastHash = authtest.FastHash

const goodPassword = authtest.Password

// tWriter sends the service's log to the test's.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// mailbox works the service's mail jobs with the mail package's workers,
// as a worker process would, and keeps what they deliver.
type mailbox struct {
	t    *testing.T
	pool *pgxpool.Pool
	jobs *river.Client[pgx.Tx]
	work map[string]func(tx pgx.Tx, job *rivertype.JobRow) error
	mu   sync.Mutex
	msgs []auth.Message
}

func newMailbox(t *testing.T, pool *pgxpool.Pool) *mailbox {
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	return &mailbox{t: t, pool: pool, jobs: client}
}

// serve makes the mailbox work svc's mail jobs.
func (m *mailbox) serve(svc *auth.Service) {
	inv := rivertest.NewWorker(m.t, riverpgxv5.New(nil), &river.Config{}, mail.NewInvitationWorker(svc, m, nil))
	reset := rivertest.NewWorker(m.t, riverpgxv5.New(nil), &river.Config{}, mail.NewResetWorker(svc, m, nil))
	m.work = map[string]func(pgx.Tx, *rivertype.JobRow) error{
		auth.InvitationMailArgs{}.Kind(): func(tx pgx.Tx, job *rivertype.JobRow) error {
			_, err := inv.WorkJob(context.Background(), m.t, tx, job)
			return err
		},
		auth.PasswordResetMailArgs{}.Kind(): func(tx pgx.Tx, job *rivertype.JobRow) error {
			_, err := reset.WorkJob(context.Background(), m.t, tx, job)
			return err
		},
	}
}

func (m *mailbox) Deliver(_ context.Context, msg auth.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

// all works the mail jobs waiting, then returns every message sent.
func (m *mailbox) all() []auth.Message {
	ctx := context.Background()
	waiting, err := m.jobs.JobList(ctx, river.NewJobListParams().Queues("notify").
		States(rivertype.JobStateAvailable).OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(1000))
	require.NoError(m.t, err)
	for _, job := range waiting.Jobs {
		require.NoError(m.t, pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error { return m.work[job.Kind](tx, job) }))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]auth.Message(nil), m.msgs...)
}

// lastToken returns the token in the newest message's link.
func (m *mailbox) lastToken(t *testing.T) string {
	t.Helper()
	msgs := m.all()
	require.NotEmpty(t, msgs, "no mail was sent")
	u, err := url.Parse(msgs[len(msgs)-1].Link)
	require.NoError(t, err)
	tok := u.Query().Get("token")
	require.NotEmpty(t, tok)
	return tok
}

type auditLog struct {
	mu     sync.Mutex
	events []auth.Event
}

func (a *auditLog) Record(_ context.Context, e auth.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *auditLog) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.events {
		out = append(out, e.Action)
	}
	return out
}

// testContacts maps CRM contact ids to their accounts.
var testContacts = map[string]string{"003NEW": "001ACME", "003ANA": "001ACME", "003BOSS": "001ACME", "003OTHER": "001OTHER"}

type bundle struct {
	pool  *pgxpool.Pool
	svc   *auth.Service
	srv   *httptest.Server
	clock *conntest.Clock
	mail  *mailbox
	audit *auditLog
}

// setup starts the auth routes on a chi router the way the API mounts
// them, with probe routes that show what the middleware lets through.
func setup(t *testing.T, tweak ...func(*auth.Deps)) *bundle {
	t.Helper()
	return setupOn(t, dbtest.Pool(t), tweak...)
}

// setupOn is setup over an existing database: two bundles on one pool are
// two API processes. The session cache runs, as it does in production.
func setupOn(t *testing.T, pool *pgxpool.Pool, tweak ...func(*auth.Deps)) *bundle {
	t.Helper()
	b := &bundle{
		pool:  pool,
		clock: conntest.NewClock(time.Now().UTC().Truncate(time.Second)),
		mail:  newMailbox(t, pool),
		audit: &auditLog{},
	}
	// The server starts first so that the service knows its public URL
	// (links, and the OIDC redirect URL derived from it).
	var handler http.Handler
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(b.srv.Close)
	deps := auth.Deps{
		PublicURL:  b.srv.URL,
		Pool:       b.pool,
		Logger:     slog.New(slog.NewTextHandler(tWriter{t}, nil)),
		Config:     config.Default().Auth,
		Auditor:    b.audit,
		Now:        b.clock.Now,
		HashParams: fastHash,
		// The CRM contacts invitations may name, as the record cache
		// would answer (api.ContactInAccount).
		ContactInAccount: func(_ context.Context, _ int64, accountID, contactID string) (bool, error) {
			return testContacts[contactID] == accountID, nil
		},
	}
	for _, f := range tweak {
		f(&deps)
	}
	svc, err := auth.New(deps)
	require.NoError(t, err)
	b.svc = svc
	b.mail.serve(svc)
	ctx, cancel := context.WithCancel(context.Background())
	var listener sync.WaitGroup
	listener.Go(func() { svc.ListenCache(ctx) })
	t.Cleanup(func() { cancel(); listener.Wait() })
	if deps.Config.Cache {
		require.Eventually(t, func() bool { live, _, _ := svc.CacheStats(); return live }, 10*time.Second, 5*time.Millisecond,
			"the session cache's listener did not connect")
	}

	r := chi.NewRouter()
	r.Mount("/auth", svc.Routes())
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "portal home") })
	r.Group(func(r chi.Router) {
		r.Use(svc.Authenticate, auth.RequireAuthenticated, svc.RequireCSRF)
		r.Post("/api/echo", echoPrincipal)
		r.With(auth.RequireStaff, auth.RequireScope(auth.ScopeAdminRead)).Get("/admin/probe", echoPrincipal)
		r.With(auth.RequireStaff, auth.RequireScope(auth.ScopeAdminWrite)).Post("/admin/probe", echoPrincipal)
		r.With(auth.RequireRole(auth.RoleBilling)).Get("/billing/probe", echoPrincipal)
	})
	handler = r
	return b
}

func echoPrincipal(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(auth.PrincipalFrom(r.Context()))
}

func (b *bundle) user(t *testing.T, nu auth.NewUser) auth.User {
	t.Helper()
	nu.HashParams = fastHash
	nu.Now = b.clock.Now()
	u, err := auth.CreateUser(context.Background(), b.pool, nu)
	require.NoError(t, err)
	return u
}

func (b *bundle) member(t *testing.T, email string, roles ...string) auth.User {
	if len(roles) == 0 {
		roles = []string{auth.RoleMember}
	}
	return b.user(t, auth.NewUser{Email: email, Password: goodPassword, AccountID: "001ACME", ContactID: "003ANA", Roles: roles})
}

func (b *bundle) staff(t *testing.T, email string) auth.User {
	return b.user(t, auth.NewUser{Email: email, Password: goodPassword, Staff: true})
}

// browser is one user agent with its own cookie jar.
type browser struct {
	t    *testing.T
	b    *bundle
	c    *http.Client
	csrf string
}

func (b *bundle) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, b: b, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r reply) fieldPaths() []string {
	e, _ := r.body["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	var out []string
	for _, f := range fs {
		out = append(out, f.(map[string]any)["path"].(string))
	}
	return out
}

// do sends a request; body is JSON-encoded unless it is a string. The
// browser's CSRF token goes along when it has one.
func (br *browser) do(method, path string, body any, hdr ...string) reply {
	br.t.Helper()
	var sent []byte
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		sent = []byte(v)
	default:
		raw, err := json.Marshal(v)
		require.NoError(br.t, err)
		sent = raw
	}
	if body != nil {
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, br.b.srv.URL+path, rd)
	require.NoError(br.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if br.csrf != "" {
		req.Header.Set(auth.CSRFHeader, br.csrf)
	}
	req.Header.Set("User-Agent", "auth-test")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := br.c.Do(req)
	require.NoError(br.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(br.t, err)
	out := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(path, "/auth/") {
		// The contract describes /auth; the probe routes are this test's.
		apitest.Check(br.t, apitest.Exchange{Request: req, RequestBody: sent, Status: resp.StatusCode, Header: resp.Header, Body: raw})
	}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (br *browser) login(email, password string) reply {
	br.t.Helper()
	r := br.do("POST", "/auth/login", map[string]string{"email": email, "password": password})
	if r.status == http.StatusOK {
		br.csrf, _ = r.body["csrf_token"].(string)
	}
	return r
}

func (br *browser) mustLogin(email string) {
	br.t.Helper()
	r := br.login(email, goodPassword)
	require.Equal(br.t, http.StatusOK, r.status, string(r.raw))
	require.NotEmpty(br.t, br.csrf)
}

func (br *browser) cookie(name string) string {
	u, _ := url.Parse(br.b.srv.URL)
	for _, c := range br.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (br *browser) me() reply {
	br.t.Helper()
	return br.do("GET", "/auth/me", nil)
}

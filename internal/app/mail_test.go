package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/app/apptest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// openPortal runs one Portico process with no connections and the
// shipped mappings on dbURL.
func openPortal(t *testing.T, dbURL string, mode app.Mode, logger *slog.Logger, deps app.Deps, tweak func(*config.Config)) *apptest.Portal {
	t.Helper()
	cfg := apptest.Config(t, dbURL)
	if tweak != nil {
		tweak(&cfg)
	}
	var err error
	if deps.Mappings, err = mapping.Load(mappings.FS()); err != nil {
		t.Fatal(err)
	}
	return apptest.Start(t, &cfg, logger, mode, deps)
}

const staffPassword = "violet-harbour-lantern-42"

// staff is a browser logged in as a staff user.
type staff struct {
	t      *testing.T
	api    string
	client *http.Client
	csrf   string
}

func loginStaff(t *testing.T, pool *pgxpool.Pool, api string) *staff {
	t.Helper()
	_, err := auth.CreateUser(context.Background(), pool, auth.NewUser{Email: "ops@operator.test", Password: staffPassword, Staff: true})
	require.NoError(t, err)
	return logIn(t, api, "ops@operator.test", staffPassword)
}

// logIn is a new browser logged in as email.
func logIn(t *testing.T, api, email, password string) *staff {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &staff{t: t, api: api, client: &http.Client{Jar: jar}}
	resp := s.post("/auth/login", map[string]string{"email": email, "password": password})
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&login))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s.csrf = login.CSRF
	return s
}

func (s *staff) post(path string, body any) *http.Response {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.api+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(auth.CSRFHeader, s.csrf)
	return checked(s.t, s.client, req, b)
}

// invite has a staff user invite new@acme.test through the API.
func invite(t *testing.T, p *apptest.Portal) {
	t.Helper()
	loginStaff(t, p.App.Pool(), p.URL).invite()
}

func (s *staff) invite() {
	resp := s.post("/auth/invitations", map[string]any{"email": "new@acme.test", "account_id": "001ACME", "roles": []string{"member"}})
	resp.Body.Close()
	require.Equal(s.t, http.StatusCreated, resp.StatusCode)
}

func mailJobStates(t *testing.T, p *apptest.Portal) []string {
	rows, err := p.App.Pool().Query(context.Background(), `SELECT state::text FROM river_job WHERE queue = 'notify' ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var states []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		states = append(states, s)
	}
	require.NoError(t, rows.Err())
	return states
}

// activationLink waits for the one message smtpd receives and returns the
// link in it.
func activationLink(t *testing.T, smtpd *mailtest.Server) string {
	t.Helper()
	require.Eventually(t, func() bool { msgs, _, _ := smtpd.Snapshot(); return len(msgs) == 1 }, 20*time.Second, 10*time.Millisecond)
	msgs, _, _ := smtpd.Snapshot()
	head, body, _ := strings.Cut(msgs[0], "\n\n")
	require.Contains(t, head, "To: new@acme.test")
	text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	require.NoError(t, err)
	link := regexp.MustCompile(`http://\S+/activate\?token=[A-Za-z0-9_-]{20,}`).FindString(string(text))
	require.NotEmpty(t, link, string(text))
	return link
}

// activate redeems the link's token through the API.
func activate(t *testing.T, api, link string) {
	t.Helper()
	tok := link[strings.Index(link, "token=")+len("token="):]
	b, _ := json.Marshal(map[string]string{"token": tok, "password": "a-fresh-secret-for-new-77"})
	resp, err := http.Post(api+"/auth/activate", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the mailed link activates the invitation")
}

// The invitation's mail is committed with it: a serve process only
// inserts the job, so if nothing works it (the process stops before
// anyone sends), the job waits in the database; a worker started later
// sends it, and its link works.
func TestInvitationMailSurvivesARestart(t *testing.T) {
	t.Parallel()
	smtpd := mailtest.Start(t)
	db := dbtest.URL(t)
	withSMTP := func(c *config.Config) {
		c.Mail.SMTPURL = "smtp://portal:pw@" + smtpd.Addr()
		c.Mail.From = "Portal <portal@example.com>"
	}
	serve := openPortal(t, db, app.Mode{Serve: true}, slog.New(slog.DiscardHandler), app.Deps{}, withSMTP)
	invite(t, serve)
	require.Equal(t, []string{"available"}, mailJobStates(t, serve), "serve inserts the job and works none")
	serve.Stop()
	msgs, _, _ := smtpd.Snapshot()
	require.Empty(t, msgs, "nothing was sent before a worker ran")

	worker := openPortal(t, db, app.Mode{Serve: true, Work: true}, slog.New(slog.DiscardHandler), app.Deps{}, withSMTP)
	link := activationLink(t, smtpd)
	require.Eventually(t, func() bool { s := mailJobStates(t, worker); return len(s) == 1 && s[0] == "completed" }, 10*time.Second, 10*time.Millisecond)
	activate(t, worker.URL, link)
}

// Without mail.smtp_url, no process logs a live link at info: the
// invitation's job is cancelled with the reason. portico dev prints it,
// marked as dev mail.
func TestWithoutSMTPNoLinkReachesTheLog(t *testing.T) {
	t.Parallel()
	var logged mailtest.Log
	p := openPortal(t, dbtest.URL(t), app.Mode{Serve: true, Work: true}, logged.Logger(), app.Deps{}, nil)
	invite(t, p)
	require.Eventually(t, func() bool { s := mailJobStates(t, p); return len(s) == 1 && s[0] == "cancelled" }, 20*time.Second, 10*time.Millisecond)
	require.Contains(t, logged.String(), "mail.smtp_url is not set")
	require.NotContains(t, logged.String(), "token=")

	var dev mailtest.Log
	d := openPortal(t, dbtest.URL(t), app.Mode{Serve: true, Work: true}, dev.Logger(), app.Deps{DevMail: true}, nil)
	invite(t, d)
	require.Eventually(t, func() bool { return strings.Contains(dev.String(), "dev mail") }, 20*time.Second, 10*time.Millisecond)
	require.Regexp(t, `dev mail.*/activate\?token=`, dev.String())
}

package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/app/apptest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) {
	proctest.Child(childEnv, runChildWorker)
	dbtest.Main(m)
}

// world is one running Portico (serve and work) over the simulators'
// demo story, with the demo users, mailing to an in-process SMTP server.
type world struct {
	app    *app.App
	sim    *fakesource.Sim
	story  fakesource.Story
	smtp   *mailtest.Server
	api    string
	users  map[string]int64  // email -> user id
	logins map[string]string // email -> password
}

func start(t *testing.T, tweak ...func(*config.Config)) *world {
	t.Helper()
	cfg := apptest.Config(t, dbtest.URL(t))
	api := cfg.HTTP.PublicURL
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 4, Records: 400, WebhookURL: api + "/hooks/{system}", WebhookSecret: "hook-secret"})
	story, err := sim.TellStory()
	require.NoError(t, err)
	smtp := mailtest.Start(t)
	creds := sim.Credentials(srv.URL)
	cfg.Sync.Interval = 300 * time.Millisecond
	cfg.Mail.SMTPURL = "smtp://" + smtp.Addr()
	cfg.Mail.From = "Portal <portal@example.com>"
	cfg.River.FetchPollInterval = 50 * time.Millisecond
	cfg.River.FetchCooldown = 10 * time.Millisecond
	cfg.Notify.Hold = 300 * time.Millisecond
	cfg.Notify.DigestHour = 0
	cfg.Connections = devenv.SimConnections(creds)
	for _, f := range tweak {
		f(&cfg)
	}
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	a := apptest.Start(t, &cfg, slog.New(slog.DiscardHandler), app.Mode{Serve: true, Work: true}, app.Deps{Connectors: builtin.Registry(), Mappings: set}).App
	ctx := context.Background()
	demo, _, err := devenv.DemoUsers(ctx, a.Pool(), sim, cfg.Admin.Token)
	require.NoError(t, err)
	w := &world{app: a, sim: sim, story: story, smtp: smtp, api: api, users: map[string]int64{}, logins: map[string]string{}}
	for _, u := range demo {
		w.logins[u.Email] = u.Password
	}
	rows, err := a.Pool().Query(ctx, `SELECT email, id FROM auth_user`)
	require.NoError(t, err)
	for rows.Next() {
		var e string
		var id int64
		require.NoError(t, rows.Scan(&e, &id))
		w.users[e] = id
	}
	require.NoError(t, rows.Err())
	// The first sync of every object is done: later records are news.
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, a.Pool().QueryRow(ctx, `SELECT count(*) FROM sync_cursor WHERE last_success_at IS NULL`).Scan(&pending))
		var n int
		require.NoError(t, a.Pool().QueryRow(ctx, `SELECT count(*) FROM sync_cursor`).Scan(&n))
		return n >= 8 && pending == 0
	}, 60*time.Second, 50*time.Millisecond, "first syncs")
	return w
}

const (
	alice  = "alice.admin@demo.portico.test"
	mark   = "mark.member@demo.portico.test"
	bianca = "bianca.billing@demo.portico.test"
	owen   = "owen.member@demo.portico.test"
	paula  = "paula.parent@demo.portico.test"
)

// message is one mail the SMTP server accepted, decoded.
type message struct {
	To, Subject, Text, HTML string
	Header                  netmail.Header
}

func (w *world) mails(t *testing.T) []message {
	t.Helper()
	raw, _, _ := w.smtp.Snapshot()
	out := make([]message, 0, len(raw))
	for _, r := range raw {
		m, err := netmail.ReadMessage(strings.NewReader(r))
		require.NoError(t, err)
		dec := new(mime.WordDecoder)
		subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
		require.NoError(t, err)
		msg := message{To: m.Header.Get("To"), Subject: subject, Header: m.Header}
		_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		require.NoError(t, err)
		if b := params["boundary"]; b != "" {
			mr := multipart.NewReader(m.Body, b)
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				body, err := io.ReadAll(p) // multipart decodes quoted-printable itself
				require.NoError(t, err)
				if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
					msg.HTML = string(body)
				} else {
					msg.Text = string(body)
				}
			}
		} else {
			body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
			msg.Text = string(body)
		}
		out = append(out, msg)
	}
	return out
}

// mailsTo are the notification mails to one address whose subject holds s.
func (w *world) mailsTo(t *testing.T, to, s string) []message {
	var out []message
	for _, m := range w.mails(t) {
		if m.To == to && strings.Contains(m.Subject, s) && m.Header.Get("X-Portico-Kind") == "notification" {
			out = append(out, m)
		}
	}
	return out
}

// waitMail waits for a mail to one address whose subject holds s.
func (w *world) waitMail(t *testing.T, to, s string) message {
	t.Helper()
	var got []message
	require.Eventually(t, func() bool {
		got = w.mailsTo(t, to, s)
		return len(got) > 0
	}, 20*time.Second, 20*time.Millisecond, "mail to %s about %q", to, s)
	return got[0]
}

// settle waits until no event waits and no notify job is queued for the
// next seconds, so that what has not arrived by now will not soon.
func (w *world) settle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, w.app.Pool().QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM notify_event WHERE processed_at IS NULL) +
			(SELECT count(*) FROM river_job WHERE queue = 'notify' AND kind <> 'notify_scan' AND state NOT IN ('completed', 'cancelled', 'discarded')
			 AND scheduled_at < now() + interval '5 seconds')`).Scan(&n))
		return n == 0
	}, 20*time.Second, 20*time.Millisecond, "notify settles")
}

// client is a signed-in user of the portal API.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (w *world) signIn(t *testing.T, email string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	// A generous timeout: signing in hashes the password, slow on a
	// loaded machine.
	c := &client{t: t, base: w.api, c: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	code, _ := c.call(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": w.logins[email]}, nil)
	require.Equal(t, http.StatusOK, code)
	u, _ := url.Parse(w.api)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "portico_csrf" {
			c.csrf = ck.Value
		}
	}
	return c
}

// call sends body as JSON and decodes the answer into out.
func (c *client) call(method, path string, body, out any) (int, string) {
	c.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		require.NoError(c.t, json.Unmarshal(raw, out))
	}
	return resp.StatusCode, string(raw)
}

// get reads a path and answers its body, which must be a 200.
func (c *client) get(t *testing.T, path string) []byte {
	t.Helper()
	b, _ := c.getWithHeader(t, path)
	return b
}

// getWithHeader is get with the answer's header.
func (c *client) getWithHeader(t *testing.T, path string) ([]byte, http.Header) {
	t.Helper()
	resp, err := c.c.Get(c.base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return b, resp.Header
}

// raw is the source payload the cache holds of one record.
func (w *world) raw(t *testing.T, object, id string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, w.app.Pool().QueryRow(context.Background(), `SELECT raw FROM record WHERE object = $1 AND source_id = $2`, object, id).Scan(&m))
	return m
}

// recordOf finds the source id of a record of an object and account
// whose mapped field has a value.
func (w *world) recordOf(t *testing.T, object, account, field, value string) string {
	t.Helper()
	var id string
	require.NoError(t, w.app.Pool().QueryRow(context.Background(), `SELECT source_id FROM record WHERE object = $1 AND owner_account = $2
		AND data->'fields'->>$3 = $4`, object, account, field, value).Scan(&id))
	return id
}

// inbox is a user's inbox titles.
func (w *world) inbox(t *testing.T, email string) []string {
	t.Helper()
	ns, err := w.app.Notify().Inbox(context.Background(), w.app.TenantID(), w.users[email], 100)
	require.NoError(t, err)
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.Title)
	}
	return out
}

// waitInbox waits for a notice in a user's inbox whose title holds s.
func (w *world) waitInbox(t *testing.T, email, s string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, title := range w.inbox(t, email) {
			if strings.Contains(title, s) {
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "inbox of %s: %q", email, s)
}

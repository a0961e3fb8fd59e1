package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/web/webtest"
)

// withNotify gives the portal the notifications' service; its send jobs
// are inserted by an insert-only River client.
func withNotify(svc **notify.Service) func(*options) {
	return func(o *options) { o.notify = svc }
}

func newNotify(t *testing.T, e *env) *notify.Service {
	t.Helper()
	reg := jobs.NewRegistry()
	var client *river.Client[pgx.Tx]
	svc, err := notify.New(notify.Options{
		Pool: e.pool, Records: records.New(records.Options{Pool: e.pool, Mappings: e.set}), Policy: access.NewPolicy(e.pool),
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return client.InsertTx(ctx, tx, args, opts)
		},
		SigningKey: []byte("0123456789abcdef0123456789abcdef"), PublicURL: "http://portal.test",
	})
	require.NoError(t, err)
	notify.Register(reg, svc, 0)
	client, err = jobs.NewClient(e.pool, config.Default().River, reg, jobs.InsertOnly, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return svc
}

var badge = regexp.MustCompile(`<span class="badge">(\d+)`)

// A case changes at the source: the header counts the notice, the inbox
// shows it, marking it read (a plain form, no script) clears the count,
// and another account's user sees none of it.
func TestInboxCountsShowsAndMarksRead(t *testing.T) {
	t.Parallel()
	var svc *notify.Service
	e := setup(t, withNotify(&svc))
	ctx := context.Background()
	b := e.signedIn("member@alpha.test", apitest.Alpha, "member")
	other := e.signedIn("member@beta.test", apitest.Beta, "member")
	home := b.get("/")
	require.Contains(t, home.body, `href="/notifications"`)
	require.NotRegexp(t, badge, home.body)

	caseID := e.fx.IDs[apitest.Alpha]["case"][0]
	// As a sync of a newer version writes it (the fixture's versions do
	// not move).
	_, err := e.pool.Exec(ctx, `UPDATE record SET status = 'waiting_on_you', data = jsonb_set(data, '{status}', '"waiting_on_you"'),
		source_version = 'v2' WHERE object = 'case' AND source_id = $1`, caseID)
	require.NoError(t, err)
	require.NoError(t, svc.DispatchAll(ctx))

	home = b.get("/")
	require.Equal(t, "1", badge.FindStringSubmatch(home.body)[1], "one unread in the header")
	inbox := b.get("/notifications")
	require.Equal(t, http.StatusOK, inbox.code)
	require.Contains(t, inbox.body, "Printer on fire "+caseID)
	require.Contains(t, inbox.body, `href="/cases/`+caseID+`"`)
	m := regexp.MustCompile(`action="/notifications/(\d+)/read"`).FindStringSubmatch(inbox.body)
	require.NotNil(t, m, inbox.body)

	// Another user cannot mark it read, nor see it.
	otherInbox := other.get("/notifications")
	require.NotContains(t, otherInbox.body, caseID)
	require.Equal(t, http.StatusNotFound, other.post("/notifications/"+m[1]+"/read", nil).code, "another user's notice is not found")
	require.Equal(t, "1", badge.FindStringSubmatch(b.get("/").body)[1])

	res := b.post("/notifications/"+m[1]+"/read", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/notifications?sent=read", res.location())
	require.NotRegexp(t, badge, b.get("/notifications").body)

	// German.
	b.lang = "de"
	require.Contains(t, b.get("/notifications").body, "Benachrichtigungen")
}

// The preferences page saves a choice per event and channel and the
// quiet hours; a bad time zone is refused beside its field and changes
// nothing.
func TestNotificationPreferencesPage(t *testing.T) {
	t.Parallel()
	var svc *notify.Service
	e := setup(t, withNotify(&svc))
	b := e.signedIn("member@alpha.test", apitest.Alpha, "member")
	pg := b.get("/notifications/preferences")
	require.Equal(t, http.StatusOK, pg.code)
	require.Contains(t, pg.body, `name="case_status_email"`)

	form := url.Values{"case_status_email": {"digest"}, "case_status_inbox": {"immediate"}, "time_zone": {"Mars/Olympus"},
		"quiet_start": {"22:00"}, "quiet_end": {"07:00"}}
	res := b.post("/notifications/preferences", form)
	require.Equal(t, http.StatusUnprocessableEntity, res.code)
	require.Contains(t, res.body, `id="f-time_zone-error"`)
	require.Contains(t, res.body, "Mars/Olympus", "what was typed stays")
	var uid, tenant int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id, tenant_id FROM auth_user WHERE email = 'member@alpha.test'`).Scan(&uid, &tenant))
	p, err := svc.Preferences(context.Background(), tenant, uid)
	require.NoError(t, err)
	require.Equal(t, "immediate", p.Modes["case_status"]["email"], "nothing changed")

	form.Set("time_zone", "Europe/Berlin")
	res = b.post("/notifications/preferences", form)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	p, err = svc.Preferences(context.Background(), tenant, uid)
	require.NoError(t, err)
	require.Equal(t, "digest", p.Modes["case_status"]["email"])
	require.Equal(t, notify.Settings{TimeZone: "Europe/Berlin", QuietStart: 22 * 60, QuietEnd: 7 * 60}, p.Settings)
	saved := b.get("/notifications/preferences?sent=prefs")
	require.Contains(t, saved.body, `value="22:00"`)
}

// The inbox, the preferences (also refused with an error) and the
// unsubscribe page pass axe in English and German, and work without
// JavaScript: marking read and saving are plain forms.
func TestBrowserNotificationPages(t *testing.T) {
	t.Parallel()
	var svc *notify.Service
	e := setup(t, withNotify(&svc))
	base := e.srv.URL
	e.user("member@alpha.test", apitest.Alpha, "member")
	caseID := e.fx.IDs[apitest.Alpha]["case"][0]
	_, err := e.pool.Exec(context.Background(), `UPDATE record SET status = 'waiting_on_you', source_version = 'v2' WHERE object = 'case' AND source_id = $1`, caseID)
	require.NoError(t, err)
	require.NoError(t, svc.DispatchAll(context.Background()))

	for _, lang := range []string{"en", "de"} {
		for _, js := range []bool{true, false} {
			opts := []webtest.Option{webtest.WithLanguage(lang)}
			if !js {
				opts = append(opts, webtest.WithoutJS())
			}
			p := webtest.New(t, opts...)
			signInTo(t, p, base, "", "member@alpha.test")
			require.Equal(t, base+"/", p.URL())
			label := func(s string) string { return fmt.Sprintf("%s-%s-js=%v", s, lang, js) }
			require.Equal(t, http.StatusOK, p.Navigate(base+"/notifications"))
			check(t, p, label("inbox"), http.StatusOK)
			require.Equal(t, http.StatusOK, p.Navigate(base+"/notifications/preferences"))
			check(t, p, label("prefs"), http.StatusOK)
			p.Fill("#f-time_zone", "Mars/Olympus")
			send(t, p, `form[action="/notifications/preferences"]`, "#f-time_zone-error", "Europe/Berlin")
			check(t, p, label("prefs-error"), http.StatusUnprocessableEntity)
			require.Equal(t, http.StatusOK, p.Navigate(base+"/notify/unsubscribe?u=1&t=x"))
			check(t, p, label("unsubscribe"), http.StatusOK)
			if lang == "en" && !js {
				// Marking read without script: a form, a redirect, no badge.
				require.Equal(t, http.StatusOK, p.Navigate(base+"/notifications"))
				require.Equal(t, http.StatusOK, p.Submit(`form[action^="/notifications/"][action$="/read"]`))
				require.NotContains(t, p.Text("header"), "unread")
			}
		}
	}
}

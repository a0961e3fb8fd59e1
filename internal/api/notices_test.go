package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/store"
)

// userID is the id of the user with email.
func (e *env) userID(email string) int64 {
	e.t.Helper()
	var id int64
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT id FROM auth_user WHERE email = $1`, email).Scan(&id))
	return id
}

// notice places an inbox notice for the user, as the dispatcher does.
func (e *env) notice(user int64, title string) string {
	e.t.Helper()
	id, err := store.NoticeInsert(context.Background(), e.pool, store.NoticeInsertParams{
		TenantID: 1, UserID: user, Kind: notify.EventCaseStatus, Connection: "crm", Object: "case", SourceID: title,
		Title: title, Body: "now in progress", Link: "/cases/" + title, Inbox: true, Email: "none",
	})
	require.NoError(e.t, err)
	return strconv.FormatInt(id, 10)
}

// inbox is GET /api/v1/me/notifications: the ids newest first, and the
// unread count.
func (c *client) inbox(t *testing.T) (ids []string, unread int) {
	t.Helper()
	res := c.get("/api/v1/me/notifications")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	body := res.json(t)
	for _, n := range body["data"].([]any) {
		ids = append(ids, n.(map[string]any)["id"].(string))
	}
	return ids, int(body["unread"].(float64))
}

// The inbox API is the inbox page's: newest first with the unread count,
// one or all marked read; another user's notice is a 404 that marks
// nothing, and each notice marked counts once as opened in the reports.
func TestNotificationsInboxAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	alice := e.user("inbox-alice@example.com", Alpha, []string{"member"}, false, false)
	bob := e.user("inbox-bob@example.com", Beta, []string{"member"}, false, false)
	a1, a2, a3 := e.notice(e.userID("inbox-alice@example.com"), "A1"), e.notice(e.userID("inbox-alice@example.com"), "A2"), e.notice(e.userID("inbox-alice@example.com"), "A3")
	b1 := e.notice(e.userID("inbox-bob@example.com"), "B1")

	ids, unread := alice.inbox(t)
	require.Equal(t, []string{a3, a2, a1}, ids, "newest first, only her own")
	require.Equal(t, 3, unread)

	// Another user's notice, and ids that are no notice: 404, nothing marked.
	for _, id := range []string{b1, "0", "-1", "x", "999999999"} {
		res := alice.post("/api/v1/me/notifications/"+id+"/read", nil)
		require.Equal(t, http.StatusNotFound, res.code, "%s: %s", id, res.body)
	}
	_, bobUnread := bob.inbox(t)
	require.Equal(t, 1, bobUnread, "alice cannot mark bob's notice read")

	res := alice.post("/api/v1/me/notifications/"+a2+"/read", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, map[string]any{"marked": 1.0, "unread": 2.0}, res.json(t))
	res = alice.post("/api/v1/me/notifications/"+a2+"/read", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, map[string]any{"marked": 0.0, "unread": 2.0}, res.json(t), "read already: marked again it is not")

	res = alice.post("/api/v1/me/notifications/read", nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, map[string]any{"marked": 2.0, "unread": 0.0}, res.json(t))
	_, unread = alice.inbox(t)
	require.Zero(t, unread)
	_, bobUnread = bob.inbox(t)
	require.Equal(t, 1, bobUnread, "marking all of alice's leaves bob's")

	res = alice.get("/api/v1/me/notifications?limit=0")
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	require.Contains(t, string(res.body), `"limit"`)

	// Staff have no inbox, as on the pages.
	staff := e.user("inbox-staff@example.com", "", []string{"operator_admin"}, false, true)
	require.Equal(t, http.StatusNotFound, staff.get("/api/v1/me/notifications").code)

	// Three notices opened, once each, all alice's account's.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.events.Flush(ctx)
	table, err := reports.New(e.pool, 1).Run(ctx, "notifications", reports.Query{From: time.Now().Add(-24 * time.Hour), Until: time.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	opened := map[string]int64{}
	for _, row := range table.Rows {
		for i, col := range table.Columns {
			if col == "opened" {
				opened[row[1].(string)] += row[i].(int64)
			}
		}
	}
	require.Equal(t, map[string]int64{Alpha: 3}, opened, "%v %v", table.Columns, table.Rows)
}

// Preferences through the API are the preferences page's; a bad value is
// a 422 naming its field and changes nothing.
func TestNotificationPreferencesAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("prefs@example.com", Alpha, []string{"member"}, false, false)
	res := c.get("/api/v1/me/notification-preferences")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	before := res.json(t)
	require.Equal(t, "UTC", before["time_zone"])
	require.Len(t, before["modes"], len(notify.Events))

	good := map[string]any{
		"modes":     map[string]any{notify.EventCaseStatus: map[string]any{"email": "digest", "inbox": "off"}},
		"time_zone": "Europe/Berlin", "quiet_start": "22:00", "quiet_end": "07:30",
	}
	res = c.do("PUT", "/api/v1/me/notification-preferences", good, nil)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	after := res.json(t)
	require.Equal(t, "Europe/Berlin", after["time_zone"])
	require.Equal(t, "22:00", after["quiet_start"])
	require.Equal(t, "07:30", after["quiet_end"])
	require.Equal(t, map[string]any{"email": "digest", "inbox": "off"}, after["modes"].(map[string]any)[notify.EventCaseStatus])
	p, err := e.notify.Preferences(context.Background(), 1, e.userID("prefs@example.com"))
	require.NoError(t, err)
	require.Equal(t, notify.Settings{TimeZone: "Europe/Berlin", QuietStart: 22 * 60, QuietEnd: 7*60 + 30}, p.Settings, "the service the pages read")

	for _, bad := range []struct {
		field string
		edit  func(m map[string]any)
	}{
		{"modes." + notify.EventOrderShipped + ".inbox", func(m map[string]any) {
			m["modes"] = map[string]any{notify.EventOrderShipped: map[string]any{"email": "off", "inbox": "digest"}}
		}},
		{"modes.nope", func(m map[string]any) { m["modes"] = map[string]any{"nope": map[string]any{"email": "off"}} }},
		{"time_zone", func(m map[string]any) { m["time_zone"] = "Mars/Olympus" }},
		{"quiet_start", func(m map[string]any) { m["quiet_start"] = "25:00" }},
		{"quiet_end", func(m map[string]any) { m["quiet_end"] = "7" }},
	} {
		body := map[string]any{
			"modes":     map[string]any{notify.EventInvoiceIssued: map[string]any{"email": "off"}},
			"time_zone": "America/New_York", "quiet_start": "01:00", "quiet_end": "02:00",
		}
		bad.edit(body)
		res := c.do("PUT", "/api/v1/me/notification-preferences", body, nil)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, "%s: %s", bad.field, res.body)
		require.Contains(t, string(res.body), `"`+bad.field+`"`, "the error names the field")
		now := c.get("/api/v1/me/notification-preferences").json(t)
		require.Equal(t, after, now, "%s: a bad value changes nothing", bad.field)
	}
}

// buildExports builds the exports queued so far, as the job would.
func (e *env) buildExports() {
	e.t.Helper()
	w := &privacy.ExportWorker{Service: e.privacy}
	for {
		select {
		case args := <-e.exports:
			require.NoError(e.t, w.Work(context.Background(), &river.Job[privacy.ExportArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5}, Args: args}))
		default:
			return
		}
	}
}

// "Download my data" through the API: a one-time link, pending until the
// job built it, the zip once, then 404; nobody else's link works.
func TestExportsAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("export-me@example.com", Alpha, []string{"member"}, false, false)
	other := e.user("export-other@example.com", Alpha, []string{"account_admin"}, false, false)
	res := c.post("/api/v1/me/exports", nil)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	link := res.json(t)["url"].(string)
	require.Equal(t, "/api/v1/me/exports/"+res.json(t)["token"].(string), link)

	res = c.get(link)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	require.Equal(t, "pending", res.json(t)["state"])
	e.buildExports()

	require.Equal(t, http.StatusNotFound, other.get(link).code, "another user's link")
	require.Equal(t, http.StatusNotFound, c.get("/api/v1/me/exports/not-a-token").code)

	res = c.get(link)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, "application/zip", res.header.Get("Content-Type"))
	zr, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	require.NotEmpty(t, names)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(rc)
		_ = rc.Close()
		found = found || bytes.Contains(buf.Bytes(), []byte("export-me@example.com"))
	}
	require.True(t, found, "the zip holds the user's data: %v", names)

	require.Equal(t, http.StatusNotFound, c.get(link).code, "once")
}

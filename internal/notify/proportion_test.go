package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/notify"
)

// A case changing status three times within the hold is one notice per
// recipient, showing the final state.
func TestThreeChangesInAMinuteAreOneNoticeWithTheFinalState(t *testing.T) {
	t.Parallel()
	w := start(t, func(c *config.Config) { c.Notify.Hold = 3 * time.Second })
	for _, status := range []string{"Working", "Waiting on Customer", "Closed"} {
		require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": status}))
		// Each change reaches the cache (and makes its event) before the next.
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, w.app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM notify_event WHERE kind = 'case_status'`).Scan(&n))
			return n >= map[string]int{"Working": 1, "Waiting on Customer": 2, "Closed": 3}[status]
		}, 10*time.Second, 10*time.Millisecond)
	}
	w.waitMail(t, mark, "Closed")
	w.settle(t)
	got := w.mailsTo(t, mark, "Case ")
	require.Len(t, got, 1, "one notice")
	require.Contains(t, got[0].Subject, "Closed")
	require.Contains(t, got[0].Text, "Open a new case if you need more help.", "the final state's next step")
	ns, err := w.app.Notify().Inbox(context.Background(), w.app.TenantID(), w.users[mark], 10)
	require.NoError(t, err)
	require.Len(t, ns, 1)
	require.Equal(t, 3, ns[0].Events)
}

// Digest, quiet hours and the daily cap: Mark chose the daily digest for
// case news, Alice is in her quiet hours, Paula reached the cap.
func TestDigestQuietHoursAndCap(t *testing.T) {
	t.Parallel()
	w := start(t, func(c *config.Config) { c.Notify.DailyCap = 2 })
	ctx := context.Background()
	svc := w.app.Notify()
	tenant := w.app.TenantID()
	require.NoError(t, svc.SetPreference(ctx, tenant, w.users[mark], notify.EventCaseStatus, notify.ChannelEmail, notify.ModeDigest))
	require.NoError(t, svc.SetPreference(ctx, tenant, w.users[mark], notify.EventCaseComment, notify.ChannelEmail, notify.ModeDigest))
	// Alice is in Berlin; her quiet hours run from an hour ago to two hours on.
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	now := time.Now().In(berlin)
	minute := func(t time.Time) int { return t.Hour()*60 + t.Minute() }
	quietEnd := now.Add(2 * time.Hour)
	require.NoError(t, svc.SetPreferences(ctx, tenant, w.users[alice], nil,
		notify.Settings{TimeZone: "Europe/Berlin", QuietStart: minute(now.Add(-time.Hour)), QuietEnd: minute(quietEnd)}))

	// Three cases change (two of Mark's account, one of its parent's,
	// which only Paula sees); a staff reply on the first.
	var cases, statuses []string
	rows, err := w.app.Pool().Query(ctx, `SELECT source_id, status FROM record WHERE object = 'case' AND owner_account = ANY ($1) AND NOT hidden
		ORDER BY owner_account = $2 DESC, source_id LIMIT 3`, []string{w.story.Child, w.story.Parent}, w.story.Child)
	require.NoError(t, err)
	for rows.Next() {
		var id, status string
		require.NoError(t, rows.Scan(&id, &status))
		cases, statuses = append(cases, id), append(statuses, status)
	}
	require.NoError(t, rows.Err())
	require.Len(t, cases, 3)
	for i, id := range cases {
		to := "Closed"
		if statuses[i] == "closed" {
			to = "Working"
		}
		require.NoError(t, w.sim.StaffEdit("salesforce", "Case", id, map[string]any{"Status": to}))
	}
	_, err = w.sim.CreateRecord("salesforce", "CaseComment", map[string]any{"ParentId": cases[0], "CommentBody": "All done.", "IsPublished": true})
	require.NoError(t, err)
	caseNews := func(email string) int {
		n := 0
		for _, title := range w.inbox(t, email) {
			if strings.HasPrefix(title, "Case ") || strings.HasPrefix(title, "New reply") {
				n++
			}
		}
		return n
	}
	if !assertEventually(func() bool { return caseNews(mark) == 3 && caseNews(paula) == 4 }) {
		t.Fatalf("inboxes: mark %q paula %q", w.inbox(t, mark), w.inbox(t, paula))
	}
	w.settle(t)

	// Paula: two mails, then the cap: the rest wait for the digest.
	require.Len(t, w.mailsTo(t, paula, ""), 2, "capped at 2")
	paulaNotices := len(w.inbox(t, paula))
	// Mark: nothing by mail yet.
	require.Empty(t, w.mailsTo(t, mark, ""))
	// Alice: nothing now; her mails are due when her quiet hours end.
	require.Empty(t, w.mailsTo(t, alice, "Case "))
	require.Empty(t, w.mailsTo(t, alice, "New reply"))
	var due []time.Time
	rows, err = w.app.Pool().Query(ctx, `SELECT j.scheduled_at FROM river_job j JOIN notice n ON n.id = (j.args->>'notice_id')::bigint
		WHERE j.kind = 'notify_email' AND n.user_id = $1 AND n.kind LIKE 'case%'`, w.users[alice])
	require.NoError(t, err)
	for rows.Next() {
		var at time.Time
		require.NoError(t, rows.Scan(&at))
		due = append(due, at)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, due)
	wantEnd := time.Date(quietEnd.Year(), quietEnd.Month(), quietEnd.Day(), quietEnd.Hour(), quietEnd.Minute(), 0, 0, berlin)
	for _, at := range due {
		require.WithinDuration(t, wantEnd, at, time.Second, "sent when the quiet hours end")
	}

	// The digest: one mail each, grouped by kind.
	require.NoError(t, svc.QueueDigests(ctx))
	d := w.waitMail(t, mark, "Your daily summary: 3 updates")
	require.Contains(t, d.Text, "== Cases ==")
	require.Less(t, strings.Index(d.Text, "== Cases =="), strings.Index(d.Text, "All done.")+len("All done."))
	require.Equal(t, 1, strings.Count(d.Text, "== Cases =="), "one group for the case news")
	// Each item links to its case through the counted link (the
	// engagement test follows one to the case's page).
	require.GreaterOrEqual(t, strings.Count(d.Text, "/notify/click/"), 2)
	require.NotContains(t, d.Text, "/cases/"+cases[2], "the parent account's case is not Mark's to see")
	pd := w.waitMail(t, paula, fmt.Sprintf("Your daily summary: %d updates", paulaNotices-2))
	require.Contains(t, pd.HTML, "<h2")
	require.NoError(t, svc.QueueDigests(ctx), "a second run the same day sends nothing more")
	w.settle(t)
	require.Len(t, w.mailsTo(t, mark, "Your daily summary"), 1)
}

// assertEventually polls cond for 20 s, for a failure that says more
// than "never satisfied".
func assertEventually(cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

package notify_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/reports"
)

// The reports' notification figures count what notify did: a notice is
// sent when its inbox item is created or its mail is accepted (once, even
// when both), opened when it is marked read, and clicked (and so opened)
// when its mail's signed link is followed; a forged link counts nothing.
func TestEngagementEventsFeedTheReports(t *testing.T) {
	t.Parallel()
	w := start(t)
	ctx := context.Background()
	svc, tenant := w.app.Notify(), w.app.TenantID()
	// Mark reads mail only: his notice has no inbox item, and counts as
	// sent only once the server accepted it.
	require.NoError(t, svc.SetPreference(ctx, tenant, w.users[mark], notify.EventCaseStatus, notify.ChannelInbox, notify.ModeOff))
	// Paula the inbox only: hers counts as sent when the item is created.
	require.NoError(t, svc.SetPreference(ctx, tenant, w.users[paula], notify.EventCaseStatus, notify.ChannelEmail, notify.ModeOff))
	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": "Working"}))
	markMail := w.waitMail(t, mark, "In progress")
	w.waitMail(t, alice, "In progress")
	w.waitInbox(t, paula, "In progress")
	w.settle(t)
	require.Empty(t, w.mailsTo(t, paula, "In progress"))
	inbox, err := svc.Inbox(ctx, tenant, w.users[alice], 10)
	require.NoError(t, err)
	require.Len(t, inbox, 1)
	marked, err := svc.MarkRead(ctx, tenant, w.users[alice], inbox[0].ID)
	require.NoError(t, err)
	require.Equal(t, 1, marked)
	marked, err = svc.MarkRead(ctx, tenant, w.users[alice], 0)
	require.NoError(t, err)
	require.Zero(t, marked, "read already: not opened twice")

	// Mark follows his mail's link, signed in or not: counted, and on to
	// the case's page.
	link := clickLink.FindString(markMail.Text)
	require.NotEmpty(t, link, markMail.Text)
	require.Contains(t, markMail.HTML, `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	for _, forged := range []string{link[:strings.Index(link, "?t=")] + "?t=forged", strings.Replace(link, "/click/", "/click/1", 1)} {
		resp, err := noFollow.Get(forged)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, forged)
	}
	resp, err := noFollow.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/cases/"+w.story.WaitingCase, resp.Header.Get("Location"))

	account := func(email string) string {
		var acc string
		require.NoError(t, w.app.Pool().QueryRow(ctx, `SELECT account_id FROM auth_user WHERE email = $1`, email).Scan(&acc))
		return acc
	}
	marks, paulas := account(mark), account(paula)
	require.Equal(t, marks, account(alice))
	require.NotEqual(t, marks, paulas)
	// Hand-computed: Mark's account was sent two notices (Mark's mail,
	// Alice's inbox item and mail), both opened (Alice's read, Mark's
	// clicked), one clicked; Paula's one, none opened.
	want := map[string][3]int64{marks: {2, 2, 1}, paulas: {1, 0, 0}}
	rep := reports.New(w.app.Pool(), tenant)
	var got map[string][3]int64
	assert.Eventually(t, func() bool {
		table, err := rep.Run(ctx, "notifications", reports.Query{From: time.Now().Add(-24 * time.Hour), Until: time.Now().Add(24 * time.Hour)})
		require.NoError(t, err)
		col := map[string]int{}
		for i, c := range table.Columns {
			col[c] = i
		}
		got = map[string][3]int64{}
		for _, r := range table.Rows {
			acc := r[col["account_id"]].(string)
			g := got[acc]
			g[0] += r[col["sent"]].(int64)
			g[1] += r[col["opened"]].(int64)
			g[2] += r[col["clicked"]].(int64)
			got[acc] = g
		}
		return len(got) == len(want) && got[marks] == want[marks] && got[paulas] == want[paulas]
	}, 15*time.Second, 50*time.Millisecond, "the recorder writes within its flush interval")
	require.Equal(t, want, got, "sent, opened and clicked per account")
}

var clickLink = regexp.MustCompile(`http://\S+/notify/click/\d+\?t=[A-Za-z0-9_-]+`)

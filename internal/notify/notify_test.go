package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/config"
)

// A staff member moves Mark's case on in the CRM: the users of Mark's
// account who may see cases (Alice, Mark) and Paula, who sees her child
// accounts, are told by branded mail with text and HTML parts and in their
// inbox; the other account's users (Bianca, Owen) hear nothing.
func TestCaseStatusChangeIsMailedToThoseWhoSeeTheCaseOnly(t *testing.T) {
	t.Parallel()
	// A short window: the second change below is not folded into the first.
	w := start(t, func(c *config.Config) { c.Notify.DedupWindow = 200 * time.Millisecond })
	ctx := context.Background()
	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": "Working"}))

	m := w.waitMail(t, mark, "In progress")
	require.Contains(t, m.Subject, "Espresso grinder rattles since Monday")
	require.Contains(t, m.Text, "We are working on your request.", "the status's next step")
	require.Contains(t, m.Text, w.api+"/notify/click/", "the case's page, through the counted link")
	require.Contains(t, m.HTML, "We are working on your request.")
	require.Contains(t, m.HTML, `href="`+w.api+`/notify/click/`)
	require.Contains(t, m.Header.Get("List-Unsubscribe"), w.api+"/notify/unsubscribe?")
	require.Equal(t, "List-Unsubscribe=One-Click", m.Header.Get("List-Unsubscribe-Post"))
	w.waitMail(t, alice, "In progress")
	w.waitMail(t, paula, "In progress")
	w.settle(t)
	for _, other := range []string{bianca, owen} {
		require.Empty(t, w.mailsTo(t, other, ""), "%s is of another account", other)
	}
	require.Len(t, w.mailsTo(t, mark, "In progress"), 1, "once")

	// The inbox holds it, unread, and the count drops when it is read.
	svc := w.app.Notify()
	tenant := w.app.TenantID()
	inbox, err := svc.Inbox(ctx, tenant, w.users[mark], 10)
	require.NoError(t, err)
	require.Len(t, inbox, 1)
	require.Contains(t, inbox[0].Title, "In progress")
	n, err := svc.Unread(ctx, tenant, w.users[mark])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = svc.MarkRead(ctx, tenant, w.users[owen], inbox[0].ID)
	require.NoError(t, err, "another user's notice")
	n, _ = svc.Unread(ctx, tenant, w.users[mark])
	require.Equal(t, 1, n, "another user cannot mark it read")
	_, err = svc.MarkRead(ctx, tenant, w.users[mark], inbox[0].ID)
	require.NoError(t, err)
	n, _ = svc.Unread(ctx, tenant, w.users[mark])
	require.Equal(t, 0, n)
	for _, other := range []string{bianca, owen} {
		in, err := svc.Inbox(ctx, tenant, w.users[other], 10)
		require.NoError(t, err)
		require.Empty(t, in)
	}

	// One-click unsubscribe (RFC 8058): a POST to the link turns that
	// event's mail off; the next change reaches the inbox only.
	u, err := url.Parse(strings.Trim(m.Header.Get("List-Unsubscribe"), "<>"))
	require.NoError(t, err)
	bad := *u
	q := bad.Query()
	q.Set("u", "1")
	bad.RawQuery = q.Encode()
	resp, err := http.Post(bad.String(), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a link for another user is refused")
	resp, err = http.Post(u.String(), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": "Closed"}))
	w.waitMail(t, alice, "Closed")
	w.settle(t)
	require.Empty(t, w.mailsTo(t, mark, "Closed"), "Mark unsubscribed")
	inbox, err = svc.Inbox(ctx, tenant, w.users[mark], 10)
	require.NoError(t, err)
	require.Len(t, inbox, 2)
	require.Contains(t, inbox[0].Title, "Closed")
}

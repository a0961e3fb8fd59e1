package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/records"
)

// List pages come from memory once rendered, are shared by users with the
// same scope and never by users with another, and are dropped as soon as
// anything they show changes in the database.
func TestPageCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	amy := e.user("amy@alpha.example", Alpha, []string{"member"}, false, false)
	admin := e.user("admin@alpha.example", Alpha, []string{"account_admin"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"member"}, false, false)

	hits := func() int64 { _, h, _ := e.api.PageCacheStats(); return h }
	first := ada.get("/api/v1/cases")
	require.Equal(t, http.StatusOK, first.code)
	h0 := hits()
	again := ada.get("/api/v1/cases")
	require.Equal(t, first.body, again.body)
	require.Equal(t, first.header.Get("ETag"), again.header.Get("ETag"))
	require.Equal(t, h0+1, hits(), "the second read is served from memory")
	require.Equal(t, first.body, amy.get("/api/v1/cases").body, "a user with the same scope shares the page")
	require.Equal(t, h0+2, hits())
	require.Equal(t, http.StatusNotModified, ada.do("GET", "/api/v1/cases", nil, http.Header{"If-None-Match": {first.header.Get("ETag")}}).code)

	// Other scopes render their own pages.
	theirs := bob.get("/api/v1/cases")
	require.NotEqual(t, first.body, theirs.body)
	require.NotContains(t, string(theirs.body), "500A", "another account's page never answers")
	require.NotContains(t, string(first.body), "500B")
	require.Equal(t, http.StatusOK, admin.get("/api/v1/cases").code)
	// A parent account's user who sees its children has a wider scope than
	// one who does not: same account, different pages.
	wide := e.user("pat@parent.example", Parent, []string{"member"}, true, false).get("/api/v1/cases")
	narrow := e.user("pia@parent.example", Parent, []string{"member"}, false, false).get("/api/v1/cases")
	require.Contains(t, string(wide.body), "500A")
	require.NotContains(t, string(narrow.body), "500A", "the narrower scope never gets the wider page")
	require.Contains(t, string(narrow.body), "500P")

	// The user's own change shows in their very next list (the process that
	// took it also drops its pages itself, not only on the notification).
	for _, id := range []string{"500A00000000000", "500A00000000001"} {
		require.Equal(t, http.StatusOK, ada.get("/api/v1/cases").code) // cached again
		require.Equal(t, http.StatusAccepted, ada.post("/api/v1/cases/"+id+"/close", nil).code)
		var list struct {
			Data []struct {
				ID        string `json:"id"`
				Freshness struct {
					PendingAction any `json:"pending_action"`
				} `json:"freshness"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(ada.get("/api/v1/cases").body, &list))
		for _, r := range list.Data {
			if r.ID == id {
				require.NotNil(t, r.Freshness.PendingAction, "the list read right after the write shows it pending")
			}
		}
	}

	// A change to another object leaves the case pages alone: once the
	// invoice change is visible (its notification has been handled), the
	// case page is still served from memory.
	billing := e.user("bill@alpha.example", Alpha, []string{"billing"}, false, false)
	require.Equal(t, http.StatusOK, ada.get("/api/v1/cases").code)
	require.Equal(t, http.StatusOK, billing.get("/api/v1/invoices").code)
	_, err := e.pool.Exec(ctx, `UPDATE record SET data = jsonb_set(data, '{fields,number}', '"INV-CHANGED"')
		WHERE tenant_id = 1 AND object = 'invoice' AND owner_account = $1`, Alpha)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return contains(billing.get("/api/v1/invoices").body, "INV-CHANGED") },
		5*time.Second, 5*time.Millisecond, "the invoice page shows the change")
	h1 := hits()
	require.Equal(t, http.StatusOK, ada.get("/api/v1/cases").code)
	require.Equal(t, h1+1, hits(), "the case page survived a change to invoices")

	// A change in the cache (as a sync writes it) shows at once.
	_, err = e.pool.Exec(ctx, `UPDATE record SET data = jsonb_set(data, '{fields,subject}', '"Changed by staff"')
		WHERE tenant_id = 1 AND object = 'case' AND source_id = '500A00000000000'`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return contains(ada.get("/api/v1/cases").body, "Changed by staff")
	}, 5*time.Second, 5*time.Millisecond, "the page shows the change")

	// So does a sync run moving synced_at.
	before := ada.get("/api/v1/cases").body
	_, err = e.pool.Exec(ctx, `INSERT INTO sync_cursor (tenant_id, connection, object, synced_through, last_success_at)
		VALUES (1, 'salesforce', 'Case', now() + interval '1 second', now())
		ON CONFLICT (tenant_id, connection, object) DO UPDATE SET synced_through = now() + interval '1 second'`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return string(ada.get("/api/v1/cases").body) != string(before) },
		5*time.Second, 5*time.Millisecond, "synced_at moves with the sync cursor")
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// The status hub's lists (RecordLists) go through the same page cache:
// each list is kept under its own options, a page the JSON API rendered
// serves them and the other way round, and a change drops them. Records
// bypasses the cache.
func TestRecordListsThroughThePageCache(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	var me struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(ada.get("/api/v1/me").body, &me))
	ctx, err := e.api.WithScope(auth.WithPrincipal(context.Background(),
		&auth.Principal{UserID: me.ID, TenantID: 1, AccountID: Alpha, ContactID: "003" + Alpha[3:], Roles: []string{"member"}}))
	require.NoError(t, err)
	hits := func() int64 { _, h, _ := e.api.PageCacheStats(); return h }
	qs := []api.ListQuery{
		{Object: "case", Options: records.ListOptions{Limit: 5}},
		{Object: "case", Options: records.ListOptions{StatusNot: "closed", Limit: 5}},
	}
	h0 := hits()
	first, err := e.api.RecordLists(ctx, qs)
	require.NoError(t, err)
	require.Equal(t, h0, hits(), "nothing kept yet: a page per options, not one for both")
	require.NotEmpty(t, first[0].Data)
	again, err := e.api.RecordLists(ctx, qs)
	require.NoError(t, err)
	require.Equal(t, asJSON(t, first), asJSON(t, again))
	require.Equal(t, h0+2, hits(), "both from memory")
	api1 := ada.get("/api/v1/cases?limit=5")
	require.Equal(t, h0+3, hits(), "the JSON API's page of the same options is the same entry")
	var list api.List
	require.NoError(t, json.Unmarshal(api1.body, &list))
	require.Equal(t, asJSON(t, first[0]), asJSON(t, list))

	_, err = e.api.Records(ctx, "case", records.ListOptions{Limit: 5})
	require.NoError(t, err)
	require.Equal(t, h0+3, hits(), "Records reads the database")

	_, err = e.pool.Exec(ctx, `UPDATE record SET data = jsonb_set(data, '{fields,subject}', '"Changed by staff"')
		WHERE tenant_id = 1 AND object = 'case' AND source_id = $1`, first[1].Data[0].ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		lists, err := e.api.RecordLists(ctx, qs)
		return err == nil && strings.Contains(string(lists[1].Data[0].Fields), "Changed by staff")
	}, 5*time.Second, 5*time.Millisecond, "a change drops the kept lists")
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// A user's actions in conflict or failed (MyActions, on every view of the
// status hub) are kept with the list pages, for that user alone, and
// dropped when an action of the tenant changes, in this process or
// another (the change below is written straight into the database).
func TestMyActionsThroughThePageCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := setup(t)
	scoped := func(c *client) context.Context {
		var me struct {
			User struct {
				ID int64 `json:"user_id"`
			} `json:"user"`
		}
		require.NoError(t, json.Unmarshal(c.get("/api/v1/me").body, &me))
		require.NotZero(t, me.User.ID)
		sctx, err := e.api.WithScope(auth.WithPrincipal(ctx,
			&auth.Principal{UserID: me.User.ID, TenantID: 1, AccountID: Alpha, ContactID: "003" + Alpha[3:], Roles: []string{"member"}}))
		require.NoError(t, err)
		return sctx
	}
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	amy := e.user("amy@alpha.example", Alpha, []string{"member"}, false, false)
	adaCtx, amyCtx := scoped(ada), scoped(amy)
	troubled := []string{"conflict", "failed"}
	hits := func() int64 { _, h, _ := e.api.PageCacheStats(); return h }
	mine := func(c context.Context) []api.Action {
		acts, err := e.api.MyActions(c, troubled, 5)
		require.NoError(t, err)
		return acts
	}

	closed := ada.post("/api/v1/cases/500A00000000001/close", nil)
	require.Equal(t, http.StatusAccepted, closed.code)
	id := closed.json(t)["id"].(string)
	require.Empty(t, mine(adaCtx))
	h0 := hits()
	require.Empty(t, mine(adaCtx))
	require.Equal(t, h0+1, hits(), "the second read is served from memory")
	require.Empty(t, mine(amyCtx))
	require.Equal(t, h0+1, hits(), "another user of the same scope has a list of their own")

	_, err := e.pool.Exec(ctx, `UPDATE action SET state = 'conflict',
		conflict = '{"yours": {"status": "closed"}, "current": {"status": "in_progress"}, "current_version": "v2"}' WHERE id = $1`, id)
	require.NoError(t, err)
	require.Eventually(t, func() bool { acts := mine(adaCtx); return len(acts) == 1 && acts[0].ID == id },
		5*time.Second, 5*time.Millisecond, "the conflict shows once the action's change is notified")
	require.Empty(t, mine(amyCtx), "and only to its author")
	h1 := hits()
	require.Len(t, mine(adaCtx), 1)
	require.Equal(t, h1+1, hits(), "kept again")
}

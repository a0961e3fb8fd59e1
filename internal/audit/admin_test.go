package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
)

type listing struct {
	pool *pgxpool.Pool
	srv  *httptest.Server
	ids  map[string]int64 // by label
	base time.Time
}

func setupListing(t *testing.T) listing {
	t.Helper()
	ctx := context.Background()
	b := setup(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ids := map[string]int64{}
	for i, s := range []struct {
		label string
		e     audit.Event
	}{
		{"login", audit.Event{TenantID: b.tenant, Actor: audit.UserActor("u1"), AccountID: "A1", Action: "auth.login", IP: netip.MustParseAddr("192.0.2.1")}},
		{"failed", audit.Event{TenantID: b.tenant, Actor: audit.SystemActor(), Action: "auth.login_failed", After: map[string]any{"email": "x@example.com"}}},
		{"case", audit.Event{TenantID: b.tenant, Actor: audit.UserActor("u1"), AccountID: "A1", Action: "case.create", Object: "case", ObjectID: "c1", After: map[string]any{"subject": "s"}}},
		{"applied", audit.Event{TenantID: b.tenant, Actor: audit.SystemActor(), AccountID: "A1", Action: "action.applied", Object: "case", ObjectID: "c1"}},
		{"retry", audit.Event{TenantID: b.tenant, Actor: audit.StaffActor("9"), Action: "admin.action.retry", Object: "case", ObjectID: "c2"}},
		{"other", audit.Event{TenantID: b.other, Actor: audit.UserActor("u7"), AccountID: "B1", Action: "auth.login"}},
	} {
		s.e.OccurredAt = base.Add(time.Duration(i) * time.Hour)
		a, err := audit.Append(ctx, b.pool, s.e)
		require.NoError(t, err)
		ids[s.label] = a.ID
	}
	srv := httptest.NewServer(audit.AdminRoutes(b.log))
	t.Cleanup(srv.Close)
	return listing{pool: b.pool, srv: srv, ids: ids, base: base}
}

func (l listing) get(t *testing.T, query string) (int, audit.Page, map[string]any) {
	t.Helper()
	resp, err := http.Get(l.srv.URL + "/?" + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var raw map[string]any
	var page audit.Page
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	} else {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	}
	return resp.StatusCode, page, raw
}

func (l listing) labels(page audit.Page) []string {
	byID := map[int64]string{}
	for k, v := range l.ids {
		byID[v] = k
	}
	var out []string
	for _, e := range page.Events {
		out = append(out, byID[e.ID])
	}
	return out
}

func TestAdminListingFilters(t *testing.T) {
	t.Parallel()
	l := setupListing(t)
	for query, want := range map[string][]string{
		"":                         {"other", "retry", "applied", "case", "failed", "login"},
		"actor=u1":                 {"case", "login"},
		"actor=staff:9":            {"retry"},
		"actor_kind=system":        {"applied", "failed"},
		"account=A1":               {"applied", "case", "login"},
		"object=case":              {"retry", "applied", "case"},
		"object=case&object_id=c1": {"applied", "case"},
		"action=auth.login":        {"other", "login"},
		"action=auth.*":            {"other", "failed", "login"},
		"action=admin.action.*":    {"retry"},
		"tenant=acme":              {"other"},
		"since=" + url.QueryEscape(l.base.Add(2*time.Hour).Format(time.RFC3339)): {"other", "retry", "applied", "case"},
		"until=" + url.QueryEscape(l.base.Add(2*time.Hour).Format(time.RFC3339)): {"failed", "login"},
		"since=2026-03-01T13:00:00%2B00:00&until=2026-03-01T15:00:00Z&actor=u1":  {"case"},
		"actor=nobody": nil,
	} {
		code, page, raw := l.get(t, query)
		require.Equal(t, http.StatusOK, code, "%s: %v", query, raw)
		require.Equal(t, want, l.labels(page), query)
		require.Empty(t, page.NextCursor, query)
	}

	_, page, _ := l.get(t, "object_id=c1&action=case.create")
	require.Len(t, page.Events, 1)
	e := page.Events[0]
	require.Equal(t, "default", e.Tenant)
	require.Equal(t, "u1", e.Actor)
	require.Equal(t, "user", e.ActorKind)
	require.JSONEq(t, `{"subject":"s"}`, string(e.After))
	require.JSONEq(t, "null", string(e.Before), "no before is null")
	require.Nil(t, e.Seq, "not sealed yet")
	require.Nil(t, e.Hash)
	seal(t, l.pool)
	_, page, _ = l.get(t, "object_id=c1&action=case.create")
	require.EqualValues(t, 3, *page.Events[0].Seq)
	require.Len(t, *page.Events[0].Hash, 64)
	require.Len(t, *page.Events[0].PrevHash, 64)

	_, page, _ = l.get(t, "action=auth.login&tenant=default")
	require.Equal(t, "192.0.2.1", *page.Events[0].IP)
}

func TestAdminListingPages(t *testing.T) {
	t.Parallel()
	l := setupListing(t)
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10, "paging ends")
		q := "limit=4"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		code, page, raw := l.get(t, q)
		require.Equal(t, http.StatusOK, code, raw)
		require.LessOrEqual(t, len(page.Events), 4)
		seen = append(seen, l.labels(page)...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Equal(t, []string{"other", "retry", "applied", "case", "failed", "login"}, seen, "every event once, newest first")

	_, page, _ := l.get(t, "limit=2&account=A1")
	require.Equal(t, []string{"applied", "case"}, l.labels(page))
	_, page, _ = l.get(t, "limit=2&account=A1&cursor="+page.NextCursor)
	require.Equal(t, []string{"login"}, l.labels(page), "the cursor keeps the filters' order")
	require.Empty(t, page.NextCursor)
}

func TestAdminListingRefusesBadParameters(t *testing.T) {
	t.Parallel()
	l := setupListing(t)
	for query, field := range map[string]string{
		"since=yesterday":  "since",
		"until=2026-03-01": "until",
		"since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z": "until",
		"limit=0":         "limit",
		"limit=501":       "limit",
		"limit=ten":       "limit",
		"cursor=garbage!": "cursor",
		"cursor=djE6LTE":  "cursor", // "v1:-1"
		"actor=":          "actor",
		"action=Login":    "action",
		"action=auth":     "action",
		"colour=blue":     "colour",
		"actor=a&actor=b": "actor",
	} {
		code, _, raw := l.get(t, query)
		require.Equal(t, http.StatusBadRequest, code, query)
		errObj := raw["error"].(map[string]any)
		require.Equal(t, "invalid", errObj["code"], query)
		require.Contains(t, errObj["message"], field, query)
		fields := errObj["fields"].([]any)
		require.Equal(t, field, fields[0].(map[string]any)["path"], query)
		require.NotEmpty(t, fields[0].(map[string]any)["message"], query)
	}
	code, _, raw := l.get(t, "limit=0&since=x")
	require.Equal(t, http.StatusBadRequest, code)
	require.Len(t, raw["error"].(map[string]any)["fields"], 2, "every bad field is named")
}

func TestAdminListingDatabaseFailureIs500(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	pool.Close()
	srv := httptest.NewServer(audit.AdminRoutes(audit.New(pool, slog.New(slog.DiscardHandler))))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	var body map[string]map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "internal", body["error"]["code"])
}

package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/records"
)

// Every part of a scope and of the list options is part of a page's key;
// the order of accounts and roles is not.
func TestPageKey(t *testing.T) {
	base := access.Scope{TenantID: 1, Accounts: []string{"A", "B"}, Roles: []string{"member", "billing"}, Contact: "C"}
	lo := records.ListOptions{Status: "new", Sort: "updated_at", Cursor: "x", Limit: 10, UpdatedSince: time.Unix(5, 0)}
	key := pageKey(base, "case", lo)

	same := base
	same.Accounts, same.Roles = []string{"B", "A"}, []string{"billing", "member"}
	require.Equal(t, key, pageKey(same, "case", lo))

	scopes := []func(*access.Scope){
		func(s *access.Scope) { s.TenantID = 2 },
		func(s *access.Scope) { s.Accounts = []string{"A"} },
		func(s *access.Scope) { s.Accounts = []string{"A", "B", "C"} },
		func(s *access.Scope) { s.Accounts = []string{"A,B"} },
		func(s *access.Scope) { s.Roles = []string{"member"} },
		func(s *access.Scope) { s.Roles = append(s.Roles, "account_admin") },
		func(s *access.Scope) { s.Staff = true },
		func(s *access.Scope) { s.Contact = "D" },
		func(s *access.Scope) { s.PublicObjects = []string{"case"} },
	}
	for i, change := range scopes {
		s := base
		s.Accounts, s.Roles = append([]string(nil), base.Accounts...), append([]string(nil), base.Roles...)
		change(&s)
		require.NotEqual(t, key, pageKey(s, "case", lo), "scope change %d", i)
	}
	options := []func(*records.ListOptions){
		func(o *records.ListOptions) { o.Status = "" },
		func(o *records.ListOptions) { o.Sort = "-updated_at" },
		func(o *records.ListOptions) { o.Cursor = "" },
		func(o *records.ListOptions) { o.Limit = 11 },
		func(o *records.ListOptions) { o.UpdatedSince = time.Time{} },
		func(o *records.ListOptions) { o.UpdatedSince = time.Unix(6, 0) },
	}
	for i, change := range options {
		o := lo
		change(&o)
		require.NotEqual(t, key, pageKey(base, "case", o), "option change %d", i)
	}
	require.NotEqual(t, key, pageKey(base, "order", lo))
}

// A page is kept until its first record turns stale, never with a stale
// record, and never after a change to its object raced its rendering; a
// change drops its own tenant's pages of its object and no others.
func TestPagesKeepOnlyFreshUnchangedPages(t *testing.T) {
	now := time.Now()
	objectsOf := func(connection, sourceObject string) []string {
		if connection == "salesforce" && sourceObject == "Case" {
			return []string{"case"}
		}
		return nil
	}
	p := newPages(1<<20, objectsOf)
	p.SetLive(true)
	cases, orders, otherTenant := group{1, "case"}, group{1, "order"}, group{2, "case"}
	page := rendered{body: []byte("x"), until: now.Add(time.Second)}
	keep := func(g group, key string) {
		t.Helper()
		p.put(p.begin(g), key, page, now)
		_, ok := p.get(key, now)
		require.True(t, ok, key)
	}
	has := func(key string) bool { _, ok := p.get(key, now); return ok }

	keep(cases, "c")
	_, ok := p.get("c", now.Add(999*time.Millisecond))
	require.True(t, ok)
	_, ok = p.get("c", now.Add(time.Second))
	require.False(t, ok, "expired when its first record turns stale")

	keep(cases, "c")
	keep(orders, "o")
	keep(otherTenant, "t2")
	p.Notify("r:1:order")
	require.False(t, has("o"), "a changed order drops the order pages")
	require.True(t, has("c"), "and no case page")
	require.True(t, has("t2"))
	p.Notify("a:2:case")
	require.False(t, has("t2"), "an action drops its object's pages of its tenant")
	require.True(t, has("c"))
	p.Notify("c:1:salesforce:Case")
	require.False(t, has("c"), "a moved sync cursor drops the pages of the object it feeds")

	keep(cases, "c")
	keep(orders, "o")
	p.Notify("c:1:accounting:Invoice")
	require.True(t, has("c") && has("o"), "an object with no pages drops nothing")
	p.Notify("")
	require.False(t, has("c") || has("o"), "anything else drops every page")

	tk := p.begin(cases)
	p.Notify("r:1:case")
	p.put(tk, "c", page, now)
	require.False(t, has("c"), "a page rendered before a change to its object is not kept")
	tk = p.begin(cases)
	p.Notify("r:1:order")
	p.put(tk, "c", page, now)
	require.True(t, has("c"), "a change to another object does not spoil it")

	require.True(t, freshUntil([]records.Record{{}, {Freshness: records.Freshness{Stale: true}}}, now).IsZero(),
		"a page with a stale record is never kept")

	p.SetLive(false)
	require.False(t, has("c"))
	p.put(p.begin(cases), "c", page, now)
	require.False(t, has("c"), "nothing is kept while the listener is down")
}

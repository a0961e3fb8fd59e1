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
// record, and never after a notification raced its rendering.
func TestPagesKeepOnlyFreshUnchangedPages(t *testing.T) {
	now := time.Now()
	p := newPages(1 << 20)
	p.SetLive(true)
	gen, keep := p.begin()
	require.True(t, keep)
	p.put(gen, "k", rendered{body: []byte("x"), until: now.Add(time.Second)}, now)
	_, ok := p.get("k", now.Add(999*time.Millisecond))
	require.True(t, ok)
	_, ok = p.get("k", now.Add(time.Second))
	require.False(t, ok, "expired when its first record turns stale")

	gen, _ = p.begin()
	p.Notify("")
	p.put(gen, "k", rendered{body: []byte("x"), until: now.Add(time.Second)}, now)
	_, ok = p.get("k", now)
	require.False(t, ok, "a page rendered before a change is not kept")

	require.True(t, freshUntil([]records.Record{{}, {Freshness: records.Freshness{Stale: true}}}, now).IsZero(),
		"a page with a stale record is never kept")

	p.SetLive(false)
	gen, keep = p.begin()
	require.False(t, keep)
	p.put(gen, "k", rendered{body: []byte("x"), until: now.Add(time.Second)}, now)
	_, ok = p.get("k", now)
	require.False(t, ok, "nothing is kept while the listener is down")
}

package records_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type bundle struct {
	pool     *pgxpool.Pool
	set      *mapping.Set
	reader   *records.Reader
	mu       sync.Mutex
	enqueued []syncer.RefreshArgs
	now      time.Time
}

func setup(t *testing.T) *bundle {
	t.Helper()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	b := &bundle{pool: dbtest.Pool(t), set: set, now: time.Now()}
	b.reader = records.New(records.Options{
		Pool: b.pool, Mappings: set,
		Enqueue: func(_ context.Context, a syncer.RefreshArgs) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.enqueued = append(b.enqueued, a)
			return nil
		},
		Now: func() time.Time { return b.now },
	})
	return b
}

// addCases stores n cases of account through the real mapping.
func (b *bundle) addCases(t *testing.T, account string, n int, prefix string) []string {
	t.Helper()
	obj, ok := b.set.BySource("salesforce", "Case")
	require.True(t, ok)
	var rows []store.Row
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s%03d", prefix, i)
		mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		raw, _ := json.Marshal(map[string]any{
			"attributes": map[string]any{"type": "Case"}, "Id": id, "CaseNumber": fmt.Sprint(1000 + i),
			"Subject": "Printer " + id, "Status": "Working", "Priority": "High", "AccountId": account,
			"ContactId": "003" + account, "SystemModstamp": mod.Format("2006-01-02T15:04:05.000+0000"),
			"LastModifiedDate": mod.Format("2006-01-02T15:04:05.000+0000"), "Description": "secret internal text",
		})
		row, err := syncer.MapRecord(obj, connectors.Record{Object: "Case", ID: id, Version: mod.String(), Modified: mod, Raw: raw})
		require.NoError(t, err)
		rows = append(rows, row)
		ids = append(ids, id)
	}
	_, err := store.UpsertRows(context.Background(), b.pool, store.Page{TenantID: 1, Connection: "salesforce", Object: "case", SourceObject: "Case", MappingHash: obj.Hash()}, rows)
	require.NoError(t, err)
	return ids
}

func member(accounts ...string) access.Scope {
	return access.Scope{TenantID: 1, Accounts: accounts, Roles: []string{"member"}}
}

func TestGetIsScoped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	mine := b.addCases(t, "ACC1", 2, "500A")
	theirs := b.addCases(t, "ACC2", 2, "500B")

	rec, err := b.reader.Get(ctx, member("ACC1"), "case", mine[0], records.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "Printer "+mine[0], rec.Field("subject"))
	require.NotEmpty(t, rec.StatusLabel)
	require.NotEmpty(t, rec.NextStep)
	require.False(t, rec.Freshness.SyncedAt.IsZero())
	require.False(t, rec.Freshness.Stale)

	for _, id := range []string{theirs[0], "500DOESNOTEXIST"} {
		_, err = b.reader.Get(ctx, member("ACC1"), "case", id, records.GetOptions{})
		require.ErrorIs(t, err, records.ErrNotFound, "foreign and missing ids look the same")
	}
	billing := access.Scope{TenantID: 1, Accounts: []string{"ACC1"}, Roles: []string{"billing"}}
	_, err = b.reader.Get(ctx, billing, "case", mine[0], records.GetOptions{})
	require.ErrorIs(t, err, records.ErrNotFound, "billing users do not see cases")
	page, err := b.reader.List(ctx, billing, "case", records.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, page.Records)

	other := member("ACC1")
	other.TenantID = 2
	_, err = b.reader.Get(ctx, other, "case", mine[0], records.GetOptions{})
	require.ErrorIs(t, err, records.ErrNotFound, "another tenant")
}

func TestListPagesWithoutGapsOrForeignRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	mine := b.addCases(t, "ACC1", 23, "500A")
	b.addCases(t, "ACC2", 10, "500B")

	seen := map[string]bool{}
	cursor := ""
	pages := 0
	var prev time.Time
	for {
		page, err := b.reader.List(ctx, member("ACC1"), "case", records.ListOptions{Limit: 5, Cursor: cursor})
		require.NoError(t, err)
		pages++
		for _, r := range page.Records {
			require.False(t, seen[r.ID], "no duplicates across pages")
			seen[r.ID] = true
			require.Equal(t, "ACC1", r.Account)
			if !prev.IsZero() {
				require.False(t, r.Modified.After(prev), "newest first")
			}
			prev = r.Modified
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	require.Len(t, seen, len(mine))
	require.Equal(t, 5, pages)

	_, err := b.reader.List(ctx, member("ACC1"), "case", records.ListOptions{Cursor: "garbage"})
	require.ErrorIs(t, err, records.ErrInvalid)
	_, err = b.reader.List(ctx, member("ACC1"), "case", records.ListOptions{Limit: 1000})
	require.ErrorIs(t, err, records.ErrInvalid)
	page, err := b.reader.List(ctx, member("ACC1"), "case", records.ListOptions{Status: "closed"})
	require.NoError(t, err)
	require.Empty(t, page.Records, "status filter")
	page, err = b.reader.List(ctx, member("ACC1"), "case", records.ListOptions{UpdatedSince: time.Date(2026, 1, 1, 0, 20, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, page.Records, 3, "updated since")
}

func TestStaleReadEnqueuesRefreshAndSaysSo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ids := b.addCases(t, "ACC1", 1, "500A")
	b.now = time.Now().Add(10 * time.Minute) // past the case's freshness target

	rec, err := b.reader.Get(ctx, member("ACC1"), "case", ids[0], records.GetOptions{})
	require.NoError(t, err)
	require.True(t, rec.Freshness.Stale)
	require.Equal(t, []syncer.RefreshArgs{{Connection: "salesforce", Object: "Case", ID: ids[0]}}, b.enqueued)

	_, err = b.pool.Exec(ctx, `INSERT INTO sync_cursor (tenant_id, connection, object, failing_since) VALUES (1, 'salesforce', 'Case', now() - interval '1 minute')`)
	require.NoError(t, err)
	rec, err = b.reader.Get(ctx, member("ACC1"), "case", ids[0], records.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, rec.Freshness.SourceUnavailableSince)
}

func TestFieldVisibilityPerRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	obj, _ := b.set.Object("account")
	raw, _ := json.Marshal(map[string]any{"Id": "001X", "Name": "Acme", "QuickBooks_Customer_Id__c": "58", "SystemModstamp": "2026-01-01T00:00:00.000+0000"})
	row, err := syncer.MapRecord(obj, connectors.Record{Object: "Account", ID: "001X", Version: "1", Raw: raw})
	require.NoError(t, err)
	_, err = store.UpsertRows(ctx, b.pool, store.Page{TenantID: 1, Connection: "salesforce", Object: "account", SourceObject: "Account", MappingHash: obj.Hash()}, []store.Row{row})
	require.NoError(t, err)

	rec, err := b.reader.Get(ctx, member("001X"), "account", "001X", records.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "Acme", rec.Field("name"))
	require.NotContains(t, rec.Fields, "accounting_customer_id", "an admin-only field is removed before serialisation")
	admin := access.Scope{TenantID: 1, Accounts: []string{"001X"}, Roles: []string{"account_admin"}}
	rec, err = b.reader.Get(ctx, admin, "account", "001X", records.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "58", rec.Field("accounting_customer_id"))
}

type breaker struct{ open bool }

func (b *breaker) BreakerOpen(string) bool { return b.open }

func TestFreshReadGoesToTheSourceUnlessItsBreakerIsOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ids := b.addCases(t, "ACC1", 1, "500A")
	var calls []string
	br := &breaker{}
	refreshErr := error(nil)
	reader := records.New(records.Options{
		Pool: b.pool, Mappings: b.set, Health: br, FreshTimeout: time.Second,
		Refresh: func(ctx context.Context, connection, object, id string) error {
			_, hasDeadline := ctx.Deadline()
			require.True(t, hasDeadline, "a fresh read is bounded by the fresh timeout")
			calls = append(calls, connection+"/"+object+"/"+id)
			return refreshErr
		},
	})
	rec, err := reader.Get(ctx, member("ACC1"), "case", ids[0], records.GetOptions{Fresh: true})
	require.NoError(t, err)
	require.Equal(t, []string{"salesforce/Case/" + ids[0]}, calls)
	require.False(t, rec.Freshness.Stale)

	br.open = true
	rec, err = reader.Get(ctx, member("ACC1"), "case", ids[0], records.GetOptions{Fresh: true})
	require.NoError(t, err)
	require.Len(t, calls, 1, "an open breaker is not asked")
	require.NotNil(t, rec)

	br.open = false
	refreshErr = fmt.Errorf("source timed out")
	rec, err = reader.Get(ctx, member("ACC1"), "case", ids[0], records.GetOptions{Fresh: true})
	require.NoError(t, err, "a failed fresh read falls back to the cache")
	require.True(t, rec.Freshness.Stale, "and says the value may be stale")

	_, err = reader.Get(ctx, member("ACC2"), "case", ids[0], records.GetOptions{Fresh: true})
	require.ErrorIs(t, err, records.ErrNotFound)
	require.Len(t, calls, 2, "a foreign id is never read through")
}

// TestListPagesRecordsWithoutAModificationTime: records a source gives no
// modification time sort last and page like any other, without repeats.
func TestListPagesRecordsWithoutAModificationTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.addCases(t, "ACC1", 3, "500A")
	_, err := b.pool.Exec(ctx, `UPDATE record SET source_modified = NULL`)
	require.NoError(t, err)
	seen := map[string]int{}
	cursor := ""
	for range 10 {
		page, err := b.reader.List(ctx, member("ACC1"), "case", records.ListOptions{Limit: 1, Cursor: cursor})
		require.NoError(t, err)
		for _, r := range page.Records {
			seen[r.ID]++
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	require.Len(t, seen, 3)
	for id, n := range seen {
		require.Equal(t, 1, n, "%s listed once", id)
	}
}

// TestRelatedReadsACasesCommentsInScope: Related reads the comments of one
// case, oldest first, only within the scope, with the records' own
// freshness, and nothing of another case.
func TestRelatedReadsACasesCommentsInScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	obj, ok := b.set.Object("case_comment")
	require.True(t, ok)
	comment := func(id, caseID, account string, minute int) store.Row {
		data, err := json.Marshal(mapping.Mapped{Object: "case_comment", ID: id, Fields: map[string]any{"case_id": caseID, "body": "b-" + id}})
		require.NoError(t, err)
		return store.Row{SourceID: id, OwnerAccount: account, Data: data, Raw: json.RawMessage(`{}`), Version: "v1",
			Modified: time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC)}
	}
	_, err := store.UpsertRows(ctx, b.pool, store.Page{TenantID: 1, Connection: "salesforce", Object: "case_comment", SourceObject: "CaseComment", MappingHash: obj.Hash()},
		[]store.Row{comment("c2", "case1", "acc1", 2), comment("c1", "case1", "acc1", 1), comment("c3", "case2", "acc1", 3), comment("c4", "case1", "acc2", 4)})
	require.NoError(t, err)

	got, err := b.reader.Related(ctx, member("acc1"), "case_comment", store.RecordFilter{CaseID: "case1", Order: store.OldestFirst, Limit: 10})
	require.NoError(t, err)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
		require.Equal(t, "case_comment", r.Object)
		require.False(t, r.Freshness.SyncedAt.IsZero())
	}
	require.Equal(t, []string{"c1", "c2"}, ids, "case1's comments of acc1, oldest first")

	got, err = b.reader.Related(ctx, access.Scope{TenantID: 1, Roles: []string{"billing"}}, "case_comment", store.RecordFilter{CaseID: "case1", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, got, "a role that cannot see comments reads none")
}

// roundTrips counts what a pool sends: batches (one round trip each) and
// single queries.
type roundTrips struct {
	mu             sync.Mutex
	batches, other int
}

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.other++
	return ctx
}

func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	return ctx
}

func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (c *roundTrips) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches, c.other
}

// TestListManyReadsEveryListInOneRoundTrip: the status hub's lists, each
// under its own scope, come back as List answers each, from one batch.
func TestListManyReadsEveryListInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	b.addCases(t, "ACC1", 4, "500A")
	b.addCases(t, "ACC2", 3, "500B")
	cfg, err := pgxpool.ParseConfig(b.pool.Config().ConnString())
	require.NoError(t, err)
	trips := &roundTrips{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pool.Ping(ctx))
	reader := records.New(records.Options{Pool: pool, Mappings: b.set, Now: func() time.Time { return b.now }})

	reqs := []records.ListRequest{
		{Scope: member("ACC1"), Object: "case", Options: records.ListOptions{Limit: 2}},
		{Scope: member("ACC2"), Object: "case"},
		{Scope: member("ACC2"), Object: "case", Options: records.ListOptions{StatusNot: "in_progress"}},
		{Scope: member("ACC1"), Object: "no_such_object"},
		{Scope: member("ACC1", "ACC2"), Object: "case", Options: records.ListOptions{Sort: "updated_at", Limit: 5}},
	}
	b0, q0 := trips.counts()
	pages, err := reader.ListMany(ctx, reqs)
	require.NoError(t, err)
	b1, q1 := trips.counts()
	require.Equal(t, 1, b1-b0, "one batch")
	require.Equal(t, q0, q1, "and nothing else")
	require.Len(t, pages, len(reqs))
	for i, req := range reqs {
		one, err := reader.List(ctx, req.Scope, req.Object, req.Options)
		require.NoError(t, err)
		require.Equal(t, one, pages[i], "request %d answers as List does", i)
	}
	require.Len(t, pages[0].Records, 2)
	require.NotEmpty(t, pages[0].Next)
	require.Len(t, pages[1].Records, 3)
	require.Equal(t, "ACC2", pages[1].Records[0].Account)
	require.Empty(t, pages[2].Records)
	require.Empty(t, pages[3].Records)
	require.Len(t, pages[4].Records, 5)

	_, err = reader.ListMany(ctx, []records.ListRequest{{Scope: member("ACC1"), Object: "case"}, {Scope: access.Scope{TenantID: 1, Staff: true}, Object: "case"}})
	require.ErrorContains(t, err, "staff and customer scopes in one read")
	_, err = reader.ListMany(ctx, []records.ListRequest{{Scope: member("ACC1"), Object: "case"}, {Scope: member("ACC1"), Object: "case", Options: records.ListOptions{Cursor: "garbage"}}})
	require.ErrorIs(t, err, records.ErrInvalid)
}

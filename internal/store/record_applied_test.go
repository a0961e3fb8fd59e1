package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// explainer runs each statement once under EXPLAIN ANALYZE in a
// savepoint it rolls back, keeping the most record rows any plan node
// read (those it returned and those its filter removed), then runs it
// for real.
type explainer struct {
	tx      pgx.Tx
	maxRead float64
}

func (e *explainer) explain(ctx context.Context, sql string, args ...any) error {
	if _, err := e.tx.Exec(ctx, "SAVEPOINT explain"); err != nil {
		return err
	}
	var out []struct{ Plan map[string]any }
	if err := e.tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args...).Scan(&out); err != nil {
		return err
	}
	if _, err := e.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT explain"); err != nil {
		return err
	}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if n["Relation Name"] == "record" && n["Node Type"] != "ModifyTable" {
			rows, _ := n["Actual Rows"].(float64)
			removed, _ := n["Rows Removed by Filter"].(float64)
			loops, _ := n["Actual Loops"].(float64)
			e.maxRead = max(e.maxRead, (rows+removed)*loops)
		}
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			walk(k.(map[string]any))
		}
	}
	walk(out[0].Plan)
	return nil
}

func (e *explainer) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := e.explain(ctx, sql, args...); err != nil {
		return pgconn.CommandTag{}, err
	}
	return e.tx.Exec(ctx, sql, args...)
}

func (e *explainer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := e.explain(ctx, sql, args...); err != nil {
		return nil, err
	}
	return e.tx.Query(ctx, sql, args...)
}

func (e *explainer) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := e.explain(ctx, sql, args...); err != nil {
		return errRow{err}
	}
	return e.tx.QueryRow(ctx, sql, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// poolWithCases is a database whose connection crm caches n cases of
// account ACC1 (500 a page), so that a plan that reads every record of
// the connection shows.
func poolWithCases(t *testing.T, n int) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.Pool(t)
	for start := 0; start < n; start += 500 {
		rows := make([]store.Row, min(500, n-start))
		for i := range rows {
			rows[i] = row(fmt.Sprintf("500%05d", start+i), "ACC1", "1")
		}
		_, err := store.UpsertRows(context.Background(), pool, casePage(), rows)
		require.NoError(t, err)
	}
	return pool
}

// TestStoreAppliedReadsOnlyItsOwnRows: storing a write-back's record
// resolves its owner (through its parent) and hands it to children that
// arrived first, reading only the rows involved however many the
// connection caches. The batch upsert, used for one row, read every
// record of the connection for each action.
func TestStoreAppliedReadsOnlyItsOwnRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := poolWithCases(t, 2000)
	comments := store.Page{TenantID: 1, Connection: "crm", Object: "case_comment", SourceObject: "CaseComment", MappingHash: "h"}
	early := row("00aEARLY", "", "1")
	early.OwnerParentObject, early.OwnerParentID = "case", "500NEW"
	_, err := store.UpsertRows(ctx, pool, comments, []store.Row{early})
	require.NoError(t, err)

	stored := func(page store.Page, r store.Row) float64 {
		t.Helper()
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck // cleanup only: its error (the transaction may have ended) says nothing about the test
		e := &explainer{tx: tx}
		require.NoError(t, store.StoreApplied(ctx, e, page, r))
		require.NoError(t, tx.Commit(ctx))
		return e.maxRead
	}
	var (
		owner string
		data  json.RawMessage
	)
	lookup := func(id string) {
		t.Helper()
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(owner_account, ''), data FROM record WHERE source_id = $1`, id).Scan(&owner, &data))
	}

	read := stored(casePage(), row("500NEW", "ACC2", "1"))
	require.LessOrEqual(t, read, 2.0, "rows of record read to store one case among 2,000")
	lookup("00aEARLY")
	require.Equal(t, "ACC2", owner, "a comment that arrived first takes the case's owner")

	reply := row("00aREPLY", "", "1")
	reply.OwnerParentObject, reply.OwnerParentID = "case", "500NEW"
	read = stored(comments, reply)
	require.LessOrEqual(t, read, 2.0, "rows of record read to store one comment")
	lookup("00aREPLY")
	require.Equal(t, "ACC2", owner, "a comment takes its case's owner")

	again := row("500NEW", "ACC2", "1")
	again.Data = json.RawMessage(`{"subject":"confirmed"}`)
	stored(casePage(), again)
	lookup("500NEW")
	require.JSONEq(t, `{"subject":"confirmed"}`, string(data), "the source's copy replaces the cached one at the same version")
}

// TestHotInsertsLeaveTheTenantRowAlone: an action and its record are
// inserted without locking the tenant row. A foreign key
// to tenant locked it (KEY SHARE) from every concurrent writer.
func TestHotInsertsLeaveTheTenantRowAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	holder, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer holder.Rollback(ctx) //nolint:errcheck // cleanup only: its error (the transaction may have ended) says nothing about the test
	_, err = holder.Exec(ctx, `SELECT id FROM tenant WHERE id = 1 FOR UPDATE`)
	require.NoError(t, err)

	for _, stmt := range []string{
		`INSERT INTO action (tenant_id, user_id, account_id, actor_refs, kind, connection, object, source_object, op, target, input)
		 VALUES (1, 'u1', 'a1', '{}', 'create_case', 'crm', 'case', 'Case', 'create', 'pending:1', '{}')`,
		`INSERT INTO record (tenant_id, connection, object, source_id, source_object, data, raw, mapping_hash)
		 VALUES (1, 'crm', 'case', '500LOCK', 'Case', '{}', '{}', 'h')`,
	} {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, stmt)
			return err
		})
		require.NoError(t, err, "an insert waited on the tenant row: %s", stmt)
	}
}

// TestResolveWaitingProbesEachParent: a page of comments stored before
// their cases had an owner takes the owner with one primary key probe
// per comment, on a freshly filled table without statistics (a full
// sync's). As a join, the plan read every record of the connection once
// per comment, for seconds, while holding the case object's owner lock.
func TestResolveWaitingProbesEachParent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	comments := store.Page{TenantID: 1, Connection: "crm", Object: "case_comment", SourceObject: "CaseComment", MappingHash: "h", Childless: true}
	var waiting, cases []store.Row
	ids := []string{}
	for i := range 500 {
		c := row(fmt.Sprintf("00a%05d", i), "", "1")
		c.OwnerParentObject, c.OwnerParentID = "case", fmt.Sprintf("500%05d", i)
		waiting = append(waiting, c)
		ids = append(ids, c.SourceID)
	}
	_, err := store.UpsertRows(ctx, pool, comments, waiting)
	require.NoError(t, err)
	for i := range 2000 {
		cases = append(cases, row(fmt.Sprintf("500%05d", i), "ACC1", "1"))
	}
	// Childless, so that storing the cases leaves the comments waiting.
	noFixup := casePage()
	noFixup.Childless = true
	_, err = store.UpsertRows(ctx, pool, noFixup, cases)
	require.NoError(t, err)

	resolve := func(name string, f func(e *explainer) error, account string) {
		t.Helper()
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck // cleanup only: its error (the transaction may have ended) says nothing about the test
		e := &explainer{tx: tx}
		require.NoError(t, f(e))
		require.NoError(t, tx.Commit(ctx))
		require.LessOrEqual(t, e.maxRead, 2.0*float64(len(ids)), "%s: rows of record read for %d comments", name, len(ids))
		var owned int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE object = 'case_comment' AND owner_account = $1`, account).Scan(&owned))
		require.Equal(t, len(ids), owned, "%s: every comment takes its case's owner", name)
	}
	resolve("waiting", func(e *explainer) error {
		return store.RecordResolveWaiting(ctx, e, store.RecordResolveWaitingParams{
			TenantID: 1, Connection: "crm", Object: "case_comment", SourceIds: ids,
		})
	}, "ACC1")

	// The cases move: the children fix-up follows them the same way.
	parents := make([]string, len(cases))
	for i := range cases {
		cases[i].OwnerAccount, cases[i].Version = "ACC2", "2"
		parents[i] = cases[i].SourceID
	}
	_, err = store.UpsertRows(ctx, pool, noFixup, cases)
	require.NoError(t, err)
	resolve("children", func(e *explainer) error {
		_, err := store.RecordResolveChildren(ctx, e, store.RecordResolveChildrenParams{
			TenantID: 1, Connection: "crm", ParentObject: pgtype.Text{String: "case", Valid: true}, ParentIds: parents,
		})
		return err
	}, "ACC2")
}

// TestUpsertProbesOnlyTheOwnersItNeeds: a page stores its rows reading
// only the parents and cross-references they name, one key probe each.
// As joins, the page's plan on a freshly filled table hashed every record
// of the connection, for pages that name no parent at all.
func TestUpsertProbesOnlyTheOwnersItNeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := poolWithCases(t, 2000)
	comments := store.Page{TenantID: 1, Connection: "crm", Object: "case_comment", SourceObject: "CaseComment", MappingHash: "h", Childless: true}
	var page []store.Row
	for i := range 200 {
		c := row(fmt.Sprintf("00a%05d", i), "", "1")
		c.OwnerParentObject, c.OwnerParentID = "case", fmt.Sprintf("500%05d", i)
		page = append(page, c)
	}
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // cleanup only: its error (the transaction may have ended) says nothing about the test
	e := &explainer{tx: tx}
	_, err = store.UpsertRows(ctx, e, comments, page)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.LessOrEqual(t, e.maxRead, float64(len(page)), "rows of record read to store %d comments among 2,000 cases", len(page))
	var owned int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE object = 'case_comment' AND owner_account = 'ACC1'`).Scan(&owned))
	require.Equal(t, len(page), owned, "every comment takes its case's owner as it is stored")
}

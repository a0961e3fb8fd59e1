package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// TestOwnersConvergeUnderConcurrentCommits replays, statement by
// statement on two connections, the interleaving that left invoices and
// case comments ownerless: one transaction stores a record whose owner
// comes through a cross-reference or a parent, another stores that
// cross-reference or parent, and neither has committed when the other
// resolves. Both orders are played for each path. The second transaction
// either finishes (the old code) or waits for the first one's commit on
// the owner lock; the test waits for whichever happens, never a fixed time.
func TestOwnersConvergeUnderConcurrentCommits(t *testing.T) {
	t.Parallel()
	invoices := store.Page{TenantID: 1, Connection: "books", Object: "invoice", SourceObject: "Invoice", MappingHash: "h"}
	docs := store.Page{TenantID: 1, Connection: "books", Object: "document", SourceObject: "Attachable", MappingHash: "h", Childless: true}
	comments := store.Page{TenantID: 1, Connection: "crm", Object: "case_comment", SourceObject: "CaseComment", MappingHash: "h", Childless: true}
	invoice := func(id string) store.Row {
		r := row(id, "", "1")
		r.OwnerRefKey, r.OwnerRefValue = "accounting_customer_id", "58"
		return r
	}
	child := func(id, object, parent string) store.Row {
		r := row(id, "", "1")
		r.OwnerParentObject, r.OwnerParentID = object, parent
		return r
	}
	type step func(ctx context.Context, tx pgx.Tx) error
	upsert := func(p store.Page, r store.Row) step {
		return func(ctx context.Context, tx pgx.Tx) error {
			_, err := store.UpsertRows(ctx, tx, p, []store.Row{r})
			return err
		}
	}
	xref := func(ctx context.Context, tx pgx.Tx) error {
		return store.StoreXrefs(ctx, tx, 1, []store.Xref{{Key: "accounting_customer_id", Value: "58", AccountID: "001A"}})
	}
	tests := []struct {
		name          string
		before        []step // committed first
		child, source step   // the two racing transactions
		object, id    string // the record that must get an owner
	}{
		{name: "invoice and its cross-reference", child: upsert(invoices, invoice("130")), source: xref, object: "invoice", id: "130"},
		{name: "comment and its case", child: upsert(comments, child("00a1", "case", "500A")),
			source: upsert(casePage(), row("500A", "ACC1", "1")), object: "case_comment", id: "00a1"},
		{name: "attachment of an invoice waiting for its cross-reference", before: []step{upsert(invoices, invoice("131"))},
			child: upsert(docs, child("att1", "invoice", "131")), source: xref, object: "document", id: "att1"},
	}
	for _, tc := range tests {
		for _, childFirst := range []bool{true, false} {
			name := tc.name + "/source first"
			if childFirst {
				name = tc.name + "/child first"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				pool := dbtest.Pool(t)
				for _, s := range tc.before {
					require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return s(ctx, tx) }))
				}
				first, second := tc.source, tc.child
				if childFirst {
					first, second = tc.child, tc.source
				}
				interleave(t, pool, first, second)
				var owner *string
				require.NoError(t, pool.QueryRow(ctx, `SELECT owner_account FROM record WHERE object = $1 AND source_id = $2`, tc.object, tc.id).Scan(&owner))
				require.NotNil(t, owner, "%s %s has no owner after both transactions committed", tc.object, tc.id)
			})
		}
	}
}

// interleave runs first in one transaction, then second in another before
// the first commits; then commits the first and, once second has run,
// the second.
func interleave(t *testing.T, pool *pgxpool.Pool, first, second func(context.Context, pgx.Tx) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c1, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer c1.Release()
	c2, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer c2.Release()

	tx1, err := c1.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx1.Rollback(ctx) }()
	require.NoError(t, first(ctx, tx1))

	tx2, err := c2.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx2.Rollback(ctx) }()
	done := make(chan error, 1)
	go func() { done <- second(ctx, tx2) }()
	// second either runs to its end or waits for a lock that first holds.
	pid := c2.Conn().PgConn().PID()
	var secondErr error
	finished := false
	require.Eventually(t, func() bool {
		select {
		case secondErr = <-done:
			finished = true
			return true
		default:
		}
		var waiting bool
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting))
		return waiting
	}, 30*time.Second, 5*time.Millisecond, "the second transaction neither finished nor waited for a lock")

	require.NoError(t, tx1.Commit(ctx))
	if !finished {
		secondErr = <-done
	}
	require.NoError(t, secondErr)
	require.NoError(t, tx2.Commit(ctx))
}

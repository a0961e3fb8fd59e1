package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// TestActionUpdatedAtNeverPrecedesCreatedAt: a fresh action is updated
// when it is created, and every transition stamps it no earlier, even from
// a transaction that began before the action was accepted (the worker
// applying an earlier action rebases later ones in its own transaction).
func TestActionUpdatedAtNeverPrecedesCreatedAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)

	insert := func() store.Action {
		a, err := store.ActionInsert(ctx, pool, store.ActionInsertParams{
			TenantID: 1, UserID: "u1", AccountID: "a1", ActorRefs: []byte(`{}`), Kind: "update_case",
			Connection: "salesforce", Object: "case", SourceObject: "Case", Op: "update", Target: "500x",
			Input: []byte(`{}`), ExpectedVersion: "v1",
		})
		require.NoError(t, err)
		return a
	}
	stamps := func(id int64) (created, updated time.Time) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT created_at, updated_at FROM action WHERE id = $1`, id).Scan(&created, &updated))
		return created, updated
	}
	fresh := insert()
	require.Equal(t, fresh.CreatedAt, fresh.UpdatedAt, "a fresh action was last updated when it was created")

	transitions := map[string]func(tx pgx.Tx, a store.Action) error{
		"sending": func(tx pgx.Tx, a store.Action) error { _, err := store.ActionMarkSending(ctx, tx, a.ID); return err },
		"note": func(tx pgx.Tx, a store.Action) error {
			return store.ActionNote(ctx, tx, store.ActionNoteParams{ID: a.ID, ErrorDetail: pgtype.Text{String: "waiting", Valid: true}})
		},
		"applied": func(tx pgx.Tx, a store.Action) error {
			return store.ActionApplied(ctx, tx, store.ActionAppliedParams{ID: a.ID, ResultID: pgtype.Text{String: "500x", Valid: true}})
		},
		"settle": func(tx pgx.Tx, a store.Action) error {
			return store.ActionSettle(ctx, tx, store.ActionSettleParams{ID: a.ID, State: "failed"})
		},
		"rebase": func(tx pgx.Tx, a store.Action) error {
			return store.ActionRebase(ctx, tx, store.ActionRebaseParams{TenantID: 1, Connection: "salesforce", Object: "case",
				Target: "500x", ID: a.ID - 1, OldVersion: "v1", NewVersion: "v2"})
		},
		"requeue": func(tx pgx.Tx, a store.Action) error {
			return store.ActionRequeue(ctx, tx, store.ActionRequeueParams{ID: a.ID, ExpectedVersion: "v3"})
		},
	}
	for name, apply := range transitions {
		// The transaction starts (and now() is fixed) before the action exists.
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `SELECT 1`)
		require.NoError(t, err)
		a := insert()
		require.NoError(t, apply(tx, a), name)
		require.NoError(t, tx.Commit(ctx))
		created, updated := stamps(a.ID)
		require.Falsef(t, updated.Before(created), "%s: updated_at %s is before created_at %s", name, updated, created)
		require.Truef(t, updated.After(created), "%s changed the action", name)
	}
}

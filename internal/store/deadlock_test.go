package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// TestRetryDeadlockRedoesTheVictim makes a real deadlock: the transaction
// under RetryDeadlock holds lock A and waits for B, which another holds
// while it then waits for A. PostgreSQL aborts the one that waited first,
// RetryDeadlock's; its second attempt, once the other has committed,
// succeeds.
func TestRetryDeadlockRedoesTheVictim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	const a, b = 7_101, 7_102
	holdsA := make(chan struct{})
	holdsB := make(chan struct{})
	var attempts int
	var first error
	done := make(chan error, 1)
	go func() {
		done <- store.RetryDeadlock(func() error {
			attempts++
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, a); err != nil {
					return err
				}
				if attempts == 1 {
					close(holdsA)
					<-holdsB
				}
				_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, b)
				return err
			})
			if attempts == 1 {
				first = err
			}
			return err
		})
	}()
	<-holdsA
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, b); err != nil {
			return err
		}
		close(holdsB)
		// The other waits first, so PostgreSQL's deadlock check, which runs
		// in the backend that has waited deadlock_timeout, aborts it.
		require.Eventually(t, func() bool {
			var waiting bool
			require.NoError(t, pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted)`, b).Scan(&waiting))
			return waiting
		}, 10*time.Second, 5*time.Millisecond)
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, a)
		return err
	}))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("RetryDeadlock did not return")
	}
	require.True(t, store.IsDeadlock(first), "the first attempt was the victim: %v", first)
	require.Equal(t, 2, attempts)
}

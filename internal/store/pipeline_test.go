package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// TestPipeline: queued statements run in order before anything that reads,
// and the first one that fails fails the transaction, so nothing of it
// commits.
func TestPipeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	_, err := pool.Exec(ctx, `CREATE TABLE piped (n int PRIMARY KEY)`)
	require.NoError(t, err)

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		p := store.NewPipeline(tx)
		for _, n := range []int{1, 2} {
			_, err := p.Exec(ctx, `INSERT INTO piped VALUES ($1)`, n)
			require.NoError(t, err)
		}
		var got int
		require.NoError(t, p.QueryRow(ctx, `SELECT count(*) FROM piped`).Scan(&got), "a read sends the queue first")
		require.Equal(t, 2, got)
		_, _ = p.Exec(ctx, `UPDATE piped SET n = n * 10 WHERE n = 1`)
		rows, err := p.Query(ctx, `SELECT n FROM piped ORDER BY n`)
		require.NoError(t, err)
		ns, err := pgx.CollectRows(rows, pgx.RowTo[int])
		require.NoError(t, err)
		require.Equal(t, []int{2, 10}, ns, "in the order queued")
		return p.Flush(ctx)
	})
	require.NoError(t, err)

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		p := store.NewPipeline(tx)
		_, _ = p.Exec(ctx, `INSERT INTO piped VALUES (3)`)
		_, _ = p.Exec(ctx, `INSERT INTO piped VALUES (2)`) // a duplicate
		_, _ = p.Exec(ctx, `INSERT INTO piped VALUES (4)`)
		return p.Flush(ctx)
	})
	require.ErrorContains(t, err, "duplicate key")
	require.ErrorIs(t, err, store.ErrConflict, "the pipeline translates the error")
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		p := store.NewPipeline(tx)
		_, _ = p.Exec(ctx, `INSERT INTO piped VALUES (2)`)
		var n int
		return p.QueryRow(ctx, `SELECT 1`).Scan(&n)
	})
	require.ErrorContains(t, err, "duplicate key", "a read reports the queue's failure")
	var count int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM piped`).Scan(&count))
	require.Equal(t, 2, count, "nothing of a failed transaction commits")
}

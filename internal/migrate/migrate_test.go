package migrate_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/migrate"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestUpIsIdempotentAndCheckFollowsIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbtest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	logger := slog.New(slog.DiscardHandler)

	err = migrate.Check(ctx, pool)
	require.ErrorIs(t, err, migrate.ErrBehind, "an empty database is behind")
	require.Contains(t, err.Error(), "portico migrate up")

	applied, err := migrate.Up(ctx, pool, logger)
	require.NoError(t, err)
	all, err := migrate.Load()
	require.NoError(t, err)
	var portico int
	for _, s := range applied {
		if s.Line == "portico" {
			portico++
		}
	}
	require.Equal(t, len(all), portico, "every embedded migration applied")
	require.NoError(t, migrate.Check(ctx, pool))

	again, err := migrate.Up(ctx, pool, logger)
	require.NoError(t, err)
	require.Empty(t, again, "a second run is a no-op")

	list, err := migrate.List(ctx, pool)
	require.NoError(t, err)
	for _, s := range list {
		require.NotNil(t, s.AppliedAt, "%s %d applied", s.Line, s.Version)
	}

	// A binary newer than the database: forget one migration.
	_, err = pool.Exec(ctx, `DELETE FROM portico_migration WHERE version = $1`, all[len(all)-1].Version)
	require.NoError(t, err)
	err = migrate.Check(ctx, pool)
	require.True(t, errors.Is(err, migrate.ErrBehind))
	require.Contains(t, err.Error(), all[len(all)-1].Name)
}

func TestConcurrentUpDoesNotFail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.EmptyURL(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			_, err = migrate.Up(ctx, pool, slog.New(slog.DiscardHandler))
			errs <- err
		}()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
}

func TestMigrationFilesAreWellFormed(t *testing.T) {
	t.Parallel()
	all, err := migrate.Load()
	require.NoError(t, err)
	require.NotEmpty(t, all)
	for i, m := range all {
		require.NotEmpty(t, m.Up, "%03d_%s", m.Version, m.Name)
		if i > 0 {
			require.Greater(t, m.Version, all[i-1].Version)
		}
	}
}

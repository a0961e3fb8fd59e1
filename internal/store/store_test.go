package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)

	def, err := store.TenantBySlug(ctx, pool, "default")
	require.NoError(t, err, "the first migration creates the default tenant")
	require.Equal(t, "Default tenant", def.Name)

	_, err = store.TenantBySlug(ctx, pool, "acme")
	require.ErrorIs(t, err, store.ErrNotFound)

	acme, err := store.TenantCreate(ctx, pool, "acme", "Acme Corp")
	require.NoError(t, err)
	require.NotEqual(t, def.ID, acme.ID)

	_, err = store.TenantCreate(ctx, pool, "acme", "Acme again")
	require.ErrorIs(t, err, store.ErrConflict)

	_, err = store.TenantCreate(ctx, pool, "Not A Slug!", "x")
	require.Error(t, err, "the slug check constraint holds")
}

func TestAPIRoleCannotWriteTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SET LOCAL ROLE portico_api`)
	require.NoError(t, err)
	_, err = store.TenantBySlug(ctx, tx, "default")
	require.NoError(t, err, "the API role reads tenants")
	_, err = store.TenantCreate(ctx, tx, "sneaky", "x")
	require.ErrorContains(t, err, "permission denied")
}

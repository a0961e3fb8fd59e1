package dbtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestPoolIsMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := dbtest.Pool(t), dbtest.Pool(t)

	var n int
	require.NoError(t, a.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&n), "river tables exist")
	require.NoError(t, a.QueryRow(ctx, `SELECT count(*) FROM portico_migration`).Scan(&n))
	require.Positive(t, n, "portico migrations applied")

	_, err := a.Exec(ctx, `INSERT INTO tenant (slug, name) VALUES ('only-in-a', 'A')`)
	require.NoError(t, err)
	require.NoError(t, b.QueryRow(ctx, `SELECT count(*) FROM tenant WHERE slug = 'only-in-a'`).Scan(&n))
	require.Zero(t, n, "a second test database does not see the first one's rows")
}

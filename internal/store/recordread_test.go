package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// TestScopedReadRunsUnderTheScopeInOneTransaction checks that a scoped
// read applies row-level security (an ownerless record is visible only to
// a scope naming its object public, which the query's own filter does not
// check), and that the settings do not outlive the read on the pooled
// connection.
func TestScopedReadRunsUnderTheScopeInOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One connection, so that the check after the read sees the same one.
	cfg, err := pgxpool.ParseConfig(dbtest.Pool(t).Config().ConnString())
	require.NoError(t, err)
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = store.UpsertRows(ctx, pool, casePage(), []store.Row{row("open", "", "v1"), row("mine", "ACC1", "v1")})
	require.NoError(t, err)

	ids := func(s store.Scope, public bool) []string {
		got, err := store.ScopedRecords(ctx, pool, store.RecordFilter{Scope: s, Object: "case", Public: public, Limit: 10})
		require.NoError(t, err)
		var out []string
		for _, v := range got {
			out = append(out, v.SourceID)
		}
		return out
	}
	require.Empty(t, ids(store.Scope{TenantID: 1, Accounts: []string{"ACC1"}}, true), "RLS hides an object the scope does not name public")
	require.Equal(t, []string{"open"}, ids(store.Scope{TenantID: 1, Accounts: []string{"ACC1"}, PublicObjects: []string{"case"}}, true))
	require.Equal(t, []string{"mine"}, ids(store.Scope{TenantID: 1, Accounts: []string{"ACC1"}}, false))
	require.Empty(t, ids(store.Scope{TenantID: 1, Accounts: []string{"ACC2", "ACC3"}}, false))

	var role, accounts string
	require.NoError(t, pool.QueryRow(ctx, `SELECT current_user, coalesce(current_setting('portico.account_ids', true), '')`).Scan(&role, &accounts))
	require.NotEqual(t, "portico_api", role, "the role ends with the read")
	require.Empty(t, accounts, "the settings end with the read")

	_, err = store.ScopedRecords(ctx, pool, store.RecordFilter{Scope: store.Scope{TenantID: 1, Accounts: []string{"a,b"}}, Object: "case", Limit: 1})
	require.ErrorContains(t, err, "comma")

	_, err = store.ScopedRecord(ctx, pool, store.Scope{TenantID: 1, Accounts: []string{"ACC2"}}, "case", false, "mine")
	require.ErrorIs(t, err, store.ErrNotFound, "a foreign record reads as missing")
	v, err := store.ScopedRecord(ctx, pool, store.Scope{TenantID: 1, Accounts: []string{"ACC1"}}, "case", false, "mine")
	require.NoError(t, err)
	require.Equal(t, "ACC1", v.OwnerAccount)
}

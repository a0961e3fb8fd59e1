package access_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// accounts stores account records: id -> parent id ("" for none).
func accounts(t *testing.T, pool *pgxpool.Pool, tree map[string]string) {
	t.Helper()
	var rows []store.Row
	for id, parent := range tree {
		fields := map[string]any{"id": id, "name": id}
		if parent != "" {
			fields["parent_account_id"] = parent
		}
		data, err := json.Marshal(mapping.Mapped{Object: "account", ID: id, Fields: fields})
		require.NoError(t, err)
		rows = append(rows, store.Row{SourceID: id, OwnerAccount: id, Data: data, Raw: []byte(`{}`), Version: "1"})
	}
	_, err := store.UpsertRows(context.Background(), pool, store.Page{TenantID: 1, Connection: "salesforce", Object: "account", SourceObject: "Account", MappingHash: "h"}, rows)
	require.NoError(t, err)
}

func TestScopeFollowsTheHierarchyOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	// root -> mid -> leaf, root -> other; loop1 <-> loop2 is a cycle.
	accounts(t, pool, map[string]string{"root": "", "mid": "root", "leaf": "mid", "other": "root", "lone": "", "loop1": "loop2", "loop2": "loop1"})
	pl := access.NewPolicy(pool)
	ctx := context.Background()

	s, err := pl.Scope(ctx, &auth.Principal{TenantID: 1, AccountID: "root", Roles: []string{"member"}, SeeChildAccounts: true})
	require.NoError(t, err)
	require.Equal(t, "root", s.Accounts[0], "own account first")
	require.ElementsMatch(t, []string{"root", "mid", "leaf", "other"}, s.Accounts)

	s, err = pl.Scope(ctx, &auth.Principal{TenantID: 1, AccountID: "mid", Roles: []string{"member"}, SeeChildAccounts: true})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"mid", "leaf"}, s.Accounts, "never upwards")

	s, err = pl.Scope(ctx, &auth.Principal{TenantID: 1, AccountID: "root", Roles: []string{"member"}})
	require.NoError(t, err)
	require.Equal(t, []string{"root"}, s.Accounts, "children only with see_child_accounts")

	s, err = pl.Scope(ctx, &auth.Principal{TenantID: 1, AccountID: "loop1", Roles: []string{"member"}, SeeChildAccounts: true})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"loop1", "loop2"}, s.Accounts, "a cycle ends")

	s, err = pl.Scope(ctx, &auth.Principal{TenantID: 2, AccountID: "root", Roles: []string{"member"}, SeeChildAccounts: true})
	require.NoError(t, err)
	require.Equal(t, []string{"root"}, s.Accounts, "another tenant's accounts are not its children")

	s, err = pl.Scope(ctx, &auth.Principal{TenantID: 1, Staff: true, Roles: []string{"operator_admin"}})
	require.NoError(t, err)
	require.True(t, s.Staff)
}

func TestScopeForAnObject(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	caseObj, _ := set.Object("case")
	invoice, _ := set.Object("invoice")
	article, _ := set.Object("knowledge_article")
	s := access.Scope{TenantID: 1, Accounts: []string{"root", "child"}, Roles: []string{"member"}}

	got, ok := s.For(caseObj)
	require.True(t, ok)
	require.Equal(t, []string{"root", "child"}, got.Accounts)
	_, ok = s.For(invoice)
	require.False(t, ok, "members do not see invoices")
	got, ok = s.For(article)
	require.True(t, ok)
	require.Equal(t, []string{"knowledge_article"}, got.PublicObjects)

	require.Equal(t, []string{"root"}, s.Narrow(false).Accounts, "objects without hierarchy: own account only")
	require.Equal(t, []string{"root", "child"}, s.Accounts, "Narrow does not change the original")
}

// TestRowLevelSecurityOnActions runs queries with no account filter at all
// under a scope: the action table still shows only the scope's accounts.
func TestRowLevelSecurityOnActions(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	ctx := context.Background()
	for _, acc := range []string{"mine", "theirs"} {
		_, err := pool.Exec(ctx, `INSERT INTO action (tenant_id, user_id, account_id, kind, connection, object, source_object, op, target, input)
			VALUES (1, '1', $1, 'create_case', 'salesforce', 'case', 'Case', 'create', 'pending:x', '{}')`, acc)
		require.NoError(t, err)
	}
	visible := func(s access.Scope) []string {
		var got []string
		err := access.Tx(ctx, pool, s, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT account_id FROM action ORDER BY account_id`) // no filter
			if err != nil {
				return err
			}
			got, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		require.NoError(t, err)
		return got
	}
	require.Equal(t, []string{"mine"}, visible(access.Scope{TenantID: 1, Accounts: []string{"mine"}}))
	require.Empty(t, visible(access.Scope{TenantID: 1, Accounts: []string{}}))
	require.Empty(t, visible(access.Scope{TenantID: 2, Accounts: []string{"mine", "theirs"}}))
	require.Equal(t, []string{"mine", "theirs"}, visible(access.Scope{TenantID: 1, Staff: true}), "staff run as the owner")

	// The API role reads neither the input nor the staff-only detail.
	err := access.Tx(ctx, pool, access.Scope{TenantID: 1, Accounts: []string{"mine"}}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT input FROM action`)
		return err
	})
	require.ErrorContains(t, err, "permission denied")
}

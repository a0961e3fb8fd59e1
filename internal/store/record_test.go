package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

func casePage() store.Page {
	return store.Page{TenantID: 1, Connection: "crm", Object: "case", SourceObject: "Case", MappingHash: "h1"}
}

func row(id, account, version string) store.Row {
	return store.Row{
		SourceID: id, OwnerAccount: account, Version: version, Status: "New",
		Data: json.RawMessage(`{"subject":"s-` + id + `"}`), Raw: json.RawMessage(`{"Id":"` + id + `"}`),
		Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestUpsertSkipsUnchangedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)

	n, err := store.UpsertRows(ctx, pool, casePage(), []store.Row{row("a", "ACC1", "v1"), row("b", "ACC1", "v1"), row("a", "ACC1", "v2")})
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "a duplicated id in one page is stored once, last version wins")
	rec, err := store.GetRecord(ctx, pool, 1, "crm", "case", "a")
	require.NoError(t, err)
	require.Equal(t, "v2", rec.SourceVersion)

	n, err = store.UpsertRows(ctx, pool, casePage(), []store.Row{row("a", "ACC1", "v2"), row("b", "ACC1", "v1")})
	require.NoError(t, err)
	require.Zero(t, n, "the same versions again change nothing")

	p := casePage()
	p.MappingHash = "h2"
	n, err = store.UpsertRows(ctx, pool, p, []store.Row{row("a", "ACC1", "v2")})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "a new mapping hash rewrites the row")

	n, err = store.Tombstone(ctx, pool, 1, "crm", "case", []string{"a", "zzz"}, time.Time{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	rec, err = store.GetRecord(ctx, pool, 1, "crm", "case", "a")
	require.NoError(t, err)
	require.True(t, rec.DeletedAt.Valid)

	n, err = store.UpsertRows(ctx, pool, p, []store.Row{row("a", "ACC1", "v2")})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "a record seen again after a tombstone comes back")
	rec, err = store.GetRecord(ctx, pool, 1, "crm", "case", "a")
	require.NoError(t, err)
	require.False(t, rec.DeletedAt.Valid)

	_, err = store.GetRecord(ctx, pool, 1, "crm", "case", "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestOwnerReferencesResolveLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	inv := store.Page{TenantID: 1, Connection: "books", Object: "invoice", SourceObject: "Invoice", MappingHash: "h"}
	r := row("130", "", "0")
	r.OwnerRefKey, r.OwnerRefValue = "accounting_customer_id", "58"
	_, err := store.UpsertRows(ctx, pool, inv, []store.Row{r})
	require.NoError(t, err)
	rec, err := store.GetRecord(ctx, pool, 1, "books", "invoice", "130")
	require.NoError(t, err)
	require.False(t, rec.OwnerAccount.Valid, "unknown until the account's cross-reference arrives")

	// An attachment of the invoice, owned through it.
	att := row("att1", "", "0")
	att.OwnerParentObject, att.OwnerParentID = "invoice", "130"
	_, err = store.UpsertRows(ctx, pool, store.Page{TenantID: 1, Connection: "books", Object: "document", SourceObject: "Attachable", MappingHash: "h"}, []store.Row{att})
	require.NoError(t, err)

	require.NoError(t, store.StoreXrefs(ctx, pool, 1, []store.Xref{{Key: "accounting_customer_id", Value: "58", AccountID: "001A"}}))
	rec, err = store.GetRecord(ctx, pool, 1, "books", "invoice", "130")
	require.NoError(t, err)
	require.Equal(t, "001A", rec.OwnerAccount.String)
	rec, err = store.GetRecord(ctx, pool, 1, "books", "document", "att1")
	require.NoError(t, err)
	require.Equal(t, "001A", rec.OwnerAccount.String, "the invoice's attachment follows its invoice")

	// A record arriving after its account resolves at once.
	r2 := row("131", "", "0")
	r2.OwnerRefKey, r2.OwnerRefValue = "accounting_customer_id", "58"
	_, err = store.UpsertRows(ctx, pool, inv, []store.Row{r2})
	require.NoError(t, err)
	rec, err = store.GetRecord(ctx, pool, 1, "books", "invoice", "131")
	require.NoError(t, err)
	require.Equal(t, "001A", rec.OwnerAccount.String)
}

// TestRowLevelSecurityIsASecondWall runs a query with the account filter
// deliberately left out, as the API role: nothing foreign comes back.
func TestRowLevelSecurityIsASecondWall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	_, err := store.UpsertRows(ctx, pool, casePage(), []store.Row{row("mine", "ACC1", "1"), row("theirs", "ACC2", "1"), row("orphan", "", "1")})
	require.NoError(t, err)
	other := casePage()
	other.TenantID = createTenant(t, pool)
	_, err = store.UpsertRows(ctx, pool, other, []store.Row{row("other-tenant", "ACC1", "1")})
	require.NoError(t, err)

	// Every record changes status once, so each has status history.
	_, err = pool.Exec(ctx, `UPDATE record SET status = coalesce(status, '') || '-changed'`)
	require.NoError(t, err)

	visible := func(tenant, accounts string) []string {
		return visibleIn(t, pool, "record", tenant, accounts)
	}
	history := func(tenant, accounts string) []string {
		return visibleIn(t, pool, "record_status_change", tenant, accounts)
	}
	require.Equal(t, []string{"mine"}, history("1", "ACC1"), "the status history is walled like its records")
	require.Equal(t, []string{"mine", "theirs"}, history("1", "ACC1,ACC2"))
	require.Empty(t, history("1", ""))
	require.Empty(t, history("", "ACC1"))
	require.Equal(t, []string{"mine"}, visible("1", "ACC1"))
	require.Equal(t, []string{"mine", "theirs"}, visible("1", "ACC1,ACC2"))
	require.Empty(t, visible("1", ""), "no accounts set: nothing")
	require.Empty(t, visible("", "ACC1"), "no tenant set: nothing")
	require.Empty(t, visible("1", "ACC1' OR true --"), "settings are values, not SQL")

	// The API role cannot write the cache.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE portico_api`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE record SET status = 'x'`)
		return err
	})
	require.ErrorContains(t, err, "permission denied")
}

// visibleIn lists the source ids of table the API role sees with the
// given settings, querying with no filter at all.
func visibleIn(t *testing.T, pool *pgxpool.Pool, table, tenant, accounts string) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL ROLE portico_api`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('portico.tenant_id', $1, true), set_config('portico.account_ids', $2, true)`, tenant, accounts); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT source_id FROM `+table+` ORDER BY source_id`) // no filter at all
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	require.NoError(t, err)
	return ids
}

func createTenant(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	tn, err := store.TenantCreate(context.Background(), pool, "other", "Other")
	require.NoError(t, err)
	return tn.ID
}

func TestChildrenShareTheirParentsOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	comments := store.Page{TenantID: 1, Connection: "crm", Object: "case_comment", SourceObject: "CaseComment", MappingHash: "h"}
	child := func(id, parent string) store.Row {
		r := row(id, "", "1")
		r.OwnerParentObject, r.OwnerParentID = "case", parent
		return r
	}
	owner := func(id string) string {
		var a *string
		require.NoError(t, pool.QueryRow(ctx, `SELECT owner_account FROM record WHERE source_id = $1`, id).Scan(&a))
		if a == nil {
			return ""
		}
		return *a
	}

	// A comment arriving before its case waits for it...
	_, err := store.UpsertRows(ctx, pool, comments, []store.Row{child("00a1", "500A")})
	require.NoError(t, err)
	require.Empty(t, owner("00a1"))
	_, err = store.UpsertRows(ctx, pool, casePage(), []store.Row{row("500A", "ACC1", "1")})
	require.NoError(t, err)
	require.Equal(t, "ACC1", owner("00a1"), "...and takes its owner when it arrives")

	// One arriving after takes it at once.
	_, err = store.UpsertRows(ctx, pool, comments, []store.Row{child("00a2", "500A")})
	require.NoError(t, err)
	require.Equal(t, "ACC1", owner("00a2"))

	// A case moved to another account takes its comments along.
	_, err = store.UpsertRows(ctx, pool, casePage(), []store.Row{row("500A", "ACC2", "2")})
	require.NoError(t, err)
	require.Equal(t, "ACC2", owner("00a1"))
	require.Equal(t, "ACC2", owner("00a2"))
}

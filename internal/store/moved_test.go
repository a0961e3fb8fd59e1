package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/store"
)

// TestContactLookups covers the queries that api's wiring ran inline: an
// email matches one contact, case-insensitively, and a shared email none.
func TestContactLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	contact := func(id, account, email string) store.Row {
		return store.Row{SourceID: id, OwnerAccount: account, Version: "v1", Status: "Active",
			Data: json.RawMessage(`{"fields":{"email":"` + email + `"}}`), Raw: json.RawMessage(`{}`),
			Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	page := store.Page{TenantID: 1, Connection: "crm", Object: "contact", SourceObject: "Contact", MappingHash: "h1"}
	_, err := store.UpsertRows(ctx, pool, page, []store.Row{
		contact("c1", "ACC1", "Ann@Example.com"), contact("c2", "ACC1", "twin@example.com"), contact("c3", "ACC2", "twin@example.com"),
	})
	require.NoError(t, err)

	found, err := store.RecordContactsByEmail(ctx, pool, store.RecordContactsByEmailParams{TenantID: 1, Email: "ann@example.COM"})
	require.NoError(t, err)
	require.Equal(t, []store.RecordContactsByEmailRow{{Account: "ACC1", Contact: "c1"}}, found)
	found, err = store.RecordContactsByEmail(ctx, pool, store.RecordContactsByEmailParams{TenantID: 1, Email: "twin@example.com"})
	require.NoError(t, err)
	require.Len(t, found, 2, "the caller sees the email is shared")

	in, err := store.RecordContactInAccount(ctx, pool, store.RecordContactInAccountParams{TenantID: 1, ContactID: "c1", AccountID: "ACC1"})
	require.NoError(t, err)
	require.True(t, in)
	in, err = store.RecordContactInAccount(ctx, pool, store.RecordContactInAccountParams{TenantID: 1, ContactID: "c3", AccountID: "ACC1"})
	require.NoError(t, err)
	require.False(t, in)
}

// TestMetricQueries runs the queries the metrics collectors moved into store.
func TestMetricQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	_, err := store.RiverJobCounts(ctx, pool)
	require.NoError(t, err)
	_, err = store.SyncCursorLags(ctx, pool, 1)
	require.NoError(t, err)
}

// TestNotFoundWrapsTheDriverError: a missing row is both store.ErrNotFound and still the
// driver's error underneath.
func TestNotFoundWrapsTheDriverError(t *testing.T) {
	t.Parallel()
	_, err := store.TenantBySlug(context.Background(), dbtest.Pool(t), "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "no rows in result set")
}

package syncer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/syncer"
)

// requireOwnersConverged fails when a live record has no owner although
// its cross-reference or parent names one, as the sync status counts it.
func requireOwnersConverged(t *testing.T, s *syncer.Syncer) {
	t.Helper()
	st, err := s.Status(context.Background(), nil)
	require.NoError(t, err)
	for _, c := range st {
		for _, o := range c.Objects {
			require.Zero(t, o.OwnerDerivable, "%s %s: %d of %d records have no owner although it can be derived",
				c.Connection, o.Object, o.OwnerDerivable, o.Records)
		}
	}
}

func TestAdminSyncCountsRecordsWithoutOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 4, Records: 600})
	for _, tg := range b.syncer.Targets() {
		_, err := b.syncer.Full(ctx, tg.Connection, tg.Object)
		require.NoError(t, err, tg.Object)
	}
	requireOwnersConverged(t, b.syncer)
	srv := httptest.NewServer(b.syncer.AdminRoutes(nil, nil))
	defer srv.Close()
	comments := func() (without, derivable int64) {
		resp, err := http.Get(srv.URL + "/")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var out struct{ Connections []syncer.ConnectionStatus }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		for _, c := range out.Connections {
			for _, o := range c.Objects {
				if o.Object == "CaseComment" {
					return o.WithoutOwner, o.OwnerDerivable
				}
			}
		}
		t.Fatal("no CaseComment in /admin/sync")
		return 0, 0
	}
	without0, derivable0 := comments()
	require.Zero(t, derivable0)

	// Two comments lose their owner as the race did; one of them also
	// names a case the cache does not hold, so its owner is unknown.
	var ids []string
	rows, err := b.pool.Query(ctx, `SELECT source_id FROM record WHERE object = 'case_comment' AND owner_account IS NOT NULL ORDER BY source_id LIMIT 2`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, ids, 2)
	_, err = b.pool.Exec(ctx, `UPDATE record SET owner_account = NULL, owner_contact = NULL WHERE object = 'case_comment' AND source_id = ANY ($1)`, ids)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `UPDATE record SET owner_parent_id = 'no-such-case' WHERE object = 'case_comment' AND source_id = $1`, ids[1])
	require.NoError(t, err)

	without, derivable := comments()
	require.Equal(t, without0+2, without, "every live comment without an owner is counted")
	require.EqualValues(t, 1, derivable, "only the one whose case is known has an owner that can be derived")
}

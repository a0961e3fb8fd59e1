package main

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/dbtest"
)

func TestAuditVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, url := dbtest.PoolURL(t)
	log := audit.New(pool, slog.New(slog.DiscardHandler))
	var ids []int64
	for i := range 4 {
		a, err := audit.Append(ctx, pool, audit.Event{TenantID: 1, Actor: audit.UserActor("u1"), Action: "case.update", After: map[string]any{"i": i}})
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	require.NoError(t, log.Record(ctx, audit.Event{TenantID: 1, Actor: audit.SystemActor(), Action: "auth.logout"}))

	code, stdout, stderr := portico(t, "--database-url", url, "audit", "verify")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "ok: 0 events verified\n")
	require.Contains(t, stdout, "tenant default: 5 events await sealing, the oldest for ")

	code, stdout, stderr = portico(t, "--database-url", url, "audit", "seal")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, "ok: 5 events sealed\n", stdout)
	code, stdout, stderr = portico(t, "--database-url", url, "audit", "verify")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "ok: 5 events verified\n")
	require.Contains(t, stdout, "tenant default: 5 events, head seq 5 hash ")
	require.NotContains(t, stdout, "await sealing")

	// A DBA edits a row behind the trigger's back.
	dba := func(stmt string, args ...any) {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, stmt, args...)
			return err
		})
		require.NoError(t, err)
	}

	// An event no process sealed for two minutes fails the check.
	a, err := audit.Append(ctx, pool, audit.Event{TenantID: 1, Actor: audit.SystemActor(), Action: "auth.logout"})
	require.NoError(t, err)
	dba(`UPDATE audit_event SET recorded_at = now() - interval '2 minutes' WHERE id = $1`, a.ID)
	code, stdout, stderr = portico(t, "--database-url", url, "audit", "verify")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "FAIL tenant default: unsealed too long: 1 committed event(s) not sealed, the oldest for 2m0s (over 1m0s)")
	require.Contains(t, stderr, "audit: 1 problem(s) in 5 events")
	_, err = audit.Seal(ctx, pool)
	require.NoError(t, err)

	code, _, stderr = portico(t, "--database-url", url, "audit", "verify", "--tenant", "nosuch")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `--tenant: audit: no such tenant: "nosuch"`)

	dba(`UPDATE audit_event SET after = '{"i": 100}' WHERE id = $1`, ids[1])
	code, stdout, stderr = portico(t, "--database-url", url, "audit", "verify", "--tenant", "default")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, fmt.Sprintf("FAIL tenant default: event id %d (seq 2, ", ids[1]))
	require.Contains(t, stdout, "case.update): hash mismatch")
	require.NotContains(t, stdout, "ok:")
	require.Contains(t, stderr, "audit: 1 problem(s) in 6 events")

	dba(`DELETE FROM audit_event WHERE id = $1`, ids[2])
	code, stdout, _ = portico(t, "--database-url", url, "audit", "verify")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, fmt.Sprintf("event id %d (seq 2, ", ids[1]), "the edit is still reported")
	require.Contains(t, stdout, fmt.Sprintf("event id %d (seq 4, ", ids[3]))
	require.Contains(t, stdout, fmt.Sprintf("gap: event seq 3 is missing between event id %d and it (deleted?)", ids[1]))

}

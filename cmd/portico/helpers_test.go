package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/mappings"
)

func readShipped(name string) (string, error) {
	b, err := fs.ReadFile(mappings.FS(), name)
	return string(b), err
}

func writeFileIn(t *testing.T, dir, name, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
}

// auditTrail lists the audit events in database db, oldest first, as
// "actor action object:id".
func auditTrail(t *testing.T, db string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT actor || ' ' || action || ' ' || coalesce(object, '') || ':' || coalesce(object_id, '') FROM audit_event ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

package main

import (
	"archive/zip"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/dbtest"
)

func TestPrivacyCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, url := dbtest.PoolURL(t)
	_, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: "erin@example.test", Password: "quiet-meadow-violin-31",
		AccountID: "001ACME", Roles: []string{"member"}})
	require.NoError(t, err)

	code, stdout, stderr := portico(t, "--database-url", url, "privacy", "report")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "sessions\n")
	require.Contains(t, stdout, "kept:      90 days (privacy.retention.sessions)")
	require.Contains(t, stdout, "audit_events\n")

	out := filepath.Join(t.TempDir(), "erin.zip")
	code, _, stderr = portico(t, "--database-url", url, "privacy", "export", "--email", "erin@example.test")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--out")
	code, _, stderr = portico(t, "--database-url", url, "privacy", "export", "--email", "nobody@example.test", "--out", out)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--email")
	code, stdout, stderr = portico(t, "--database-url", url, "privacy", "export", "--email", "erin@example.test", "--out", out)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "ok: "+out)
	zr, err := zip.OpenReader(out)
	require.NoError(t, err)
	defer zr.Close()
	_, err = zr.Open("user.json")
	require.NoError(t, err)

	code, _, stderr = portico(t, "--database-url", url, "privacy", "erase", "--email", "erin@example.test")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "--reason")
	var email string
	require.NoError(t, pool.QueryRow(ctx, `SELECT email FROM auth_user WHERE email = 'erin@example.test'`).Scan(&email), "a refused erasure changes nothing")

	code, stdout, stderr = portico(t, "--database-url", url, "privacy", "erase", "--email", "erin@example.test", "--reason", "ticket 4711")
	require.Equal(t, exitOK, code, stderr)
	require.Regexp(t, `erased: erasure \d+, the person is now erased-[0-9a-f]{12}`, stdout)
	require.NoError(t, pool.QueryRow(ctx, `SELECT email FROM auth_user WHERE account_id = '001ACME'`).Scan(&email))
	require.Regexp(t, `^erased-[0-9a-f]{12}@erased\.invalid$`, email)
}

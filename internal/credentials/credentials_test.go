package credentials_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/credentials"
	"github.com/porticohq/portico/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func key(t *testing.T) []byte {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func TestSaveLoadEncrypted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	k := key(t)
	s, err := credentials.NewStore(pool, 1, k)
	require.NoError(t, err)

	_, err = s.Load(ctx, "crm")
	require.ErrorIs(t, err, connectors.ErrNoCredentials)

	in := connectors.Credentials{AccessToken: "at-123", RefreshToken: "rt-very-secret", Expiry: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	require.NoError(t, s.Save(ctx, "crm", in))
	out, err := s.Load(ctx, "crm")
	require.NoError(t, err)
	require.Equal(t, in, out)

	// A rotated token replaces the old one durably: a new store (a new
	// process) reads it.
	in.RefreshToken = "rt-rotated"
	require.NoError(t, s.Save(ctx, "crm", in))
	s2, err := credentials.NewStore(pool, 1, k)
	require.NoError(t, err)
	out, err = s2.Load(ctx, "crm")
	require.NoError(t, err)
	require.Equal(t, "rt-rotated", out.RefreshToken)

	var sealed []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT sealed FROM connection_credential WHERE connection = 'crm'`).Scan(&sealed))
	require.False(t, bytes.Contains(sealed, []byte("rt-rotated")), "encrypted at rest")

	wrong, err := credentials.NewStore(pool, 1, key(t))
	require.NoError(t, err)
	_, err = wrong.Load(ctx, "crm")
	require.ErrorContains(t, err, "does not decrypt")

	// Sealed values are bound to their connection.
	_, err = pool.Exec(ctx, `INSERT INTO connection_credential (tenant_id, connection, nonce, sealed) SELECT tenant_id, 'other', nonce, sealed FROM connection_credential WHERE connection = 'crm'`)
	require.NoError(t, err)
	_, err = s.Load(ctx, "other")
	require.Error(t, err)
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	_, err := credentials.ParseKey("c2hvcnQ=")
	require.ErrorContains(t, err, "32 bytes")
	_, err = credentials.ParseKey("not base64 !!")
	require.Error(t, err)
	k, err := credentials.ParseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	require.NoError(t, err)
	require.Len(t, k, 32)
}

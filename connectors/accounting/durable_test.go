package accounting_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/credentials"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestRotatedTokenSurvivesRestart: the simulator rotates the refresh token
// on every use and the configured one stops working after a grace period.
// A connector built afresh (a restarted worker) with only the original
// configuration still authenticates, because the rotated token was
// committed, encrypted, to PostgreSQL.
func TestRotatedTokenSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &conntest.Clock{}
	clock.Advance(time.Until(conntest.Start)) // the suite's fixed start
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 3, Records: 100, Now: clock.Now,
		TokenTTL: 10 * time.Minute, RefreshGrace: time.Minute})
	cr := sim.Credentials(srv.URL).Accounting
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	store, err := credentials.NewStore(dbtest.Pool(t), 1, key)
	require.NoError(t, err)
	conn := config.ConnectionConfig{Name: "books", Type: "accounting", BaseURL: srv.URL, TokenURL: cr.TokenURL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken, Realm: cr.Realm}
	build := func() connectors.Connector {
		c, err := accounting.NewWithOptions(connectors.Deps{Connection: conn.Connector(), HTTP: srv.Client(), Credentials: store},
			accounting.Options{Tuning: wire.Tuning{Now: clock.Now}})
		require.NoError(t, err)
		return c
	}
	id, err := sim.SeedID(fakesource.Accounting, "Customer", 0)
	require.NoError(t, err)

	first := build()
	for range 3 { // three renewals, three rotations
		_, err := first.Get(ctx, "Customer", id)
		require.NoError(t, err)
		clock.Advance(11 * time.Minute)
	}
	saved, err := store.Load(ctx, "books")
	require.NoError(t, err)
	require.NotEqual(t, cr.RefreshToken, saved.RefreshToken, "the rotated token is what is stored")

	restarted := build()
	rec, err := restarted.Get(ctx, "Customer", id)
	require.NoError(t, err, "a restarted connector finds the rotated token")
	require.Equal(t, id, rec.ID)
}

package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

// TestSyncPassLogsEachKeyOnce: a full and an incremental pass over all
// three connections, and a breaker tripping, log no line that repeats a
// key (the connection's logger already names the connection).
func TestSyncPassLogsEachKeyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 2, Records: 300})
	cr := sim.Credentials(srv.URL)
	conn := func(name string, sc fakesource.SystemCredentials) config.ConnectionConfig {
		return config.DefaultConnection(config.ConnectionConfig{Name: name, Type: name, BaseURL: sc.BaseURL, TokenURL: sc.TokenURL,
			ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, RefreshToken: sc.RefreshToken,
			AccessToken: sc.AccessToken, Realm: sc.Realm,
			Breaker: config.BreakerConfig{Failures: 1, OpenTimeout: time.Minute},
			Retry:   config.RetryConfig{Max: 0, WaitMin: time.Millisecond, WaitMax: time.Millisecond}})
	}
	reg := builtin.Registry()
	rec := logtest.New()
	srcs, err := sources.Open(context.Background(), sources.Options{
		Connections: []config.ConnectionConfig{
			conn(fakesource.Salesforce, cr.Salesforce), conn(fakesource.Accounting, cr.Accounting), conn(fakesource.Inventory, cr.Inventory),
		},
		Registry: reg, Credentials: &conntest.MemoryCredentials{}, Logger: rec.Logger(),
	})
	require.NoError(t, err)
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	s := syncer.New(syncer.Options{Pool: dbtest.Pool(t), TenantID: 1, Connectors: srcs.Connectors(), Mappings: set,
		PageSize: 100, Logger: rec.Logger()})

	targets := s.Targets()
	require.NotEmpty(t, targets)
	for _, tg := range targets {
		_, err := s.Full(ctx, tg.Connection, tg.Object)
		require.NoError(t, err, "%s %s", tg.Connection, tg.Object)
	}
	for _, tg := range targets {
		_, err := s.Incremental(ctx, tg.Connection, tg.Object)
		require.NoError(t, err, "%s %s", tg.Connection, tg.Object)
	}
	require.NoError(t, sim.SetFaults(fakesource.Inventory, fakesource.Faults{ErrorRate: 1}))
	for _, tg := range targets {
		if tg.Connection == fakesource.Inventory {
			_, err = s.Incremental(ctx, tg.Connection, tg.Object)
			require.Error(t, err, "the source answers 5xx")
			break
		}
	}

	require.NotEmpty(t, rec.Matching("access token renewed"), "the pass logged the connectors' lines")
	require.NotEmpty(t, rec.Matching("circuit breaker"), "and the HTTP client's")
	for _, r := range rec.Matching("authenticated") {
		v, ok := r.Value("connection")
		require.True(t, ok)
		require.Equal(t, fakesource.Salesforce, v.String(), "each line still names its connection")
	}
	require.Empty(t, rec.Duplicates())
}

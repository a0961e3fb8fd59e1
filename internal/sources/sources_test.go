package sources_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/sources"
)

func TestQuotaLowAndBreakerState(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 200})
	cr := sim.Credentials(srv.URL).Salesforce
	reg := builtin.Registry()
	srcs, err := sources.Open(context.Background(), sources.Options{
		Connections: []config.ConnectionConfig{config.DefaultConnection(config.ConnectionConfig{
			Name: "crm", Type: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret,
			Quota: config.QuotaConfig{PerMinute: 20, WriteShare: 0.2},
		})},
		Registry: reg, Credentials: &conntest.MemoryCredentials{}, Logger: slog.New(slog.DiscardHandler),
		QuotaFloor: 0.1,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"crm"}, srcs.Names())
	require.False(t, srcs.QuotaLow("crm"))
	require.Equal(t, "closed", srcs.BreakerState("crm"))
	require.False(t, srcs.BreakerOpen("crm"))

	src, ok := srcs.Get("crm")
	require.True(t, ok)
	// Reads may spend down to the write share (4 of 20); "low" starts
	// within the floor (2) of that line: fewer than 6 left.
	for srcs.QuotaLow("crm") == false {
		minute, _ := srcs.QuotaRemaining("crm")
		require.GreaterOrEqual(t, minute, 6, "low is reported before the budget falls under the line")
		_, err := src.Connector.Get(context.Background(), "Case", "500000000000000AAA")
		require.ErrorIs(t, err, connectors.ErrNotFound)
	}
	minute, day := srcs.QuotaRemaining("crm")
	require.Less(t, minute, 6)
	require.GreaterOrEqual(t, minute, 4, "background reads never eat the write share")
	require.NotZero(t, day)
	require.False(t, srcs.QuotaLow("nope"))
}

// TestOpenRefusesAnIncompleteConnection: Open fills no defaults (config
// does, once), so a connection that skipped them is an error naming it.
func TestOpenRefusesAnIncompleteConnection(t *testing.T) {
	t.Parallel()
	_, err := sources.Open(context.Background(), sources.Options{
		Connections: []config.ConnectionConfig{{Name: "crm", Type: "salesforce", BaseURL: "https://crm.example"}},
		Registry:    builtin.Registry(), Logger: slog.New(slog.DiscardHandler),
	})
	require.ErrorContains(t, err, "sources: crm: httpclient: incomplete settings")
}

// TestCredentialsFollowTheConfiguredEndpoint: pointing a connection at
// another instance makes the credentials stored for the old one unusable,
// so the connector authenticates against the new one.
func TestCredentialsFollowTheConfiguredEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &conntest.MemoryCredentials{}
	open := func(sim *fakesource.Sim, url string) *sources.Sources {
		cr := sim.Credentials(url).Salesforce
		reg := builtin.Registry()
		srcs, err := sources.Open(context.Background(), sources.Options{
			Connections: []config.ConnectionConfig{config.DefaultConnection(config.ConnectionConfig{Name: "crm", Type: "salesforce",
				BaseURL: cr.BaseURL, TokenURL: cr.TokenURL, ClientID: cr.ClientID, ClientSecret: cr.ClientSecret})},
			Registry: reg, Credentials: store, Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		return srcs
	}
	get := func(srcs *sources.Sources) error {
		src, _ := srcs.Get("crm")
		_, err := src.Connector.Pull(ctx, connectors.PullRequest{Object: "Case", Limit: 10})
		return err
	}
	oldSim, oldSrv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 100})
	require.NoError(t, get(open(oldSim, oldSrv.URL)))
	oldSrv.Close() // the old instance is gone

	newSim, newSrv := fakesourcetest.Start(t, fakesource.Options{Seed: 2, Records: 100})
	require.NoError(t, get(open(newSim, newSrv.URL)), "no call goes to the old instance_url")
	stored, err := store.Load(ctx, "crm")
	require.NoError(t, err)
	require.Contains(t, stored.InstanceURL, newSrv.URL)
}

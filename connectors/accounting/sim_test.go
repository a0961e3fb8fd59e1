package accounting_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// onSim is the connection "books" to a simulated QuickBooks started with
// so, its tokens kept in memory; logger (nil: none) and o are the
// connector's.
func onSim(t *testing.T, so fakesource.Options, o accounting.Options, logger *slog.Logger) (*fakesource.Sim, *accounting.Connector) {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, so)
	cr := sim.Credentials(srv.URL).Accounting
	c, err := accounting.NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "books", BaseURL: srv.URL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken, Realm: cr.Realm},
		HTTP: srv.Client(), Credentials: &conntest.MemoryCredentials{}, Logger: logger,
	}, o)
	require.NoError(t, err)
	return sim, c
}

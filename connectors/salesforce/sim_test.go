package salesforce

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// onSim starts a simulator seeded by so and a connector on it tuned by o,
// for the tests that need more of the Salesforce-style server than the
// conformance suite drives.
func onSim(t *testing.T, so fakesource.Options, o Options) (*fakesource.Sim, *Connector) {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, so)
	cr := sim.Credentials(srv.URL).Salesforce
	c, err := NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "crm", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken},
		HTTP: srv.Client(),
	}, o)
	require.NoError(t, err)
	return sim, c
}

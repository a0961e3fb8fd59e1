package shippedcheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// The shipped mappings read what the real connectors pull from the
// simulated systems: every record maps without a problem, under the
// connector's id, and every owned record has an owner.
func TestShippedMappingsReadConnectorRecords(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 7, Records: 1500, TokenTTL: time.Hour})
	cr := sim.Credentials(srv.URL)
	systems := []struct {
		typ   string
		creds fakesource.SystemCredentials
		want  []string // source objects the mapping must cover
	}{
		{"salesforce", cr.Salesforce, []string{"Account", "Contact", "Case", "CaseComment", "Knowledge__kav", "ContentVersion", "Quote"}},
		{"accounting", cr.Accounting, []string{"Invoice", "Payment", "Attachable"}},
		{"inventory", cr.Inventory, []string{"order", "ITEM_VARIATION", "inventory_count"}},
	}
	reg := builtin.Registry()
	for _, s := range systems {
		t.Run(s.typ, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := config.DefaultConnection(config.ConnectionConfig{Name: s.typ, Type: s.typ, BaseURL: s.creds.BaseURL,
				TokenURL: s.creds.TokenURL, ClientID: s.creds.ClientID, ClientSecret: s.creds.ClientSecret,
				RefreshToken: s.creds.RefreshToken, Realm: s.creds.Realm})
			metrics, err := httpclient.NewMetrics(prometheus.NewRegistry())
			require.NoError(t, err)
			client, err := httpclient.New(httpclient.Options{Connection: cfg, Metrics: metrics})
			require.NoError(t, err)
			cc := cfg.Connector()
			cc.Fields = set.SourcePaths(s.typ) // as the app wires it
			conn, err := reg.New(s.typ, connectors.Deps{Connection: cc, HTTP: client, Credentials: &conntest.MemoryCredentials{}})
			require.NoError(t, err)
			for _, name := range s.want {
				o, ok := set.BySource(s.typ, name)
				require.True(t, ok, "no mapping for %s.%s", s.typ, name)
				page, err := conn.Pull(ctx, connectors.PullRequest{Object: name, Limit: 100})
				require.NoError(t, err)
				require.NotEmpty(t, page.Records, "%s.%s", s.typ, name)
				for _, r := range page.Records {
					m, err := o.ToPortal(r.Raw)
					require.NoError(t, err)
					require.Empty(t, m.Problems, "%s.%s %s", s.typ, name, r.Raw)
					require.Equal(t, r.ID, m.ID)
					if s.typ == "salesforce" && name == "Case" {
						require.NotEmpty(t, m.Fields["account_name"], "the mapped relationship path Account.Name is selected: %s", r.Raw)
					}
					if !o.Public() {
						require.True(t, m.OwnerAccount != "" || m.OwnerRef != nil || m.OwnerParent != nil, "%s.%s %s has no owner", s.typ, name, r.ID)
					}
				}
			}
		})
	}
}

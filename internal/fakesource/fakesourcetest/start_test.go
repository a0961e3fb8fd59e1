package fakesourcetest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

func TestStartServesTheSimulator(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 500})
	cr := sim.Credentials(srv.URL)
	require.Equal(t, srv.URL, cr.Salesforce.BaseURL)
	require.Equal(t, srv.URL+"/oauth2/v1/tokens/bearer", cr.Accounting.TokenURL)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v2/locations", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+cr.Inventory.AccessToken)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, sim.Stats().CallCount(fakesource.Inventory, "/v2/locations", http.StatusOK))
	sim.Close() // Start's cleanup closes it again: Close is idempotent
}

func TestSameSeedSameData(t *testing.T) {
	t.Parallel()
	a, srvA := fakesourcetest.Start(t, fakesource.Options{Seed: 9, Records: 5000})
	b, srvB := fakesourcetest.Start(t, fakesource.Options{Seed: 9, Records: 5000})
	c, _ := fakesourcetest.Start(t, fakesource.Options{Seed: 10, Records: 5000})
	require.Equal(t, a.Credentials(srvA.URL).Salesforce.ClientSecret, b.Credentials(srvB.URL).Salesforce.ClientSecret)
	for _, o := range []struct{ system, object string }{
		{fakesource.Salesforce, "Case"}, {fakesource.Accounting, "Invoice"}, {fakesource.Inventory, "Order"},
	} {
		for i := range 20 {
			idA, err := a.SeedID(o.system, o.object, i)
			require.NoError(t, err)
			idB, err := b.SeedID(o.system, o.object, i)
			require.NoError(t, err)
			require.Equal(t, idA, idB)
			ra, err := a.Record(o.system, o.object, idA)
			require.NoError(t, err)
			rb, err := b.Record(o.system, o.object, idB)
			require.NoError(t, err)
			require.Equal(t, ra, rb)
		}
	}
	ca, err := a.Record(fakesource.Salesforce, "Account", mustID(t, a, "Account"))
	require.NoError(t, err)
	cc, err := c.Record(fakesource.Salesforce, "Account", mustID(t, c, "Account"))
	require.NoError(t, err)
	require.NotEqual(t, ca["Name"], cc["Name"], "another seed, other data")
}

func mustID(t *testing.T, s *fakesource.Sim, object string) string {
	t.Helper()
	id, err := s.SeedID(fakesource.Salesforce, object, 3)
	require.NoError(t, err)
	return id
}

package salesforce

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// An org with one currency has no CurrencyIsoCode: its first query naming
// it is refused (INVALID_FIELD, as Salesforce answers), its describe does
// not list it, and the connector pulls the quotes without it from then
// on; the other objects' queries keep their fields.
func TestPullWithoutCurrencyInASingleCurrencyOrg(t *testing.T) {
	t.Parallel()
	sim, err := fakesource.New(fakesource.Options{Seed: 1, Records: 300})
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Query().Get("q"), "CurrencyIsoCode") {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`[{"message":"\nSELECT Id, CurrencyIsoCode FROM Quote\n           ^\nERROR at Row:1:Column:12\nNo such column 'CurrencyIsoCode' on entity 'Quote'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.","errorCode":"INVALID_FIELD"}]`))
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/describe") {
			sim.Handler().ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		sim.Handler().ServeHTTP(rec, r)
		var d map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
		var kept []any
		for _, f := range d["fields"].([]any) {
			if f.(map[string]any)["name"] != "CurrencyIsoCode" {
				kept = append(kept, f)
			}
		}
		d["fields"] = kept
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		require.NoError(t, json.NewEncoder(w).Encode(d))
	}))
	t.Cleanup(srv.Close)
	cr := sim.Credentials(srv.URL).Salesforce
	c, err := NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "crm", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken},
		HTTP: srv.Client(),
	}, Options{})
	require.NoError(t, err)
	ctx := context.Background()

	page, err := c.Pull(ctx, connectors.PullRequest{Object: "Quote"})
	require.NoError(t, err)
	require.NotEmpty(t, page.Records)
	require.EqualValues(t, 1, refused.Load(), "asked once with the currency")
	_, err = c.Pull(ctx, connectors.PullRequest{Object: "Quote"})
	require.NoError(t, err)
	require.EqualValues(t, 1, refused.Load(), "and never again")
	fields, err := c.selectFields("Account")
	require.NoError(t, err)
	require.Contains(t, fields, "QuickBooks_Customer_Id__c", "other objects keep their fields")

	// Each object learns it from its own refusal.
	_, err = c.Pull(ctx, connectors.PullRequest{Object: "QuoteLineItem"})
	require.NoError(t, err, "lines are asked without the currency after their own refusal")
	require.EqualValues(t, 2, refused.Load())
}

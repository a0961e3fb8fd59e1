package inventory

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestWebhookEventKeys: Square names each event (event_id) and redelivers
// with the same one; every change of the notice carries it.
func TestWebhookEventKeys(t *testing.T) {
	t.Parallel()
	c, err := New(connectors.Deps{Connection: connectors.Connection{BaseURL: "http://127.0.0.1:1", WebhookSecret: "sigkey"}, HTTP: http.DefaultClient})
	require.NoError(t, err)
	const url = "https://portal.example.com/hooks/inventory"
	cases := map[string][]connectors.Change{
		`{"merchant_id":"ML7Z3B1ZHAYPS","type":"order.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2024-03-05T18:11:12Z","data":{"type":"order","id":"eA3vssLHKJrv9H0IdJCM3gNqfdcZY","object":{"order_updated":{"order_id":"eA3vssLHKJrv9H0IdJCM3gNqfdcZY","version":2,"state":"OPEN"}}}}`: {
			{Object: ObjOrder, ID: "eA3vssLHKJrv9H0IdJCM3gNqfdcZY", Event: "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc"},
		},
		`{"merchant_id":"ML7Z3B1ZHAYPS","type":"inventory.count.updated","event_id":"df5f3813-a913-45a1-94e9-fdc3f7d5e3b6","created_at":"2024-03-05T18:11:12Z","data":{"type":"inventory_counts","id":"84cd2b6b","object":{"inventory_counts":[{"catalog_object_id":"FGQ5DP7NHU5PUSBPNWSFXP6Q","location_id":"L1","state":"IN_STOCK","quantity":"2"}]}}}`: {
			{Object: ObjInventoryCount, ID: "FGQ5DP7NHU5PUSBPNWSFXP6Q:L1", Event: "df5f3813-a913-45a1-94e9-fdc3f7d5e3b6"},
		},
	}
	for body, want := range cases {
		changes, err := c.(connectors.WebhookVerifier).VerifyWebhook(context.Background(), connectors.WebhookRequest{URL: url,
			Header: http.Header{"X-Square-Hmacsha256-Signature": {fakesource.WebhookSignature("sigkey", url, []byte(body))}}, Body: []byte(body)})
		require.NoError(t, err)
		require.Equal(t, want, changes)
	}
}

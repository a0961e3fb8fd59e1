package inventory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/conntest/fakesim"
	"github.com/porticohq/portico/connectors/inventory"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/fakesource"
)

func Harness() conntest.Harness {
	location := func(src conntest.Source) string { return fakesim.Of(src).SeedID("Location", 0) }
	order := func(src conntest.Source, i int) map[string]any {
		return map[string]any{
			"location_id": location(src), "reference_id": fmt.Sprintf("CONF-%d", i), "state": "OPEN",
			"line_items": []any{map[string]any{"name": "Portal item", "quantity": "1",
				"base_price_money": map[string]any{"amount": 1250, "currency": "USD"}}},
		}
	}
	return conntest.Harness{
		Type: "inventory",
		Connection: func(src conntest.Source, url string) connectors.Connection {
			c := fakesim.Of(src).Credentials(url)
			// The refresh token, not the static access token, so that
			// tokens expire and the renewal path is exercised.
			return connectors.Connection{BaseURL: c.BaseURL, TokenURL: c.TokenURL, ClientID: c.ClientID,
				ClientSecret: c.ClientSecret, RefreshToken: c.RefreshToken, WebhookSecret: c.WebhookSecret}
		},
		New: func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
			return inventory.NewWithOptions(deps, inventory.Options{Tuning: wire.Tuning{Now: now}})
		},
		Pull:        conntest.Object{Name: inventory.ObjOrder, Sim: "Order"},
		CreateSim:   order,
		EditSim:     func(i int) map[string]any { return map[string]any{"reference_id": fmt.Sprintf("EDIT-%d", i)} },
		Delete:      conntest.Object{Name: inventory.ObjItem, Sim: "Item"},
		Write:       conntest.Object{Name: inventory.ObjOrder, Sim: "Order"},
		WriteCreate: func(src conntest.Source) map[string]any { return order(src, 99) },
		WriteUpdate: map[string]any{"reference_id": "CONF-UPDATED"},
		Renews:      true,
		Source:      fakesim.Start(fakesource.Inventory, 1500 /* a few catalog items to delete one of */),
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	conntest.Run(t, Harness())
}

package inventory

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// VerifyWebhook implements connectors.WebhookVerifier for Square events:
// x-square-hmacsha256-signature is base64(HMAC-SHA256(signature key,
// notification URL + body)). Order and inventory-count events name their
// records; catalog.version.updated names none (the next catalog pull
// brings the change), so it yields no change.
func (c *Connector) VerifyWebhook(_ context.Context, req connectors.WebhookRequest) ([]connectors.Change, error) {
	sig := http.Header(req.Header).Get("x-square-hmacsha256-signature")
	if c.Conn.WebhookSecret == "" || !wire.ValidHMAC(c.Conn.WebhookSecret, req.URL, req.Body, sig) {
		return nil, connectors.ErrInvalidSignature
	}
	if !gjson.ValidBytes(req.Body) {
		return nil, fmt.Errorf("inventory: webhook body is not JSON")
	}
	ev := gjson.ParseBytes(req.Body)
	typ := ev.Get("type").String()
	// Square retries a delivery with the same event_id.
	event := ev.Get("event_id").String()
	switch {
	case strings.HasPrefix(typ, "order."):
		if id := ev.Get("data.id").String(); id != "" {
			return []connectors.Change{{Object: ObjOrder, ID: id, Event: event}}, nil
		}
	case typ == "inventory.count.updated":
		var out []connectors.Change
		for _, cnt := range ev.Get("data.object.inventory_counts").Array() {
			if cnt.Get("state").String() != "" && cnt.Get("state").String() != "IN_STOCK" {
				continue
			}
			out = append(out, connectors.Change{Object: ObjInventoryCount,
				ID: cnt.Get("catalog_object_id").String() + ":" + cnt.Get("location_id").String(), Event: event})
		}
		return out, nil
	}
	return nil, nil
}

package accounting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// VerifyWebhook implements connectors.WebhookVerifier for QuickBooks
// notifications: intuit-signature is base64(HMAC-SHA256(verifier token,
// body)); the body lists changed entities per realm. Entities of other
// realms and of objects this connector does not sync are ignored. Each
// change's Event is its realm, entity, id, operation and lastUpdated.
func (c *Connector) VerifyWebhook(_ context.Context, req connectors.WebhookRequest) ([]connectors.Change, error) {
	sig := http.Header(req.Header).Get("intuit-signature")
	if c.Conn.WebhookSecret == "" || !wire.ValidHMAC(c.Conn.WebhookSecret, "", req.Body, sig) {
		return nil, connectors.ErrInvalidSignature
	}
	var n struct {
		EventNotifications []struct {
			RealmID         string `json:"realmId"`
			DataChangeEvent struct {
				Entities []struct {
					Name        string `json:"name"`
					ID          string `json:"id"`
					Operation   string `json:"operation"`
					LastUpdated string `json:"lastUpdated"`
				} `json:"entities"`
			} `json:"dataChangeEvent"`
		} `json:"eventNotifications"`
	}
	if err := json.Unmarshal(req.Body, &n); err != nil {
		return nil, fmt.Errorf("accounting: webhook body: %w", err)
	}
	c.mu.Lock()
	realm := c.realm
	c.mu.Unlock()
	var out []connectors.Change
	for _, ev := range n.EventNotifications {
		if realm != "" && ev.RealmID != realm {
			continue
		}
		for _, e := range ev.DataChangeEvent.Entities {
			if _, ok := entities[e.Name]; ok && e.ID != "" {
				// Notifications carry no id of their own; a change of one
				// entity at one modification time is one event.
				// Without lastUpdated two real changes would share a key and
				// the second would be dropped as a replay: keep it unkeyed.
				var event string
				if e.LastUpdated != "" {
					event = strings.Join([]string{ev.RealmID, e.Name, e.ID, e.Operation, e.LastUpdated}, "/")
				}
				out = append(out, connectors.Change{Object: e.Name, ID: e.ID, Event: event})
			}
		}
	}
	return out, nil
}

package salesforce

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/porticohq/portico/connectors"
)

// VerifyWebhook implements connectors.WebhookVerifier for Salesforce
// outbound messages. They carry no signature; what identifies them is the
// OrganizationId, checked against the connection's realm (the org id).
// The endpoint URL should also be unguessable and, in production,
// restricted to Salesforce's addresses.
func (c *Connector) VerifyWebhook(_ context.Context, req connectors.WebhookRequest) ([]connectors.Change, error) {
	if c.conn.Realm == "" {
		return nil, connectors.ErrInvalidSignature
	}
	org, changes, err := parseOutbound(req.Body)
	if err != nil {
		return nil, err
	}
	// Outbound messages name the 18-character org id; accept the
	// 15-character form in configuration too.
	if org == "" || !strings.HasPrefix(org, c.conn.Realm) && !strings.HasPrefix(c.conn.Realm, org) {
		return nil, connectors.ErrInvalidSignature
	}
	out := changes[:0]
	for _, ch := range changes {
		if _, ok := objects[ch.Object]; ok {
			out = append(out, ch)
		}
	}
	return out, nil
}

// parseOutbound reads the organization id and the (object, id) of each
// notification of an outbound-message SOAP envelope.
func parseOutbound(body []byte) (string, []connectors.Change, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var org string
	var out []connectors.Change
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return org, out, nil
		}
		if err != nil {
			return "", nil, fmt.Errorf("salesforce: outbound message: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch start.Name.Local {
		case "OrganizationId":
			if err := dec.DecodeElement(&org, &start); err != nil {
				return "", nil, fmt.Errorf("salesforce: outbound message: %w", err)
			}
			org = strings.TrimSpace(org)
		case "sObject":
			var obj struct {
				ID string `xml:"Id"`
			}
			typ := ""
			for _, a := range start.Attr {
				if a.Name.Local == "type" {
					typ = a.Value[strings.Index(a.Value, ":")+1:]
				}
			}
			if err := dec.DecodeElement(&obj, &start); err != nil {
				return "", nil, fmt.Errorf("salesforce: outbound message: %w", err)
			}
			if typ != "" && obj.ID != "" {
				out = append(out, connectors.Change{Object: typ, ID: strings.TrimSpace(obj.ID)})
			}
		}
	}
}

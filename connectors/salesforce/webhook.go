package salesforce

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/porticohq/portico/connectors"
)

// maxNotifications is the most notifications Salesforce puts in one
// outbound message; a message naming more is not from Salesforce.
const maxNotifications = 100

// outboundAck is the acknowledgement an outbound message expects; without
// it Salesforce sends the message again for up to a day.
const outboundAck = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`

// VerifyWebhook implements connectors.WebhookVerifier for Salesforce
// outbound messages. They carry no signature, and the OrganizationId they
// name is no secret, so the endpoint URL carries the connection's webhook
// secret (/hooks/{connection}/{secret}), compared in constant time, and
// the org id must then be the connection's realm exactly.
func (c *Connector) VerifyWebhook(_ context.Context, req connectors.WebhookRequest) ([]connectors.Change, error) {
	secret := c.Conn.WebhookSecret
	if secret == "" || subtle.ConstantTimeCompare([]byte(req.Secret), []byte(secret)) != 1 {
		return nil, connectors.ErrInvalidSignature
	}
	org, changes, err := parseOutbound(req.Body)
	if err != nil {
		return nil, err
	}
	if !sameOrg(org, c.Conn.Realm) {
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

// WebhookAck implements connectors.WebhookAcker.
func (c *Connector) WebhookAck() (string, []byte) {
	return "text/xml; charset=utf-8", []byte(outboundAck)
}

// sameOrg compares org ids: 15 characters (case-sensitive) or 18 (the 15
// plus a case-checksum). Outbound messages name the 18-character form and
// configuration may hold either, so a 15 against an 18 compares the first
// 15; anything else must match exactly.
func sameOrg(a, b string) bool {
	valid := func(s string) bool { return len(s) == 15 || len(s) == 18 }
	if !valid(a) || !valid(b) {
		return false
	}
	if len(a) != len(b) {
		return a[:15] == b[:15]
	}
	return a == b
}

// parseOutbound reads the organization id and the (object, id) of each
// notification of an outbound-message SOAP envelope.
func parseOutbound(body []byte) (string, []connectors.Change, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var org string
	var out []connectors.Change
	notifications := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
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
			// Each notification carries one sObject; counting those caps
			// the ids whatever wraps them.
			if notifications++; notifications > maxNotifications {
				return "", nil, fmt.Errorf("salesforce: outbound message: more than %d notifications", maxNotifications)
			}
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

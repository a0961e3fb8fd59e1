package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
)

// outbound renders an outbound message in the shape Salesforce sends
// (notifications WSDL, 2005/09): one Notification per id.
func outbound(org string, ids ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">`)
	fmt.Fprintf(&b, `<OrganizationId>%s</OrganizationId><ActionId>04k7F0000008V3hQAE</ActionId><SessionId xsi:nil="true"/>`, org)
	for i, id := range ids {
		fmt.Fprintf(&b, `<Notification><Id>04l7F000008ae%05d</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>%s</sf:Id><sf:Status>Working</sf:Status></sObject></Notification>`, i, id)
	}
	b.WriteString(`</notifications></soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

func webhookConnector(t *testing.T, realm, secret string) *Connector {
	t.Helper()
	c, err := New(connectors.Deps{Connection: connectors.Connection{BaseURL: "http://127.0.0.1:1", Realm: realm, WebhookSecret: secret}, HTTP: http.DefaultClient})
	require.NoError(t, err)
	return c.(*Connector)
}

const (
	org18      = "00D7F00000107XsUAI"
	org15      = "00D7F00000107Xs"
	hookSecret = "0123456789abcdef-secret"
)

func TestWebhookNeedsTheSecret(t *testing.T) {
	t.Parallel()
	c := webhookConnector(t, org15, hookSecret)
	body := outbound(org18, "5007F00000AbCdEQAV")
	for _, secret := range []string{"", "wrong", hookSecret[:len(hookSecret)-1], hookSecret + "x"} {
		_, err := c.VerifyWebhook(context.Background(), connectors.WebhookRequest{Body: body, Secret: secret})
		require.ErrorIs(t, err, connectors.ErrInvalidSignature, "secret %q", secret)
	}
	changes, err := c.VerifyWebhook(context.Background(), connectors.WebhookRequest{Body: body, Secret: hookSecret})
	require.NoError(t, err)
	require.Equal(t, []connectors.Change{{Object: "Case", ID: "5007F00000AbCdEQAV"}}, changes)

	// A connection without a secret accepts no notice at all.
	_, err = webhookConnector(t, org15, "").VerifyWebhook(context.Background(), connectors.WebhookRequest{Body: body})
	require.ErrorIs(t, err, connectors.ErrInvalidSignature)
}

func TestWebhookOrgIDMatchesExactly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		realm, org string
		ok         bool
	}{
		{org15, org18, true},
		{org18, org15, true},
		{org18, org18, true},
		{org15, org15, true},
		{org15, org18 + "0", false}, // the old prefix check let these through
		{org18, org18[:17], false},
		{org15, "00D", false},
		{org18, "00D", false},
		{org15, "", false},
		{"", org18, false},
		{org15, strings.ToLower(org18), false}, // 15-character ids are case-sensitive
		{org15, "00D7F00000107XtUAI", false},
	}
	for _, tc := range cases {
		c := webhookConnector(t, tc.realm, hookSecret)
		_, err := c.VerifyWebhook(context.Background(), connectors.WebhookRequest{Body: outbound(tc.org, "5007F00000AbCdEQAV"), Secret: hookSecret})
		if tc.ok {
			require.NoError(t, err, "realm %q, org %q", tc.realm, tc.org)
		} else {
			require.ErrorIs(t, err, connectors.ErrInvalidSignature, "realm %q, org %q", tc.realm, tc.org)
		}
	}
}

func TestWebhookCapsNotifications(t *testing.T) {
	t.Parallel()
	c := webhookConnector(t, org15, hookSecret)
	ids := make([]string, maxNotifications+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("5007F00000A%07d", i)
	}
	changes, err := c.VerifyWebhook(context.Background(), connectors.WebhookRequest{Body: outbound(org18, ids[:maxNotifications]...), Secret: hookSecret})
	require.NoError(t, err)
	require.Len(t, changes, maxNotifications, "Salesforce sends up to 100 notifications in one message")
	_, err = c.VerifyWebhook(context.Background(), connectors.WebhookRequest{Body: outbound(org18, ids...), Secret: hookSecret})
	require.ErrorContains(t, err, "more than 100 notifications")
	require.NotErrorIs(t, err, connectors.ErrInvalidSignature)
}

func TestWebhookAck(t *testing.T) {
	t.Parallel()
	ct, body := webhookConnector(t, org15, hookSecret).WebhookAck()
	require.Contains(t, ct, "text/xml")
	require.Contains(t, string(body), `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">`)
	require.Contains(t, string(body), `<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>`)
}

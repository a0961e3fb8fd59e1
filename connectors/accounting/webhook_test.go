package accounting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
)

// notification is a webhook body in the documented (non-CloudEvents) shape:
// eventNotifications carry no id of their own.
const notification = `{"eventNotifications":[{"realmId":"9130357766902476","dataChangeEvent":{"entities":[
{"name":"Invoice","id":"130","operation":"Update","lastUpdated":"2024-03-05T10:11:12.000-08:00"},
{"name":"Customer","id":"58","operation":"Create","lastUpdated":"2024-03-05T10:11:13.000-08:00"}]}}]}`

func TestWebhookEventKeys(t *testing.T) {
	t.Parallel()
	c, err := New(connectors.Deps{Connection: connectors.Connection{BaseURL: "http://127.0.0.1:1", Realm: "9130357766902476", WebhookSecret: "verifier"}, HTTP: http.DefaultClient})
	require.NoError(t, err)
	verify := func(body string) []connectors.Change {
		m := hmac.New(sha256.New, []byte("verifier"))
		m.Write([]byte(body))
		changes, err := c.(connectors.WebhookVerifier).VerifyWebhook(context.Background(), connectors.WebhookRequest{
			Header: http.Header{"Intuit-Signature": {base64.StdEncoding.EncodeToString(m.Sum(nil))}}, Body: []byte(body)})
		require.NoError(t, err)
		return changes
	}
	changes := verify(notification)
	require.Len(t, changes, 2)
	require.Equal(t, "9130357766902476/Invoice/130/Update/2024-03-05T10:11:12.000-08:00", changes[0].Event)
	require.Equal(t, "9130357766902476/Customer/58/Create/2024-03-05T10:11:13.000-08:00", changes[1].Event)
	require.Equal(t, changes, verify(notification), "a redelivery names the same events")
	later := verify(`{"eventNotifications":[{"realmId":"9130357766902476","dataChangeEvent":{"entities":[
{"name":"Invoice","id":"130","operation":"Update","lastUpdated":"2024-03-05T10:20:00.000-08:00"}]}}]}`)
	require.NotEqual(t, changes[0].Event, later[0].Event, "a later change of the same invoice is a new event")
	undated := verify(`{"eventNotifications":[{"realmId":"9130357766902476","dataChangeEvent":{"entities":[
{"name":"Invoice","id":"130","operation":"Update"}]}}]}`)
	require.Empty(t, undated[0].Event, "without lastUpdated two changes would share a key: it is never taken for a replay")
}

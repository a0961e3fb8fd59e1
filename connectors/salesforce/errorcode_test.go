package salesforce_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/salesforce"
)

// haltedBody is the error Salesforce gives an operation it rolled back
// because another one of the same transaction failed (composite requests
// with allOrNone); the code is outside the connector's known list.
const haltedBody = `[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}]`

// errorServer answers the token request with the recorded token response
// (pointing instance_url at itself) and every API call with status and body.
func errorServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	token, err := os.ReadFile(filepath.Join("testdata", "auth_success_response.json"))
	require.NoError(t, err)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
			_, _ = w.Write([]byte(strings.Replace(string(token), "https://na1.salesforce.com", srv.URL, 1)))
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestUnknownErrorCodeIsKept: a code the connector does not know keeps its
// place on the classified error instead of surviving only in the text.
func TestUnknownErrorCodeIsKept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		class  error
	}{
		{http.StatusBadRequest, connectors.ErrInvalid},
		{http.StatusInternalServerError, connectors.ErrUnavailable},
	} {
		srv := errorServer(t, tc.status, haltedBody)
		c, err := salesforce.NewWithOptions(connectors.Deps{
			Connection: connectors.Connection{Name: "crm", BaseURL: srv.URL,
				TokenURL: srv.URL + "/services/oauth2/token", ClientID: "id", ClientSecret: "secret", RefreshToken: "refresh"},
			HTTP: srv.Client(),
		}, salesforce.Options{})
		require.NoError(t, err)
		_, err = c.Write(context.Background(), connectors.Write{Op: connectors.OpUpdate, Object: "Case", ID: "5007F00000AbCdEQAV",
			Fields: map[string]any{"Status": "Working"}, IdempotencyKey: "k1"})
		require.ErrorIs(t, err, tc.class, "status %d", tc.status)
		require.Equal(t, "PROCESSING_HALTED", connectors.Code(err), "status %d: %v", tc.status, err)
		if errors.Is(tc.class, connectors.ErrInvalid) {
			var ie *connectors.InvalidError
			require.True(t, errors.As(err, &ie))
			require.Contains(t, ie.Msg, "The transaction was rolled back")
		}
	}
}

package accounting

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
)

// TestGoldenFaultKeepsEveryErrorAndBothTexts: the recorded two-error fault
// reaches the customer whole, headline and detail of each error.
func TestGoldenFaultKeepsEveryErrorAndBothTexts(t *testing.T) {
	t.Parallel()
	err := classify(&http.Response{StatusCode: 400, Header: http.Header{}}, fixture(t, "quickbooks-ruby/fault.xml"))
	var ie *connectors.InvalidError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "Length exceeds limit: Length of the field exceeds 21 chars; "+
		"Illegal number format: ZipCode should be a number with at least 5 digits", ie.Msg)
	require.Equal(t, "firstname", ie.Field)
	require.Equal(t, "2050", ie.Code)

	err = classify(&http.Response{StatusCode: 400, Header: http.Header{}}, fixture(t, "quickbooks-ruby/customer_duplicate_error.xml"))
	require.ErrorAs(t, err, &ie)
	require.True(t, strings.HasPrefix(ie.Msg, "Duplicate Name Exists Error: The name supplied already exists."), ie.Msg)

	bad := cassette(t, "error/400.yml")[1]
	err = classify(bad.response(), []byte(bad.Response.Body.String))
	require.ErrorAs(t, err, &ie)
	require.Contains(t, ie.Msg, "Invalid query")
	require.Contains(t, ie.Msg, "invalid context declaration: Custmoer")
}

// objectNotFound is QuickBooks' 610 fault in the capitalised JSON envelope
// the recorded 400 uses.
const objectNotFound = `{"Fault":{"Error":[{"Message":"Object Not Found","Detail":"Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.","code":"610","element":""}],"type":"ValidationFault"},"time":"2020-09-29T06:00:07.195-07:00"}`

// qbServer answers the token request with the recorded token response,
// every write with a 610 fault, and a read of the record with the recorded
// customer while it exists, else with 610.
func qbServer(t *testing.T, exists bool) (*httptest.Server, *[]string) {
	t.Helper()
	token := fixture(t, "intuit-sdk/success_token_response.json")
	customer := cassette(t, "get/id.yml")[0].Response.Body.String
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/tokens/bearer"):
			_, _ = w.Write(token)
		case r.Method == http.MethodGet && exists:
			_, _ = w.Write([]byte(customer))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(objectNotFound))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func qbConnector(t *testing.T, srv *httptest.Server) *Connector {
	t.Helper()
	c, err := NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "books", BaseURL: srv.URL, Realm: "9130357766902476",
			ClientID: "id", ClientSecret: "secret", RefreshToken: "refresh"},
		HTTP: srv.Client(), Credentials: &conntest.MemoryCredentials{},
	}, Options{})
	require.NoError(t, err)
	return c
}

// Test610OnAWriteIsInvalid: on a create, 610 means a record the new one
// refers to is inactive; the customer reads QuickBooks' text. On an update
// it is "not found" only when the record itself is gone.
func Test610OnAWriteIsInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, _ := qbServer(t, true)
	c := qbConnector(t, srv)
	_, err := c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "Invoice", IdempotencyKey: "k1",
		Fields: map[string]any{"CustomerRef": map[string]any{"value": "58"}}})
	var ie *connectors.InvalidError
	require.ErrorAs(t, err, &ie)
	require.NotErrorIs(t, err, connectors.ErrNotFound)
	require.Equal(t, "610", ie.Code)
	require.Contains(t, ie.Msg, "Something you're trying to use has been made inactive")

	_, err = c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: "Customer", ID: "5", ExpectedVersion: "1",
		IdempotencyKey: "k2", Fields: map[string]any{"ParentRef": map[string]any{"value": "9"}}})
	require.ErrorIs(t, err, connectors.ErrInvalid, "the customer exists: a record it refers to is inactive")

	// A read's 610 is still "not found".
	gone, calls := qbServer(t, false)
	c = qbConnector(t, gone)
	_, err = c.Get(ctx, "Customer", "5")
	require.ErrorIs(t, err, connectors.ErrNotFound)
	_, err = c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: "Customer", ID: "5", ExpectedVersion: "1",
		IdempotencyKey: "k3", Fields: map[string]any{"DisplayName": "x"}})
	require.ErrorIs(t, err, connectors.ErrNotFound, "the record itself is gone")
	require.False(t, errors.Is(err, connectors.ErrInvalid))
	res, err := c.Write(ctx, connectors.Write{Op: connectors.OpDelete, Object: "Invoice", ID: "130", ExpectedVersion: "2", IdempotencyKey: "k4"})
	require.NoError(t, err, "deleting a record that is gone is done")
	require.Equal(t, "130", res.ID)
	require.Contains(t, *calls, "GET /v3/company/9130357766902476/invoice/130", "the target was checked")
}

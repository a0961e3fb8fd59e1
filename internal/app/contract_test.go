package app_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
)

// The contract covers every route the server mounts under /api/v1, /auth
// and /admin (River UI aside, which is River's own), and names no route
// the server lacks: a route added without its operation fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	_, srv := serveOnly(t)
	h, ok := srv.Config.Handler.(chi.Routes)
	require.True(t, ok, "the server's handler is a chi router")
	for _, prefix := range []string{"/api/v1/", "/auth/", "/admin/"} {
		t.Run(prefix, func(t *testing.T) {
			routed, err := apitest.Routes(h, prefix, "/admin/riverui")
			require.NoError(t, err)
			documented, err := apitest.Operations(prefix)
			require.NoError(t, err)
			require.NotEmpty(t, routed)
			require.Equal(t, routed, documented, "the routes (left) and openapi.json (right)")
		})
	}
}

// checked sends req with body (nil for none) and checks the exchange
// against openapi.json. The response's body is read and put back.
func checked(t *testing.T, client *http.Client, req *http.Request, body []byte) *http.Response {
	t.Helper()
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(got))
	apitest.Check(t, apitest.Exchange{Request: req, RequestBody: body, Status: resp.StatusCode, Header: resp.Header, Body: got})
	return resp
}

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

// The portal is served at the root of the same server: its pages carry
// the strict page policy on top of the server's headers, and a browser's
// unknown path gets the portal's 404 page while a script's keeps the
// API's error shape.
func TestPortalIsMountedAtTheRoot(t *testing.T) {
	t.Parallel()
	_, srv := serveOnly(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, accept string) (int, http.Header, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Accept", accept)
		resp, err := client.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode, resp.Header, string(b)
	}
	code, header, _ := get("/", "text/html")
	require.Equal(t, http.StatusSeeOther, code)
	require.Equal(t, "/sign-in", header.Get("Location"))
	code, header, body := get("/sign-in", "text/html")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `action="/sign-in"`)
	require.Contains(t, header.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "DENY", header.Get("X-Frame-Options"))
	code, _, body = get("/nowhere", "text/html")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body, "Page not found")
	code, header, _ = get("/nowhere", "application/json")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "application/json", header.Get("Content-Type"))
}

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/server"
)

const token = "test-admin-token-0123456789"

func setup(t *testing.T, ready server.ReadyFunc, adminToken string) *httptest.Server {
	t.Helper()
	h := server.NewRouter(server.Options{
		Config:     config.Default().HTTP,
		Logger:     slog.New(slog.DiscardHandler),
		Registry:   metrics.NewRegistry(),
		Ready:      ready,
		AdminToken: adminToken,
		RiverUI: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "river ui")
		}),
		MountAdmin: func(r chi.Router) {
			r.Post("/sync/{connection}/{object}", func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusAccepted)
			})
		},
		Mount: func(r chi.Router) {
			r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
		},
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	var notReady error
	srv := setup(t, func(context.Context) error { return notReady }, token)

	code, _ := get(t, srv.URL+"/healthz", nil)
	require.Equal(t, http.StatusOK, code)
	code, body := get(t, srv.URL+"/readyz", nil)
	require.Equal(t, http.StatusOK, code, body)

	notReady = errors.New("database migrations are behind")
	code, body = get(t, srv.URL+"/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	var out map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	require.Equal(t, "database migrations are behind", out["reason"])
}

func TestMetricsByRoute(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, token)
	get(t, srv.URL+"/healthz", nil)
	code, body := get(t, srv.URL+"/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `portico_http_requests_total{code="200",method="GET",route="/healthz"} 1`)
	require.Contains(t, body, "portico_http_request_duration_seconds_bucket")
	require.Contains(t, body, "go_goroutines")
}

func TestAdminNeedsToken(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, token)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"none", nil, http.StatusUnauthorized},
		{"wrong bearer", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}, http.StatusUnauthorized},
		{"bearer", http.Header{"Authorization": {"Bearer " + token}}, http.StatusOK},
		{"basic with token as password", http.Header{"Authorization": {basic("anyone", token)}}, http.StatusOK},
		{"basic with wrong password", http.Header{"Authorization": {basic("anyone", "x")}}, http.StatusUnauthorized},
	} {
		code, body := get(t, srv.URL+"/admin/riverui/", tc.header)
		require.Equal(t, tc.want, code, "%s: %s", tc.name, body)
	}
}

func TestAdminWithoutConfiguredTokenIsClosed(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, "")
	code, _ := get(t, srv.URL+"/admin/riverui", http.Header{"Authorization": {"Bearer "}})
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = get(t, srv.URL+"/admin/riverui", http.Header{"Authorization": {basic("", "")}})
	require.Equal(t, http.StatusUnauthorized, code)
}

func TestPanicBecomes500WithRequestID(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, token)
	code, body := get(t, srv.URL+"/boom", nil)
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, `"code":"internal"`)
	require.True(t, strings.Contains(body, "request id"), body)
	code, _ = get(t, srv.URL+"/healthz", nil)
	require.Equal(t, http.StatusOK, code, "the server survives")
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestSecurityHeadersWithoutHTTPSHaveNoHSTS(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, token)
	for _, path := range []string{"/healthz", "/nope", "/admin/riverui/"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
		require.Empty(t, resp.Header.Get("Strict-Transport-Security"), "%s: no HSTS on plain http", path)
	}
}

// TestUnknownRoutesAnswerTheErrorShape: a path no route serves, on the
// top level and under /admin, and a method a path does not take answer in
// JSON, as the API does, not in net/http's plain text.
func TestUnknownRoutesAnswerTheErrorShape(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, token)
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	for _, tc := range []struct {
		method, path string
		want         int
		code         string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/admin/nope", http.StatusNotFound, "not_found"},
		{http.MethodDelete, "/healthz", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/admin/sync/crm/Case", http.StatusMethodNotAllowed, "method_not_allowed"},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		require.NoError(t, err)
		req.Header = bearer.Clone()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.Equal(t, tc.want, resp.StatusCode, "%s %s", tc.method, tc.path)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s", tc.method, tc.path)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), "%s %s", tc.method, tc.path)
		resp.Body.Close()
		require.Equal(t, tc.code, body.Error.Code, "%s %s", tc.method, tc.path)
		require.NotEmpty(t, body.Error.Message)
	}
}

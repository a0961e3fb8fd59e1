package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/metrics"
	"github.com/porticohq/portico/internal/server"
)

// TestAdminRefusesCrossSiteRequests replays the attack that started a
// sync: a page on another site POSTs text/plain to /admin with the basic
// auth the browser remembers. Then every variant of it.
func TestAdminRefusesCrossSiteRequests(t *testing.T) {
	t.Parallel()
	srv := setup(t, func(context.Context) error { return nil }, token)
	host := mustParse(t, srv.URL).Host
	basicAuth := basic("staff", token)
	for _, tc := range []struct {
		name              string
		path, ctype, body string
		header            http.Header
		want              int
	}{
		{"the attack: text/plain from another origin with basic auth", "/admin/sync/salesforce/Case?mode=full", "text/plain", "x",
			http.Header{"Authorization": {basicAuth}, "Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"the attack, by an older browser without Sec-Fetch-Site", "/admin/sync/salesforce/Case?mode=full", "text/plain", "x",
			http.Header{"Authorization": {basicAuth}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"the attack, without a body", "/admin/sync/salesforce/Case?mode=full", "", "",
			http.Header{"Authorization": {basicAuth}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"a sibling subdomain is another site too", "/admin/sync/salesforce/Case", "", "",
			http.Header{"Authorization": {"Bearer " + token}, "Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"even the bearer token from a page elsewhere", "/admin/sync/salesforce/Case", "application/json", "{}",
			http.Header{"Authorization": {"Bearer " + token}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"basic auth without proof of origin", "/admin/sync/salesforce/Case", "", "",
			http.Header{"Authorization": {basicAuth}}, http.StatusForbidden},
		{"basic auth from this origin, text/plain", "/admin/sync/salesforce/Case", "text/plain", "x",
			http.Header{"Authorization": {basicAuth}, "Origin": {"http://" + host}}, http.StatusUnsupportedMediaType},
		{"basic auth from this origin, no body", "/admin/sync/salesforce/Case", "", "",
			http.Header{"Authorization": {basicAuth}, "Origin": {"http://" + host}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusAccepted},
		{"bearer from a script, text/plain body", "/admin/sync/salesforce/Case", "text/plain", "x",
			http.Header{"Authorization": {"Bearer " + token}}, http.StatusUnsupportedMediaType},
		{"bearer from a script, form body", "/admin/sync/salesforce/Case", "application/x-www-form-urlencoded", "a=b",
			http.Header{"Authorization": {"Bearer " + token}}, http.StatusUnsupportedMediaType},
		{"bearer from a script, no body", "/admin/sync/salesforce/Case", "", "",
			http.Header{"Authorization": {"Bearer " + token}}, http.StatusAccepted},
		{"bearer from a script, JSON", "/admin/sync/salesforce/Case", "application/json; charset=utf-8", "{}",
			http.Header{"Authorization": {"Bearer " + token}}, http.StatusAccepted},
		// River UI's own script posts JSON as text/plain: allowed from
		// this origin only.
		{"River UI from this origin", "/admin/riverui/api/jobs/retry", "text/plain;charset=UTF-8", `{"ids":["1"]}`,
			http.Header{"Authorization": {basicAuth}, "Origin": {"http://" + host}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusOK},
		{"River UI from another origin", "/admin/riverui/api/jobs/retry", "text/plain;charset=UTF-8", `{"ids":["1"]}`,
			http.Header{"Authorization": {basicAuth}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"River UI without proof of origin", "/admin/riverui/api/jobs/retry", "text/plain;charset=UTF-8", `{"ids":["1"]}`,
			http.Header{"Authorization": {basicAuth}}, http.StatusForbidden},
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, "%s: %s", tc.name, b)
		if tc.want >= 400 {
			require.Contains(t, string(b), `{"error":{"code":`, tc.name)
			if !strings.HasPrefix(tc.path, "/admin/riverui") {
				// The guard's refusals are part of the contract; the stub
				// behind it is not.
				apitest.Check(t, apitest.Exchange{Request: req, RequestBody: []byte(tc.body), Status: resp.StatusCode, Header: resp.Header, Body: b})
			}
		}
	}
	// Reading stays open to a remembered basic auth (River UI's pages).
	code, _ := get(t, srv.URL+"/admin/riverui/", http.Header{"Authorization": {basicAuth}, "Sec-Fetch-Site": {"cross-site"}})
	require.Equal(t, http.StatusOK, code)
}

func mustParse(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// Behind a proxy that does not pass the Host header on, the browser's
// Origin names the public URL: that is this site too.
func TestAdminOriginMayBeThePublicURL(t *testing.T) {
	t.Parallel()
	cfg := config.Default().HTTP
	cfg.PublicURL = "https://portal.example.com"
	srv := httptest.NewServer(server.NewRouter(server.Options{
		Config: cfg, Logger: slog.New(slog.DiscardHandler), Registry: metrics.NewRegistry(), AdminToken: token,
		MountAdmin: func(r chi.Router) {
			r.Post("/sync/{connection}/{object}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
		},
	}))
	t.Cleanup(srv.Close)
	for origin, want := range map[string]int{
		"https://portal.example.com":      http.StatusAccepted,
		"https://portal.example.com.evil": http.StatusForbidden,
		"https://evil.example":            http.StatusForbidden,
		"null":                            http.StatusForbidden,
	} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/admin/sync/salesforce/Case", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", basic("staff", token))
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, origin)
	}
}

package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
)

// TestMountedOnTheAPIRouter is the wiring the API server uses, written out
// as a reader would copy it: Authenticate once for every route, /auth
// mounted, CSRF on the API's writes, roles on the routes that need them.
// It walks a whole session: login, a read, a protected write with and
// without the CSRF token, logout.
func TestMountedOnTheAPIRouter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	_, err := auth.CreateUser(ctx, pool, auth.NewUser{
		Email: "ana@acme.test", Password: "violet-harbour-lantern-42",
		AccountID: "001ACME", ContactID: "003ANA", Roles: []string{auth.RoleMember, auth.RolePurchasing},
	})
	require.NoError(t, err)
	svc, err := auth.New(auth.Deps{Pool: pool, Config: config.Default().Auth})
	require.NoError(t, err)

	r := chi.NewRouter()
	r.Use(svc.Authenticate)
	r.Mount("/auth", svc.Routes())
	r.Route("/api", func(r chi.Router) {
		r.Use(auth.RequireAuthenticated, svc.RequireCSRF)
		r.Get("/whoami", func(w http.ResponseWriter, r *http.Request) {
			p := auth.PrincipalFrom(r.Context())
			_, _ = io.WriteString(w, p.Email+" "+p.AccountID)
		})
		r.With(auth.RequireRole(auth.RolePurchasing)).Post("/orders", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	send := func(method, path, body, csrf string) *http.Response {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if csrf != "" {
			req.Header.Set(auth.CSRFHeader, csrf)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	require.Equal(t, http.StatusUnauthorized, send("GET", "/api/whoami", "", "").StatusCode)

	resp := send("POST", "/auth/login", `{"email":"ana@acme.test","password":"violet-harbour-lantern-42"}`, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var sessionCookies int
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			sessionCookies++
		}
	}
	require.Equal(t, 1, sessionCookies, "Authenticate applied twice (router and Routes) still sets one cookie")
	var login struct {
		User      auth.User `json:"user"`
		CSRFToken string    `json:"csrf_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&login))
	require.Equal(t, []string{"member", "purchasing"}, login.User.Roles)

	resp = send("GET", "/api/whoami", "", "")
	who, _ := io.ReadAll(resp.Body)
	require.Equal(t, "ana@acme.test 001ACME", string(who))

	require.Equal(t, http.StatusForbidden, send("POST", "/api/orders", `{}`, "").StatusCode, "no CSRF token")
	require.Equal(t, http.StatusCreated, send("POST", "/api/orders", `{}`, login.CSRFToken).StatusCode)

	require.Equal(t, http.StatusNoContent, send("POST", "/auth/logout", "", login.CSRFToken).StatusCode)
	require.Equal(t, http.StatusUnauthorized, send("GET", "/api/whoami", "", "").StatusCode)
}

package api

import (
	_ "embed"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/reply"
)

// OpenAPI is the API's contract, OpenAPI 3.1.
//
//go:embed openapi.json
var OpenAPI []byte

// Mount adds the portal's routes to r: /auth (login, sessions, tokens),
// /api/v1 and /api/openapi.json, with CORS for corsOrigins. The server
// adds the security headers to every response.
func (a *API) Mount(r chi.Router, corsOrigins []string) {
	r.Mount("/auth", CORS(corsOrigins, a.d.Auth.Routes()))
	r.Mount("/api/v1", CORS(corsOrigins, a.Routes()))
	r.Method(http.MethodGet, "/api/openapi.json", CORS(corsOrigins, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reply.Document(w, OpenAPI, 5*time.Minute)
	})))
}

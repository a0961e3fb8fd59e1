package api

import (
	"net/http"
	"slices"
	"strings"
)

// CORS wraps h with CORS for the allowed origins; with none, it answers
// no Access-Control headers at all. The security headers (CSP, HSTS, ...)
// are the server's, on every route.
func CORS(origins []string, h http.Handler) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		hd.Add("Vary", "Origin")
		if !slices.Contains(origins, origin) {
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Credentials", "true")
		hd.Set("Access-Control-Expose-Headers", "ETag, Location")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET, POST, PATCH")
			hd.Set("Access-Control-Allow-Headers", strings.Join([]string{"Content-Type", "Authorization", "Idempotency-Key", "If-None-Match", "X-CSRF-Token"}, ", "))
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

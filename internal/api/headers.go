package api

import (
	"net/http"
	"slices"
	"strings"
)

// HeaderOptions configure the security headers and CORS.
type HeaderOptions struct {
	// TLS turns on HSTS: only when the public URL is https, or a browser
	// that once saw it over plain http on a dev box would refuse it after.
	TLS bool
	// CORSOrigins are the origins allowed to call the API from a browser;
	// empty turns CORS off (no Access-Control headers at all).
	CORSOrigins []string
}

// csp allows nothing: the API serves JSON, never pages or scripts.
const csp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Secure wraps h with the security headers and, when configured, CORS for
// the allowed origins.
func Secure(opts HeaderOptions, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if opts.TLS {
			hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		origin := r.Header.Get("Origin")
		if origin == "" || len(opts.CORSOrigins) == 0 {
			h.ServeHTTP(w, r)
			return
		}
		hd.Add("Vary", "Origin")
		if !slices.Contains(opts.CORSOrigins, origin) {
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

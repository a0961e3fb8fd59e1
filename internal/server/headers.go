package server

import (
	"net/http"
)

// Content-Security-Policies. Everything Portico serves itself is JSON, so
// it allows nothing. River UI is a single-page app that loads its module
// scripts, stylesheet and icons from its own prefix, draws checkboxes with
// data: SVGs in that stylesheet and calls its API with fetch: exactly
// that, from 'self'. Both forbid framing.
const (
	cspNone    = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	cspRiverUI = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// securityHeaders sets the security headers on every response, before any
// handler runs, so that 404s, 405s, 401s and panics carry them too. HSTS
// only over https (the public URL's scheme, or TLS on this listener): a
// browser that saw it on a plain-http dev box would refuse that box after.
func securityHeaders(https bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", cspNone)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Resource-Policy", "same-origin")
			if https || r.TLS != nil {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// riverUIPolicy replaces the policy for River UI's pages and assets.
func riverUIPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", cspRiverUI)
		next.ServeHTTP(w, r)
	})
}

package server

import (
	"context"
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/reply"
)

// Staff identifies portal users on /admin and checks the CSRF token of
// their browser sessions; *auth.Service is one.
type Staff interface {
	Authenticate(next http.Handler) http.Handler
	RequireCSRF(next http.Handler) http.Handler
}

// credential is how an /admin request authenticated.
type credential int

const (
	credAdminBearer credential = iota + 1 // the shared admin token as a bearer token
	credAdminBasic                        // the shared admin token as a basic-auth password
	credAPIToken                          // a staff user's scoped API token
	credSession                           // a staff user's browser session
)

type credentialKey struct{}

func credentialFrom(ctx context.Context) credential {
	c, _ := ctx.Value(credentialKey{}).(credential)
	return c
}

// adminGuard admits staff to /admin: operator_admin staff users by
// session or by an API token with an admin scope, and the shared admin
// token, which is for bootstrap (creating the first staff user) and
// scripts. Anyone else is 401, and a signed-in non-staff user 403.
type adminGuard struct {
	token string
	staff Staff
	// publicHost is http.public_url's host: behind a proxy that does not
	// pass the Host header on, a browser's Origin names it.
	publicHost string
}

func (g adminGuard) authenticate(next http.Handler) http.Handler {
	viaStaff := http.Handler(http.HandlerFunc(unauthorized))
	if g.staff != nil {
		viaStaff = g.staff.Authenticate(requireOperatorAdmin(next))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := g.adminToken(r); c != 0 {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), credentialKey{}, c)))
			return
		}
		viaStaff.ServeHTTP(w, r)
	})
}

// adminToken reports whether r carries the shared admin token, and how.
func (g adminGuard) adminToken(r *http.Request) credential {
	if g.token == "" {
		return 0
	}
	got, c := "", credential(0)
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got, c = strings.TrimPrefix(h, "Bearer "), credAdminBearer
	} else if _, pass, ok := r.BasicAuth(); ok {
		got, c = pass, credAdminBasic
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(g.token)) != 1 {
		return 0
	}
	return c
}

// requireOperatorAdmin admits staff users holding operator_admin; an API
// token also needs the scope for the method (adminScopes).
func requireOperatorAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		switch {
		case p == nil:
			unauthorized(w, r)
			return
		case !p.Staff || !p.HasRole(auth.RoleOperatorAdmin):
			reply.Refuse(w, r, http.StatusForbidden, "forbidden", "staff only")
			return
		}
		c := credSession
		if p.ViaToken() {
			c = credAPIToken
			scopes := adminScopes(r)
			if !allowsAny(p, scopes) {
				reply.Refuse(w, r, http.StatusForbidden, "insufficient_scope", "this API token needs one of the scopes "+strings.Join(scopes, ", "))
				return
			}
		}
		ctx := context.WithValue(r.Context(), credentialKey{}, c)
		ctx = audit.WithActor(ctx, audit.StaffActor(strconv.FormatInt(p.UserID, 10)))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// adminScopes are the API token scopes of which one admits r: reading
// needs admin:read (or admin:write), changing needs admin:write, and
// asking for a sync may also be done with sync:run.
func adminScopes(r *http.Request) []string {
	switch {
	case safeMethod(r.Method):
		return []string{auth.ScopeAdminRead, auth.ScopeAdminWrite}
	case strings.HasPrefix(r.URL.Path, "/admin/sync/"):
		return []string{auth.ScopeAdminWrite, auth.ScopeSyncRun}
	}
	return []string{auth.ScopeAdminWrite}
}

func allowsAny(p *auth.Principal, scopes []string) bool {
	for _, s := range scopes {
		if p.Allows(s) {
			return true
		}
	}
	return false
}

func unauthorized(w http.ResponseWriter, r *http.Request) {
	// Basic, so that a browser asks for the admin token on River UI.
	w.Header().Set("WWW-Authenticate", `Basic realm="portico admin", charset="UTF-8"`)
	reply.Refuse(w, r, http.StatusUnauthorized, "unauthorized", "staff credentials required: a staff session, a staff API token or the admin token")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// refuseCrossSite refuses a change that the browser says another site
// asked for (Sec-Fetch-Site, or an Origin other than this host). Requests
// without either header are not from a browser page and pass.
func (g adminGuard) refuseCrossSite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) && g.crossSite(r) {
			reply.Refuse(w, r, http.StatusForbidden, "cross_site", "staff endpoints refuse requests from other sites")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g adminGuard) crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // cross-site, same-site (a sibling subdomain is another origin)
		return true
	}
	origin := r.Header.Get("Origin")
	return origin != "" && !g.ownOrigin(origin, r)
}

// sameOrigin is positive proof that a browser sent r from this origin.
func (g adminGuard) sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	origin := r.Header.Get("Origin")
	return origin != "" && g.ownOrigin(origin, r)
}

// ownOrigin reports whether origin is this server's: the host the request
// was sent to, or the public URL's.
func (g adminGuard) ownOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || (g.publicHost != "" && strings.EqualFold(u.Host, g.publicHost))
}

// sameOriginWrites refuses changes carried by an ambient credential of
// the given kinds unless the browser proves they come from this origin:
// a page elsewhere could make the browser send them.
func (g adminGuard) sameOriginWrites(kinds ...credential) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := credentialFrom(r.Context())
			for _, k := range kinds {
				if c == k && !safeMethod(r.Method) && !g.sameOrigin(r) {
					reply.Refuse(w, r, http.StatusForbidden, "cross_site",
						"a change sent with browser credentials needs an Origin header of this site; scripts use Authorization: Bearer")
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// jsonBodies refuses a change whose body is not JSON: HTML forms cannot
// send application/json, so a form on another site cannot reach here
// without a CORS preflight, which /admin never answers.
func jsonBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		ct := r.Header.Get("Content-Type")
		if ct == "" && r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			reply.Refuse(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "send Content-Type: application/json")
			return
		}
		next.ServeHTTP(w, r)
	})
}

package auth

import (
	"context"
	"net/http"
	"slices"

	"github.com/porticohq/portico/internal/reply"
)

// Principal is who a request acts as.
type Principal struct {
	UserID    int64    `json:"user_id"`
	TenantID  int64    `json:"tenant_id"`
	AccountID string   `json:"account_id,omitempty"` // CRM account source id; empty for staff
	ContactID string   `json:"contact_id,omitempty"`
	Email     string   `json:"email"`
	Roles     []string `json:"roles"`
	Staff     bool     `json:"staff"`
	// SeeChildAccounts widens the account scope to its child accounts.
	SeeChildAccounts bool `json:"see_child_accounts"`
	// TokenScopes is set when the request carries an API token, and
	// limits it; nil for browser sessions.
	TokenScopes []string `json:"token_scopes,omitempty"`
	TokenID     int64    `json:"token_id,omitempty"`
	// SessionID is set for browser sessions (cookie authentication).
	SessionID string `json:"session_id,omitempty"`
	// Locale is the language the user chose for the portal's pages; ""
	// follows the browser. (Not in the API's answers yet.)
	Locale string `json:"-"`
}

// Account roles and the staff role.
const (
	RoleAccountAdmin  = "account_admin"
	RoleMember        = "member"
	RoleBilling       = "billing"
	RolePurchasing    = "purchasing"
	RoleOperatorAdmin = "operator_admin"
)

// AccountRoles are the roles a customer user may hold, in any combination.
var AccountRoles = []string{RoleAccountAdmin, RoleMember, RoleBilling, RolePurchasing}

// HasRole reports whether p holds any of roles.
func (p *Principal) HasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// ViaToken reports whether p authenticated with an API token.
func (p *Principal) ViaToken() bool { return p.TokenID != 0 }

// Allows reports whether p may use scope: sessions carry the user's full
// rights, API tokens only their scopes.
func (p *Principal) Allows(scope string) bool {
	return !p.ViaToken() || slices.Contains(p.TokenScopes, scope)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, or nil when anonymous.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// RequireAuthenticated answers 401 to anonymous requests.
func RequireAuthenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if PrincipalFrom(r.Context()) == nil {
			reply.Refuse(w, r, http.StatusUnauthorized, "unauthenticated", "log in first")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireRole lets through principals holding any of roles (401 when
// anonymous, 403 otherwise). Staff pass only if operator_admin is listed.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return RequireAuthenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !PrincipalFrom(r.Context()).HasRole(roles...) {
				reply.Refuse(w, r, http.StatusForbidden, "forbidden", "your role does not allow this")
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// RequireStaff lets through the operator's staff only.
func RequireStaff(next http.Handler) http.Handler {
	return RequireAuthenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !PrincipalFrom(r.Context()).Staff {
			reply.Refuse(w, r, http.StatusForbidden, "forbidden", "staff only")
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// RequireScope refuses API tokens that lack scope; browser sessions pass.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return RequireAuthenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !PrincipalFrom(r.Context()).Allows(scope) {
				reply.Refuse(w, r, http.StatusForbidden, "insufficient_scope", "this API token lacks the scope "+scope)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

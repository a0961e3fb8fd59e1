package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// ErrForbidden is something the principal may not do.
var ErrForbidden = errors.New("auth: not allowed")

// APITokenPrefix starts every API token, so that scanners and log
// filters can recognise a leaked one.
const APITokenPrefix = "pt_"

// API token scopes.
const (
	ScopeAdminRead   = "admin:read"
	ScopeAdminWrite  = "admin:write"
	ScopeSyncRun     = "sync:run"
	ScopePortalRead  = "portal:read"
	ScopePortalWrite = "portal:write"
)

// Scopes lists every scope; staffScopes only staff may grant.
var (
	Scopes      = []string{ScopeAdminRead, ScopeAdminWrite, ScopeSyncRun, ScopePortalRead, ScopePortalWrite}
	staffScopes = []string{ScopeAdminRead, ScopeAdminWrite, ScopeSyncRun}
)

// API token lifetimes, in days.
const (
	DefaultAPITokenDays = 90
	MaxAPITokenDays     = 365
)

// APIToken is an API token as listed; the secret is never shown again.
type APIToken struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Token is set only in the answer that creates it.
	Token string `json:"token,omitempty"`
}

func apiTokenFromRow(t store.AuthApiToken) APIToken {
	out := APIToken{ID: t.ID, Name: t.Name, Scopes: t.Scopes, ExpiresAt: t.ExpiresAt.Time, CreatedAt: t.CreatedAt.Time}
	if t.RevokedAt.Valid {
		out.RevokedAt = &t.RevokedAt.Time
	}
	if t.LastUsedAt.Valid {
		out.LastUsedAt = &t.LastUsedAt.Time
	}
	return out
}

// tokenPrincipal authenticates an API token; a bad one gets 401 at once
// rather than passing as anonymous, so a typo is not a silent downgrade.
func (s *Service) tokenPrincipal(w http.ResponseWriter, r *http.Request, tok string, next http.Handler) {
	ctx := r.Context()
	now := s.now()
	row, err := s.apiToken(ctx, tokenHash(tok), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		s.rp.Error(w, r, http.StatusUnauthorized, "invalid_token", "the API token is unknown, revoked or expired")
		return
	case err != nil:
		s.rp.Internal(w, r, fmt.Errorf("api token: %w", err))
		return
	}
	p := principalFromRow(row.AuthUser)
	p.TokenID = row.AuthApiToken.ID
	p.TokenScopes = row.AuthApiToken.Scopes
	next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
}

// apiToken returns a live API token and its active user, from the cache
// when it can. last_used_at is written at most once a minute per token.
func (s *Service) apiToken(ctx context.Context, hash []byte, now time.Time) (store.AuthAPITokenLookupRow, error) {
	key := string(hash)
	touch := func(tx pgx.Tx, id int64) error {
		return store.AuthAPITokenTouch(ctx, tx, store.AuthAPITokenTouchParams{ID: id, Now: ts(now), StaleBefore: ts(now.Add(-time.Minute))})
	}
	if e, ok := s.cache.token(key, now); ok {
		if now.Sub(e.touched) >= time.Minute {
			if err := s.asAPI(ctx, func(tx pgx.Tx) error { return touch(tx, e.row.AuthApiToken.ID) }); err != nil {
				return store.AuthAPITokenLookupRow{}, err
			}
			s.cache.touchedToken(key, now)
		}
		return e.row, nil
	}
	gen, live := s.cache.begin()
	var row store.AuthAPITokenLookupRow
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = store.AuthAPITokenLookup(ctx, tx, store.AuthAPITokenLookupParams{TokenHash: hash, Now: ts(now), TenantID: s.tenantID})
		if err != nil {
			return err
		}
		return touch(tx, row.AuthApiToken.ID)
	})
	if err == nil && live {
		s.cache.putToken(gen, key, row, now)
	}
	return row, err
}

// TokenRequest is a new API token: its name, scopes and lifetime (0 for
// DefaultAPITokenDays).
type TokenRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresInDays int      `json:"expires_in_days"`
}

func (s *Service) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var in TokenRequest
	if PrincipalFrom(r.Context()).ViaToken() {
		s.rp.Error(w, r, http.StatusForbidden, "forbidden", "an API token cannot create API tokens; log in")
		return
	}
	if !s.decode(w, r, &in) {
		return
	}
	out, err := s.CreateAPIToken(r, in)
	var v *ValidationError
	switch {
	case errors.As(err, &v):
		s.rp.Invalid(w, r, v.Fields...)
	case err != nil:
		s.rp.Internal(w, r, err)
	default:
		s.rp.JSON(w, r, http.StatusCreated, out)
	}
}

// CreateAPIToken creates an API token of the request's browser-session
// user and returns it with its secret (Token), which is never shown
// again. Bad input is a *ValidationError naming the field; a caller that
// signed in with an API token is ErrForbidden.
func (s *Service) CreateAPIToken(r *http.Request, in TokenRequest) (APIToken, error) {
	p := PrincipalFrom(r.Context())
	if p == nil || p.ViaToken() {
		return APIToken{}, fmt.Errorf("%w: an API token cannot create API tokens", ErrForbidden)
	}
	v := &ValidationError{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		v.add("name", "is required, at most 100 characters")
	}
	scopes := dedupe(in.Scopes)
	if len(scopes) == 0 {
		v.add("scopes", "needs at least one of %s", strings.Join(Scopes, ", "))
	}
	for i, sc := range scopes {
		switch {
		case !slices.Contains(Scopes, sc):
			v.add(fmt.Sprintf("scopes[%d]", i), "unknown scope %q; use %s", sc, strings.Join(Scopes, ", "))
		case slices.Contains(staffScopes, sc) && !p.Staff:
			v.add(fmt.Sprintf("scopes[%d]", i), "scope %s is for staff users", sc)
		}
	}
	days := in.ExpiresInDays
	if days == 0 {
		days = DefaultAPITokenDays
	}
	if days < 1 || days > MaxAPITokenDays {
		v.add("expires_in_days", "must be between 1 and %d", MaxAPITokenDays)
	}
	if err := v.err(); err != nil {
		return APIToken{}, err
	}
	now := s.now()
	secret := APITokenPrefix + randomToken()
	var row store.AuthApiToken
	ctx := r.Context()
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		row, err = store.AuthAPITokenCreate(ctx, tx, store.AuthAPITokenCreateParams{
			UserID: p.UserID, Name: in.Name, TokenHash: tokenHash(secret), Scopes: scopes,
			ExpiresAt: ts(now.Add(time.Duration(days) * 24 * time.Hour)), Now: ts(now),
		})
		return err
	})
	if err != nil {
		return APIToken{}, fmt.Errorf("create api token: %w", err)
	}
	out := apiTokenFromRow(row)
	out.Token = secret
	s.audit(r, Event{Action: "auth.token_create", Object: "api_token", ObjectID: strconv.FormatInt(row.ID, 10),
		Detail: map[string]string{"scopes": strings.Join(scopes, " "), "name": in.Name}})
	return out, nil
}

func (s *Service) handleTokenList(w http.ResponseWriter, r *http.Request) {
	out, err := s.APITokens(r.Context())
	if err != nil {
		s.rp.Internal(w, r, err)
		return
	}
	s.rp.JSON(w, r, http.StatusOK, map[string]any{"tokens": out})
}

// APITokens lists the context's user's own API tokens, revoked ones too.
func (s *Service) APITokens(ctx context.Context) ([]APIToken, error) {
	p := PrincipalFrom(ctx)
	var rows []store.AuthApiToken
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		rows, err = store.AuthAPITokenList(ctx, tx, p.UserID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	out := make([]APIToken, len(rows))
	for i, t := range rows {
		out[i] = apiTokenFromRow(t)
	}
	return out, nil
}

// handleTokenRevoke revokes the caller's own token (staff: any of the
// tenant's). Someone else's token id answers 404, as an unknown one does.
func (s *Service) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.rp.Invalid(w, r, reply.Field{Path: "id", Message: "must be a positive integer"})
		return
	}
	switch err := s.RevokeAPIToken(r, id); {
	case errors.Is(err, ErrNotFound):
		s.rp.Error(w, r, http.StatusNotFound, "not_found", "no such API token")
	case err != nil:
		s.rp.Internal(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// RevokeAPIToken revokes the request's user's own token id (staff: any of
// the tenant's); someone else's, or an unknown one, is ErrNotFound.
func (s *Service) RevokeAPIToken(r *http.Request, id int64) error {
	p := PrincipalFrom(r.Context())
	ctx := r.Context()
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		_, err := store.AuthAPITokenRevoke(ctx, tx, store.AuthAPITokenRevokeParams{
			ID: id, TenantID: s.tenantID, UserID: p.UserID, Staff: p.Staff, Now: ts(s.now()),
		})
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("revoke api token: %w", err)
	}
	s.cache.invalidate("k:" + strconv.FormatInt(id, 10)) // here now; elsewhere on the notification
	s.audit(r, Event{Action: "auth.token_revoke", Object: "api_token", ObjectID: strconv.FormatInt(id, 10)})
	return nil
}

package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

type oidcClient struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// oidcSetup discovers the provider once; a failure is retried on the
// next login rather than cached.
func (s *Service) oidcSetup(ctx context.Context) (*oidcClient, error) {
	s.oidcMu.Lock()
	defer s.oidcMu.Unlock()
	if s.oidc != nil {
		return s.oidc, nil
	}
	cfg := s.cfg.OIDC
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, s.client), cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("auth: oidc discovery at %s: %w", cfg.IssuerURL, err)
	}
	redirect := cfg.RedirectURL
	if redirect == "" {
		redirect = s.publicURL + "/auth/oidc/callback"
	}
	s.oidc = &oidcClient{
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: redirect,
			Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.now}),
	}
	return s.oidc, nil
}

// handleOIDCLogin starts the authorization code flow with PKCE. State,
// nonce and verifier wait in the (pre-login) session.
func (s *Service) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OIDC.IssuerURL == "" {
		s.rp.Error(w, r, http.StatusNotFound, "oidc_disabled", "single sign-on is not configured")
		return
	}
	returnTo := r.URL.Query().Get("return_to")
	if returnTo == "" {
		returnTo = "/"
	}
	if !localPath(returnTo) {
		s.rp.Invalid(w, r, reply.Field{Path: "return_to", Message: "must be a path on this site, such as /cases"})
		return
	}
	c, err := s.oidcSetup(r.Context())
	if err != nil {
		s.rp.Fail(w, r, &reply.Error{Status: http.StatusServiceUnavailable, Code: "oidc_unavailable",
			Message: "the sign-on provider cannot be reached; try again shortly", Cause: fmt.Errorf("auth: oidc unavailable: %w", err)})
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	ctx := r.Context()
	s.sm.Put(ctx, keyState, state)
	s.sm.Put(ctx, keyNonce, nonce)
	s.sm.Put(ctx, keyVerifier, verifier)
	s.sm.Put(ctx, keyReturnTo, returnTo)
	http.Redirect(w, r, c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// LocalPath reports whether s is a path on this site and nothing else,
// for any return-to value (the portal's sign-in page takes one too).
func LocalPath(s string) bool { return localPath(s) }

// localPath reports whether a return_to value is a path on this site and
// nothing else: anything more would make the login an open redirect.
// Browsers drop tabs and newlines and read a backslash as a slash, so
// "/\t/evil.example" is "//evil.example" to them: those are refused in
// the value and once more percent-decoded, as are a scheme, a host and a
// leading "//".
func localPath(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	decoded, err := url.PathUnescape(s)
	if err != nil {
		return false
	}
	for _, v := range []string{s, decoded} {
		if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsRune(v, '\\') ||
			strings.ContainsFunc(v, unicode.IsControl) {
			return false
		}
	}
	return true
}

type oidcClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
}

// emailVerified reads email_verified; a provider that omits it is
// trusted only when configured to be.
func (s *Service) emailVerified(c oidcClaims) bool {
	if c.EmailVerified == nil {
		return s.cfg.OIDC.TrustEmailWithoutVerifiedClaim
	}
	return *c.EmailVerified
}

func (s *Service) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.cfg.OIDC.IssuerURL == "" {
		s.rp.Error(w, r, http.StatusNotFound, "oidc_disabled", "single sign-on is not configured")
		return
	}
	// Each value is used once: a replayed callback finds none.
	state := s.sm.PopString(ctx, keyState)
	nonce := s.sm.PopString(ctx, keyNonce)
	verifier := s.sm.PopString(ctx, keyVerifier)
	returnTo := s.sm.PopString(ctx, keyReturnTo)
	fail := func(code, msg string, err error) {
		if err != nil {
			s.log.WarnContext(ctx, "auth: oidc login refused", "code", code, "err", err)
		}
		s.audit(r, Event{Action: "auth.login_failed", Object: "user", Detail: map[string]string{"method": "oidc", "reason": code}})
		s.rp.Error(w, r, http.StatusUnauthorized, code, msg)
	}
	query := r.URL.Query()
	if e := query.Get("error"); e != "" {
		fail("oidc_error", "the sign-on provider refused: "+e, nil)
		return
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(query.Get("state"))) != 1 {
		fail("invalid_state", "this sign-on link is stale or was not started here; start again", nil)
		return
	}
	c, err := s.oidcSetup(ctx)
	if err != nil {
		fail("oidc_unavailable", "the sign-on provider cannot be reached", err)
		return
	}
	octx := oidc.ClientContext(ctx, s.client)
	tok, err := c.oauth.Exchange(octx, query.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fail("oidc_exchange", "the sign-on provider did not accept the login", err)
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := c.verifier.Verify(octx, rawID)
	if err != nil {
		fail("invalid_id_token", "the sign-on provider's identity token is invalid", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		fail("invalid_nonce", "the identity token does not belong to this login", nil)
		return
	}
	var claims oidcClaims
	if err := idt.Claims(&claims); err != nil {
		fail("invalid_id_token", "the identity token has unreadable claims", err)
		return
	}
	email, err := normalizeEmail(claims.Email)
	if err != nil || !s.emailVerified(claims) {
		fail("email_unverified", "the sign-on provider gave no verified email", err)
		return
	}
	user, err := s.oidcUser(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		s.audit(r, Event{Action: "auth.login_failed", ActorName: email, Object: "user", Detail: map[string]string{"method": "oidc", "reason": "unknown_user"}})
		s.rp.Error(w, r, http.StatusForbidden, "unknown_user", "no active portal user has this email; ask your account administrator for an invitation")
		return
	case err != nil:
		s.rp.Internal(w, r, err)
		return
	}
	if _, err := s.loggedIn(w, r, user, "oidc"); err != nil {
		s.rp.Internal(w, r, err)
		return
	}
	if returnTo == "" {
		returnTo = "/"
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// oidcUser maps a verified email to an active portal user, creating a
// member user for the matching CRM contact when configured to.
func (s *Service) oidcUser(ctx context.Context, email string) (store.AuthUser, error) {
	var user store.AuthUser
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		user, err = store.AuthUserByEmail(ctx, tx, store.AuthUserByEmailParams{TenantID: s.tenantID, Email: email})
		return err
	})
	switch {
	case err == nil && user.Status == "active":
		return user, nil
	case err == nil:
		return user, fmt.Errorf("%s is %s: %w", email, user.Status, ErrNotFound)
	case !errors.Is(err, store.ErrNotFound):
		return user, fmt.Errorf("auth: find user: %w", err)
	case s.cfg.UnknownOIDCEmail != "match_contact" || s.contacts == nil:
		return user, fmt.Errorf("%s: %w", email, ErrNotFound)
	}
	accountID, contactID, ok, err := s.contacts(ctx, s.tenantID, email)
	if err != nil {
		return user, fmt.Errorf("auth: contact lookup: %w", err)
	}
	if !ok {
		return user, fmt.Errorf("%s has no contact: %w", email, ErrNotFound)
	}
	err = s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		user, err = createUser(ctx, tx, NewUser{TenantID: s.tenantID, Email: email, AccountID: accountID,
			ContactID: contactID, Roles: []string{RoleMember}, Now: s.now()})
		return err
	})
	return user, err
}

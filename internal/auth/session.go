package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/store"
)

// Session keys.
const (
	keyUserID   = "uid"
	keySID      = "sid"
	keyAuthAt   = "auth_at" // unix nanoseconds of login
	keySeenAt   = "seen_at" // unix nanoseconds of the last request
	keyMethod   = "method"  // how the user signed in: password or oidc
	keyCSRF     = "csrf"
	keyState    = "oidc_state"
	keyNonce    = "oidc_nonce"
	keyVerifier = "oidc_verifier"
	keyReturnTo = "oidc_return_to"
)

// CSRFCookie holds the CSRF token where the portal's script can read it
// (double submit: it must come back in the X-CSRF-Token header, and it
// must equal the token kept in the session).
const CSRFCookie = "portico_csrf"

type authDoneKey struct{}

// Authenticate identifies the request: an "Authorization: Bearer pt_..."
// API token, or the session cookie. Anonymous requests pass through with
// no principal; an invalid API token is refused with 401. Bearer values
// without the pt_ prefix are left to other guards (the admin token).
func (s *Service) Authenticate(next http.Handler) http.Handler {
	withSession := s.sm.LoadAndSave(s.sessionPrincipal(next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(authDoneKey{}) != nil {
			next.ServeHTTP(w, r)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), authDoneKey{}, true))
		if tok, ok := bearerToken(r); ok {
			s.tokenPrincipal(w, r, tok, next)
			return
		}
		withSession.ServeHTTP(w, r)
	})
}

// seenGranularity is how stale a session's seen-at stamp may get.
const seenGranularity = time.Minute

func (s *Service) sessionPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sid := s.sm.GetInt64(ctx, keySID)
		if sid == 0 {
			next.ServeHTTP(w, r)
			return
		}
		now := s.now()
		authAt := time.Unix(0, s.sm.GetInt64(ctx, keyAuthAt))
		seenAt := time.Unix(0, s.sm.GetInt64(ctx, keySeenAt))
		if now.Sub(authAt) >= s.cfg.SessionLifetime || now.Sub(seenAt) >= s.cfg.SessionIdleTimeout {
			if err := s.endSession(ctx, sid); err != nil {
				s.rp.Internal(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		user, err := s.sessionUser(ctx, sid, now)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Logged out elsewhere, or the user was disabled.
			if err := s.sm.Destroy(ctx); err != nil {
				s.rp.Internal(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		case err != nil:
			s.rp.Internal(w, r, fmt.Errorf("session user: %w", err))
			return
		}
		// Refreshing seen-at writes the session back; once a minute is
		// enough for an idle timeout counted in minutes (it may end a
		// session up to a minute early, never late).
		if now.Sub(seenAt) >= seenGranularity {
			s.sm.Put(ctx, keySeenAt, now.UnixNano())
		}
		p := principalFromRow(user)
		p.SessionID = strconv.FormatInt(sid, 10)
		next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
	})
}

// SessionActive reports whether the browser session of a request that
// Authenticate identified is still valid now: not signed out (here or
// everywhere), its user still active, its lifetime not over. It reads
// like Authenticate (from the session cache when it can) but writes
// nothing, so that a long-lived request (an event stream) can check it
// from time to time without keeping the session alive.
func (s *Service) SessionActive(ctx context.Context) bool {
	p := PrincipalFrom(ctx)
	if p == nil || p.SessionID == "" {
		return false
	}
	sid := s.sm.GetInt64(ctx, keySID)
	if sid == 0 || strconv.FormatInt(sid, 10) != p.SessionID {
		return false
	}
	now := s.now()
	if now.Sub(time.Unix(0, s.sm.GetInt64(ctx, keyAuthAt))) >= s.cfg.SessionLifetime {
		return false
	}
	_, err := s.sessionUser(ctx, sid, now)
	return err == nil
}

// SignIn says how and when the person behind a request's browser session
// signed in (the evidence of a signature); ok is false for a request
// without one (an API token). A session begun before the method was
// kept says "unknown".
func (s *Service) SignIn(ctx context.Context) (method string, at time.Time, ok bool) {
	p := PrincipalFrom(ctx)
	if p == nil || p.SessionID == "" {
		return "", time.Time{}, false
	}
	at = time.Unix(0, s.sm.GetInt64(ctx, keyAuthAt)).UTC()
	if method = s.sm.GetString(ctx, keyMethod); method == "" {
		method = "unknown"
	}
	return method, at, true
}

// sessionUser returns the active user behind a login session, from the
// cache when it can.
func (s *Service) sessionUser(ctx context.Context, sid int64, now time.Time) (store.AuthUser, error) {
	if u, ok := s.cache.user(sid, now); ok {
		return u, nil
	}
	gen, live := s.cache.begin()
	var user store.AuthUser
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		user, err = store.AuthSessionUser(ctx, tx, store.AuthSessionUserParams{ID: sid, TenantID: s.tenantID})
		return err
	})
	if err == nil && live {
		s.cache.putUser(gen, sid, user, now)
	}
	return user, err
}

// endSession deletes a session's record and the web session itself.
func (s *Service) endSession(ctx context.Context, sid int64) error {
	if err := s.asAPI(ctx, func(tx pgx.Tx) error { return store.AuthSessionDelete(ctx, tx, sid) }); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return s.sm.Destroy(ctx)
}

// startSession logs user in on this browser. The session token rotates,
// so a token planted before login (session fixation) is worthless after.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, user store.AuthUser, method string) (string, error) {
	ctx := r.Context()
	if old := s.sm.GetInt64(ctx, keySID); old != 0 {
		if err := s.asAPI(ctx, func(tx pgx.Tx) error { return store.AuthSessionDelete(ctx, tx, old) }); err != nil {
			return "", fmt.Errorf("auth: end previous session: %w", err)
		}
	}
	if err := s.sm.RenewToken(ctx); err != nil {
		return "", fmt.Errorf("auth: renew session token: %w", err)
	}
	if err := s.sm.Clear(ctx); err != nil {
		return "", fmt.Errorf("auth: clear session: %w", err)
	}
	now := s.now()
	var sid int64
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		var err error
		sid, err = store.AuthSessionCreate(ctx, tx, store.AuthSessionCreateParams{
			UserID: user.ID, StoreToken: storeToken(s.sm.Token(ctx)), Method: method,
			Ip: clientIP(r), UserAgent: truncate(r.UserAgent(), 512), Now: ts(now),
		})
		if err != nil {
			return err
		}
		return store.AuthUserLoggedIn(ctx, tx, store.AuthUserLoggedInParams{ID: user.ID, Now: ts(now)})
	})
	if err != nil {
		return "", fmt.Errorf("auth: record session: %w", err)
	}
	csrf := randomToken()
	s.sm.Put(ctx, keyUserID, user.ID)
	s.sm.Put(ctx, keySID, sid)
	s.sm.Put(ctx, keyAuthAt, now.UnixNano())
	s.sm.Put(ctx, keySeenAt, now.UnixNano())
	s.sm.Put(ctx, keyMethod, method)
	s.sm.Put(ctx, keyCSRF, csrf)
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: csrf, Path: "/", SameSite: http.SameSiteLaxMode,
		Secure: s.sm.Cookie.Secure, MaxAge: int(s.cfg.SessionLifetime / time.Second),
	})
	return csrf, nil
}

// storeToken is the key the session store keeps for a cookie value
// (SessionManager.HashTokenInStore hashes the same way).
func storeToken(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// RequireCSRF refuses cookie-authenticated requests that change state
// without the session's CSRF token in X-CSRF-Token. Safe methods, API
// tokens and anonymous requests pass.
func (s *Service) RequireCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			next.ServeHTTP(w, r)
			return
		}
		if p == nil || p.SessionID == "" {
			next.ServeHTTP(w, r)
			return
		}
		want := s.sm.GetString(r.Context(), keyCSRF)
		got := r.Header.Get(CSRFHeader)
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			s.rp.Error(w, r, http.StatusForbidden, "csrf", "missing or wrong "+CSRFHeader+" header; get it from GET /auth/csrf")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) handleCSRF(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	if p.SessionID == "" {
		s.rp.Error(w, r, http.StatusBadRequest, "not_a_session", "API tokens need no CSRF token")
		return
	}
	s.rp.JSON(w, r, http.StatusOK, map[string]string{"csrf_token": s.sm.GetString(r.Context(), keyCSRF)})
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) {
	s.rp.JSON(w, r, http.StatusOK, map[string]any{"principal": PrincipalFrom(r.Context())})
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	if PrincipalFrom(r.Context()).SessionID == "" {
		s.rp.Error(w, r, http.StatusBadRequest, "not_a_session", "logout ends browser sessions; revoke an API token with DELETE /auth/tokens/{id}")
		return
	}
	if err := s.Logout(w, r); err != nil {
		s.rp.Internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Logout ends the request's browser session, if it has one, and audits it.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if p == nil || p.SessionID == "" {
		return nil
	}
	sid, _ := strconv.ParseInt(p.SessionID, 10, 64)
	if err := s.endSession(r.Context(), sid); err != nil {
		return err
	}
	expireCookie(w, CSRFCookie)
	s.audit(r, Event{Action: "auth.logout", Object: "session", ObjectID: p.SessionID})
	return nil
}

// FormToken is the synchronizer token a page puts in its forms: the
// session's CSRF token. A visitor who has not logged in gets one kept in
// a session of their own, so that the sign-in, activation and reset forms
// carry one too (logging in replaces it).
func (s *Service) FormToken(ctx context.Context) string {
	if tok := s.sm.GetString(ctx, keyCSRF); tok != "" {
		return tok
	}
	tok := randomToken()
	s.sm.Put(ctx, keyCSRF, tok)
	return tok
}

// CheckFormToken reports whether got is the session's CSRF token; false
// when the session has none.
func (s *Service) CheckFormToken(ctx context.Context, got string) bool {
	want := s.sm.GetString(ctx, keyCSRF)
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// SetLocale keeps the language a user chose for the portal's pages (a
// tag such as "de"; "" follows the browser). Their cached sessions see it
// at once here and at the commit's notification elsewhere.
func (s *Service) SetLocale(ctx context.Context, userID int64, locale string) error {
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		return store.AuthUserSetLocale(ctx, tx, store.AuthUserSetLocaleParams{ID: userID, TenantID: s.tenantID, Locale: locale, Now: ts(s.now())})
	})
	if err != nil {
		return fmt.Errorf("auth: set locale: %w", err)
	}
	s.cache.invalidate("u:" + strconv.FormatInt(userID, 10))
	return nil
}

// SingleSignOn reports whether OIDC single sign-on is configured.
func (s *Service) SingleSignOn() bool { return s.cfg.OIDC.IssuerURL != "" }

// logoutAllRequest is the optional body of POST /auth/logout-all: API
// tokens end with the sessions unless the user keeps them.
type logoutAllRequest struct {
	KeepAPITokens bool `json:"keep_api_tokens"`
}

func (s *Service) handleLogoutAll(w http.ResponseWriter, r *http.Request) {
	var in logoutAllRequest
	if r.ContentLength != 0 && !s.decode(w, r, &in) {
		return
	}
	if _, err := s.LogoutEverywhere(w, r, in.KeepAPITokens); err != nil {
		s.rp.Internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// LogoutEverywhere ends every session of the request's user, this one
// included, and unless keepAPITokens revokes their API tokens; it returns
// how many tokens it revoked.
func (s *Service) LogoutEverywhere(w http.ResponseWriter, r *http.Request, keepAPITokens bool) (int, error) {
	p := PrincipalFrom(r.Context())
	ctx := r.Context()
	var revoked []int64
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		if !keepAPITokens {
			var err error
			if revoked, err = revokeAPITokens(ctx, tx, p.UserID, s.now()); err != nil {
				return err
			}
		}
		return endAllSessions(ctx, tx, p.UserID)
	})
	if err != nil {
		return 0, err
	}
	// This process forgets them now; the others when the notification
	// of the commit reaches them.
	s.cache.invalidate("u:" + strconv.FormatInt(p.UserID, 10))
	if p.SessionID != "" {
		if err := s.sm.Destroy(ctx); err != nil {
			return 0, err
		}
		expireCookie(w, CSRFCookie)
	}
	s.audit(r, Event{Action: "auth.logout_all", Object: "user", ObjectID: strconv.FormatInt(p.UserID, 10),
		Detail: map[string]string{"api_tokens_revoked": strconv.Itoa(len(revoked))}})
	return len(revoked), nil
}

func expireCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1})
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(tok, APITokenPrefix) {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

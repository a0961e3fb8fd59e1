package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// Service is the identity and login service.
type Service struct {
	pool        *pgxpool.Pool
	log         *slog.Logger
	rp          reply.Replier
	cfg         config.AuthConfig
	publicURL   string
	tenantID    int64
	insert      InsertFunc
	auditor     Auditor
	signedIn    func(userID int64, accountID string)
	contacts    func(ctx context.Context, tenantID int64, email string) (string, string, bool, error)
	contactIn   func(ctx context.Context, tenantID int64, accountID, contactID string) (bool, error)
	roleCovered func(held []string, role string) bool
	now         func() time.Time
	hash        HashParams
	throttle    config.ThrottleConfig
	client      *http.Client

	sm    *scs.SessionManager
	cache *authCache
	// dummyHash is verified when the email is unknown, so that an unknown
	// email costs the same time as a wrong password.
	dummyHash string

	oidcMu sync.Mutex
	oidc   *oidcClient

	lastPrune atomic.Int64 // unix nanoseconds
}

// New builds the service. It reads the tenant but contacts no OIDC
// provider: discovery happens at the first single sign-on, so a provider
// outage does not stop the API from starting.
func New(d Deps) (*Service, error) {
	if d.Pool == nil {
		return nil, errors.New("auth: Deps.Pool is required")
	}
	s := &Service{
		pool: d.Pool, log: d.Logger, cfg: d.Config, publicURL: strings.TrimRight(d.PublicURL, "/"),
		tenantID: d.TenantID, insert: d.Insert, auditor: d.Auditor, signedIn: d.SignedIn, contacts: d.ContactByEmail, contactIn: d.ContactInAccount, roleCovered: d.RoleCovered,
		now: d.Now, hash: d.HashParams, throttle: d.Config.Throttle, client: d.HTTPClient,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.rp = reply.New(s.log)
	if s.insert == nil {
		client, err := river.NewClient(riverpgxv5.New(d.Pool), &river.Config{Logger: s.log})
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		s.insert = client.InsertTx
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hash == (HashParams{}) {
		s.hash = DefaultHashParams
	}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if err := checkConfig(s.cfg); err != nil {
		return nil, err
	}
	if s.cfg.OIDC.IssuerURL != "" && s.cfg.UnknownOIDCEmail == "match_contact" && s.contacts == nil {
		return nil, errors.New("auth: auth.unknown_oidc_email is match_contact but Deps.ContactByEmail is nil")
	}
	if s.tenantID == 0 {
		id, err := defaultTenant(context.Background(), d.Pool)
		if err != nil {
			return nil, err
		}
		s.tenantID = id
	}
	var err error
	if s.dummyHash, err = HashPassword("not a real password: "+randomToken(), s.hash); err != nil {
		return nil, err
	}
	s.cache = newAuthCache()
	s.sm = s.sessionManager()
	return s, nil
}

// ListenCache keeps sessions, API tokens and their users in memory until
// ctx ends, kept current by PostgreSQL notifications (cache.go); it
// returns when ctx ends. Without it, or while its listener is
// disconnected, every request reads its session from the database.
// With auth.cache off it returns at once.
func (s *Service) ListenCache(ctx context.Context) {
	pgnotify.Listen(ctx, s.pool, s.CacheSubscriptions(), s.log)
}

// CacheSubscriptions is what the cache listens to, for a process that
// runs one listener for several caches; none with auth.cache off.
func (s *Service) CacheSubscriptions() map[string]pgnotify.Subscriber {
	if !s.cfg.Cache {
		return nil
	}
	return map[string]pgnotify.Subscriber{cacheChannel: s.cache}
}

// CacheStats reports whether the session cache is live, and its hits and
// misses so far.
func (s *Service) CacheStats() (live bool, hits, misses int64) {
	_, live = s.cache.begin()
	return live, s.cache.hits.Load(), s.cache.misses.Load()
}

// checkConfig refuses an incomplete auth config: its defaults are filled
// once, by package config, and a zero here would mean sessions that end at
// once or a throttle that locks out every login.
func checkConfig(c config.AuthConfig) error {
	var errs []error
	if c.SessionIdleTimeout <= 0 || c.SessionLifetime <= 0 {
		errs = append(errs, fmt.Errorf("auth.session_idle_timeout and auth.session_lifetime must be positive; got %s and %s",
			c.SessionIdleTimeout, c.SessionLifetime))
	}
	if t := c.Throttle; t.PerEmail <= 0 || t.PerIP <= 0 || t.Window <= 0 {
		errs = append(errs, fmt.Errorf("auth.throttle needs positive per_email, per_ip and window; got %+v", t))
	}
	if !slices.Contains(config.UnknownOIDCEmailModes, c.UnknownOIDCEmail) {
		errs = append(errs, fmt.Errorf("auth.unknown_oidc_email must be one of %v; got %q", config.UnknownOIDCEmailModes, c.UnknownOIDCEmail))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auth: incomplete config (config.Load fills every default): %w", err)
	}
	return nil
}

func (s *Service) sessionManager() *scs.SessionManager {
	sm := scs.New()
	sm.Store = cachedStore{
		inner: pgxstore.NewWithConfig(s.pool, pgxstore.Config{TableName: "auth_web_session", CleanUpInterval: 0}),
		c:     s.cache, now: s.now,
	}
	// The idle timeout is enforced by sessionPrincipal from the session's
	// own seen-at stamp, not by scs: with IdleTimeout set, scs rewrites
	// the session row on every request just to move its expiry.
	sm.Lifetime = s.cfg.SessionLifetime
	sm.Codec = sessionCodec{}
	sm.HashTokenInStore = true
	sm.Cookie.Name = SessionCookie
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = strings.HasPrefix(s.publicURL, "https://")
	sm.Cookie.Path = "/"
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.rp.Internal(w, r, fmt.Errorf("session: %w", err))
	}
	return sm
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "portico_session"

// CSRFHeader carries the CSRF token on cookie-authenticated writes.
const CSRFHeader = "X-CSRF-Token"

// Access levels of an /auth route besides a token scope (RouteScopes).
const (
	// AccessPublic routes act for no one yet (login, activation, resets,
	// single sign-on): anyone may call them.
	AccessPublic = "public"
	// AccessSession routes manage the login itself (logout, CSRF, API
	// tokens): a browser session only, never an API token.
	AccessSession = "session"
)

// authRoute is one /auth route and what it needs: an access level or the
// scope an API token must hold (browser sessions hold every scope), and
// optionally one of some roles.
type authRoute struct {
	method, pattern string
	access          string
	roles           []string
	handle          func(*Service, http.ResponseWriter, *http.Request)
}

// authRoutes is every /auth route. Routes mounts nothing else (a test
// walks the router to hold it to that), so no route goes without a scope.
var authRoutes = []authRoute{
	{method: "POST", pattern: "/login", access: AccessPublic, handle: (*Service).handleLogin},
	{method: "POST", pattern: "/activate", access: AccessPublic, handle: (*Service).handleActivate},
	{method: "POST", pattern: "/password-reset", access: AccessPublic, handle: (*Service).handleResetRequest},
	{method: "POST", pattern: "/password-reset/confirm", access: AccessPublic, handle: (*Service).handleResetConfirm},
	{method: "GET", pattern: "/oidc/login", access: AccessPublic, handle: (*Service).handleOIDCLogin},
	{method: "GET", pattern: "/oidc/callback", access: AccessPublic, handle: (*Service).handleOIDCCallback},
	{method: "GET", pattern: "/me", access: ScopePortalRead, handle: (*Service).handleMe},
	{method: "GET", pattern: "/csrf", access: AccessSession, handle: (*Service).handleCSRF},
	{method: "POST", pattern: "/logout", access: AccessSession, handle: (*Service).handleLogout},
	{method: "POST", pattern: "/logout-all", access: AccessSession, handle: (*Service).handleLogoutAll},
	{method: "POST", pattern: "/invitations", access: ScopeAdminWrite, roles: []string{RoleAccountAdmin, RoleOperatorAdmin},
		handle: (*Service).handleInvite},
	{method: "PUT", pattern: "/users/{id}/roles", access: ScopeAdminWrite, roles: []string{RoleAccountAdmin},
		handle: (*Service).handleUserRoles},
	{method: "GET", pattern: "/tokens", access: AccessSession, handle: (*Service).handleTokenList},
	{method: "POST", pattern: "/tokens", access: AccessSession, handle: (*Service).handleTokenCreate},
	{method: "DELETE", pattern: "/tokens/{id}", access: AccessSession, handle: (*Service).handleTokenRevoke},
}

// RouteScopes maps each /auth route ("POST /logout-all") to what it
// needs: AccessPublic, AccessSession or a token scope.
func RouteScopes() map[string]string {
	out := make(map[string]string, len(authRoutes))
	for _, rt := range authRoutes {
		out[rt.method+" "+rt.pattern] = rt.access
	}
	return out
}

// Routes returns the /auth router. Its handlers run behind Authenticate,
// so mounting it under a router that already applies Authenticate is
// harmless.
func (s *Service) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.Authenticate)
	// Answered in the API's error shape, as everything under /auth is.
	r.NotFound(s.rp.NoEndpoint)
	r.MethodNotAllowed(s.rp.NoMethod)
	for _, rt := range authRoutes {
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rt.handle(s, w, r) })
		if len(rt.roles) > 0 {
			h = RequireRole(rt.roles...)(h)
		}
		switch rt.access {
		case AccessPublic:
		case AccessSession:
			h = RequireAuthenticated(requireSession(s.RequireCSRF(h)))
		default:
			h = RequireScope(rt.access)(s.RequireCSRF(h))
		}
		r.Method(rt.method, rt.pattern, h)
	}
	return r
}

// requireSession refuses API tokens.
func requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if PrincipalFrom(r.Context()).ViaToken() {
			reply.Refuse(w, r, http.StatusForbidden, "insufficient_scope", "an API token cannot use this; log in")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// prune deletes expired sessions at most once a minute, piggybacking on
// logins instead of running a background goroutine the caller must stop.
func (s *Service) prune(ctx context.Context) {
	now := s.now()
	last := s.lastPrune.Load()
	if now.UnixNano()-last < int64(time.Minute) || !s.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	err := s.asAPI(ctx, func(tx pgx.Tx) error {
		if _, err := store.AuthWebSessionsPrune(ctx, tx); err != nil {
			return err
		}
		_, err := store.AuthSessionsPrune(ctx, tx, ts(now.Add(-time.Hour)))
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "auth: pruning sessions", "err", err)
	}
}

// asAPI runs fn in a transaction as portico_api, the non-owner role API
// requests use, with the service's tenant set for row-level security: these
// queries hold only the grants and policies of migrations 040 and 041.
func (s *Service) asAPI(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := store.RoleAsAPITenant(ctx, tx, strconv.FormatInt(s.tenantID, 10)); err != nil {
			return fmt.Errorf("auth: set role: %w", err)
		}
		return fn(tx)
	})
}

// audit records e; a failing audit log is logged, never shown to the user.
func (s *Service) audit(r *http.Request, e Event) {
	e.At = s.now()
	e.TenantID = s.tenantID
	e.IP = clientIP(r)
	e.UserAgent = r.UserAgent()
	if p := PrincipalFrom(r.Context()); p != nil && e.Actor == "" {
		e.Actor, e.ActorName, e.AccountID = actor(p.UserID), p.Email, p.AccountID
	}
	s.log.DebugContext(r.Context(), "auth event", slog.String("action", e.Action), slog.String("actor", e.Actor))
	if s.auditor == nil {
		return
	}
	if err := s.auditor.Record(r.Context(), e); err != nil {
		s.log.ErrorContext(r.Context(), "auth: audit failed", slog.String("action", e.Action), slog.Any("err", err))
	}
}

func actor(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

// clientIP is the request's client address: the server's middleware has
// already replaced the peer with the forwarded client when, and only
// when, the peer is one of http.trusted_proxies.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// randomToken returns 32 random bytes, base64url encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what the database keeps of a one-time or API token.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

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
)

// Service is the identity and login service.
type Service struct {
	pool      *pgxpool.Pool
	log       *slog.Logger
	cfg       config.AuthConfig
	publicURL string
	tenantID  int64
	insert    InsertFunc
	auditor   Auditor
	contacts  func(ctx context.Context, tenantID int64, email string) (string, string, bool, error)
	now       func() time.Time
	hash      HashParams
	throttle  Throttle
	client    *http.Client

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
		tenantID: d.TenantID, insert: d.Insert, auditor: d.Auditor, contacts: d.ContactByEmail,
		now: d.Now, hash: d.HashParams, throttle: d.Throttle, client: d.HTTPClient,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
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
	s.throttle = withThrottleDefaults(s.throttle)
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if s.cfg.SessionIdleTimeout <= 0 || s.cfg.SessionLifetime <= 0 {
		def := config.Default().Auth
		s.cfg.SessionIdleTimeout, s.cfg.SessionLifetime = def.SessionIdleTimeout, def.SessionLifetime
	}
	if s.cfg.UnknownOIDCEmail == "" {
		s.cfg.UnknownOIDCEmail = "refuse"
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

func withThrottleDefaults(t Throttle) Throttle {
	if t.PerEmail <= 0 {
		t.PerEmail = DefaultThrottle.PerEmail
	}
	if t.PerIP <= 0 {
		t.PerIP = DefaultThrottle.PerIP
	}
	if t.Window <= 0 {
		t.Window = DefaultThrottle.Window
	}
	return t
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
		s.internal(w, r, fmt.Errorf("session: %w", err))
	}
	return sm
}

// SessionCookie is the name of the browser session cookie.
const SessionCookie = "portico_session"

// CSRFHeader carries the CSRF token on cookie-authenticated writes.
const CSRFHeader = "X-CSRF-Token"

// Routes returns the /auth router. Its handlers run behind Authenticate,
// so mounting it under a router that already applies Authenticate is
// harmless.
func (s *Service) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(s.Authenticate)
	r.Post("/login", s.handleLogin)
	r.Post("/activate", s.handleActivate)
	r.Post("/password-reset", s.handleResetRequest)
	r.Post("/password-reset/confirm", s.handleResetConfirm)
	r.Get("/oidc/login", s.handleOIDCLogin)
	r.Get("/oidc/callback", s.handleOIDCCallback)
	r.Group(func(r chi.Router) {
		r.Use(RequireAuthenticated, s.RequireCSRF)
		r.Get("/me", s.handleMe)
		r.Get("/csrf", s.handleCSRF)
		r.Post("/logout", s.handleLogout)
		r.Post("/logout-all", s.handleLogoutAll)
		r.With(RequireRole(RoleAccountAdmin, RoleOperatorAdmin), RequireScope(ScopeAdminWrite)).
			Post("/invitations", s.handleInvite)
		r.Get("/tokens", s.handleTokenList)
		r.Post("/tokens", s.handleTokenCreate)
		r.Delete("/tokens/{id}", s.handleTokenRevoke)
	})
	return r
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
		if _, err := q.AuthWebSessionsPrune(ctx, tx); err != nil {
			return err
		}
		_, err := q.AuthSessionsPrune(ctx, tx, ts(now.Add(-time.Hour)))
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
		_, err := tx.Exec(ctx, "SELECT set_config('portico.tenant_id', $1, true), set_config('role', 'portico_api', true)",
			strconv.FormatInt(s.tenantID, 10))
		if err != nil {
			return fmt.Errorf("auth: set role: %w", err)
		}
		return fn(tx)
	})
}

func (s *Service) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "auth: request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	writeError(w, r, http.StatusInternalServerError, "internal", "internal error", nil)
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

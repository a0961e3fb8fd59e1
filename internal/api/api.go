package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
)

// Deps are the API's dependencies.
type Deps struct {
	Pool     *pgxpool.Pool
	Records  *records.Reader
	Mappings *mapping.Set
	Policy   *access.Policy
	// Auth identifies requests (session cookie or API token) and checks
	// CSRF tokens on cookie-authenticated writes.
	Auth *auth.Service
	// Actions is the write-back service; nil answers writes with 503.
	Actions Actions
	// Files stores, scans and reads uploaded files; nil refuses uploads
	// (503) and finds no file.
	Files *files.Service
	// Audit records the API's own changes (nil: not recorded).
	Audit  *audit.Log
	Logger *slog.Logger
	Now    func() time.Time
	// PageCacheBytes is the memory for rendered list pages (pages.go);
	// they are kept only while ListenCache runs.
	PageCacheBytes int
}

// API is the portal API.
type API struct {
	d     Deps
	rp    reply.Replier
	pages *pages
}

// New returns the API.
func New(d Deps) (*API, error) {
	if d.Pool == nil || d.Records == nil || d.Mappings == nil || d.Policy == nil || d.Auth == nil {
		return nil, errors.New("api: Deps.Pool, Records, Mappings, Policy and Auth are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	objectsOf := func(connection, sourceObject string) []string {
		if o, ok := d.Mappings.BySource(connection, sourceObject); ok {
			return []string{o.Name()}
		}
		return nil
	}
	return &API{d: d, rp: reply.New(d.Logger), pages: newPages(d.PageCacheBytes, objectsOf)}, nil
}

// ListenCache keeps rendered list pages in memory until ctx ends, dropped
// whenever PostgreSQL reports a change (pages.go); it returns when ctx
// ends, at once when the page cache is off.
func (a *API) ListenCache(ctx context.Context) {
	pgnotify.Listen(ctx, a.d.Pool, a.CacheSubscriptions(), a.d.Logger)
}

// CacheSubscriptions is what the page cache listens to, for a process
// that runs one listener for several caches; none when it is off.
func (a *API) CacheSubscriptions() map[string]pgnotify.Subscriber {
	if a.d.PageCacheBytes <= 0 {
		return nil
	}
	return map[string]pgnotify.Subscriber{PagesChannel: a.pages}
}

// PageCacheStats reports whether the page cache is live, and its hits and
// misses so far.
func (a *API) PageCacheStats() (live bool, hits, misses int64) {
	return a.pages.isLive(), a.pages.hits.Load(), a.pages.misses.Load()
}

// Routes returns the /api/v1 router.
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(a.d.Auth.Authenticate, auth.RequireAuthenticated, a.d.Auth.RequireCSRF, a.withScope)
	r.NotFound(a.rp.NoEndpoint)
	r.MethodNotAllowed(a.rp.NoMethod)
	read := auth.RequireScope(auth.ScopePortalRead)
	write := auth.RequireScope(auth.ScopePortalWrite)
	r.With(read).Get("/me", a.me)
	r.With(write).Patch("/me/notifications", a.patchNotifications)
	r.With(write).Patch("/me/contact", a.patchContact)
	r.Route("/cases", func(r chi.Router) {
		c := cases{a}
		r.With(read).Get("/", c.list)
		r.With(read).Get("/{id}", detail(a, a.Case))
		r.With(write).Post("/", c.create)
		r.With(write).Post("/{id}/comments", c.comment)
		r.With(write).Post("/{id}/close", c.close)
		r.With(read).Get("/{id}/files", a.filesOf("case"))
		r.With(write).Post("/{id}/files", a.uploadTo("case"))
	})
	r.Route("/orders", func(r chi.Router) {
		o := simple{a, "order"}
		r.With(read).Get("/", o.list)
		r.With(read).Get("/{id}", o.get)
	})
	r.Route("/invoices", func(r chi.Router) {
		inv := invoices{a}
		r.With(read).Get("/", inv.list)
		r.With(read).Get("/{id}", detail(a, a.Invoice))
		r.With(read).Get("/{id}/files", a.filesOf("invoice"))
		r.With(write).Post("/{id}/files", a.uploadTo("invoice"))
	})
	r.With(read).Get("/files/{id}", a.download)
	r.With(read).Get("/articles", articles{a}.search)
	r.Route("/approvals", func(r chi.Router) {
		ap := approvals{a}
		r.With(read).Get("/", ap.list)
		r.With(read).Get("/{id}", ap.get)
		r.With(write).Post("/{id}/approve", ap.decide("accepted"))
		r.With(write).Post("/{id}/reject", ap.decide("rejected"))
	})
	r.With(read).Get("/actions/{id}", a.action)
	r.With(write).Post("/actions/{id}/resolve", a.resolve)
	return r
}

type scopeKey struct{}

// withScope asks the policy once per request for what the principal may
// see; handlers narrow it per object with Scope.For.
func (a *API) withScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := a.WithScope(r.Context())
		if err != nil {
			a.rp.Internal(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// WithScope returns ctx with the principal's access scope, as /api/v1
// puts it in every request's: the portal's pages read and write under it
// through Record, Records, Case, Submit and MyActions.
func (a *API) WithScope(ctx context.Context) (context.Context, error) {
	s, err := a.d.Policy.Scope(ctx, auth.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return context.WithValue(ctx, scopeKey{}, s), nil
}

func scopeFrom(ctx context.Context) access.Scope {
	s, _ := ctx.Value(scopeKey{}).(access.Scope)
	return s
}

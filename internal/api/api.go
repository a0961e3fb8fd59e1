package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/documents"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/seal"
)

// Deps are the API's dependencies.
type Deps struct {
	Pool *pgxpool.Pool
	// Read picks the pool of a read that tolerates replica lag (a case's
	// status history; records come through Records, which has its own);
	// nil reads Pool.
	Read     func(ctx context.Context) *pgxpool.Pool
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
	// SourceFiles finds the connector that reads a synced document's
	// content from its connection's source; nil (or false) answers such
	// downloads with 503.
	SourceFiles func(connection string) (connectors.FileReader, bool)
	// Approvals keeps requests' states and signatures, Sealer seals signed
	// documents with the operator's certificate: signing is offered when
	// both are set and the mapping says sign: true (Signs).
	Approvals *approval.Service
	Sealer    *seal.Signer
	// Brand is the portal's brand, which generated documents carry (nil:
	// the default brand).
	Brand *brand.Current
	// Audit records the API's own changes (nil: not recorded).
	Audit *audit.Log
	// Events records the portal events the reports count (knowledge
	// views, status lookups) off the request path; nil records none.
	Events *reports.Recorder
	// Notify serves the user's inbox and notification preferences, as
	// the inbox pages do; nil: no inbox (404).
	Notify *notify.Service
	// Privacy serves "download my data", as the profile page does; nil:
	// none (404).
	Privacy *privacy.Service
	Logger  *slog.Logger
	Now     func() time.Time
	// PageCacheBytes is the memory for rendered list pages (pages.go);
	// they are kept only while ListenCache runs.
	PageCacheBytes int
}

// API is the portal API.
type API struct {
	d         Deps
	rp        reply.Replier
	pages     *pages
	resumable *resumable
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
	if d.Read == nil {
		d.Read = func(context.Context) *pgxpool.Pool { return d.Pool }
	}
	objectsOf := func(connection, sourceObject string) []string {
		if o, ok := d.Mappings.BySource(connection, sourceObject); ok {
			return []string{o.Name()}
		}
		return nil
	}
	a := &API{d: d, rp: reply.New(d.Logger), pages: newPages(d.PageCacheBytes, objectsOf)}
	var err error
	if a.resumable, err = newResumable(a); err != nil {
		return nil, fmt.Errorf("api: resumable uploads: %w", err)
	}
	return a, nil
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
	r.Route("/me/notifications", func(r chi.Router) {
		n := notices{a}
		r.With(read).Get("/", n.list)
		// The coarse switches of the profile page (me.go).
		r.With(write).Patch("/", a.patchNotifications)
		r.With(write).Post("/read", n.readAll)
		r.With(write).Post("/{id}/read", n.read)
	})
	r.Route("/me/notification-preferences", func(r chi.Router) {
		n := notices{a}
		r.With(read).Get("/", n.prefs)
		r.With(write).Put("/", n.putPrefs)
	})
	r.Route("/me/exports", func(r chi.Router) {
		x := exports{a}
		r.With(write).Post("/", x.request)
		r.With(read).Get("/{token}", x.download)
	})
	r.Route("/webhooks", func(r chi.Router) {
		h := webhooks{a}
		r.With(read).Get("/", h.list)
		r.With(write).Post("/", h.create)
		r.With(read).Get("/{id}", h.get)
		r.With(write).Delete("/{id}", h.remove)
		r.With(write).Post("/{id}/enable", h.enable)
		r.With(write).Post("/{id}/rotate-secret", h.rotate)
		r.With(write).Post("/{id}/ping", h.ping)
	})
	r.With(write).Patch("/me/contact", a.patchContact)
	// The files of the user's own account (the profile page's uploads).
	r.With(read).Get("/me/files", a.filesOf("account", myAccountOf))
	r.With(write).Post("/me/files", a.uploadTo("account", myAccountOf))
	r.With(read).Get("/me/files/{doc}", a.sourceFile("account", myAccountOf))
	r.Route("/cases", func(r chi.Router) {
		c := cases{a}
		r.With(read).Get("/", c.list)
		r.With(read).Get("/{id}", detail(a, "case", a.Case))
		r.With(write).Post("/", c.create)
		r.With(write).Post("/{id}/comments", c.comment)
		r.With(write).Post("/{id}/close", c.close)
		r.With(read).Get("/{id}/files", a.filesOf("case", urlID))
		r.With(write).Post("/{id}/files", a.uploadTo("case", urlID))
		r.With(read).Get("/{id}/files/{doc}", a.sourceFile("case", urlID))
		r.With(read).Get("/{id}/document.pdf", a.documentOf(documents.Case))
	})
	r.Route("/orders", func(r chi.Router) {
		o := simple{a, "order"}
		r.With(read).Get("/", o.list)
		r.With(read).Get("/{id}", o.get)
		r.With(read).Get("/{id}/document.pdf", a.documentOf(documents.Order))
	})
	r.Route("/invoices", func(r chi.Router) {
		inv := invoices{a}
		r.With(read).Get("/", inv.list)
		r.With(read).Get("/{id}", detail(a, "invoice", a.Invoice))
		r.With(read).Get("/{id}/files", a.filesOf("invoice", urlID))
		r.With(write).Post("/{id}/files", a.uploadTo("invoice", urlID))
		r.With(read).Get("/{id}/files/{doc}", a.sourceFile("invoice", urlID))
		r.With(read).Get("/{id}/document.pdf", a.documentOf(documents.Invoice))
	})
	r.With(read).Get("/files/{id}", a.download)
	r.Route("/uploads", func(r chi.Router) {
		r.Use(write)
		r.Post("/", a.resumable.ServeHTTP)
		r.Head("/{upload}", a.resumable.ServeHTTP)
		r.Patch("/{upload}", a.resumable.ServeHTTP)
		r.Delete("/{upload}", a.resumable.ServeHTTP)
	})
	r.With(read).Get("/articles", articles{a}.search)
	r.Route("/approvals", func(r chi.Router) {
		ap := approvals{a}
		r.With(read).Get("/", ap.list)
		r.With(read).Get("/{id}", ap.get)
		r.With(read).Get("/{id}/document.pdf", a.documentOf(documents.Quote))
		r.With(write).Post("/{id}/approve", ap.decide("accepted"))
		r.With(write).Post("/{id}/reject", ap.decide("rejected"))
		r.With(write).Post("/{id}/sign", ap.sign)
		r.With(read).Get("/{id}/files", a.filesOf("approval_request", urlID))
		r.With(write).Post("/{id}/files", a.uploadTo("approval_request", urlID))
		r.With(read).Get("/{id}/files/{doc}", a.sourceFile("approval_request", urlID))
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

package web

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/documents"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/privacy"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/reports"
)

// Deps are the portal's dependencies: the services the JSON API uses.
type Deps struct {
	API      *api.API
	Auth     *auth.Service
	Mappings *mapping.Set
	Logger   *slog.Logger
	Now      func() time.Time
	// LiveHeartbeat is how often an idle event stream sends a comment
	// line (default 15 s); LiveMaxPerUser caps one user's open streams in
	// this process (default 8).
	LiveHeartbeat  time.Duration
	LiveMaxPerUser int
	// Brand is the deployment's branding, which may change while serving;
	// nil is brand.Default().
	Brand *brand.Current
	// SignOnName names the single sign-on provider on the sign-in page
	// ("Sign in with <name>") when auth has OIDC configured.
	SignOnName string
	// Notify is the notifications' service (the inbox, the preferences,
	// unsubscribe links); nil: no inbox.
	Notify *notify.Service
	// Privacy serves "download my data" on the profile; nil hides it.
	Privacy *privacy.Service
	// Reports computes the console's reports (nil: no report pages).
	Reports *reports.Service
	// StaffActions lists, retries, discards and resolves actions for the
	// console (nil: no actions page); TenantID is the tenant they are in.
	StaffActions StaffActions
	TenantID     int64
	// SyncStatus reports sync health for the console (nil: no sync page).
	SyncStatus SyncStatus
	// Connect runs the consent flows of the sync page's Connect buttons
	// (nil: no buttons).
	Connect ConnectFlows
	// Audit searches the audit trail for the console (nil: no audit page).
	Audit AuditSearch
	// Users lists users for the console (nil: no users page).
	Users UserList
	// BrandEditor changes the stored brand from the console (nil: the
	// branding page is read-only).
	BrandEditor BrandEditor
}

// Web is the portal's pages.
type Web struct {
	d      Deps
	rp     reply.Replier
	pages  *pages
	assets assets
	cats   *catalogs
	// live fans the listener's notifications out to open event streams.
	live      *hub
	heartbeat time.Duration
}

// New loads the templates, catalogs and static files; an error here is a
// defect of the build, not of the deployment.
func New(d Deps) (*Web, error) {
	if d.API == nil || d.Auth == nil || d.Mappings == nil {
		return nil, errors.New("web: Deps.API, Auth and Mappings are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Brand == nil {
		d.Brand = brand.NewCurrent(brand.NewSite(brand.Default(), nil))
	}
	if d.LiveHeartbeat <= 0 {
		d.LiveHeartbeat = defaultHeartbeat
	}
	if d.LiveMaxPerUser <= 0 {
		d.LiveMaxPerUser = defaultMaxPerUser
	}
	wb := &Web{d: d, rp: reply.New(d.Logger), live: newHub(d.LiveMaxPerUser), heartbeat: d.LiveHeartbeat}
	var err error
	if wb.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if wb.cats, err = loadCatalogs(); err != nil {
		return nil, err
	}
	if wb.pages, err = loadPages(); err != nil {
		return nil, err
	}
	return wb, nil
}

// Mount adds the portal's pages to r at the root, one sub-router per
// resource, and answers paths no route serves with the portal's 404 page
// when a browser asks (HTML), else with notFound.
func (wb *Web) Mount(r chi.Router, notFound http.HandlerFunc) {
	r.With(compress).Get(StaticPrefix+"{hash}/*", wb.assets.serve)
	r.With(compress).Get(StaticPrefix+"brand-{hash}.css", wb.brandStylesheet)
	r.Get(StaticPrefix+"logo-{file}", wb.brandLogo)
	r.Group(func(r chi.Router) {
		r.Use(compressPages, pageHeaders, wb.d.Auth.Authenticate, wb.forms)
		r.Get("/sign-in", wb.signInPage)
		r.Post("/sign-in", wb.signIn)
		r.Post("/sign-out", wb.signOut)
		r.Post("/sign-out-everywhere", wb.signOutEverywhere)
		r.Get("/activate", wb.activatePage)
		r.Post("/activate", wb.activate)
		r.Get("/reset-password", wb.resetPage)
		r.Post("/reset-password", wb.reset)
		r.Post("/reset-password/request", wb.resetRequest)
		r.Post("/language", wb.setLanguage)
		r.Get("/events", wb.events)
		r.Group(func(r chi.Router) {
			r.Use(wb.requireUser, wb.requireStaff)
			wb.resource(r, "/console", func(r chi.Router) {
				r.Get("/", wb.consoleReports)
				r.Get("/reports", wb.consoleReports)
				r.Get("/reports/{name}", wb.consoleReport)
				r.Get("/sync", wb.consoleSync)
				r.Post("/sync/{connection}/connect", wb.consoleConnect)
				r.Get("/connect/callback", wb.consoleConnectCallback)
				r.Get("/audit", wb.consoleAudit)
				r.Get("/brand", wb.consoleBrand)
				r.Post("/brand", wb.consoleBrandSave)
				r.Post("/brand/reset", wb.consoleBrandReset)
				r.Get("/users", wb.consoleUsers)
				r.Post("/users/invitations", wb.consoleInvite)
				r.Get("/users/{id}", wb.consoleUser)
				r.Post("/users/{id}/roles", wb.consoleUserRoles)
				r.Post("/users/{id}/disable", wb.consoleUserDisable)
				r.Post("/users/{id}/enable", wb.consoleUserEnable)
				r.Post("/users/{id}/resend", wb.consoleUserResend)
				r.Get("/actions", wb.consoleActions)
				r.Post("/actions/{id}/{step}", wb.consoleActionStep)
				r.Get("/privacy", wb.consolePrivacy)
				r.Post("/privacy/erasures", wb.consoleErase)
				r.Get("/privacy/erasures/{id}", wb.consoleErasure)
			})
		})
		r.Group(func(r chi.Router) {
			r.Use(wb.requireUser, wb.scoped)
			r.Get("/", wb.home)
			r.Get("/hub/{block}", wb.hubBlockPage)
			// /cases: the list, a case, and what a customer does to it.
			wb.resource(r, "/cases", func(r chi.Router) {
				r.Get("/", wb.caseList)
				r.Get("/new", wb.newCase)
				r.Post("/", wb.createCase)
				r.Get("/{id}", wb.caseDetail)
				r.Post("/{id}/comments", wb.caseComment)
				r.Post("/{id}/close", wb.caseClose)
				r.Post("/{id}/files", wb.caseUpload)
				r.Get("/{id}/document.pdf", wb.document(documents.Case))
			})
			// /orders: the list and one order with its lines and
			// shipments.
			wb.resource(r, "/orders", func(r chi.Router) {
				r.Get("/", wb.list(orderList))
				r.Get("/{id}", wb.orderDetail)
				r.Get("/{id}/document.pdf", wb.document(documents.Order))
			})
			// /invoices: the list (due or paid) and one invoice
			// with its payments.
			wb.resource(r, "/invoices", func(r chi.Router) {
				r.Get("/", wb.list(invoiceList))
				r.Get("/{id}", wb.invoiceDetail)
				r.Get("/{id}/document.pdf", wb.document(documents.Invoice))
			})
			// /approvals: the quotes awaiting the user's decision,
			// one quote, and the decision.
			wb.resource(r, "/approvals", func(r chi.Router) {
				r.Get("/", wb.list(approvalList))
				r.Get("/{id}", wb.approvalDetail)
				r.Get("/{id}/document.pdf", wb.document(documents.Quote))
				r.Post("/{id}/approve", wb.approve)
				r.Post("/{id}/reject", wb.reject)
				r.Post("/{id}/sign", wb.sign)
				r.Post("/{id}/files", wb.approvalUpload)
			})
			// /knowledge: search with the matches marked, and an
			// article.
			wb.resource(r, "/knowledge", func(r chi.Router) {
				r.Get("/", wb.knowledgeSearch)
				r.Get("/{id}", wb.article)
			})
			// /conflicts: the user's changes that met a newer
			// version at the source, and the choice between theirs and the source's.
			wb.resource(r, "/conflicts", func(r chi.Router) {
				r.Get("/", wb.conflictList)
				r.Get("/{id}", wb.conflictDetail)
				r.Post("/{id}/resolve", wb.conflictResolve)
			})
			// /notifications: the user's inbox, marking read, and
			// the preferences per event and channel.
			wb.resource(r, "/notifications", func(r chi.Router) {
				r.Get("/", wb.inbox)
				r.Post("/read", wb.inboxRead)
				r.Post("/{id}/read", wb.inboxRead)
				r.Get("/preferences", wb.notifyPrefs)
				r.Post("/preferences", wb.notifyPrefsSave)
			})
			// /profile: the user's own contact details, API tokens
			// and language.
			wb.resource(r, "/profile", func(r chi.Router) {
				r.Get("/", wb.profile)
				r.Post("/contact", wb.profileContact)
				r.Post("/notifications", wb.profileNotifications)
				r.Post("/tokens", wb.profileTokenCreate)
				r.Post("/tokens/{id}/revoke", wb.profileTokenRevoke)
				r.Post("/files", wb.profileUpload)
				r.Post("/data-export", wb.profileExport)
				r.Get("/data-export/{id}", wb.profileExportDownload)
			})
			// /account: an account admin's users of their account and
			// its webhooks.
			wb.resource(r, "/account", func(r chi.Router) {
				r.Get("/users", wb.accountUsers)
				r.Post("/users", wb.accountInvite)
				r.Post("/users/{id}/disable", wb.accountUserDisable)
				r.Post("/users/{id}/roles", wb.accountUserRoles)
				r.Post("/users/{id}/resend", wb.accountUserAction(func(r *http.Request, id int64) error {
					_, err := wb.d.Auth.ResendInvitation(r, id)
					return err
				}, "resent"))
				// The account's signed webhooks (notify).
				r.Get("/webhooks", wb.accountWebhooks)
				r.Post("/webhooks", wb.accountWebhookAdd)
				r.Post("/webhooks/{id}/remove", wb.accountWebhookStep("removed"))
				r.Post("/webhooks/{id}/enable", wb.accountWebhookStep("enabled"))
				r.Post("/webhooks/{id}/rotate", wb.accountWebhookStep("rotated"))
				r.Post("/webhooks/{id}/ping", wb.accountWebhookStep("pinged"))
			})
		})
	})
	// Unsubscribe links from mail (RFC 8058): the signed link is the
	// authority, and a mail client's one-click POST carries no form token.
	if wb.d.Notify != nil {
		r.Group(func(r chi.Router) {
			r.Use(compress, pageHeaders, wb.d.Auth.Authenticate)
			r.Get("/notify/unsubscribe", wb.unsubscribeConfirm)
			r.Post("/notify/unsubscribe", wb.unsubscribe)
			r.Get("/notify/click/{id}", wb.noticeClick)
		})
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if !wantsHTML(r) {
			notFound(w, r)
			return
		}
		pageHeaders(http.HandlerFunc(wb.noPage)).ServeHTTP(w, r)
	})
}

// compress gzips scripts, styles and the icon for browsers that accept it
// (htmx alone is 52 KB, 17 KB compressed): at level 5, as they are
// fetched once and cached for a year.
func compress(next http.Handler) http.Handler {
	return middleware.Compress(5, "text/css", "text/javascript", "application/javascript", "image/svg+xml")(next)
}

// compressPages gzips pages at the fastest level: a page is rendered and
// compressed on every view, and at level 5 compressing took a sixth of
// the status hub's CPU time, for a page 10% smaller. The JSON API is not
// compressed here, and neither is the live stream (/events), which
// flushes each event as it comes.
func compressPages(next http.Handler) http.Handler {
	gz := middleware.Compress(gzip.BestSpeed, "text/html")(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			next.ServeHTTP(w, r)
			return
		}
		gz.ServeHTTP(w, r)
	})
}

// Content-Security-Policy of every page: scripts, styles and images from
// this origin only, no inline code of either kind, forms to this origin,
// and no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageHeaders sets the pages' policy over the server's (which has set the
// other security headers on every response already), and keeps pages out
// of shared caches: they show one user's records.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("Cache-Control", "no-store")
		h.Add("Vary", "Cookie, Accept-Language, HX-Request")
		next.ServeHTTP(w, r)
	})
}

// wantsHTML reports whether a request for an unknown path comes from a
// browser, which gets the 404 page; scripts get the API's JSON answer.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// maxForm bounds a form body: every form here is a few short fields.
const maxForm = 64 << 10

// csrfField is the synchronizer token's form field.
const csrfField = "csrf_token"

// forms parses every POST's form, bounded, and refuses it without the
// session's synchronizer token.
func (wb *Web) forms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
			wb.multipartForm(w, r, next)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			wb.fail(w, r, &reply.Error{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"})
			return
		}
		if !wb.d.Auth.CheckFormToken(r.Context(), r.PostForm.Get(csrfField)) {
			wb.fail(w, r, &reply.Error{Status: http.StatusForbidden, Code: "csrf", Message: key("error.csrf")})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// multipartForm admits a file upload's form: bounded by the upload cap,
// its first part must be the synchronizer token (the form puts it first),
// and the rest is left unread for the handler to stream (multipartFrom).
func (wb *Web) multipartForm(w http.ResponseWriter, r *http.Request, next http.Handler) {
	limit := wb.d.API.MaxUploadBytes()
	if limit == 0 {
		limit = maxForm
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		wb.fail(w, r, &reply.Error{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"})
		return
	}
	part, err := mr.NextPart()
	var token []byte
	if err == nil && part.FormName() == csrfField {
		token, err = io.ReadAll(io.LimitReader(part, 1024))
	}
	if err != nil || !wb.d.Auth.CheckFormToken(r.Context(), string(token)) {
		wb.fail(w, r, &reply.Error{Status: http.StatusForbidden, Code: "csrf", Message: key("error.csrf")})
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), multipartKey{}, mr)))
}

type multipartKey struct{}

// multipartFrom is the rest of a multipart form multipartForm admitted;
// nil for any other request.
func multipartFrom(r *http.Request) *multipart.Reader {
	mr, _ := r.Context().Value(multipartKey{}).(*multipart.Reader)
	return mr
}

// requireUser sends a visitor who has not signed in to the sign-in page,
// to come back here after. Pages are for browser sessions: an API token
// does not open them.
func (wb *Web) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := auth.PrincipalFrom(r.Context()); p == nil || p.SessionID == "" {
			target := "/sign-in"
			if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// scoped puts the user's access scope in the request, as /api/v1 does.
func (wb *Web) scoped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := wb.d.API.WithScope(r.Context())
		if err != nil {
			wb.internal(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// returnPath is where to go after signing in: next when it is a path on
// this site, else home.
func returnPath(next string) string {
	if next != "" && auth.LocalPath(next) {
		return next
	}
	return "/"
}

// systemName names a connection for customers: "salesforce" is
// "Salesforce".
func systemName(connection string) string {
	if connection == "" {
		return ""
	}
	r := []rune(connection)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

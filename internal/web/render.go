package web

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/reply"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are the page templates: each is the one base set (layout.html and
// the partials, files starting with "_") with one page file added.
type pages struct{ byName map[string]*template.Template }

func loadPages() (*pages, error) {
	base := template.New("layout.html").Funcs(template.FuncMap{"field": fieldOf, "linesOf": linesOf, "textarea": textareaOf, "hubBlock": hubBlockOf,
		"linesOfText": func(s string) []string { return strings.Split(s, "\n") }})
	var err error
	if base, err = base.ParseFS(templateFS, "templates/layout.html", "templates/_*.html"); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		file := path.Base(n)
		if file == "layout.html" || strings.HasPrefix(file, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		p.byName[strings.TrimSuffix(file, ".html")] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	L      *loc
	Assets assets
	User   *auth.Principal
	// CSRF is the synchronizer token for the page's forms.
	CSRF string
	// Title is the page's message key; Section marks the menu entry.
	Title, Section string
	// Fields are the field errors by form field name; Alert a message
	// key shown above the form (Problem carries its arguments).
	Fields  map[string]string
	Alert   string
	Notice  string
	Problem []any
	// RequestID is quoted on error pages.
	RequestID string
	Form      map[string]string
	Page      any
	// Here is the page's own path, where choosing a language returns to.
	Here string
	// Nav is the menu, by the user's roles.
	Nav []navEntry
	// Brand is the deployment's branding, Support its contact as links.
	Brand   *brand.Site
	Support []contact
	// Inbox is set for a user with an inbox, Unread its unread notices.
	Inbox  bool
	Unread int
}

// BrandName is the brand's name, else "Customer portal" in the page's
// language.
func (v *view) BrandName() string {
	if v.Brand.Name != "" {
		return v.Brand.Name
	}
	return v.L.T("brand.name")
}

// formField is one form field as a template shows it: its value, and its
// error with the id that aria-describedby points at.
type formField struct {
	Name, ID, ErrorID, Value, Error string
}

// fieldOf is the template function `field $ "email"`.
func fieldOf(v *view, name string) formField {
	return formField{Name: name, ID: "f-" + name, ErrorID: "f-" + name + "-error", Value: v.Form[name], Error: v.Fields[name]}
}

// textarea is what the "textarea" partial gets: a required text area
// with its label.
type textarea struct {
	Field     formField
	Label     string
	Rows, Max int
}

// textareaOf is the template function `textarea (field $ "body") (.L.T "field.comment") 4 4000`.
func textareaOf(f formField, label string, rows, maxLength int) textarea {
	return textarea{Field: f, Label: label, Rows: rows, Max: maxLength}
}

// linesView is what the "lines" partial gets: a section with a table of
// lines, or the words for none.
type linesView struct {
	L            *loc
	Lines        []orderLine
	Title, Empty string
}

// linesOf is the template function `linesOf .L .Page.Lines (.L.T "order.lines") (.L.T "order.no_lines")`.
func linesOf(l *loc, lines []orderLine, title, empty string) linesView {
	return linesView{L: l, Lines: lines, Title: title, Empty: empty}
}

// outcome shows what became of a form posted on a record's page: a
// refusal's messages beside its fields, keeping what was typed in field,
// or refused in words; after the redirect, the notice of what was sent
// (?sent= names it in sent).
func (v *view) outcome(r *http.Request, bad *reply.Error, field, refused string, sent map[string]string) {
	switch {
	case bad != nil && bad.Status == http.StatusUnprocessableEntity:
		v.Fields = fieldErrors(v.L, bad.Fields)
		v.Alert = key("form.fix_fields")
		v.Form[field] = r.PostForm.Get(field)
	case bad != nil:
		v.Alert = refused
	}
	if n, ok := sent[r.URL.Query().Get("sent")]; ok {
		v.Notice = n
	}
}

// newView is a page's data with what every page shows.
func (wb *Web) newView(r *http.Request, title string, page any) *view {
	site := wb.d.Brand.Get()
	return &view{
		Brand: site, Support: support(site),
		L: wb.cats.loc(wb.cats.pick(r), wb.d.Now()), Assets: wb.assets, User: signedIn(r),
		CSRF: wb.d.Auth.FormToken(r.Context()), Title: title, Fields: map[string]string{},
		RequestID: middleware.GetReqID(r.Context()), Form: map[string]string{}, Page: page, Here: here(r),
		Nav: wb.nav(r), Inbox: wb.hasInbox(r), Unread: wb.unread(r),
	}
}

// here is the page to come back to after choosing a language: this one
// when it was read with GET, else home.
func here(r *http.Request) string {
	if r.Method == http.MethodGet {
		return r.URL.RequestURI()
	}
	return "/"
}

// signedIn is the request's browser-session user, nil for a visitor.
func signedIn(r *http.Request) *auth.Principal {
	if p := auth.PrincipalFrom(r.Context()); p != nil && p.SessionID != "" {
		return p
	}
	return nil
}

// render writes the page named name with status. The page is rendered
// whole before anything is sent, so a template error is a clean 500.
func (wb *Web) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := wb.pages.byName[name]
	if !ok {
		wb.internal(w, r, fmt.Errorf("web: no page %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		if name == "error" {
			// The error page itself failed: plain text, not another try.
			wb.rp.Log(r, reply.InternalError(r, err))
			http.Error(w, "internal error; quote request id "+v.RequestID, http.StatusInternalServerError)
			return
		}
		wb.internal(w, r, fmt.Errorf("web: rendering %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is what the error page shows: the status and its words.
type errorPage struct {
	Status  int
	Heading string // message keys
	Text    string
}

// fail renders e as the error page in the portal's look; a 5xx is logged
// with the request id, which the page quotes. e's message is shown only
// when it is a message key of the catalogs (never a cause).
func (wb *Web) fail(w http.ResponseWriter, r *http.Request, e *reply.Error) {
	wb.rp.Log(r, e)
	p := errorPage{Status: e.Status}
	switch {
	case e.Status == http.StatusNotFound:
		p.Heading, p.Text = key("error.404.heading"), key("error.404.text")
	case e.Status == http.StatusForbidden && e.Code == "csrf":
		p.Heading, p.Text = key("error.csrf.heading"), key("error.csrf")
	case e.Status == http.StatusForbidden:
		p.Heading, p.Text = key("error.403.heading"), key("error.403.text")
	case e.Status == http.StatusServiceUnavailable:
		p.Heading, p.Text = key("error.503.heading"), key("error.503.text")
	case e.Status >= 500:
		p.Heading, p.Text = key("error.500.heading"), key("error.500.text")
	default:
		p.Heading, p.Text = key("error.400.heading"), key("error.400.text")
	}
	v := wb.newView(r, p.Heading, p)
	v.Section = "error" // its body names the support contact
	// Not the path asked for: a foreign id's page must not differ from a
	// missing one's in anything.
	v.Here = "/"
	wb.render(w, r, e.Status, "error", v)
}

// internal renders the 500 page for err, or nothing much when the client
// has gone.
func (wb *Web) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	wb.fail(w, r, reply.InternalError(r, err))
}

// notFound is the one 404 page, for a missing record and a foreign one
// alike.
func (wb *Web) notFound(w http.ResponseWriter, r *http.Request) {
	wb.fail(w, r, &reply.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such page"})
}

// readFailed answers a read that failed, and reports whether it did: the
// 404 page for a missing or foreign record, else the 500 page.
func (wb *Web) readFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, api.ErrNotFound):
		wb.notFound(w, r)
	default:
		wb.internal(w, r, err)
	}
	return true
}

// noPage answers a path no route serves, with the user when the session
// names one.
func (wb *Web) noPage(w http.ResponseWriter, r *http.Request) {
	wb.d.Auth.Authenticate(http.HandlerFunc(wb.notFound)).ServeHTTP(w, r)
}

// formKey is a fresh idempotency key for a write form: submitting the
// same form twice (a double click, a resent POST) makes one action.
func formKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return "web-" + base64.RawURLEncoding.EncodeToString(b)
}

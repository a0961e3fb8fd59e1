package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
)

// resource mounts a resource's sub-router at path, with the routes
// routes adds: a path or method it does not serve is the portal's 404 page.
func (wb *Web) resource(r chi.Router, path string, routes func(chi.Router)) {
	sub := chi.NewRouter()
	sub.NotFound(wb.notFound)
	sub.MethodNotAllowed(wb.notFound)
	routes(sub)
	r.Mount(path, sub)
}

// list serves one of the simple record lists.
func (wb *Web) list(spec listSpec) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { wb.showList(w, r, spec) }
}

// listSpec is one of the simple record lists (orders, invoices,
// approvals): which object, the filter's choices, and how a record reads
// as an item.
type listSpec struct {
	object, section, path, title, empty string
	// states are the filter's choices, the first the default; none means
	// no filter.
	states []listState
	item   func(l *loc, rec api.Record) item
}

// listState is one choice of a list's filter.
type listState struct {
	value, label string // label is a message key
	opts         records.ListOptions
}

// listPage is a simple list as its template shows it.
type listPage struct {
	Title, Empty, Path string // Title and Empty are message keys
	State              string
	States             []statusOption
	Items              []item
	Fresh              string
	Down               bool
	Next               string
}

// showList renders spec's list: the filter from ?state=, 25 records a
// page, freshness in words. A role that does not reach the object gets
// the 403 page (the menu does not offer it).
func (wb *Web) showList(w http.ResponseWriter, r *http.Request, spec listSpec) {
	if !wb.d.API.Reaches(r.Context(), spec.object) {
		wb.fail(w, r, errForbidden())
		return
	}
	q := r.URL.Query()
	v := wb.newView(r, spec.title, nil)
	v.Section = spec.section
	p := listPage{Title: spec.title, Empty: spec.empty, Path: spec.path, State: q.Get("state")}
	lo := records.ListOptions{}
	if len(spec.states) > 0 {
		found := false
		for _, s := range spec.states {
			p.States = append(p.States, statusOption{s.value, v.L.T(s.label)})
			if s.value == p.State || (p.State == "" && s.value == spec.states[0].value) {
				p.State, lo, found = s.value, s.opts, true
			}
		}
		if !found {
			v.Fields["state"] = v.L.T("field.choose")
			v.Alert, v.Page = key("form.fix_fields"), p
			wb.render(w, r, http.StatusUnprocessableEntity, "list", v)
			return
		}
	}
	lo.Limit, lo.Cursor = 25, q.Get("cursor")
	list, ok := wb.readList(w, r, spec.object, lo)
	if !ok {
		return
	}
	system := wb.system(spec.object)
	for _, rec := range list.Data {
		it := spec.item(v.L, rec)
		it.Status, it.Label, it.Next = rec.Status, rec.StatusLabel, rec.NextStep
		it.Pending = pendingWords(v.L, rec.Freshness.PendingAction, system)
		p.Items = append(p.Items, it)
	}
	p.Fresh, p.Down = wb.freshness(v.L, spec.object, list.Data)
	if list.NextCursor != nil {
		nq := url.Values{"cursor": {*list.NextCursor}}
		if p.State != "" {
			nq.Set("state", p.State)
		}
		p.Next = spec.path + "?" + nq.Encode()
	}
	v.Page = p
	wb.render(w, r, http.StatusOK, "list", v)
}

// readList reads a page of object's records for a list page, and
// answers the request itself (false) when that fails: a cursor the page
// did not make is a 422, anything else a 500.
func (wb *Web) readList(w http.ResponseWriter, r *http.Request, object string, lo records.ListOptions) (api.List, bool) {
	list, err := wb.d.API.Records(r.Context(), object, lo)
	if errors.Is(err, records.ErrInvalid) {
		wb.fail(w, r, reply.Invalid(reply.Field{Path: "cursor", Message: "is not a cursor this page made"}))
		return list, false
	}
	if err != nil {
		wb.internal(w, r, err)
		return list, false
	}
	return list, true
}

func errForbidden() *reply.Error {
	return &reply.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "your role does not allow this"}
}

// navEntry is one entry of the main menu.
type navEntry struct {
	Section, Href, Label string // Label is a message key
	object               string // shown only when the roles reach it ("" always)
	role                 string // shown only to users holding it ("" always)
}

var navEntries = []navEntry{
	{Section: "home", Href: "/", Label: key("nav.home")},
	{Section: "cases", Href: "/cases", Label: key("nav.cases"), object: "case"},
	{Section: "orders", Href: "/orders", Label: key("nav.orders"), object: "order"},
	{Section: "invoices", Href: "/invoices", Label: key("nav.invoices"), object: "invoice"},
	{Section: "approvals", Href: "/approvals", Label: key("nav.approvals"), object: "approval_request"},
	{Section: "knowledge", Href: "/knowledge", Label: key("nav.knowledge"), object: "knowledge_article"},
	{Section: "profile", Href: "/profile", Label: key("nav.profile")},
	{Section: "account", Href: "/account/users", Label: key("nav.account"), role: auth.RoleAccountAdmin},
	{Section: "console", Href: "/console/reports", Label: key("nav.console"), role: auth.RoleOperatorAdmin},
}

// nav is the menu for the request's roles: the same test as the hub's
// blocks (API.Reaches).
func (wb *Web) nav(r *http.Request) []navEntry {
	var out []navEntry
	user := signedIn(r)
	for _, e := range navEntries {
		if e.role != "" && (user == nil || !user.HasRole(e.role)) {
			continue
		}
		if e.object == "" || wb.d.API.Reaches(r.Context(), e.object) {
			out = append(out, e)
		}
	}
	return out
}

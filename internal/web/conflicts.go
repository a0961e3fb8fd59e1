package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/reply"
)

// maxConflicts bounds the list: a user rarely has more than a few.
const maxConflicts = 100

func (wb *Web) conflictList(w http.ResponseWriter, r *http.Request) {
	acts, err := wb.d.API.MyActions(r.Context(), []string{"conflict"}, maxConflicts)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	v := wb.newView(r, key("conflicts.title"), nil)
	v.Section = "home"
	var items []item
	for _, a := range acts {
		items = append(items, item{Title: v.L.T("action.kind." + a.Kind), Href: "/conflicts/" + a.ID,
			Status: a.State, Label: v.L.T("action.state." + a.State), Detail: v.L.DateTime(a.Created),
			Next: v.L.T("action.conflict_next")})
	}
	switch r.URL.Query().Get("resolved") {
	case "keep_mine":
		v.Notice = key("conflict.kept_mine")
	case "keep_theirs":
		v.Notice = key("conflict.kept_theirs")
	}
	v.Page = items
	wb.render(w, r, http.StatusOK, "conflicts", v)
}

// conflictPage is one conflict: the user's input and the source's current
// values, field by field.
type conflictPage struct {
	Action *api.Action
	Kind   string
	Rows   []conflictRow
}

// conflictRow is one field: what the user asked for and what the source
// holds now. Differs marks the fields the two disagree on.
type conflictRow struct {
	Field, Mine, Theirs string
	Differs             bool
}

func (wb *Web) conflictDetail(w http.ResponseWriter, r *http.Request) {
	wb.showConflict(w, r, http.StatusOK, nil)
}

// showConflict renders the user's conflict id; a missing, foreign or
// settled one is the same 404 page. bad is a refused choice to explain.
func (wb *Web) showConflict(w http.ResponseWriter, r *http.Request, status int, bad *reply.Error) {
	act, err := wb.d.API.Action(r.Context(), chi.URLParam(r, "id"))
	if err == nil && act.State != "conflict" {
		err = api.ErrNotFound
	}
	if wb.readFailed(w, r, err) {
		return
	}
	v := wb.newView(r, key("conflict.title"), nil)
	v.Section = "home"
	p := conflictPage{Action: act, Kind: v.L.T("action.kind." + act.Kind), Rows: conflictRows(act.Conflict)}
	switch {
	case bad != nil && bad.Status == http.StatusUnprocessableEntity:
		v.Fields = fieldErrors(v.L, bad.Fields)
		v.Alert = key("form.fix_fields")
	case bad != nil:
		v.Alert = key("conflict.not_yours")
	}
	v.Page = p
	wb.render(w, r, status, "conflict", v)
}

// conflictRows lists the fields of the user's change beside the source's
// current values, in name order.
func conflictRows(c map[string]any) []conflictRow {
	yours, _ := c["yours"].(map[string]any)
	current, _ := c["current"].(map[string]any)
	names := make([]string, 0, len(yours))
	for n := range yours {
		names = append(names, n)
	}
	slices.Sort(names)
	rows := make([]conflictRow, 0, len(names))
	for _, n := range names {
		mine, theirs := shown(yours[n]), shown(current[n])
		rows = append(rows, conflictRow{Field: fieldLabel(n), Mine: mine, Theirs: theirs, Differs: mine != theirs})
	}
	return rows
}

// fieldLabel is a field's name as words: "first_name" is "First name".
func fieldLabel(name string) string {
	return systemName(strings.ReplaceAll(name, "_", " "))
}

// shown is a field's value as text: strings as they are, other values as
// JSON, and nothing for a value the source does not have.
func shown(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64, bool:
		return fmt.Sprint(t)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// conflictResolve settles a conflict as POST /api/v1/actions/{id}/resolve
// does, and goes to the list of conflicts (303).
func (wb *Web) conflictResolve(w http.ResponseWriter, r *http.Request) {
	resolution := r.PostForm.Get("resolution")
	_, e := wb.d.API.Resolve(r, chi.URLParam(r, "id"), resolution)
	switch {
	case e == nil:
		http.Redirect(w, r, "/conflicts?resolved="+url.QueryEscape(resolution), http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusForbidden:
		wb.showConflict(w, r, e.Status, e)
	default:
		wb.fail(w, r, e)
	}
}

package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/reply"
)

// AuditSearch searches the audit trail as GET /admin/audit does
// (*audit.Log).
type AuditSearch interface {
	Search(ctx context.Context, v url.Values) (audit.Page, []reply.Field, error)
}

// auditFields are the console's audit search fields, in the form's
// order: the listing's exact-match filters and the action (or prefix).
var auditFields = []string{"action", "actor", "account", "object", "object_id"}

type auditRow struct {
	At, Actor, Action, Object, Account, IP string
}

type auditPage struct {
	Fields []string
	Rows   []auditRow
	Next   string
	Bad    bool
}

func (wb *Web) consoleAudit(w http.ResponseWriter, r *http.Request) {
	if wb.d.Audit == nil {
		wb.notFound(w, r)
		return
	}
	v := wb.newView(r, key("console.audit.title"), nil)
	v.Section = "console"
	l := v.L
	// The form sends every field; an empty one is no filter.
	q := url.Values{"limit": {"50"}}
	for _, f := range append(auditFields, "cursor") {
		if s := r.URL.Query().Get(f); s != "" {
			q.Set(f, s)
			v.Form[f] = s
		}
	}
	p := auditPage{Fields: auditFields}
	page, bad, err := wb.d.Audit.Search(r.Context(), q)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	status := http.StatusOK
	if len(bad) > 0 {
		for _, f := range bad {
			v.Fields[f.Path] = l.T("console.audit.bad_" + f.Path)
		}
		v.Alert = key("console.audit.bad")
		p.Bad, status = true, http.StatusBadRequest
	}
	for _, e := range page.Events {
		row := auditRow{At: l.DateTime(e.OccurredAt), Actor: e.Actor, Action: e.Action}
		if e.Object != nil {
			row.Object = *e.Object
			if e.ObjectID != nil {
				row.Object += " " + *e.ObjectID
			}
		}
		if e.AccountID != nil {
			row.Account = *e.AccountID
		}
		if e.IP != nil {
			row.IP = *e.IP
		}
		p.Rows = append(p.Rows, row)
	}
	if page.NextCursor != "" {
		next := url.Values{"cursor": {page.NextCursor}}
		for _, f := range auditFields {
			if s := q.Get(f); s != "" {
				next.Set(f, s)
			}
		}
		p.Next = "/console/audit?" + next.Encode()
	}
	v.Page = p
	wb.render(w, r, status, "console_audit", v)
}

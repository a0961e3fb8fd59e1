package web

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/textcheck"
)

// caseSearchFields are what the search box matches.
var caseSearchFields = []string{"subject", "number"}

// maxSearch bounds the search box, as the API bounds q.
const maxSearch = 200

// caseListPage is the list with its filters.
type caseListPage struct {
	State, Status, Query string
	Statuses             []statusOption
	Items                []item
	Fresh                string
	Down                 bool
	Next                 string // the next page's URL
	CanCreate            bool
}

type statusOption struct{ Value, Label string }

func (wb *Web) caseList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := caseListPage{State: q.Get("state"), Status: q.Get("status"), Query: strings.TrimSpace(q.Get("q"))}
	_, p.CanCreate, _ = wb.newCaseForm(r)
	v := wb.newView(r, key("cases.title"), nil)
	v.Section = "cases"
	if q.Get("sent") == "case" {
		v.Notice = key("case.case_sent")
	}
	obj, _ := wb.d.Mappings.Object("case")
	for _, s := range obj.Statuses() {
		label, _, _ := obj.StatusInfo(s)
		p.Statuses = append(p.Statuses, statusOption{s, label})
	}
	lo := records.ListOptions{Limit: 25, Cursor: q.Get("cursor"), Search: p.Query, SearchFields: caseSearchFields}
	switch p.State {
	case "", "open":
		p.State, lo.StatusNot = "open", "closed"
	case "closed":
		lo.Status = "closed"
	case "all":
	default:
		v.Fields["state"] = v.L.T("field.choose")
	}
	if p.Status != "" {
		if _, _, ok := obj.StatusInfo(p.Status); !ok {
			v.Fields["status"] = v.L.T("field.choose")
		}
		lo.Status, lo.StatusNot = p.Status, ""
	}
	if utf8.RuneCountInString(p.Query) > maxSearch || !textcheck.Valid(p.Query) {
		v.Fields["q"] = v.L.T("field.search_too_long", maxSearch)
	}
	if len(v.Fields) > 0 {
		v.Alert, v.Page = key("form.fix_fields"), p
		wb.render(w, r, http.StatusUnprocessableEntity, "cases", v)
		return
	}
	list, ok := wb.readList(w, r, "case", lo)
	if !ok {
		return
	}
	system := wb.system("case")
	got := wb.received(r.Context(), "case")
	for _, rec := range list.Data {
		p.Items = append(p.Items, item{Title: str(rec, "subject"), Href: "/cases/" + rec.ID,
			Detail: caseNumber(v.L, rec), Status: rec.Status, Label: rec.StatusLabel, Next: rec.NextStep,
			Pending: pendingOrReceived(v.L, rec, got, system)})
	}
	p.Fresh, p.Down = wb.freshness(v.L, "case", list.Data)
	if list.NextCursor != nil {
		nq := url.Values{"state": {p.State}, "status": {p.Status}, "q": {p.Query}, "cursor": {*list.NextCursor}}
		p.Next = "/cases?" + nq.Encode()
	}
	v.Page = p
	wb.render(w, r, http.StatusOK, "cases", v)
}

// casePage is one case: its fields, timeline and what the user may do.
type casePage struct {
	Case        *api.CaseDetail
	Subject     string
	Number      string
	Description string
	Fresh       string
	Down        bool
	Pending     string
	Timeline    []timelineStep
	Closed      bool
	CanComment  bool
	// Key is the idempotency key of this rendering's forms.
	Key string
	// Files are the case's files and upload form.
	Files filesBlock
	// Facts are the case's account and contact names and the mapping's
	// custom fields (x_...), where the user sees them.
	Facts []fact
}

// fact is one labelled value of a record.
type fact struct{ Label, Value string }

// caseFacts lists the related names the mapping reads and its custom
// fields (x_region: "Region"), in name order; empty values are left out.
func caseFacts(l *loc, rec api.Record) []fact {
	var out []fact
	for _, f := range []struct{ field, label string }{{"account_name", "case.account"}, {"contact_name", "case.contact"}} {
		if v := str(rec, f.field); v != "" {
			out = append(out, fact{l.T(f.label), v})
		}
	}
	var custom []fact
	gjson.ParseBytes(rec.Fields).ForEach(func(k, v gjson.Result) bool {
		if name, ok := strings.CutPrefix(k.String(), "x_"); ok && v.String() != "" && !v.IsObject() && !v.IsArray() {
			label := strings.ReplaceAll(name, "_", " ")
			custom = append(custom, fact{strings.ToUpper(label[:1]) + label[1:], v.String()})
		}
		return true
	})
	sort.Slice(custom, func(i, j int) bool { return custom[i].Label < custom[j].Label })
	return append(out, custom...)
}

type timelineStep struct {
	When, Kind, Label, Body string
}

func (wb *Web) caseDetail(w http.ResponseWriter, r *http.Request) {
	wb.showCase(w, r, http.StatusOK, nil)
}

// showCase renders a case; a missing and a foreign case are the same 404
// page. bad holds a form's field errors to show inline (status 422).
func (wb *Web) showCase(w http.ResponseWriter, r *http.Request, status int, bad *reply.Error) {
	c, err := wb.d.API.Case(r.Context(), chi.URLParam(r, "id"))
	if wb.readFailed(w, r, err) {
		return
	}
	wb.viewed(r, "case", c.ID)
	v := wb.newView(r, key("case.title"), nil)
	v.Section = "cases"
	p := casePage{Case: c, Subject: str(c.Record, "subject"), Number: str(c.Record, "number"),
		Description: str(c.Record, "description"), Closed: c.Status == "closed",
		CanComment: wb.d.API.Reaches(r.Context(), "case_comment"), Key: formKey(), Facts: caseFacts(v.L, c.Record)}
	system := wb.system("case")
	page := "/cases/" + url.PathEscape(c.ID)
	if p.Files, err = wb.files(r, v.L, "case", c.ID, !p.Closed, page+"/files", page); wb.readFailed(w, r, err) {
		return
	}
	p.Fresh, p.Down = freshWords(v.L, c.Freshness, system)
	p.Pending = pendingOrReceived(v.L, c.Record, wb.received(r.Context(), "case"), system)
	bodies := map[string]string{}
	for _, cm := range c.Comments {
		bodies[cm.ID] = str(cm, "body")
	}
	for _, st := range c.Timeline {
		step := timelineStep{When: v.L.DateTime(st.At), Kind: st.Kind, Label: st.Label}
		switch st.Kind {
		case "opened":
			step.Label = v.L.T("timeline.opened")
		case "comment":
			step.Label, step.Body = v.L.T("timeline.comment"), bodies[st.Ref]
		case "closed":
			step.Label = v.L.T("timeline.closed")
		default:
			step.Label = v.L.T("timeline.status", st.Label)
		}
		p.Timeline = append(p.Timeline, step)
	}
	if v.uploadRefused(r, bad) {
		bad = nil
	}
	v.outcome(r, bad, "body", key("case.not_possible"),
		map[string]string{"comment": key("case.comment_sent"), "close": key("case.close_sent"), "file": key("files.sent")})
	v.Page = p
	wb.render(w, r, status, "case", v)
}

// caseComment adds a comment through the write-back, as POST
// /api/v1/cases/{id}/comments does.
func (wb *Web) caseComment(w http.ResponseWriter, r *http.Request) {
	wb.caseAction(w, r, "comment", func(rec *api.Record) api.Submission {
		return api.Submission{Object: "case_comment", Op: mapping.OpCreate,
			Input: map[string]any{"case_id": rec.ID, "body": r.PostForm.Get("body")}}
	})
}

// caseClose asks the source to close the case.
func (wb *Web) caseClose(w http.ResponseWriter, r *http.Request) {
	wb.caseAction(w, r, "close", func(rec *api.Record) api.Submission {
		return api.Submission{Object: "case", Op: mapping.OpUpdate, RecordID: rec.ID, Input: map[string]any{"status": "closed"}}
	})
}

// caseAction submits what build makes of the case and goes back to it
// (303), or shows the case again with what was wrong.
func (wb *Web) caseAction(w http.ResponseWriter, r *http.Request, what string, build func(*api.Record) api.Submission) {
	id := chi.URLParam(r, "id")
	rec, err := wb.d.API.Record(r.Context(), "case", id, false)
	if wb.readFailed(w, r, err) {
		return
	}
	s := build(rec)
	s.IdempotencyKey = formIdempotencyKey(r)
	_, _, e := wb.d.API.Submit(r, s)
	switch {
	case e == nil:
		http.Redirect(w, r, "/cases/"+url.PathEscape(rec.ID)+"?sent="+what, http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict:
		wb.showCase(w, r, e.Status, e)
	default:
		wb.fail(w, r, e)
	}
}

// caseNumber is "Case number 00001234", or nothing for a case the source
// has not numbered yet (one still being sent).
func caseNumber(l *loc, rec api.Record) string {
	n := str(rec, "number")
	if n == "" {
		return ""
	}
	return l.T("case.number", n)
}

package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/textcheck"
	"github.com/porticohq/portico/internal/writeback"
)

var approvalList = listSpec{object: "approval_request", section: "approvals", path: "/approvals",
	title: key("approvals.title"), empty: key("approvals.empty"),
	states: []listState{
		{value: "pending", label: key("approvals.state_pending"), opts: records.ListOptions{Status: "pending"}},
		{value: "all", label: key("approvals.state_all")},
	},
	item: func(l *loc, rec api.Record) item {
		return item{Title: str(rec, "name"), Href: "/approvals/" + url.PathEscape(rec.ID),
			Detail: l.T("approval.summary", l.Money(num(rec, "total"), str(rec, "currency")), dateField(l, rec, "expires_on"))}
	}}

// maxReason bounds a rejection's reason, as the mapping does.
const maxReason = 1000

// approvalPage is one request: exactly what a decision applies to.
type approvalPage struct {
	Rec                        *api.Record
	Name, Kind, Total, Expires string
	// Lines are the request's lines in the request's currency.
	Lines     []orderLine
	CanDecide bool // awaiting a decision: the buttons show
	Key       string
	// Sign: approving is signing (the mapping's sign: true); the sign
	// form shows instead of the approve button, with the PDF's link and
	// hash and the current consent statement.
	Sign                        bool
	DocSHA256                   string
	DocSyncedAt                 string // the time the PDF says its data is as of, sent back with its hash
	ConsentVersion, ConsentText string
	// StateNote says why a pending request can no longer be decided
	// (expired, withdrawn).
	StateNote string
	freshness
	// Files are the quote's files and upload form.
	Files filesBlock
}

func (wb *Web) approvalDetail(w http.ResponseWriter, r *http.Request) {
	wb.showApproval(w, r, http.StatusOK, nil)
}

// showApproval renders a request; a missing and a foreign one are the
// same 404 page. bad holds the decision's errors (422 inline, else an
// alert).
func (wb *Web) showApproval(w http.ResponseWriter, r *http.Request, status int, bad *reply.Error) {
	detail, err := wb.d.API.Approval(r.Context(), chi.URLParam(r, "id"), false)
	if wb.readFailed(w, r, err) {
		return
	}
	wb.viewed(r, "approval_request", detail.ID)
	rec := &detail.Record
	v := wb.newView(r, key("approval.page_title"), nil)
	v.Section = "approvals"
	l := v.L
	p := approvalPage{Rec: rec, Name: str(*rec, "name"), Kind: l.T("approval.kind." + kindOf(*rec)),
		Total: l.Money(num(*rec, "total"), str(*rec, "currency")), Expires: dateField(l, *rec, "expires_on"),
		Key: formKey(), Lines: approvalLines(l, *rec, detail.Lines)}
	p.freshness = wb.recordFreshness(l, rec.Freshness, "approval_request")
	// Opening the request is viewing it (the approval's state machine).
	state, err := wb.d.API.ViewApproval(r, rec)
	if err != nil {
		wb.fail(w, r, reply.InternalError(r, err))
		return
	}
	// A decision on its way is not decided twice from a second tab.
	p.CanDecide = rec.Status == "pending" && rec.Freshness.PendingAction == nil && wb.d.API.MayDecide(r.Context(), "approval_request")
	if p.CanDecide && (state == approval.Expired || state == approval.Withdrawn) {
		p.CanDecide, p.StateNote = false, l.T("approval.state_note."+string(state))
	}
	page := "/approvals/" + url.PathEscape(rec.ID)
	if p.Files, err = wb.files(r, l, "approval_request", rec.ID, true, page+"/files", page); wb.readFailed(w, r, err) {
		return
	}
	if v.uploadRefused(r, bad) {
		bad = nil
	}
	if p.CanDecide && wb.d.API.Signs("approval_request") {
		// The PDF in the page's language, as its download link serves it.
		doc, err := wb.d.API.ApprovalPDF(r.Context(), rec.ID, wb.cats.pick(r))
		if wb.readFailed(w, r, err) {
			return
		}
		consent := approval.CurrentConsent()
		text, _, _ := approval.ConsentText(consent.Version, l.Lang())
		p.Sign, p.DocSHA256 = true, doc.SHA256
		if !doc.SyncedAt.IsZero() {
			p.DocSyncedAt = doc.SyncedAt.UTC().Format(time.RFC3339Nano)
		}
		p.ConsentVersion, p.ConsentText = consent.Version, text
	}
	v.outcome(r, bad, "reason", key("approval.not_possible"),
		map[string]string{"approve": key("approval.approve_sent"), "reject": key("approval.reject_sent"), "sign": key("sign.sent"), "file": key("files.sent")})
	if msg, ok := v.Fields["decision_reason"]; ok {
		delete(v.Fields, "decision_reason")
		v.Fields["reason"] = msg
	}
	if bad != nil && bad.Status == http.StatusUnprocessableEntity {
		v.Form["signer_name"] = r.PostForm.Get("signer_name")
	}
	if bad != nil && bad.Status == http.StatusConflict {
		switch bad.Code {
		case "document_changed", "consent_changed", "signature_required":
			v.Alert = key("sign." + bad.Code)
		}
	}
	v.Page = p
	wb.render(w, r, status, "approval", v)
}

// approvalLines are a request's lines as the lines table shows them, in
// the request's currency (a line's own where the request has none).
func approvalLines(l *loc, rec api.Record, lines []api.Record) []orderLine {
	out := make([]orderLine, 0, len(lines))
	for _, ln := range lines {
		cur := str(rec, "currency")
		if cur == "" {
			cur = str(ln, "currency")
		}
		name := str(ln, "name")
		if pct := num(ln, "discount_percent"); pct != 0 {
			name = l.T("lines.with_discount", name, l.Quantity(pct))
		}
		out = append(out, orderLine{Name: name, Quantity: l.Quantity(num(ln, "quantity")),
			UnitPrice: l.Money(num(ln, "unit_price"), cur), Amount: l.Money(num(ln, "total"), cur)})
	}
	return out
}

func kindOf(rec api.Record) string {
	if k := str(rec, "kind"); k == "quote" || k == "contract" {
		return k
	}
	return "other"
}

// approve accepts the request through the write-back (decide_approval),
// as POST /api/v1/approvals/{id}/approve does.
func (wb *Web) approve(w http.ResponseWriter, r *http.Request) {
	wb.decide(w, r, "approve", map[string]any{"status": "accepted"})
}

// sign approves the request by signing it, as POST
// /api/v1/approvals/{id}/sign does, and goes back to it (303); what is
// wrong shows beside its field, a changed document or statement as an
// alert.
func (wb *Web) sign(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	in := api.SignInput{SignerName: r.PostForm.Get("signer_name"), Consent: r.PostForm.Get("consent") == "yes",
		ConsentVersion: r.PostForm.Get("consent_version"), DocumentSHA256: r.PostForm.Get("document_sha256"),
		DocumentSyncedAt: r.PostForm.Get("document_synced_at"), Locale: langOf(wb.cats.pick(r))}
	_, e := wb.d.API.Sign(r, id, in)
	switch {
	case e == nil:
		http.Redirect(w, r, "/approvals/"+url.PathEscape(id)+"?sent=sign", http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict:
		wb.showApproval(w, r, e.Status, e)
	default:
		wb.fail(w, r, e)
	}
}

// reject rejects it with the customer's reason, which is required.
func (wb *Web) reject(w http.ResponseWriter, r *http.Request) {
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	switch {
	case reason == "":
		wb.showApproval(w, r, http.StatusUnprocessableEntity, reply.Invalid(reply.Field{Path: "reason", Message: "is required"}))
		return
	case utf8.RuneCountInString(reason) > maxReason || !textcheck.Valid(reason):
		wb.showApproval(w, r, http.StatusUnprocessableEntity,
			reply.Invalid(reply.Field{Path: "reason", Message: key("field.reason_too_long")}))
		return
	}
	wb.decide(w, r, "reject", map[string]any{"status": "rejected", "decision_reason": reason})
}

// decide submits a decision on a pending request and goes back to it
// (303), or shows it again with what was wrong.
func (wb *Web) decide(w http.ResponseWriter, r *http.Request, what string, input map[string]any) {
	rec, err := wb.d.API.Record(r.Context(), "approval_request", chi.URLParam(r, "id"), false)
	if wb.readFailed(w, r, err) {
		return
	}
	done := "/approvals/" + url.PathEscape(rec.ID) + "?sent=" + what
	switch pa := rec.Freshness.PendingAction; {
	case rec.Status == input["status"] && pa != nil && pa.Kind == string(writeback.KindDecideApproval):
		// The record shows the decision on its way: this one again (a
		// double submit, a second tab) is the same decision, not another.
		http.Redirect(w, r, done, http.StatusSeeOther)
		return
	case rec.Status != "pending":
		wb.showApproval(w, r, http.StatusConflict, &reply.Error{Status: http.StatusConflict, Code: "not_pending"})
		return
	}
	if e := wb.d.API.MayDecideNow(r, rec, input["status"].(string)); e != nil {
		wb.showApproval(w, r, e.Status, e)
		return
	}
	s := api.Submission{Object: "approval_request", Op: mapping.OpUpdate, RecordID: rec.ID, Input: input,
		IdempotencyKey: formIdempotencyKey(r)}
	_, _, e := wb.d.API.Submit(r, s)
	switch {
	case e == nil:
		http.Redirect(w, r, done, http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case keyReused(e):
		// Approve and reject share the page's key: the other button of a
		// page already decided on is one decision too many.
		wb.showApproval(w, r, http.StatusConflict, &reply.Error{Status: http.StatusConflict, Code: "decided"})
	case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict:
		wb.showApproval(w, r, e.Status, e)
	default:
		wb.fail(w, r, e)
	}
}

func keyReused(e *reply.Error) bool {
	for _, f := range e.Fields {
		if f.Path == "idempotency_key" {
			return true
		}
	}
	return false
}

// langOf is a page language's base: en or de.
func langOf(t language.Tag) string {
	b, _ := t.Base()
	return b.String()
}

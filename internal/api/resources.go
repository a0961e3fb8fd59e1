package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/textcheck"
)

// invoices is /invoices: invoices with the payments that settle them.
type invoices struct{ a *API }

// InvoiceDetail is an invoice with its payments.
type InvoiceDetail struct {
	Record
	Payments []Record `json:"payments"`
}

func (i invoices) list(w http.ResponseWriter, r *http.Request) { i.a.list(w, r, "invoice") }

// detail answers GET /{id} with what read finds under the request's
// scope: the same 404 for a missing and a foreign id.
func detail[T any](a *API, object string, read func(context.Context, string) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		out, err := read(r.Context(), id)
		switch {
		case errors.Is(err, ErrNotFound):
			a.notFound(w, r)
		case err != nil:
			a.rp.Internal(w, r, err)
		default:
			a.Viewed(r.Context(), object, id)
			a.rp.Get(w, r, out)
		}
	}
}

// Invoice reads one invoice with its payments under the request's scope
// (WithScope); ErrNotFound for a missing, foreign or unreachable one. The
// JSON API and the pages read through it.
func (a *API) Invoice(ctx context.Context, id string) (*InvoiceDetail, error) {
	rec, err := a.Record(ctx, "invoice", id, false)
	if err != nil {
		return nil, err
	}
	out := InvoiceDetail{Record: *rec, Payments: []Record{}}
	if obj, scope, ok := a.object(ctx, "payment"); ok {
		payments, err := a.related(ctx, obj, scope, store.RecordFilter{InvoiceID: rec.ID, Order: store.OldestFirst, Limit: maxRelated})
		if err != nil {
			return nil, err
		}
		out.Payments = payments
	}
	return &out, nil
}

// articles is /articles: knowledge search.
type articles struct{ a *API }

// maxQuery bounds a search string.
const maxQuery = 200

// search answers GET /articles?q=: published articles ranked by Postgres
// full-text search over title (weighted highest), summary and body; with
// no q, the newest articles.
func (ar articles) search(w http.ResponseWriter, r *http.Request) {
	obj, _, ok := ar.a.object(r.Context(), "knowledge_article")
	if !ok {
		ar.a.rp.Get(w, r, List{Data: []Record{}})
		return
	}
	text := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(text) > maxQuery {
		ar.a.rp.Invalid(w, r, reply.Field{Path: "q", Message: "must be at most 200 bytes"})
		return
	}
	if !textcheck.Valid(text) {
		ar.a.rp.Invalid(w, r, reply.Field{Path: "q", Message: "must be UTF-8 text without NUL characters"})
		return
	}
	lo, bad := listOptions(obj, r)
	if len(bad) > 0 {
		ar.a.rp.Invalid(w, r, bad...)
		return
	}
	found, err := ar.a.Articles(r.Context(), text, lo.Limit)
	if err != nil {
		ar.a.rp.Internal(w, r, err)
		return
	}
	ar.a.rp.Get(w, r, List{Data: found})
}

// Articles searches the published articles the request's roles reach
// (WithScope) for text, best match first; with no text, the newest.
// limit 0 is 20. The JSON API and the pages search through it.
func (a *API) Articles(ctx context.Context, text string, limit int) ([]Record, error) {
	obj, scope, ok := a.object(ctx, "knowledge_article")
	if !ok {
		return []Record{}, nil
	}
	if limit <= 0 {
		limit = 20
	}
	f := store.RecordFilter{Order: store.NewestFirst, Limit: limit}
	if text != "" {
		f.Search, f.Order = text, store.BestMatch
	}
	return a.related(ctx, obj, scope, f)
}

// approvals is /approvals: quotes and contracts awaiting a decision.
type approvals struct{ a *API }

func (ap approvals) list(w http.ResponseWriter, r *http.Request) { ap.a.list(w, r, "approval_request") }

// ApprovalDetail is an approval request with its lines, in their order,
// and where it stands.
type ApprovalDetail struct {
	Record
	Lines    []Record       `json:"lines"`
	Approval ApprovalStatus `json:"approval"`
}

// get answers GET /approvals/{id}, reading through to the source first
// with ?fresh=true.
func (ap approvals) get(w http.ResponseWriter, r *http.Request) {
	fresh, _ := strconv.ParseBool(r.URL.Query().Get("fresh"))
	detail(ap.a, "approval_request", func(ctx context.Context, id string) (*ApprovalDetail, error) { return ap.a.Approval(ctx, id, fresh) })(w, r)
}

// Approval reads one approval request with its lines (approval_line,
// where the mapping has them) under the request's scope (WithScope);
// ErrNotFound for a missing, foreign or unreachable one. The JSON API and
// the approval page read through it.
func (a *API) Approval(ctx context.Context, id string, fresh bool) (*ApprovalDetail, error) {
	rec, err := a.Record(ctx, "approval_request", id, fresh)
	if err != nil {
		return nil, err
	}
	out := ApprovalDetail{Record: *rec, Lines: []Record{}}
	if obj, scope, ok := a.object(ctx, "approval_line"); ok {
		lines, err := a.related(ctx, obj, scope, store.RecordFilter{ApprovalID: rec.ID, Order: store.OldestFirst, Limit: maxRelated})
		if err != nil {
			return nil, err
		}
		sort.SliceStable(lines, func(i, j int) bool {
			return gjson.GetBytes(lines[i].Fields, "position").Float() < gjson.GetBytes(lines[j].Fields, "position").Float()
		})
		out.Lines = lines
	}
	if out.Approval, err = a.approvalStatus(ctx, rec); err != nil {
		return nil, err
	}
	return &out, nil
}

// DecisionInput is the optional body of POST /approvals/{id}/reject: why
// the customer rejects it, written to the source with the decision.
type DecisionInput struct {
	DecisionReason *string `json:"decision_reason"`
}

// decide accepts or rejects a pending request; a rejection may carry its
// reason (the mapping bounds its length), an approval takes no body.
func (ap approvals) decide(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec, _ := ap.a.record(w, r, "approval_request", chi.URLParam(r, "id"))
		if rec == nil {
			return
		}
		input := map[string]any{"status": status}
		if status == "rejected" {
			var in DecisionInput
			if r.ContentLength != 0 && !ap.a.decode(w, r, &in) {
				return
			}
			if in.DecisionReason != nil {
				reason := strings.TrimSpace(*in.DecisionReason)
				if reason == "" || !textcheck.Valid(reason) {
					ap.a.rp.Invalid(w, r, reply.Field{Path: "decision_reason", Message: "must be text, not empty; leave it out to give no reason"})
					return
				}
				input["decision_reason"] = reason
			}
		} else if !ap.a.emptyBody(w, r) {
			return
		}
		if rec.Status != "pending" {
			ap.a.rp.Error(w, r, http.StatusConflict, "not_pending", "this request is not awaiting a decision")
			return
		}
		if e := ap.a.MayDecideNow(r, rec, status); e != nil {
			ap.a.fail(w, r, e)
			return
		}
		ap.a.submit(w, r, Submission{Object: "approval_request", Op: mapping.OpUpdate, RecordID: rec.ID, Input: input})
	}
}

// MayDecideNow refuses a decision on a pending request that cannot be
// made as asked: a role the mapping does not let decide (403), an
// approval that must be a signature (409 signature_required: POST
// /approvals/{id}/sign), a request the state machine no longer takes a
// decision on (409: expired, withdrawn). The API and the pages check it
// before they submit; the submitted decision's state follows in Submit.
func (a *API) MayDecideNow(r *http.Request, rec *Record, status string) *reply.Error {
	switch {
	case !a.MayDecide(r.Context(), "approval_request"):
		return errForbidden("your role cannot decide this request")
	case status == "accepted" && a.Signs("approval_request"):
		return &reply.Error{Status: http.StatusConflict, Code: "signature_required",
			Message: "this request is approved by signing it: POST /api/v1/approvals/" + rec.ID + "/sign"}
	}
	return a.decidable(r, rec)
}

// jsonNumbers turns the json.Numbers of a decoded body into int64 or
// float64, as the mapping expects of portal input.
func jsonNumbers(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = number(v)
	}
	return m
}

func number(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		return jsonNumbers(x)
	case []any:
		for i := range x {
			x[i] = number(x[i])
		}
	}
	return v
}

package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/documents"
	"github.com/porticohq/portico/internal/reply"
)

// Document is a generated PDF of a record: its bytes, the name it is
// downloaded under, and the record it was rendered from.
type Document struct {
	Kind   documents.Kind
	Name   string
	Body   []byte
	Record Record
	// SyncedAt is the time the document prints its data as of (its
	// X-Document-Synced-At): the record's last read, or the earlier time
	// it was asked for as of (documentAsOf).
	SyncedAt time.Time
}

// Document renders the PDF of kind for the record id under the request's
// scope (WithScope), in lang, from what the cache holds: the same reads as
// the record's JSON (Invoice, Approval, Record, Case) and so the same
// ErrNotFound for a missing, foreign or unreachable record. The same
// record, brand and language give the same bytes: the signing flow
// renders the quote a signer sees through it.
func (a *API) Document(ctx context.Context, kind documents.Kind, id string, lang language.Tag) (*Document, error) {
	return a.documentAsOf(ctx, kind, id, lang, time.Time{})
}

// documentAsOf renders as Document does, but prints asOf, when set, as
// the time the data is from instead of the record's last read: the
// document as a signer was shown it before a re-read that found nothing
// new. asOf must lie between the latest change of the document's records
// at the source and their last read, when the cache held the same
// content as now; otherwise the document as of now is rendered, whose
// bytes then differ from the ones shown.
func (a *API) documentAsOf(ctx context.Context, kind documents.Kind, id string, lang language.Tag, asOf time.Time) (*Document, error) {
	src, rec, changed, err := a.documentSource(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	if !asOf.IsZero() && !asOf.Before(changed) && !asOf.After(src.Record.SyncedAt) {
		src.Record.SyncedAt = asOf
	}
	var site *brand.Site
	if a.d.Brand != nil {
		site = a.d.Brand.Get()
	}
	body, err := documents.Render(ctx, kind, src, documents.Options{Lang: lang, Brand: site})
	if err != nil {
		return nil, err
	}
	return &Document{Kind: kind, Name: documents.FileName(kind, src.Record), Body: body, Record: *rec, SyncedAt: src.Record.SyncedAt}, nil
}

// documentSource reads what a document of kind shows, and the latest
// time any of it changed at the source.
func (a *API) documentSource(ctx context.Context, kind documents.Kind, id string) (documents.Source, *Record, time.Time, error) {
	var src documents.Source
	switch kind {
	case documents.Invoice:
		inv, err := a.Invoice(ctx, id)
		if err != nil {
			return src, nil, time.Time{}, err
		}
		src.Related = documentRecords(inv.Payments)
		src.Record = documentRecord(inv.Record)
		return src, &inv.Record, latestChange(inv.Record, inv.Payments...), nil
	case documents.Quote:
		ap, err := a.Approval(ctx, id, false)
		if err != nil {
			return src, nil, time.Time{}, err
		}
		src.Related = documentRecords(ap.Lines)
		src.Record = documentRecord(ap.Record)
		return src, &ap.Record, latestChange(ap.Record, ap.Lines...), nil
	case documents.Order:
		rec, err := a.Record(ctx, "order", id, false)
		if err != nil {
			return src, nil, time.Time{}, err
		}
		src.Record = documentRecord(*rec)
		return src, rec, latestChange(*rec), nil
	case documents.Case:
		c, err := a.Case(ctx, id)
		if err != nil {
			return src, nil, time.Time{}, err
		}
		src.Record = documentRecord(c.Record)
		src.Timeline = caseSteps(c)
		changed := latestChange(c.Record, c.Comments...)
		for _, st := range src.Timeline {
			if st.At.After(changed) {
				changed = st.At
			}
		}
		return src, &c.Record, changed, nil
	}
	return src, nil, time.Time{}, documents.ErrKind
}

// latestChange is the latest time rec or one of related changed at the
// source (zero when none says).
func latestChange(rec Record, related ...Record) time.Time {
	var latest time.Time
	for _, r := range append([]Record{rec}, related...) {
		if r.UpdatedAt != nil && r.UpdatedAt.After(latest) {
			latest = *r.UpdatedAt
		}
	}
	return latest
}

func documentRecord(r Record) documents.Record {
	return documents.Record{ID: r.ID, Object: r.Object, Status: r.Status, StatusLabel: r.StatusLabel, NextStep: r.NextStep,
		Fields: r.Fields, SyncedAt: r.Freshness.SyncedAt}
}

func documentRecords(rs []Record) []documents.Record {
	out := make([]documents.Record, len(rs))
	for i, r := range rs {
		out[i] = documentRecord(r)
	}
	return out
}

// caseSteps are a case's timeline as its page shows it: a comment step
// carries the comment's text.
func caseSteps(c *CaseDetail) []documents.Step {
	bodies := map[string]string{}
	for _, cm := range c.Comments {
		bodies[cm.ID] = gjson.GetBytes(cm.Fields, "body").String()
	}
	out := make([]documents.Step, len(c.Timeline))
	for i, st := range c.Timeline {
		out[i] = documents.Step{At: st.At, Kind: st.Kind, Label: st.Label}
		if st.Kind == "comment" {
			out[i].Body = bodies[st.Ref]
		}
	}
	return out
}

// documentOf answers GET /{object}/{id}/document.pdf: the record's PDF as
// an attachment, in the language ?lang= names (en, de), else the user's
// own, else the one Accept-Language prefers.
func (a *API) documentOf(kind documents.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang, ok := DocumentLanguage(r)
		if !ok {
			a.rp.Invalid(w, r, reply.Field{Path: "lang", Message: "must be en or de"})
			return
		}
		switch doc, err := a.Document(r.Context(), kind, chi.URLParam(r, "id"), lang); {
		case errors.Is(err, ErrNotFound):
			a.notFound(w, r)
		case err != nil:
			a.rp.Internal(w, r, err)
		default:
			// A quote downloaded is a quote viewed (its approval's state).
			if kind == documents.Quote {
				if _, err := a.ViewApproval(r, &doc.Record); err != nil {
					a.rp.Internal(w, r, err)
					return
				}
			}
			ServeDocument(w, r, doc)
		}
	}
}

// DocumentLanguage is the language of a document a request asks for: the
// query's lang (false when it names none of the documents' languages),
// the signed-in user's setting, then Accept-Language, then English.
func DocumentLanguage(r *http.Request) (language.Tag, bool) {
	if s, ok := r.URL.Query()["lang"]; ok {
		for _, t := range documents.Languages {
			if len(s) == 1 && s[0] == t.String() {
				return t, true
			}
		}
		return language.Und, false
	}
	if p := auth.PrincipalFrom(r.Context()); p != nil && p.Locale != "" {
		return documents.Language(p.Locale), true
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, conf := language.NewMatcher(documents.Languages).Match(tags...)
	if conf == language.No {
		return language.English, true
	}
	return documents.Languages[i], true
}

// ServeDocument sends a rendered document as a download: an attachment
// under its safe name, never sniffed, sandboxed if opened in place, with
// an ETag of its bytes (they change only with the record, the brand or
// the language) and Range requests served. The pages' download links
// serve it too.
func ServeDocument(w http.ResponseWriter, r *http.Request, doc *Document) {
	h := w.Header()
	sum := sha256.Sum256(doc.Body)
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", attachment(doc.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", downloadPolicy)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Vary", "Accept-Language")
	// The hash a signer sends back to sign exactly this (POST
	// /approvals/{id}/sign).
	h.Set("X-Document-SHA256", hex.EncodeToString(sum[:]))
	// And the time it prints its data as of, which the signer sends with
	// it: a re-read in between that finds nothing new does not change
	// what they sign.
	if !doc.SyncedAt.IsZero() {
		h.Set("X-Document-Synced-At", doc.SyncedAt.UTC().Format(time.RFC3339Nano))
	}
	http.ServeContent(w, r, "", doc.Record.Freshness.SyncedAt, bytes.NewReader(doc.Body))
}

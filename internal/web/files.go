package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/reply"
)

// fileRow is one file of a record as its page lists it.
type fileRow struct {
	Name, URL, Size, State string
	Quarantined            bool
}

// filesOf lists a record's files with what became of each, in words.
func (wb *Web) filesOf(r *http.Request, l *loc, object, id string) ([]fileRow, error) {
	list, err := wb.d.API.Files(r.Context(), object, id)
	if err != nil {
		return nil, err
	}
	system := wb.system(object)
	out := make([]fileRow, 0, len(list))
	for _, f := range list {
		row := fileRow{Name: f.Name, URL: f.URL, Size: sizeWords(l, f.Size)}
		switch {
		case f.State == files.StateQuarantined:
			row.Quarantined = true
			row.State = l.T("files.state.quarantined", deref(f.ScanResult))
		case f.Origin == "source" && f.SyncedAt != nil:
			row.State = l.T("files.state.source", system, l.DateTime(*f.SyncedAt), system)
		case f.SourceID != nil && f.SyncedAt != nil:
			row.State = l.T("files.state.received", system, l.DateTime(*f.SyncedAt))
		default:
			row.State = l.T("files.state.sending", system)
		}
		out = append(out, row)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sizeWords is a file size in kB or MB, in the page's language.
func sizeWords(l *loc, n int64) string {
	if n < 1<<20 {
		return l.T("files.kb", float64(n)/1024)
	}
	return l.T("files.mb", float64(n)/(1<<20))
}

// filesBlock is the files section of a record's page: the files, and the
// upload form when the user may attach files here.
type filesBlock struct {
	Intro  string // what the files are, where the page does not say
	List   []fileRow
	Upload *uploadForm
}

// uploadForm is a page's upload form. Without JavaScript it posts the
// file to Action (multipart); portal.js sends it instead as a resumable
// upload (tus, /api/v1/uploads) for Object and Record, goes to Done when
// it is through, and says a refusal with Reasons (the page's words for
// each refusal, with {placeholders} for the values the answer names).
type uploadForm struct {
	Action, Object, Record, Done, MaxSize, Reasons string
}

// files is a record's files section; with form, the upload form where
// the user may attach files to object (posting to action, back to done).
func (wb *Web) files(r *http.Request, l *loc, object, id string, form bool, action, done string) (filesBlock, error) {
	list, err := wb.filesOf(r, l, object, id)
	if err != nil || !form || !wb.d.API.CanAttach(r.Context(), object) {
		return filesBlock{List: list}, err
	}
	max := sizeWords(l, wb.d.API.MaxFileBytes())
	reasons := map[string]string{
		"refused":          l.T("files.refused", "{reason}"),
		"too_large":        l.T("files.refused.too_large", max),
		"type_mismatch":    l.T("files.refused.type_mismatch", "{declared}", "{sniffed}"),
		"type_not_allowed": l.T("files.refused.type_not_allowed", "{sniffed}"),
		"bad_name":         l.T("files.refused.bad_name"),
		"empty":            l.T("files.refused.empty"),
		"infected":         l.T("files.refused.infected", "{signature}"),
		"incomplete":       l.T("files.refused.incomplete"),
		"scan_unavailable": l.T("files.refused.scan_unavailable"),
		"other":            l.T("files.refused.other"),
		"sending":          l.T("files.sending"),
	}
	b, _ := json.Marshal(reasons) // strings: cannot fail
	return filesBlock{List: list, Upload: &uploadForm{Action: action, Object: object, Record: id, Done: done, MaxSize: max, Reasons: string(b)}}, nil
}

// caseUpload attaches the form's file to the case, as POST
// /api/v1/cases/{id}/files does.
func (wb *Web) caseUpload(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	wb.upload(w, r, "case", id, "/cases/"+url.PathEscape(id), wb.showCase)
}

// approvalUpload attaches the form's file to the quote, as POST
// /api/v1/approvals/{id}/files does.
func (wb *Web) approvalUpload(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	wb.upload(w, r, "approval_request", id, "/approvals/"+url.PathEscape(id), wb.showApproval)
}

// profileUpload attaches the form's file to the user's own account, as
// POST /api/v1/me/files does.
func (wb *Web) profileUpload(w http.ResponseWriter, r *http.Request) {
	wb.upload(w, r, "account", api.MyAccount(r.Context()), "/profile", func(w http.ResponseWriter, r *http.Request, status int, bad *reply.Error) {
		wb.showProfile(w, r, status, bad, "")
	})
}

// upload attaches a form's file to a record and goes back to its page
// (303, ?sent=file); a refused file shows the page again (show) with the
// reason beside the field.
func (wb *Web) upload(w http.ResponseWriter, r *http.Request, object, id, page string,
	show func(http.ResponseWriter, *http.Request, int, *reply.Error)) {
	mr := multipartFrom(r)
	if mr == nil {
		wb.fail(w, r, &reply.Error{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"})
		return
	}
	wb.d.API.AllowTransfer(w, wb.d.API.MaxUploadBytes())
	_, e := wb.d.API.UploadParts(r, mr, object, id)
	switch {
	case e == nil:
		http.Redirect(w, r, page+"?sent=file", http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case e.Status < http.StatusInternalServerError && e.Status != http.StatusForbidden, e.Code == "scan_unavailable":
		wb.rp.Log(r, e)
		show(w, r, e.Status, e)
	default:
		wb.fail(w, r, e)
	}
}

// uploadRefused shows a refused upload on its page: the reason beside
// the file field and in the alert. It reports whether bad was one.
func (v *view) uploadRefused(r *http.Request, bad *reply.Error) bool {
	if bad == nil || !isUpload(r) {
		return false
	}
	reason := uploadReason(v.L, bad)
	v.Fields["file"], v.Alert, v.Problem = reason, key("files.refused"), []any{reason}
	return true
}

// isUpload reports whether a case page is shown for its upload form.
func isUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/files")
}

// uploadReason says why a file was refused, in the page's language.
func uploadReason(l *loc, e *reply.Error) string {
	var rf *files.Refusal
	if errors.As(e, &rf) {
		switch rf.Code {
		case "too_large":
			return l.T("files.refused.too_large", sizeWords(l, rf.Limit))
		case "type_mismatch":
			return l.T("files.refused.type_mismatch", rf.Declared, rf.Sniffed)
		case "type_not_allowed":
			return l.T("files.refused.type_not_allowed", rf.Sniffed)
		case "bad_name":
			return l.T("files.refused.bad_name")
		case "empty":
			return l.T("files.refused.empty")
		case "infected":
			return l.T("files.refused.infected", rf.Signature)
		case "incomplete":
			return l.T("files.refused.incomplete")
		}
	}
	switch {
	case e.Code == "scan_unavailable":
		return l.T("files.refused.scan_unavailable")
	case e.Status == http.StatusUnprocessableEntity && len(e.Fields) == 1 && e.Fields[0].Path == "file":
		return l.T("files.refused.no_file")
	}
	return l.T("files.refused.other")
}

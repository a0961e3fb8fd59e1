package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

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

// caseUpload attaches the form's file to the case, as POST
// /api/v1/cases/{id}/files does, and goes back to the case (303); a
// refused file shows the case again with the reason beside the field.
func (wb *Web) caseUpload(w http.ResponseWriter, r *http.Request) {
	mr := multipartFrom(r)
	if mr == nil {
		wb.fail(w, r, &reply.Error{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"})
		return
	}
	id := chi.URLParam(r, "id")
	wb.d.API.AllowTransfer(w, wb.d.API.MaxUploadBytes())
	_, e := wb.d.API.UploadParts(r, mr, "case", id)
	switch {
	case e == nil:
		http.Redirect(w, r, "/cases/"+url.PathEscape(id)+"?sent=file", http.StatusSeeOther)
	case e.Status == http.StatusNotFound:
		wb.notFound(w, r)
	case e.Status < http.StatusInternalServerError && e.Status != http.StatusForbidden, e.Code == "scan_unavailable":
		wb.rp.Log(r, e)
		wb.showCase(w, r, e.Status, e)
	default:
		wb.fail(w, r, e)
	}
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

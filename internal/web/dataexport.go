package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/privacy"
)

// exportRow is one of the user's data exports on the profile.
type exportRow struct {
	Requested, Expires string
	State              string // message key
}

// exportPath is where an export's one-time link points.
const exportPath = "/profile/data-export/"

// exportsOf fills the profile's "your data" section: the recent exports
// of the signed-in user.
func (wb *Web) exportsOf(r *http.Request, v *view, p *profilePage) error {
	pr := auth.PrincipalFrom(r.Context())
	if wb.d.Privacy == nil || pr == nil {
		return nil
	}
	p.CanExport = true
	list, err := wb.d.Privacy.Exports(r.Context(), pr.UserID)
	if err != nil {
		return err
	}
	for _, e := range list {
		p.Exports = append(p.Exports, exportRow{Requested: v.L.DateTime(e.CreatedAt), Expires: v.L.DateTime(e.ExpiresAt),
			State: key("profile.export_state." + e.State)})
	}
	return nil
}

// profileExport asks for the user's data export (GDPR Art. 15 and 20):
// a job builds it, and this answer shows its one-time link, once.
func (wb *Web) profileExport(w http.ResponseWriter, r *http.Request) {
	pr := auth.PrincipalFrom(r.Context())
	if wb.d.Privacy == nil || pr == nil {
		wb.notFound(w, r)
		return
	}
	req, err := wb.d.Privacy.RequestExport(r.Context(), pr.UserID, audit.UserActor(strconv.FormatInt(pr.UserID, 10)))
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	r.PostForm = nil
	wb.showProfile(w, r, http.StatusOK, nil, "", func(p *profilePage, v *view) {
		p.ExportLink = exportPath + req.Token
		v.Notice = key("profile.export_requested")
	})
}

// profileExportDownload hands out the export behind the link, once; while
// it is being built the profile says so and keeps the link. Any other
// link (unknown, someone else's, used, expired) is the 404 page.
func (wb *Web) profileExportDownload(w http.ResponseWriter, r *http.Request) {
	pr := auth.PrincipalFrom(r.Context())
	if wb.d.Privacy == nil || pr == nil {
		wb.notFound(w, r)
		return
	}
	token := chi.URLParam(r, "id")
	ready, err := wb.d.Privacy.Peek(r.Context(), pr.UserID, token)
	switch {
	case errors.Is(err, privacy.ErrNoExport):
		wb.notFound(w, r)
		return
	case err != nil:
		wb.internal(w, r, err)
		return
	case !ready:
		wb.showProfile(w, r, http.StatusOK, nil, "", func(p *profilePage, v *view) {
			p.ExportLink = exportPath + token
			v.Notice = key("profile.export_preparing")
		})
		return
	}
	zip, err := wb.d.Privacy.Take(r.Context(), pr.UserID, token, audit.Event{Actor: audit.UserActor(strconv.FormatInt(pr.UserID, 10))}.WithRequest(r))
	switch {
	case errors.Is(err, privacy.ErrNoExport):
		wb.notFound(w, r)
		return
	case err != nil:
		wb.internal(w, r, err)
		return
	}
	api.WriteExport(w, zip, time.Now())
}

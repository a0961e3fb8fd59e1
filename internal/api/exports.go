package api

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/privacy"
)

// ExportRequested answers POST /me/exports: the one-time link to the
// user's data export (GDPR Art. 15 and 20), built in the background, and
// when it stops working. The token is shown once; only its hash is kept.
type ExportRequested struct {
	Token     string    `json:"token"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ExportPending answers GET /me/exports/{token} while the export is being
// built.
type ExportPending struct {
	State string `json:"state"`
}

// exports is the /me/exports resource: "download my data", served by the
// privacy service as the profile page's is.
type exports struct{ a *API }

func (x exports) request(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	if x.a.d.Privacy == nil || p == nil {
		x.a.notFound(w, r)
		return
	}
	req, err := x.a.d.Privacy.RequestExport(r.Context(), p.UserID, actorOf(p))
	if err != nil {
		x.a.rp.Internal(w, r, err)
		return
	}
	x.a.rp.JSON(w, r, http.StatusAccepted, ExportRequested{Token: req.Token, URL: "/api/v1/me/exports/" + url.PathEscape(req.Token), ExpiresAt: req.ExpiresAt})
}

// download hands out the export behind the token once (a zip); while it
// is being built, 202 and its state. Any other token (unknown, another
// user's, taken, failed or expired) is a 404.
func (x exports) download(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	if x.a.d.Privacy == nil || p == nil {
		x.a.notFound(w, r)
		return
	}
	token := chi.URLParam(r, "token")
	ready, err := x.a.d.Privacy.Peek(r.Context(), p.UserID, token)
	switch {
	case errors.Is(err, privacy.ErrNoExport):
		x.a.notFound(w, r)
		return
	case err != nil:
		x.a.rp.Internal(w, r, err)
		return
	case !ready:
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Cache-Control", "no-store")
		x.a.rp.JSON(w, r, http.StatusAccepted, ExportPending{State: "pending"})
		return
	}
	zip, err := x.a.d.Privacy.Take(r.Context(), p.UserID, token, audit.Event{Actor: actorOf(p)}.WithRequest(r))
	switch {
	case errors.Is(err, privacy.ErrNoExport):
		x.a.notFound(w, r)
		return
	case err != nil:
		x.a.rp.Internal(w, r, err)
		return
	}
	WriteExport(w, zip, x.a.d.Now())
}

// WriteExport sends a data export taken at at as an attachment; the
// profile page's one-time link answers with it too.
func WriteExport(w http.ResponseWriter, zip []byte, at time.Time) {
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="my-data-`+at.UTC().Format("2006-01-02")+`.zip"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(zip)
}

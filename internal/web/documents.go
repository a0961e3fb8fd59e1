package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/documents"
)

// document serves a record's PDF (GET /invoices/{id}/document.pdf, and
// the same for quotes, orders and cases) in the page's language, through
// the API's Document and ServeDocument: the same reads and access policy
// as the record's page and JSON, and the same 404 page for a foreign id.
func (wb *Web) document(kind documents.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		doc, err := wb.d.API.Document(r.Context(), kind, chi.URLParam(r, "id"), wb.cats.pick(r))
		if wb.readFailed(w, r, err) {
			return
		}
		api.ServeDocument(w, r, doc)
	}
}

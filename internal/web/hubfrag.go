package web

import (
	"bytes"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// blockView is what the "hub-block" template gets: the page's view and
// one block.
type blockView struct {
	V *view
	B *block
}

// hubBlockOf is the template function `hubBlock $ .`.
func hubBlockOf(v *view, b *block) blockView { return blockView{v, b} }

// hubBlockPage is GET /hub/{block}: one block of the status hub, read by
// the same handler (and so the same loading, access policy and roles) as
// the hub itself, for the block to replace itself when the live stream
// says its records changed. A block the user's roles do not reach is the
// 404 page. A browser that asks without htmx goes to the hub.
func (wb *Web) hubBlockPage(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("HX-Request") != "true" {
		http.Redirect(w, r, "/#"+chi.URLParam(r, "block"), http.StatusSeeOther)
		return
	}
	wb.home(w, r)
}

// renderHub writes the status hub, or only the block GET /hub/{block}
// asked for.
func (wb *Web) renderHub(w http.ResponseWriter, r *http.Request, v *view) {
	id := chi.URLParam(r, "block")
	if id == "" {
		wb.render(w, r, http.StatusOK, "home", v)
		return
	}
	blocks, _ := v.Page.([]*block)
	for _, b := range blocks {
		if b.ID != id {
			continue
		}
		var buf bytes.Buffer
		if err := wb.pages.byName["home"].ExecuteTemplate(&buf, "hub-block", hubBlockOf(v, b)); err != nil {
			wb.internal(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
		return
	}
	wb.notFound(w, r)
}

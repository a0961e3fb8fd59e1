package web

import (
	"bytes"
	"html/template"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/brand"
)

// immutable is the caching of a file whose URL changes with its content.
const immutable = "public, max-age=31536000, immutable"

// brandStylesheet is GET /static/brand-<hash>.css: the brand's colours as
// CSS custom properties over portal.css's, linked from every page (a
// file, so that the pages' CSP needs no inline style). An old hash is
// 404, never the new content under the old name.
func (wb *Web) brandStylesheet(w http.ResponseWriter, r *http.Request) {
	s := wb.d.Brand.Get()
	if chi.URLParam(r, "hash") != s.CSSHash() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", immutable)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.CSS))
}

// logoCSP is the logo's own policy, for a browser that opens its URL as a
// document: an SVG then runs no script, loads nothing, and is sandboxed.
const logoCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// brandLogo is GET /static/logo-<hash>.<ext>: the logo with the type its
// bytes were checked to be, never sniffed, and only as an image.
func (wb *Web) brandLogo(w http.ResponseWriter, r *http.Request) {
	s := wb.d.Brand.Get()
	if s.Logo == nil || r.URL.Path != s.LogoPath() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", s.Logo.Type)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", logoCSP)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", immutable)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.Logo.Body))
}

// contact is one way to reach support, as a link.
type contact struct {
	Kind, Text string // Kind: email, phone, web
	Href       template.URL
}

// support lists the brand's support contact. The values were checked
// (brand.Brand.Check): an address, a phone number of digits, an http(s)
// URL; so are the links made of them.
func support(s *brand.Site) []contact {
	var out []contact
	if e := s.SupportEmail; e != "" {
		out = append(out, contact{Kind: "email", Text: e, Href: template.URL("mailto:" + e)})
	}
	if p := s.SupportPhone; p != "" {
		out = append(out, contact{Kind: "phone", Text: p, Href: template.URL(brand.PhoneHref(p))})
	}
	if u := s.SupportURL; u != "" {
		out = append(out, contact{Kind: "web", Text: u, Href: template.URL(u)})
	}
	return out
}

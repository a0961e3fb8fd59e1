package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/reply"
)

// BrandEditor changes the stored brand for the console, with the checks
// of `portico brand set`, audited, and serves the change at once
// (*app.BrandService; /admin/brand uses the same).
type BrandEditor interface {
	Settings(ctx context.Context) (brand.Settings, error)
	Replace(ctx context.Context, ch brand.Change, ev audit.Event) (brand.Settings, error)
	Reset(ctx context.Context, ev audit.Event) (brand.Settings, error)
}

type brandRow struct {
	Key, Label, Value, Flag string
	Colour                  bool
	// Config is config's value, which an empty field of the form follows.
	Config string
}

type brandPage struct {
	Rows []brandRow
	Logo string
	// Editable shows the form; StoredLogo offers to drop the stored logo,
	// Stored to drop everything stored.
	Editable, StoredLogo, Stored bool
}

// brandDone are the page's notices after a change, by ?done=.
var brandDone = map[string]string{"saved": key("console.brand.saved"), "reset": key("console.brand.reset_done")}

// brandFieldMax bounds a text field of the brand form as read from a
// multipart body; the checks are brand.Brand.Check's.
const brandFieldMax = 1024

// consoleBrand shows the portal's branding as it is served now (config's
// brand.* with the stored brand over it) and, with a BrandEditor, the
// form that changes what is stored.
func (wb *Web) consoleBrand(w http.ResponseWriter, r *http.Request) {
	wb.showConsoleBrand(w, r, http.StatusOK, nil)
}

// showConsoleBrand renders the page; bad are a refused form's field
// errors (message keys), shown beside the fields with what was entered.
func (wb *Web) showConsoleBrand(w http.ResponseWriter, r *http.Request, status int, bad map[string]string) {
	v := wb.newView(r, key("console.brand.title"), nil)
	v.Section = "console"
	site := wb.d.Brand.Get()
	var set brand.Settings
	p := brandPage{Editable: wb.d.BrandEditor != nil}
	if p.Editable {
		var err error
		if set, err = wb.d.BrandEditor.Settings(r.Context()); err != nil {
			wb.internal(w, r, err)
			return
		}
		p.StoredLogo = set.Stored.Logo != nil
		p.Stored = p.StoredLogo || set.Stored.Brand != (brand.Brand{})
	}
	for _, f := range brand.Fields {
		row := brandRow{Key: f, Label: v.L.T("console.brand.field." + f), Value: site.Get(f),
			Flag: "--" + dashed(f), Colour: f == "primary_color" || f == "accent_color", Config: set.Config.Get(f)}
		p.Rows = append(p.Rows, row)
		v.Form[f] = set.Stored.Get(f)
	}
	p.Logo = site.LogoPath()
	if len(bad) > 0 {
		v.Alert = key("form.fix_fields")
		for f, k := range bad {
			v.Fields[f] = v.L.T(k)
		}
		if _, reset := bad["confirm"]; !reset { // the brand form: what was entered
			for _, f := range brand.Fields {
				v.Form[f] = r.PostForm.Get(f)
			}
			v.Form["drop_logo"] = r.PostForm.Get("drop_logo")
		}
	} else if done, ok := brandDone[r.URL.Query().Get("done")]; ok {
		v.Notice = done
	}
	v.Page = p
	wb.render(w, r, status, "console_brand", v)
}

// consoleBrandSave stores the form's brand: each field as entered (empty
// follows the configuration), the logo uploaded, or the stored logo
// dropped. Bad values change nothing and are named beside their field.
func (wb *Web) consoleBrandSave(w http.ResponseWriter, r *http.Request) {
	if wb.d.BrandEditor == nil {
		wb.notFound(w, r)
		return
	}
	logo, err := readBrandForm(r)
	if err != nil {
		wb.fail(w, r, &reply.Error{Status: http.StatusBadRequest, Code: "bad_form", Message: "the form could not be read"})
		return
	}
	bad := map[string]string{}
	var ch brand.Change
	for _, f := range brand.Fields {
		ch.Set(f, r.PostForm.Get(f))
	}
	ch.DropLogo = r.PostForm.Get("drop_logo") == "yes"
	if len(logo) > 0 {
		l, err := brand.CheckLogo(logo)
		switch {
		case errors.Is(err, brand.ErrLogoTooBig):
			bad["logo"] = key("console.brand.logo_too_big")
		case err != nil:
			bad["logo"] = key("console.brand.bad_logo")
		default:
			ch.Logo = l
		}
	}
	var invalid *brand.Invalid
	if err := ch.Check(); errors.As(err, &invalid) {
		for _, f := range invalid.Fields {
			bad[f.Field] = key("console.brand.bad_" + f.Field)
		}
	}
	if len(bad) > 0 {
		wb.showConsoleBrand(w, r, http.StatusUnprocessableEntity, bad)
		return
	}
	ev := audit.Event{Actor: audit.StaffActor(strconv.FormatInt(signedIn(r).UserID, 10))}.WithRequest(r)
	if _, err := wb.d.BrandEditor.Replace(r.Context(), ch, ev); err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/brand?done=saved", http.StatusSeeOther)
}

// consoleBrandReset drops the stored brand once the form confirms it, as
// `portico brand reset` does: config's brand applies again.
func (wb *Web) consoleBrandReset(w http.ResponseWriter, r *http.Request) {
	if wb.d.BrandEditor == nil {
		wb.notFound(w, r)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		wb.showConsoleBrand(w, r, http.StatusUnprocessableEntity, map[string]string{"confirm": key("console.brand.bad_confirm")})
		return
	}
	ev := audit.Event{Actor: audit.StaffActor(strconv.FormatInt(signedIn(r).UserID, 10))}.WithRequest(r)
	if _, err := wb.d.BrandEditor.Reset(r.Context(), ev); err != nil {
		wb.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/brand?done=reset", http.StatusSeeOther)
}

// readBrandForm reads the brand form's fields into r.PostForm and returns
// the logo's bytes (at most one more than a logo may have, so that a
// bigger file is refused as such). A form sent without a file (not
// multipart) has its fields in r.PostForm already.
func readBrandForm(r *http.Request) ([]byte, error) {
	mr := multipartFrom(r)
	if mr == nil {
		return nil, nil
	}
	r.PostForm = url.Values{}
	var logo []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return logo, nil
		}
		if err != nil {
			return nil, err
		}
		limit := int64(brandFieldMax)
		if part.FormName() == "logo" {
			limit = brand.MaxLogoBytes + 1
		}
		b, err := io.ReadAll(io.LimitReader(part, limit))
		if err != nil {
			return nil, err
		}
		if part.FormName() == "logo" {
			logo = b
		} else {
			r.PostForm.Set(part.FormName(), string(b))
		}
	}
}

// dashed is a brand field's flag name: primary_color is primary-color.
func dashed(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/web/webtest"
)

// acmeLogo is an SVG that would run a script if it were opened as a page
// without the logo's policy.
const acmeLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><script>alert(1)</script>` +
	`<circle cx="20" cy="20" r="18" fill="#0b5394"/></svg>`

// acme is a deployment's brand: its name, colours that pass AA, its
// support contact and an SVG logo.
func acme(t *testing.T) *brand.Current {
	t.Helper()
	b := brand.Brand{Name: "Acme Service", PrimaryColor: "#0b5394", AccentColor: "#8a4b08",
		SupportEmail: "help@acme.example", SupportPhone: "+49 30 1234567", SupportURL: "https://help.acme.example/portal"}
	require.Empty(t, b.Check())
	logo, err := brand.CheckLogo([]byte(acmeLogo))
	require.NoError(t, err)
	return brand.NewCurrent(brand.NewSite(b, logo))
}

func withBrand(c *brand.Current) func(*options) { return func(o *options) { o.brand = c } }

// fetch gets path without a session.
func (e *env) fetch(path string) page {
	e.t.Helper()
	res, err := http.Get(e.srv.URL + path)
	require.NoError(e.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return page{code: res.StatusCode, header: res.Header, body: string(body)}
}

func TestBrandOnEveryPage(t *testing.T) {
	t.Parallel()
	cur := acme(t)
	site := cur.Get()
	e := setup(t, withBrand(cur))
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)

	signIn := e.browser().get("/sign-in")
	require.Equal(t, http.StatusOK, signIn.code)
	body := signIn.body
	require.Contains(t, body, "<title>Sign in · Acme Service</title>")
	require.Contains(t, body, `<link rel="stylesheet" href="`+site.StylesheetPath()+`">`)
	require.Contains(t, body, `<img class="logo" src="`+site.LogoPath()+`" alt="" height="32">Acme Service</a>`)
	require.Contains(t, body, `<a href="mailto:help@acme.example">help@acme.example</a>`)
	require.Contains(t, body, `<a href="tel:&#43;49301234567">&#43;49 30 1234567</a>`)
	require.Contains(t, body, `<a href="https://help.acme.example/portal">https://help.acme.example/portal</a>`)
	require.NotContains(t, body, "Customer portal", "the brand's name, not the default")
	checkPageHeaders(t, signIn)

	// A signed-in user's pages, and the 404 page (a foreign case) names
	// the brand and how to reach support.
	b := e.browser()
	b.signIn("mark@alpha.test")
	home := b.get("/")
	require.Contains(t, home.body, "· Acme Service</title>")
	require.Contains(t, home.body, "help@acme.example")
	missing := b.get("/cases/" + e.fx.IDs[apitest.Beta]["case"][0])
	require.Equal(t, http.StatusNotFound, missing.code)
	require.Contains(t, missing.body, "<title>Page not found · Acme Service</title>")
	require.Contains(t, missing.body, "Need help? Acme Service support is here for you:")
	require.Equal(t, 1, strings.Count(missing.body, "mailto:help@acme.example"), "in the page, not twice")

	// German pages take the same brand.
	b.lang = "de"
	require.Contains(t, b.get("/").body, "Acme Service</a>")
}

func TestDefaultBrandHasNoContact(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.browser().get("/sign-in")
	require.Contains(t, p.body, "<title>Sign in · Customer portal</title>")
	require.NotContains(t, p.body, `class="support"`)
	require.NotContains(t, p.body, `class="logo"`)
	css := e.fetch(brand.NewSite(brand.Default(), nil).StylesheetPath())
	require.Equal(t, http.StatusOK, css.code)
	require.Contains(t, css.body, "--primary: #1d4ed8;")
}

func TestBrandStylesheetAndLogoUnderHashedURLs(t *testing.T) {
	t.Parallel()
	cur := acme(t)
	site := cur.Get()
	e := setup(t, withBrand(cur))

	css := e.fetch(site.StylesheetPath())
	require.Equal(t, http.StatusOK, css.code)
	require.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
	require.Equal(t, "public, max-age=31536000, immutable", css.header.Get("Cache-Control"))
	require.Equal(t, ":root {\n  --primary: #0b5394;\n  --accent: #8a4b08;\n}\n", css.body)

	logo := e.fetch(site.LogoPath())
	require.Equal(t, http.StatusOK, logo.code)
	require.Equal(t, "image/svg+xml", logo.header.Get("Content-Type"))
	require.Equal(t, "nosniff", logo.header.Get("X-Content-Type-Options"))
	require.Equal(t, "default-src 'none'; style-src 'unsafe-inline'; sandbox", logo.header.Get("Content-Security-Policy"))
	require.Equal(t, "public, max-age=31536000, immutable", logo.header.Get("Cache-Control"))
	require.Equal(t, acmeLogo, logo.body)

	// Another brand: new URLs; the old ones are not found, never the new
	// content under an old name a browser keeps for a year.
	b := site.Brand
	b.PrimaryColor = "#1d4ed8"
	cur.Set(brand.NewSite(b, nil))
	for _, old := range []string{site.StylesheetPath(), site.LogoPath(), "/static/brand-0000000000000000.css", "/static/logo-x.svg"} {
		require.Equal(t, http.StatusNotFound, e.fetch(old).code, old)
	}
	page := e.browser().get("/sign-in")
	require.Contains(t, page.body, cur.Get().StylesheetPath())
	require.NotContains(t, page.body, `class="logo"`)
	require.Equal(t, http.StatusOK, e.fetch(cur.Get().StylesheetPath()).code)
}

// TestBrowserBrandedPagesAreAccessible: with a deployment's brand (its
// colours, logo and contact), the pages still pass axe at both widths,
// under the pages' CSP: the colours come from the brand's stylesheet, and
// the logo loads as an image.
func TestBrowserBrandedPagesAreAccessible(t *testing.T) {
	t.Parallel()
	e := setup(t, withBrand(acme(t)))
	base := e.srv.URL
	e.user("admin@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	p := webtest.New(t)

	require.Equal(t, http.StatusOK, p.Navigate(base+"/sign-in"))
	require.Equal(t, "rgb(11, 83, 148)", evalJS[string](t, p, `getComputedStyle(document.querySelector(".top")).backgroundColor`),
		"the header takes the brand's primary colour")
	require.Positive(t, evalJS[int](t, p, `document.querySelector("img.logo").naturalWidth`), "the logo loaded")
	require.Equal(t, "Sign in · Acme Service", evalJS[string](t, p, `document.title`))
	check(t, p, "brand-sign-in", http.StatusOK)
	require.Equal(t, http.StatusNotFound, p.Navigate(base+"/no/such/page"))
	check(t, p, "brand-not-found", http.StatusNotFound)

	signInForm(t, p, base, "admin@alpha.test")
	check(t, p, "brand-hub", http.StatusOK)
	require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+e.fx.IDs[apitest.Alpha]["case"][0]))
	check(t, p, "brand-case", http.StatusOK)
	require.Equal(t, http.StatusNotFound, p.Navigate(base+"/cases/"+e.fx.IDs[apitest.Beta]["case"][0]))
	require.Contains(t, p.Text("main"), "help@acme.example")
	check(t, p, "brand-foreign-case", http.StatusNotFound)
}

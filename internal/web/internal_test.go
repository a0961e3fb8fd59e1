package web

import (
	"crypto/sha256"
	"encoding/hex"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/writeback"
	"github.com/porticohq/portico/mappings"
)

// keyUse finds the message keys the templates name: .L.T "key" and
// .L.N "key".
var keyUse = regexp.MustCompile(`\.L\.(T|N) "([^"]+)"`)

// usedKeys are every message key the portal uses: in templates, in Go
// code through key(...), the plural forms of Ago, and one per write-back
// kind and action state.
func usedKeys(t *testing.T) map[string]bool {
	keys := map[string]bool{"fmt.date": true, "fmt.datetime": true, "fmt.time": true, "fmt.money": true}
	for _, unit := range []string{"seconds", "minutes", "hours", "days"} {
		keys["ago."+unit+".one"], keys["ago."+unit+".other"] = true, true
	}
	for _, k := range writeback.Kinds() {
		keys["action.kind."+string(k)] = true
	}
	for _, s := range []string{writeback.StatePending, writeback.StateSending, writeback.StateApplied, writeback.StateConflict,
		writeback.StateFailed, writeback.StateRejected} {
		keys["action.state."+s] = true
	}
	// The new case form's labels and choices, from the intake schema.
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	obj, _ := set.Object("case")
	fields, err := intakeForm(obj.IntakeSchema(mapping.OpCreate))
	require.NoError(t, err)
	for _, f := range fields {
		keys[f.Label("case")] = true
		for _, v := range f.Enum {
			keys[f.Choice("case", v)] = true
		}
	}
	names, err := filepath.Glob("templates/*.html")
	require.NoError(t, err)
	for _, n := range names {
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		for _, m := range keyUse.FindAllStringSubmatch(string(b), -1) {
			if m[1] == "N" {
				keys[m[2]+".one"], keys[m[2]+".other"] = true, true
			} else {
				keys[m[2]] = true
			}
		}
	}
	// Go code: key("...") and l.T("...") / v.L.T("...") with a literal.
	gofiles, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, n := range gofiles {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			name := ""
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || (name != "key" && name != "T" && name != "N") {
				return true
			}
			k, _ := strconv.Unquote(lit.Value)
			if name == "N" {
				keys[k+".one"], keys[k+".other"] = true, true
			} else {
				keys[k] = true
			}
			return true
		})
	}
	return keys
}

func TestEveryKeyInEveryLanguage(t *testing.T) {
	c, err := loadCatalogs()
	require.NoError(t, err)
	used := usedKeys(t)
	require.Greater(t, len(used), 100, "the key scan found the keys")
	for _, tag := range languages {
		var missing []string
		for k := range used {
			if !c.keys[tag][k] {
				missing = append(missing, k)
			}
		}
		slices.Sort(missing)
		require.Empty(t, missing, "keys missing in locales/%s.json", tag)
	}
	// And no language has a key the others lack.
	for _, tag := range languages[1:] {
		for k := range c.keys[languages[0]] {
			require.True(t, c.keys[tag][k], "%s lacks %q", tag, k)
		}
		for k := range c.keys[tag] {
			require.True(t, c.keys[languages[0]][k], "%s has %q, English lacks it", tag, k)
		}
	}
}

func TestRelativeTimesAndNumbersFollowTheLanguage(t *testing.T) {
	c, err := loadCatalogs()
	require.NoError(t, err)
	now := time.Date(2026, 12, 7, 10, 42, 0, 0, time.UTC)
	en, de := c.loc(language.English, now), c.loc(language.German, now)
	require.Equal(t, "12 seconds ago", en.Ago(now.Add(-12*time.Second)))
	require.Equal(t, "1 minute ago", en.Ago(now.Add(-time.Minute)))
	require.Equal(t, "vor 12 Sekunden", de.Ago(now.Add(-12*time.Second)))
	require.Equal(t, "vor 2 Tagen", de.Ago(now.Add(-49*time.Hour)))
	require.Equal(t, "1,234.50 USD", en.Money(1234.5, "USD"))
	require.Equal(t, "1.234,50 USD", de.Money(1234.5, "USD"))
	require.Equal(t, "Dec 7, 2026", en.Date(now))
	require.Equal(t, "07.12.2026", de.Date(now))
	require.Equal(t, "10:42 UTC", en.Clock(now.Add(-time.Hour).Add(time.Hour)))
	require.Equal(t, "06.12.2026, 10:42 UTC", de.Clock(now.Add(-24*time.Hour)), "another day names the date")
}

func TestLanguagePick(t *testing.T) {
	c, err := loadCatalogs()
	require.NoError(t, err)
	req := func(accept, cookie string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", accept)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: LangCookie, Value: cookie})
		}
		return r
	}
	require.Equal(t, language.German, c.pick(req("de-AT,en;q=0.5", "")))
	require.Equal(t, language.English, c.pick(req("fr-FR", "")))
	require.Equal(t, language.English, c.pick(req("de", "en")), "the visitor's choice first")
	require.Equal(t, language.German, c.pick(req("de", "xx")), "an unknown choice is ignored")
}

func TestVendoredHTMXIsTheRecordedOne(t *testing.T) {
	rec, err := os.ReadFile("static/vendor/htmx.sha256")
	require.NoError(t, err)
	want := strings.Fields(string(rec))[0]
	b, err := staticFS.ReadFile("static/vendor/htmx.min.js")
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	require.Equal(t, want, hex.EncodeToString(sum[:]), "htmx.min.js is not the file update.sh vendored; run static/vendor/update.sh")
	lic, err := staticFS.ReadFile("static/vendor/htmx.LICENSE")
	require.NoError(t, err)
	require.Contains(t, string(lic), "BSD")
}

func TestStaticFilesAreVersionedAndCachedLong(t *testing.T) {
	a, err := loadAssets()
	require.NoError(t, err)
	r := chi.NewRouter()
	r.Get(StaticPrefix+"{hash}/*", a.serve)
	u := a.URL("vendor/htmx.min.js")
	require.Regexp(t, `^/static/[0-9a-f]{12}/vendor/htmx\.min\.js$`, u)

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
	require.Contains(t, w.Header().Get("Content-Type"), "javascript")
	require.Equal(t, a["vendor/htmx.min.js"].body, w.Body.Bytes())

	for _, bad := range []string{"/static/000000000000/vendor/htmx.min.js", "/static/" + a["portal.css"].hash + "/vendor/update.sh",
		"/static/" + a["portal.css"].hash + "/../doc.go"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, bad, nil))
		require.Equal(t, http.StatusNotFound, w.Code, bad)
	}
	_, served := a["vendor/update.sh"]
	require.False(t, served, "the vendoring script is not served")
}

func TestServerErrorPageQuotesTheRequestID(t *testing.T) {
	wb := &Web{d: Deps{Now: time.Now}, rp: reply.New(nil)}
	var err error
	wb.assets, err = loadAssets()
	require.NoError(t, err)
	wb.cats, err = loadCatalogs()
	require.NoError(t, err)
	wb.pages, err = loadPages()
	require.NoError(t, err)
	// The error page needs no session: render it as the layout would
	// for a visitor, with the view built by hand.
	h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &view{L: wb.cats.loc(language.English, time.Now()), Assets: wb.assets, Title: key("error.500.heading"),
			Brand:  brand.NewSite(brand.Default(), nil),
			Fields: map[string]string{}, Form: map[string]string{}, RequestID: middleware.GetReqID(r.Context()), Here: "/",
			Page: errorPage{Status: 500, Heading: key("error.500.heading"), Text: key("error.500.text")}}
		wb.render(w, r, http.StatusInternalServerError, "error", v)
	}))
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(middleware.RequestIDHeader, "req-4242")
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusInternalServerError, w.Code)
	require.Contains(t, w.Body.String(), "Something went wrong on our side")
	require.Contains(t, w.Body.String(), "<code>req-4242</code>")
}

// TestHubRoutesByAccount: a hub's stream is told of its own accounts'
// records of the objects it shows, and of nothing else: another account,
// another tenant, an object without a block.
func TestHubRoutesByAccount(t *testing.T) {
	h := newHub(8)
	s, err := h.subscribe(userKey{1, "7"}, nil, &hubWatch{accounts: []string{"001A"}, blocks: map[string]string{"case": "cases"}})
	require.NoError(t, err)
	staff, err := h.subscribe(userKey{1, "8"}, nil, &hubWatch{accounts: []string{"*"}, blocks: map[string]string{"case": "cases"}})
	require.NoError(t, err)
	for _, p := range []string{"h:1:case:001B", "h:2:case:001A", "h:1:invoice:001A", "h:1:case", "h:x:case:001A", "r:1:case:001A"} {
		h.Notify(p)
	}
	require.Empty(t, s.events)
	require.Len(t, staff.events, 1, "every account of the tenant: 001B's case")
	h.Notify("h:1:case:001A")
	require.Equal(t, liveEvent{kind: "hub", id: "cases", object: "case", account: "001A"}, <-s.events)
	h.unsubscribe(s)
	h.Notify("h:1:case:001A")
	require.Empty(t, s.events)
	require.Equal(t, 1, h.count())
}

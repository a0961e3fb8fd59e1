package brand_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/brand"
)

func color(t *testing.T, s string) brand.Color {
	t.Helper()
	c, err := brand.ParseColor(s)
	require.NoError(t, err)
	return c
}

// Known ratios: black on white is the maximum, 21:1; #767676 is the
// lightest grey that passes AA on white (4.54:1) and #777777 the darkest
// that fails (4.48:1); #595959 on white is 7:1 (AAA); the WCAG
// understanding document's yellow-on-white failure is 1.07:1.
func TestContrastKnownPairs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#fff", "#000", 21},
		{"#767676", "#ffffff", 4.54},
		{"#777777", "#ffffff", 4.48},
		{"#595959", "#ffffff", 7.00},
		{"#ffff00", "#ffffff", 1.07},
		{"#1d4ed8", "#ffffff", 6.70},
		{"#0f766e", "#ffffff", 5.47},
		{"#abcdef", "#abcdef", 1},
	} {
		got := brand.Contrast(color(t, tc.a), color(t, tc.b))
		require.InDelta(t, tc.want, got, 0.005, "%s on %s", tc.a, tc.b)
	}
}

func TestParseColor(t *testing.T) {
	t.Parallel()
	require.Equal(t, "#aabbcc", color(t, "#ABC").String())
	require.Equal(t, "#1d4ed8", color(t, " #1D4ED8 ").String())
	for _, bad := range []string{"", "1d4ed8", "#12345", "#12345g", "blue", "#1d4ed8ff"} {
		_, err := brand.ParseColor(bad)
		require.Error(t, err, bad)
	}
}

func TestCheckNamesThePairAndItsRatio(t *testing.T) {
	t.Parallel()
	b := brand.Brand{PrimaryColor: "#7fbfff", AccentColor: "#0f766e"}
	errs := b.Check()
	require.Len(t, errs, 1)
	require.Equal(t, "primary_color", errs[0].Field)
	require.Equal(t, "primary #7fbfff on white: contrast 1.9:1, WCAG AA needs 4.5:1", errs[0].Msg)

	// 4.48:1 reads as 4.4:1, never as a passing 4.5:1.
	b = brand.Brand{PrimaryColor: "#777"}
	require.Equal(t, "primary #777777 on white: contrast 4.4:1, WCAG AA needs 4.5:1", b.Check()[0].Msg)
	b = brand.Brand{PrimaryColor: "#767676"}
	require.Empty(t, b.Check())

	// The accent is also set on the status box's grey, where #767676
	// fails (4.16:1) though it passes on white.
	b = brand.Brand{AccentColor: "#767676"}
	errs = b.Check()
	require.Len(t, errs, 1)
	require.Equal(t, "accent_color", errs[0].Field)
	require.Equal(t, "accent #767676 on the status box grey #f3f4f6: contrast 4.1:1, WCAG AA needs 4.5:1", errs[0].Msg)
}

func TestCheckFields(t *testing.T) {
	t.Parallel()
	good := brand.Brand{Name: "Acme Support", PrimaryColor: "#1D4ED8", AccentColor: "#0f766e",
		SupportEmail: "help@acme.example", SupportPhone: "+49 30 1234-567", SupportURL: "https://help.acme.example/portal"}
	require.Empty(t, good.Check())
	require.Equal(t, "#1d4ed8", good.PrimaryColor, "normalized")
	require.Equal(t, "tel:+49301234567", brand.PhoneHref(good.SupportPhone))

	bad := brand.Brand{Name: " padded", PrimaryColor: "navy", SupportEmail: "Help <help@acme.example>",
		SupportPhone: "call us", SupportURL: "javascript:alert(1)"}
	var fields []string
	for _, e := range bad.Check() {
		fields = append(fields, e.Field)
	}
	require.Equal(t, []string{"name", "primary_color", "support_email", "support_phone", "support_url"}, fields)
}

func TestMerge(t *testing.T) {
	t.Parallel()
	base := brand.Brand{Name: "Config", PrimaryColor: "#1d4ed8", SupportEmail: "a@example.com"}
	got := brand.Merge(base, brand.Brand{Name: "Stored", AccentColor: "#0f766e"})
	require.Equal(t, brand.Brand{Name: "Stored", PrimaryColor: "#1d4ed8", AccentColor: "#0f766e", SupportEmail: "a@example.com"}, got)
}

var (
	png = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"), make([]byte, 40)...)
	svg = []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`)
)

func TestCheckLogo(t *testing.T) {
	t.Parallel()
	l, err := brand.CheckLogo(png)
	require.NoError(t, err)
	require.Equal(t, "image/png", l.Type)
	require.Equal(t, ".png", l.Ext())
	l, err = brand.CheckLogo(svg)
	require.NoError(t, err)
	require.Equal(t, "image/svg+xml", l.Type)

	_, err = brand.CheckLogo([]byte("<html><script>alert(1)</script></html>"))
	require.ErrorContains(t, err, "must be a PNG, SVG, WebP or JPEG image; this is text/html")
	_, err = brand.CheckLogo([]byte("GIF89a\x01\x00\x01\x00"))
	require.ErrorContains(t, err, "this is image/gif")
	_, err = brand.CheckLogo(append(png, make([]byte, brand.MaxLogoBytes)...))
	require.ErrorIs(t, err, brand.ErrLogoTooBig)
	_, err = brand.CheckLogo(nil)
	require.Error(t, err)
}

func TestFetchLogo(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/logo":
			// A wrong Content-Type: the bytes decide.
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(svg)
		case "/big":
			_, _ = w.Write(bytes.Repeat(png, brand.MaxLogoBytes/len(png)+2))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	l, err := brand.FetchLogo(ctx, srv.Client(), srv.URL+"/logo")
	require.NoError(t, err)
	require.Equal(t, "image/svg+xml", l.Type)
	_, err = brand.FetchLogo(ctx, srv.Client(), srv.URL+"/big")
	require.ErrorIs(t, err, brand.ErrLogoTooBig)
	_, err = brand.FetchLogo(ctx, srv.Client(), srv.URL+"/missing")
	require.ErrorContains(t, err, "404")
	_, err = brand.FetchLogo(ctx, srv.Client(), "file:///etc/passwd")
	require.ErrorContains(t, err, "must be an http(s) URL")
}

func TestSiteHashesContent(t *testing.T) {
	t.Parallel()
	a := brand.NewSite(brand.Brand{PrimaryColor: "#1d4ed8", AccentColor: "#0f766e"}, nil)
	b := brand.NewSite(brand.Brand{PrimaryColor: "#1d4ed9", AccentColor: "#0f766e"}, nil)
	require.Contains(t, string(a.CSS), "--primary: #1d4ed8;")
	require.Regexp(t, `^/static/brand-[0-9a-f]{16}\.css$`, a.StylesheetPath())
	require.NotEqual(t, a.StylesheetPath(), b.StylesheetPath())
	require.Empty(t, a.LogoPath())
	l, err := brand.CheckLogo(svg)
	require.NoError(t, err)
	require.Regexp(t, `^/static/logo-[0-9a-f]{16}\.svg$`, brand.NewSite(a.Brand, l).LogoPath())
}

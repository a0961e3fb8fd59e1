package brand

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// Brand is what a deployment shows of itself. An empty field is unset:
// the name falls back to the catalogs' "Customer portal", a contact is
// left out, and Merge lets a lower layer's value through.
type Brand struct {
	Name         string
	PrimaryColor string // #rrggbb
	AccentColor  string
	SupportEmail string
	SupportPhone string
	SupportURL   string
}

// The portal stylesheet's own colours (internal/web/static/portal.css),
// the brand's defaults.
const (
	DefaultPrimary = "#1d4ed8"
	DefaultAccent  = "#0f766e"
)

// Default is the brand of a deployment that sets none.
func Default() Brand { return Brand{PrimaryColor: DefaultPrimary, AccentColor: DefaultAccent} }

// Fields are the brand's settable fields by their key, which config
// writes as brand.<key> and `portico brand set` as --<key with dashes>.
var Fields = []string{"name", "primary_color", "accent_color", "support_email", "support_phone", "support_url"}

// Get returns the field named key.
func (b Brand) Get(key string) string { return *b.field(key) }

// Set sets the field named key.
func (b *Brand) Set(key, value string) { *b.field(key) = value }

func (b *Brand) field(key string) *string {
	switch key {
	case "name":
		return &b.Name
	case "primary_color":
		return &b.PrimaryColor
	case "accent_color":
		return &b.AccentColor
	case "support_email":
		return &b.SupportEmail
	case "support_phone":
		return &b.SupportPhone
	case "support_url":
		return &b.SupportURL
	}
	panic("brand: no field " + key)
}

// Merge is base with every field over sets.
func Merge(base, over Brand) Brand {
	for _, k := range Fields {
		if v := over.Get(k); v != "" {
			base.Set(k, v)
		}
	}
	return base
}

// FieldError is a bad value of one field.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// MaxName is the longest name, in characters.
const MaxName = 80

var phone = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{2,29}$`)

// Check checks every set field and returns each bad one, in Fields'
// order; colours are normalized to #rrggbb in b.
func (b *Brand) Check() []*FieldError {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if n := b.Name; n != "" {
		if utf8.RuneCountInString(n) > MaxName || strings.TrimSpace(n) != n || strings.IndexFunc(n, unicode.IsControl) >= 0 {
			bad("name", "must be at most %d characters, without control characters or surrounding spaces", MaxName)
		}
	}
	for _, key := range []string{"primary", "accent"} {
		field := key + "_color"
		v := b.Get(field)
		if v == "" {
			continue
		}
		c, err := ParseColor(v)
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		b.Set(field, c.String())
		if err := CheckContrast(key, c); err != nil {
			bad(field, "%v", err)
		}
	}
	if e := b.SupportEmail; e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			bad("support_email", "must be an email address such as help@example.com; got %q", e)
		}
	}
	if p := b.SupportPhone; p != "" && !phone.MatchString(p) {
		bad("support_phone", "must be a phone number of digits, spaces and + ( ) . / -, such as +49 30 1234567; got %q", p)
	}
	if u := b.SupportURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || pu.User != nil {
			bad("support_url", "must be an http(s) URL such as https://help.example.com; got %q", u)
		}
	}
	return errs
}

// PhoneHref is the tel: link of a checked phone number.
func PhoneHref(p string) string {
	var b strings.Builder
	b.WriteString("tel:")
	for _, r := range p {
		if r == '+' || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Site is a checked brand as the portal serves it: the brand, its
// stylesheet and its logo, each under a name that changes with its
// content, so that browsers may keep them for a year.
type Site struct {
	Brand
	CSS     []byte
	cssHash string
	Logo    *Logo
}

// NewSite builds the served files of a brand whose colours are set and
// checked; logo may be nil.
func NewSite(b Brand, logo *Logo) *Site {
	css := fmt.Appendf(nil, ":root {\n  --primary: %s;\n  --accent: %s;\n}\n", b.PrimaryColor, b.AccentColor)
	return &Site{Brand: b, CSS: css, cssHash: hash(css), Logo: logo}
}

// StylesheetPath is where the stylesheet is served.
func (s *Site) StylesheetPath() string { return "/static/brand-" + s.cssHash + ".css" }

// CSSHash is the hash in StylesheetPath.
func (s *Site) CSSHash() string { return s.cssHash }

// LogoPath is where the logo is served, "" without one.
func (s *Site) LogoPath() string {
	if s.Logo == nil {
		return ""
	}
	return "/static/logo-" + s.Logo.Hash + s.Logo.Ext()
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Current holds the site being served; a changed setting replaces it
// while requests read it.
type Current struct{ p atomic.Pointer[Site] }

// NewCurrent holds s.
func NewCurrent(s *Site) *Current {
	c := &Current{}
	c.p.Store(s)
	return c
}

// Get is the site now.
func (c *Current) Get() *Site { return c.p.Load() }

// Set replaces it.
func (c *Current) Set(s *Site) { c.p.Store(s) }

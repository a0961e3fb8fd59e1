package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
	"golang.org/x/text/number"
)

// The portal's languages: English first, the fallback.
var languages = []language.Tag{language.English, language.German}

// LangCookie keeps a visitor's choice of language; it beats the browser's
// Accept-Language.
const LangCookie = "portico_lang"

//go:embed locales/*.json
var localeFS embed.FS

// catalogs are the message catalogs, loaded once: each locales/<lang>.json
// is a flat object of message keys. A key ending in ".one" or ".other" is
// one plural form of the key before it.
type catalogs struct {
	cat     *catalog.Builder
	keys    map[language.Tag]map[string]bool
	matcher language.Matcher
	// printers format each language (a Printer is safe for concurrent
	// use), and plain holds each language's messages that take no
	// arguments, formatted once: most of a page's text, which T would
	// otherwise format again on every view.
	printers map[language.Tag]*message.Printer
	plain    map[language.Tag]map[string]string
}

func loadCatalogs() (*catalogs, error) {
	c := &catalogs{cat: catalog.NewBuilder(catalog.Fallback(language.English)), keys: map[language.Tag]map[string]bool{},
		matcher: language.NewMatcher(languages)}
	for _, tag := range languages {
		name := "locales/" + tag.String() + ".json"
		b, err := localeFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("web: %s: %w", name, err)
		}
		c.keys[tag] = map[string]bool{}
		for k, v := range msgs {
			if err := c.cat.SetString(tag, k, v); err != nil {
				return nil, fmt.Errorf("web: %s: key %q: %w", name, k, err)
			}
			c.keys[tag][k] = true
		}
	}
	c.printers, c.plain = map[language.Tag]*message.Printer{}, map[language.Tag]map[string]string{}
	for _, tag := range languages {
		p := message.NewPrinter(tag, message.Catalog(c.cat))
		c.printers[tag], c.plain[tag] = p, map[string]string{}
		for k := range c.keys[language.English] {
			if s := p.Sprintf(k); !strings.Contains(s, "%!") {
				c.plain[tag][k] = s
			}
		}
	}
	return c, nil
}

// pick chooses the language of a request: the signed-in user's setting,
// the visitor's choice, then Accept-Language, then English.
func (c *catalogs) pick(r *http.Request) language.Tag {
	if p := signedIn(r); p != nil {
		if tag, ok := supported(p.Locale); ok {
			return tag
		}
	}
	if ck, err := r.Cookie(LangCookie); err == nil {
		if tag, ok := supported(ck.Value); ok {
			return tag
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return language.English
	}
	return languages[i]
}

// supported returns the portal language named by s ("de").
func supported(s string) (language.Tag, bool) {
	for _, t := range languages {
		if t.String() == s {
			return t, true
		}
	}
	return language.Und, false
}

// loc formats text, numbers, dates and relative times in one language.
type loc struct {
	Tag   language.Tag
	p     *message.Printer
	plain map[string]string
	now   time.Time
}

func (c *catalogs) loc(tag language.Tag, now time.Time) *loc {
	p, ok := c.printers[tag]
	if !ok {
		p = message.NewPrinter(tag, message.Catalog(c.cat))
	}
	return &loc{Tag: tag, p: p, plain: c.plain[tag], now: now}
}

// Lang is the language's code for <html lang>.
func (l *loc) Lang() string { return l.Tag.String() }

// T translates a message key, formatting args into it.
func (l *loc) T(key string, args ...any) string {
	if len(args) == 0 {
		if s, ok := l.plain[key]; ok {
			return s
		}
	}
	return l.p.Sprintf(key, args...)
}

// Tv is T with the arguments in a slice, for templates.
func (l *loc) Tv(key string, args []any) string { return l.p.Sprintf(key, args...) }

// N translates the plural form of key for n (".one" or ".other"; English
// and German need no more), with n as the first argument.
func (l *loc) N(key string, n int, args ...any) string {
	form := ".other"
	if n == 1 {
		form = ".one"
	}
	return l.p.Sprintf(key+form, append([]any{n}, args...)...)
}

// Number formats n with the language's separators.
func (l *loc) Number(n float64) string { return l.p.Sprintf("%.2f", n) }

// Quantity formats a count of units with the language's separators and
// no more decimals than it has (2, 1.5, 1,000 / 2, 1,5, 1.000).
func (l *loc) Quantity(n float64) string {
	return l.p.Sprint(number.Decimal(n, number.MaxFractionDigits(3)))
}

// Money formats an amount and its currency code.
func (l *loc) Money(amount float64, currency string) string {
	return strings.TrimSpace(l.T("fmt.money", amount, currency))
}

// Date formats t as a date in the language's layout.
func (l *loc) Date(t time.Time) string { return t.UTC().Format(l.T("fmt.date")) }

// DateTime formats t as a date and time.
func (l *loc) DateTime(t time.Time) string { return t.UTC().Format(l.T("fmt.datetime")) }

// Clock formats t as a time of day, for "since 10:42"; a day other than
// today adds the date.
func (l *loc) Clock(t time.Time) string {
	if y, m, d := t.UTC().Date(); y != l.now.UTC().Year() || m != l.now.UTC().Month() || d != l.now.UTC().Day() {
		return l.DateTime(t)
	}
	return t.UTC().Format(l.T("fmt.time"))
}

// Ago says how long ago t was, in words: "12 seconds ago".
func (l *loc) Ago(t time.Time) string {
	d := max(l.now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return l.N("ago.seconds", int(d/time.Second))
	case d < time.Hour:
		return l.N("ago.minutes", int(d/time.Minute))
	case d < 48*time.Hour:
		return l.N("ago.hours", int(d/time.Hour))
	default:
		return l.N("ago.days", int(d/(24*time.Hour)))
	}
}

// key marks a message key chosen in Go code, so that the catalog test
// finds it as it finds the keys the templates name.
func key(k string) string { return k }

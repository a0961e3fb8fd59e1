package documents

import (
	"embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
	"golang.org/x/text/number"

	"github.com/porticohq/portico/internal/i18n"
)

// Languages are the documents' languages, English first (the fallback):
// the portal's pages' languages.
var Languages = i18n.Languages

//go:embed locales/*.json
var localeFS embed.FS

// The catalogs are loaded once, on first use; a broken catalog is a
// build defect that the package's tests catch, so it panics.
var loadCatalog = sync.OnceValue(func() *catalog.Builder {
	c, err := i18n.Load(localeFS, "locales")
	if err != nil {
		panic(fmt.Sprintf("documents: %v", err))
	}
	return c.Builder
})

// Language is the documents' language named by s ("de", "de-DE"), English
// for anything else.
func Language(s string) language.Tag { return i18n.Match(s) }

// loc formats text, money and dates in one language, as the pages do
// (internal/web's catalogs hold the same formats).
type loc struct {
	tag language.Tag
	p   *message.Printer
}

func newLoc(tag language.Tag) *loc {
	return &loc{tag: tag, p: message.NewPrinter(tag, message.Catalog(loadCatalog()))}
}

func (l *loc) T(key string, args ...any) string { return l.p.Sprintf(key, args...) }

func (l *loc) Money(amount float64, currency string) string {
	return strings.TrimSpace(l.T("fmt.money", amount, currency))
}

func (l *loc) Quantity(n float64) string {
	return l.p.Sprint(number.Decimal(n, number.MaxFractionDigits(3)))
}

func (l *loc) Date(t time.Time) string { return t.UTC().Format(l.T("fmt.date")) }

func (l *loc) DateTime(t time.Time) string { return t.UTC().Format(l.T("fmt.datetime")) }

// DateString formats a date or a timestamp field; anything else stays as
// it is.
func (l *loc) DateString(s string) string {
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return l.Date(t)
		}
	}
	return s
}

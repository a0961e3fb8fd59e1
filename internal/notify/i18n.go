package notify

import (
	"embed"
	"fmt"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/porticohq/portico/internal/i18n"
)

//go:embed locales/*.json
var localeFS embed.FS

// messages are the notices' texts in every portal language: the rules'
// templates and the mail's own words. A broken catalog is a build defect
// the package's tests catch, so it panics.
var messages = sync.OnceValue(func() *i18n.Catalog {
	c, err := i18n.Load(localeFS, "locales")
	if err != nil {
		panic(fmt.Sprintf("notify: %v", err))
	}
	return c
})

// words formats the mail's own words in one language.
type words struct {
	tag language.Tag
	p   *message.Printer
}

func wordsOf(locale string) words {
	tag := i18n.Match(locale)
	return words{tag: tag, p: message.NewPrinter(tag, message.Catalog(messages().Builder))}
}

func (w words) T(key string, args ...any) string { return w.p.Sprintf(key, args...) }

// N is the plural form of key for n, with n as its argument.
func (w words) N(key string, n int) string {
	if n == 1 {
		return w.p.Sprintf(key+".one", n)
	}
	return w.p.Sprintf(key+".other", n)
}

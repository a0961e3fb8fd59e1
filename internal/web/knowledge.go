package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/textcheck"
)

// span is a piece of text, marked when it matches the search. Templates
// print Text escaped, inside <mark> when Hit: no text from a source or a
// user ever becomes markup.
type span struct {
	Text string
	Hit  bool
}

// hit is one article found.
type hit struct {
	Href           string
	Title, Summary []span
}

type knowledgePage struct {
	Query string
	Hits  []hit
	Fresh string
	Down  bool
}

func (wb *Web) knowledgeSearch(w http.ResponseWriter, r *http.Request) {
	if !wb.d.API.Reaches(r.Context(), "knowledge_article") {
		wb.fail(w, r, errForbidden())
		return
	}
	v := wb.newView(r, key("knowledge.title"), nil)
	v.Section = "knowledge"
	p := knowledgePage{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if utf8.RuneCountInString(p.Query) > maxSearch || len(p.Query) > maxSearch || !textcheck.Valid(p.Query) {
		v.Fields["q"] = v.L.T("field.search_too_long", maxSearch)
		v.Alert, v.Page = key("form.fix_fields"), p
		wb.render(w, r, http.StatusUnprocessableEntity, "knowledge", v)
		return
	}
	found, err := wb.d.API.Articles(r.Context(), p.Query, 20)
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	terms := matcher(p.Query)
	for _, rec := range found {
		p.Hits = append(p.Hits, hit{Href: "/knowledge/" + url.PathEscape(rec.ID),
			Title: marks(str(rec, "title"), terms), Summary: marks(str(rec, "summary"), terms)})
	}
	p.Fresh, p.Down = wb.freshness(v.L, "knowledge_article", found)
	v.Page = p
	wb.render(w, r, http.StatusOK, "knowledge", v)
}

// matcher matches any word of the query, case insensitively; nil for no
// words.
func matcher(q string) *regexp.Regexp {
	var words []string
	for _, w := range strings.Fields(q) {
		words = append(words, regexp.QuoteMeta(w))
	}
	if len(words) == 0 {
		return nil
	}
	return regexp.MustCompile(`(?i)` + strings.Join(words, "|"))
}

// marks cuts s into spans, the matches of re marked.
func marks(s string, re *regexp.Regexp) []span {
	if re == nil {
		return []span{{Text: s}}
	}
	var out []span
	at := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		if m[0] > at {
			out = append(out, span{Text: s[at:m[0]]})
		}
		out = append(out, span{Text: s[m[0]:m[1]], Hit: true})
		at = m[1]
	}
	if at < len(s) {
		out = append(out, span{Text: s[at:]})
	}
	return out
}

type articlePage struct {
	Title, Summary string
	// Body is the article as paragraphs of plain text.
	Body  []string
	Fresh string
	Down  bool
}

func (wb *Web) article(w http.ResponseWriter, r *http.Request) {
	rec, err := wb.d.API.Record(r.Context(), "knowledge_article", chi.URLParam(r, "id"), false)
	if wb.readFailed(w, r, err) {
		return
	}
	wb.viewed(r, "knowledge_article", rec.ID)
	v := wb.newView(r, key("knowledge.article_title"), nil)
	v.Section = "knowledge"
	p := articlePage{Title: str(*rec, "title"), Summary: str(*rec, "summary"), Body: plainText(str(*rec, "body"))}
	p.Fresh, p.Down = freshWords(v.L, rec.Freshness, wb.system("knowledge_article"))
	v.Page = p
	wb.render(w, r, http.StatusOK, "article", v)
}

var (
	// blockEnd are the tags that end a line of rich text.
	blockEnd = regexp.MustCompile(`(?i)<\s*(br\s*/?|/\s*(p|div|li|h[1-6]|tr|blockquote|pre))\s*>`)
	tag      = regexp.MustCompile(`(?s)<[^>]*>`)
	// scripted are elements whose content is not text a reader should see.
	scripted = regexp.MustCompile(`(?is)<\s*(script|style)\b.*?<\s*/\s*(script|style)\s*>`)
	blank    = regexp.MustCompile(`\n\s*\n+`)
)

// plainText turns an article body into paragraphs of plain text. The
// source's rich text (Salesforce's rich text area is HTML) is rendered as
// text, not sanitized: tags are dropped, line-ending tags become line
// breaks and entities are decoded, and the templates escape what is left,
// so no markup of the source reaches the page.
func plainText(body string) []string {
	s := scripted.ReplaceAllString(body, "")
	s = blockEnd.ReplaceAllString(s, "\n\n")
	s = tag.ReplaceAllString(s, "")
	s = html.UnescapeString(strings.ReplaceAll(s, "\r\n", "\n"))
	var out []string
	for _, para := range blank.Split(s, -1) {
		if para = strings.TrimSpace(para); para != "" {
			out = append(out, para)
		}
	}
	return out
}

// viewed records a page view of one record for the reports (a knowledge
// view or a status lookup, api.Viewed); a form's re-rendered page after a
// refused change is not a view.
func (wb *Web) viewed(r *http.Request, object, id string) {
	if r.Method == http.MethodGet {
		wb.d.API.Viewed(r.Context(), object, id)
	}
}

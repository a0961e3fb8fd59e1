package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/tidwall/gjson"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/brand"
)

// Kind is a kind of document; each has its own template.
type Kind string

// The document kinds.
const (
	// Invoice is an invoice with its lines, payments and amount due
	// (Source.Record an invoice, Source.Related its payments).
	Invoice Kind = "invoice"
	// Quote is an approval request with its lines, for approval
	// (Source.Record an approval_request, Source.Related its
	// approval_line records in their order). The signing flow renders the
	// exact PDF the signer sees with it.
	Quote Kind = "quote"
	// Order is an order confirmation with its lines and shipments (all in
	// Source.Record, an order).
	Order Kind = "order"
	// Case is a case summary with its history (Source.Record a case,
	// Source.Timeline its steps as the case page shows them, with the
	// comments' text).
	Case Kind = "case"
)

// Kinds are the document kinds, in a stable order.
var Kinds = []Kind{Invoice, Quote, Order, Case}

// Record is a portal record as the reader's access policy lets the caller
// see it: internal/api's Record, field for field.
type Record struct {
	ID          string
	Object      string
	Status      string
	StatusLabel string
	NextStep    string
	Fields      json.RawMessage // the visible fields, a JSON object
	// SyncedAt is when the record was last read from its source; the
	// document prints it and takes it as its creation date.
	SyncedAt time.Time
}

// Step is one moment in a case's life, as the case page lists it.
type Step struct {
	At    time.Time
	Kind  string // opened, comment, status, closed
	Label string // the status's label, for a status step
	Body  string // the comment's text, for a comment step
}

// Source is what a document is rendered from: the record and the records
// it shows with it.
type Source struct {
	Record Record
	// Related are an invoice's payments or a quote's lines, in the order
	// the document lists them.
	Related []Record
	// Timeline is a case's history, oldest first.
	Timeline []Step
}

// Options are how a document is rendered.
type Options struct {
	// Lang is the document's language (one of Languages; English
	// otherwise).
	Lang language.Tag
	// Brand is the portal's brand: its name, colours, support contact and
	// logo; nil is the default brand.
	Brand *brand.Site
}

// ErrKind is a kind this package has no template for.
var ErrKind = errors.New("documents: no such kind of document")

// Render renders a document of kind from src: the same kind, src and
// opts (language and brand) give the same bytes.
func Render(ctx context.Context, kind Kind, src Source, opts Options) ([]byte, error) {
	body, ok := templates[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrKind, kind)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	site := opts.Brand
	if site == nil {
		site = brand.NewSite(brand.Default(), nil)
	}
	d := newDoc(newLoc(Language(opts.Lang.String())), site, src.Record.SyncedAt)
	body(d, src)
	var buf bytes.Buffer
	if err := d.pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("documents: rendering a %s: %w", kind, err)
	}
	return buf.Bytes(), nil
}

// templates are the documents' bodies by kind.
var templates = map[Kind]func(*doc, Source){
	Invoice: invoiceBody,
	Quote:   quoteBody,
	Order:   orderBody,
	Case:    caseBody,
}

// FileName is the name a document is downloaded under: its kind and the
// record's number or id, of letters, digits, '-' and '_' only (anything
// else becomes '_'), e.g. "invoice-1042.pdf".
func FileName(kind Kind, rec Record) string {
	id := rec.ID
	for _, f := range []string{"number", "reference"} {
		if v := gjson.GetBytes(rec.Fields, f).String(); v != "" {
			id = v
			break
		}
	}
	safe := strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return r
		}
		return '_'
	}, id)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	return string(kind) + "-" + safe + ".pdf"
}

func str(fields json.RawMessage, name string) string { return gjson.GetBytes(fields, name).String() }

func num(fields json.RawMessage, name string) float64 { return gjson.GetBytes(fields, name).Float() }

package documents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/documents"
	"github.com/porticohq/portico/internal/documents/documentstest"
)

var update = flag.Bool("update", false, "write the golden PDFs in testdata/ again")

var synced = time.Date(2026, 12, 7, 14, 32, 5, 0, time.UTC)

func fields(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// sources are one record of each kind, as the API reads them.
func sources(t testing.TB) map[documents.Kind]documents.Source {
	return map[documents.Kind]documents.Source{
		documents.Invoice: {
			Record: documents.Record{ID: "130", Object: "invoice", Status: "open", StatusLabel: "Open", SyncedAt: synced,
				Fields: fields(t, map[string]any{"number": "INV-1042", "issued_on": "2026-11-02", "due_on": "2026-12-02",
					"total": 1234.5, "balance": 734.5, "currency": "EUR",
					"lines": []map[string]any{
						{"description": "Espresso grinder E-80, burr set replacement", "quantity": 1, "unit_price": 1000, "amount": 1000},
						{"description": "Service visit (Zürich, 2.5 hours)", "quantity": 2.5, "unit_price": 93.8, "amount": 234.5},
					}})},
			Related: []documents.Record{
				{ID: "p1", Object: "payment", Fields: fields(t, map[string]any{"amount": 500, "paid_on": "2026-11-20", "currency": "EUR"})},
			},
		},
		documents.Quote: {
			Record: documents.Record{ID: "a0Q5", Object: "approval_request", Status: "pending", StatusLabel: "Awaiting your decision",
				SyncedAt: synced, Fields: fields(t, map[string]any{"name": "Café fit-out, Łódź branch", "kind": "quote",
					"total": 5890, "currency": "EUR", "expires_on": "2027-01-15"})},
			Related: []documents.Record{
				{ID: "l1", Fields: fields(t, map[string]any{"name": "Barista counter", "description": "Oak, 3.2 m, with knock box",
					"quantity": 1, "unit_price": 4200, "total": 4200, "position": 1})},
				{ID: "l2", Fields: fields(t, map[string]any{"name": "Grinder", "quantity": 2, "unit_price": 939.5,
					"discount_percent": 10, "total": 1690, "position": 2})},
			},
		},
		documents.Order: {
			Record: documents.Record{ID: "ORD-77", Object: "order", Status: "open", StatusLabel: "On its way", SyncedAt: synced,
				Fields: fields(t, map[string]any{"reference": "PO-2026-118", "total": 86.4, "currency": "USD",
					"created_at": "2026-12-01T09:30:00Z",
					"lines": []map[string]any{
						{"name": "House blend, 1 kg", "quantity": 4, "unit_price": 18.6, "currency": "USD"},
						{"name": "Paper filters (100)", "quantity": 3, "unit_price": 4, "currency": "USD"},
					},
					"shipments": []map[string]any{
						{"status": "shipped", "carrier": "UPS", "tracking_number": "1Z999AA10123456784", "shipped_at": "2026-12-02T16:00:00Z"},
					}})},
		},
		documents.Case: {
			Record: documents.Record{ID: "500A", Object: "case", Status: "waiting", StatusLabel: "Waiting for you",
				NextStep: "Reply with the grinder's serial number.", SyncedAt: synced,
				Fields: fields(t, map[string]any{"number": "00001027", "subject": "Grinder makes a rattling noise",
					"description": "Since Monday the grinder rattles when it starts.\nIt still grinds.",
					"created_at":  "2026-12-03T08:00:00Z"})},
			Timeline: []documents.Step{
				{At: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC), Kind: "opened"},
				{At: time.Date(2026, 12, 3, 9, 15, 0, 0, time.UTC), Kind: "comment", Body: "Could you send us the serial number? It is on a sticker under the hopper."},
				{At: time.Date(2026, 12, 3, 9, 16, 0, 0, time.UTC), Kind: "status", Label: "Waiting for you"},
			},
		},
	}
}

func pngLogo(t testing.TB) *brand.Logo {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for x := range 40 {
		for y := range 20 {
			img.Set(x, y, color.NRGBA{R: uint8(x * 6), G: 80, B: uint8(y * 12), A: 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	l, err := brand.CheckLogo(buf.Bytes())
	require.NoError(t, err)
	return l
}

func site(t testing.TB, logo *brand.Logo) *brand.Site {
	b := brand.Brand{Name: "Acme Service", PrimaryColor: "#0b5394", AccentColor: "#8a4b08",
		SupportEmail: "help@acme.example", SupportPhone: "+49 30 1234567"}
	require.Empty(t, b.Check())
	return brand.NewSite(b, logo)
}

func render(t testing.TB, kind documents.Kind, src documents.Source, opts documents.Options) []byte {
	t.Helper()
	out, err := documents.Render(context.Background(), kind, src, opts)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(out, []byte("%PDF-")), "a PDF")
	return out
}

// TestGolden compares each kind's PDF in each language with the bytes in
// testdata (go test -run TestGolden -update writes them again), and
// renders each again to see the same bytes.
func TestGolden(t *testing.T) {
	t.Parallel()
	s := site(t, pngLogo(t))
	for kind, src := range sources(t) {
		for _, lang := range documents.Languages {
			name := string(kind) + "-" + lang.String() + ".pdf"
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				got := render(t, kind, src, documents.Options{Lang: lang, Brand: s})
				require.Equal(t, got, render(t, kind, src, documents.Options{Lang: lang, Brand: s}), "rendered twice")
				path := filepath.Join("testdata", name)
				if *update {
					require.NoError(t, os.WriteFile(path, got, 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "go test ./internal/documents -run TestGolden -update writes it")
				if !bytes.Equal(want, got) {
					t.Errorf("%s differs from the golden file (%d bytes, want %d); if the change is meant, run with -update and look at the PDF", name, len(got), len(want))
				}
			})
		}
	}
}

// TestDeterministicAcrossInputs: a changed brand, language or record
// changes the bytes; nothing else does (no clock: the creation date is
// the record's sync time).
func TestDeterministicAcrossInputs(t *testing.T) {
	t.Parallel()
	src := sources(t)[documents.Invoice]
	s := site(t, nil)
	base := render(t, documents.Invoice, src, documents.Options{Lang: language.English, Brand: s})
	require.Contains(t, string(base), "/CreationDate (D:20261207143205)")
	require.Contains(t, string(base), "/ModDate (D:20261207143205)")

	other := *s
	other.PrimaryColor = "#8a1c1c"
	require.NotEqual(t, base, render(t, documents.Invoice, src, documents.Options{Lang: language.English, Brand: &other}))
	require.NotEqual(t, base, render(t, documents.Invoice, src, documents.Options{Lang: language.German, Brand: s}))
	later := src
	later.Record.SyncedAt = synced.Add(time.Minute)
	require.NotEqual(t, base, render(t, documents.Invoice, later, documents.Options{Lang: language.English, Brand: s}))

	// A record without a sync time still gives fixed bytes.
	never := src
	never.Record.SyncedAt = time.Time{}
	a := render(t, documents.Invoice, never, documents.Options{Brand: s})
	require.Contains(t, string(a), "/CreationDate (D:20000101000000)")
	require.Equal(t, a, render(t, documents.Invoice, never, documents.Options{Brand: s}))
}

func TestText(t *testing.T) {
	t.Parallel()
	s := site(t, pngLogo(t))
	srcs := sources(t)
	cases := []struct {
		kind     documents.Kind
		lang     language.Tag
		want     []string
		notWant  []string
		modified func(*documents.Source)
	}{
		{kind: documents.Invoice, lang: language.English, want: []string{
			"Acme Service", "Invoice INV-1042", "Issued on Nov 2, 2026", "Due date Dec 2, 2026",
			"Invoice total 1,234.50 EUR", "Amount due 734.50 EUR",
			"Espresso grinder E-80, burr set replacement 1 1,000.00 EUR 1,000.00 EUR",
			"Service visit (Zürich, 2.5 hours) 2.5 93.80 EUR 234.50 EUR",
			"Nov 20, 2026 500.00 EUR",
			"Data as of Dec 7, 2026, 14:32 UTC, from the system of record", "Page 1 of 1",
			"Acme Service · help@acme.example · +49 30 1234567",
		}},
		{kind: documents.Invoice, lang: language.German, want: []string{
			"Rechnung INV-1042", "Ausgestellt am 02.11.2026", "Rechnungsbetrag 1.234,50 EUR", "Offener Betrag 734,50 EUR",
			"Service visit (Zürich, 2.5 hours) 2,5 93,80 EUR 234,50 EUR", "20.11.2026 500,00 EUR",
			"Stand 07.12.2026, 14:32 UTC", "Seite 1 von 1",
		}},
		{kind: documents.Invoice, lang: language.English, notWant: []string{"Amount due"}, want: []string{"Paid 1,234.50 EUR", "No payments yet."},
			modified: func(s *documents.Source) {
				s.Record.Status = "paid"
				s.Related = nil
			}},
		{kind: documents.Quote, lang: language.English, want: []string{
			"Quote: Café fit-out, Łódź branch", "Valid until Jan 15, 2027", "Total 5,890.00 EUR",
			"Barista counter 1 4,200.00 EUR 4,200.00 EUR", "Oak, 3.2 m, with knock box",
			"Grinder, 10% discount 2 939.50 EUR 1,690.00 EUR",
			"Approving this request accepts it for 5,890.00 EUR.",
		}},
		{kind: documents.Quote, lang: language.German, want: []string{
			"Angebot: Café fit-out, Łódź branch", "Gültig bis 15.01.2027", "Grinder, 10 % Rabatt 2 939,50 EUR 1.690,00 EUR",
		}},
		{kind: documents.Order, lang: language.English, want: []string{
			"Order confirmation PO-2026-118", "Placed on Dec 1, 2026", "Total 86.40 USD",
			"House blend, 1 kg 4 18.60 USD 74.40 USD", "Paper filters (100) 3 4.00 USD 12.00 USD",
			"Shipped UPS 1Z999AA10123456784 Dec 2, 2026",
		}},
		{kind: documents.Case, lang: language.English, want: []string{
			"Case summary: Grinder makes a rattling noise", "Case number 00001027", "Status Waiting for you",
			"Next step Reply with the grinder's serial number.", "Since Monday the grinder rattles when it starts.",
			"Dec 3, 2026, 08:00 UTC", "Case opened", "Dec 3, 2026, 09:15 UTC", "Comment",
			"Could you send us the serial number? It is on a sticker under the hopper.", "Status: Waiting for you",
		}},
		{kind: documents.Case, lang: language.German, want: []string{"Zusammenfassung der Anfrage", "Anfrage eröffnet", "03.12.2026, 09:15 UTC", "Kommentar"}},
	}
	for _, c := range cases {
		t.Run(string(c.kind)+"-"+c.lang.String(), func(t *testing.T) {
			t.Parallel()
			src := srcs[c.kind]
			if c.modified != nil {
				c.modified(&src)
			}
			text := documentstest.Text(t, render(t, c.kind, src, documents.Options{Lang: c.lang, Brand: s}))
			for _, w := range c.want {
				require.Contains(t, text, w)
			}
			for _, w := range c.notWant {
				require.NotContains(t, text, w)
			}
		})
	}
}

// TestLongTable: lines beyond a page go on to the next, under the table's
// header again, and every line is there.
func TestLongTable(t *testing.T) {
	t.Parallel()
	src := sources(t)[documents.Quote]
	src.Related = nil
	for i := range 80 {
		src.Related = append(src.Related, documents.Record{Fields: fields(t, map[string]any{
			"name": "Line " + strings.Repeat("x", i%7) + string(rune('A'+i%26)) + "-" + strconv.Itoa(i), "quantity": 1, "unit_price": 1, "total": 1})})
	}
	text := documentstest.Text(t, render(t, documents.Quote, src, documents.Options{Brand: site(t, nil)}))
	require.Contains(t, text, "Page 3 of 3")
	require.GreaterOrEqual(t, strings.Count(text, "Item Quantity Unit price Amount"), 3, "the header on every page")
	for i := range 80 {
		require.Contains(t, text, "-"+strconv.Itoa(i)+" 1 1.00 EUR")
	}
}

// TestLogos: a PNG, JPEG and WebP logo are drawn as images; an SVG is not
// (the name stands in for it).
func TestLogos(t *testing.T) {
	t.Parallel()
	var jpg bytes.Buffer
	require.NoError(t, jpeg.Encode(&jpg, image.NewRGBA(image.Rect(0, 0, 30, 10)), nil))
	webp, err := os.ReadFile("testdata/logo.webp")
	require.NoError(t, err)
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`)
	src := sources(t)[documents.Order]
	for name, c := range map[string]struct {
		body  []byte
		image bool
	}{"png": {nil, true}, "jpeg": {jpg.Bytes(), true}, "webp": {webp, true}, "svg": {svg, false}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logo := pngLogo(t)
			if c.body != nil {
				logo, err = brand.CheckLogo(c.body)
				require.NoError(t, err)
			}
			out := render(t, documents.Order, src, documents.Options{Brand: site(t, logo)})
			require.Equal(t, c.image, bytes.Contains(out, []byte("/Subtype /Image")))
			require.Contains(t, documentstest.Text(t, out), "Acme Service")
		})
	}
}

func TestUnknownKind(t *testing.T) {
	t.Parallel()
	_, err := documents.Render(context.Background(), "receipt", documents.Source{}, documents.Options{})
	require.ErrorIs(t, err, documents.ErrKind)
}

func TestFileName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "invoice-INV-1042.pdf", documents.FileName(documents.Invoice, documents.Record{ID: "130", Fields: fields(t, map[string]any{"number": "INV-1042"})}))
	require.Equal(t, "order-PO_2026_1_.pdf", documents.FileName(documents.Order, documents.Record{ID: "x", Fields: fields(t, map[string]any{"reference": "PO/2026\\1\""})}))
	require.Equal(t, "quote-a0Q5___.pdf", documents.FileName(documents.Quote, documents.Record{ID: "a0Q5\r\nü"}))
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	require.Equal(t, language.German, documents.Language("de-AT"))
	require.Equal(t, language.English, documents.Language("fr"))
	require.Equal(t, language.English, documents.Language(""))
}

// TestOddRecords: a record with no fields, text the fonts have no glyph
// for, control characters and a word longer than a line each still give
// a PDF.
func TestOddRecords(t *testing.T) {
	t.Parallel()
	odd := "客户 😀 \x00\x07\u202e" + strings.Repeat("W", 300)
	for _, kind := range documents.Kinds {
		for name, src := range map[string]documents.Source{
			"empty": {},
			"odd": {Record: documents.Record{ID: odd, StatusLabel: odd, NextStep: odd, SyncedAt: synced,
				Fields: fields(t, map[string]any{"number": odd, "subject": odd, "description": odd, "name": odd, "reference": odd,
					"lines":     []map[string]any{{"description": odd, "name": odd, "quantity": 1e12, "unit_price": -3.5}},
					"shipments": []map[string]any{{"status": odd, "carrier": odd}}})},
				Related:  []documents.Record{{Fields: fields(t, map[string]any{"name": odd, "description": odd, "paid_on": odd})}},
				Timeline: []documents.Step{{Kind: "comment", Body: odd}, {Kind: odd, Label: odd}}},
		} {
			t.Run(string(kind)+"-"+name, func(t *testing.T) {
				t.Parallel()
				out := render(t, kind, src, documents.Options{Brand: site(t, nil)})
				require.NotEmpty(t, documentstest.Text(t, out))
			})
		}
	}
}

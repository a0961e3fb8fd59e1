package documents

import (
	"strings"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/porticohq/portico/internal/brand"
)

// The page: A4 in millimetres.
const (
	margin    = 18.0
	pageW     = 210.0
	pageH     = 297.0
	contentW  = pageW - 2*margin
	bottom    = 22.0 // the footer's room
	lineH     = 5.0
	cellPad   = 1.5
	logoH     = 14.0
	logoMaxW  = 60.0
	fontName  = "go"
	textSize  = 10.0
	smallSize = 8.0
)

// rgb is a colour as fpdf takes it.
type rgb struct{ r, g, b int }

var (
	black = rgb{17, 24, 39}
	muted = rgb{75, 85, 99} // 7.6:1 on white
	rule  = rgb{209, 213, 219}
	white = rgb{255, 255, 255}
)

func colorOf(s, fallback string) rgb {
	c, err := brand.ParseColor(s)
	if err != nil {
		c, _ = brand.ParseColor(fallback)
	}
	return rgb{int(c.R), int(c.G), int(c.B)}
}

// doc is one document being drawn.
type doc struct {
	pdf            *fpdf.Fpdf
	l              *loc
	site           *brand.Site
	primary, accnt rgb
	synced         time.Time
}

// epoch is the creation date of a document whose record has no sync
// time: never the wall clock.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func newDoc(l *loc, site *brand.Site, synced time.Time) *doc {
	p := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	// Determinism: fixed dates (the record's sync time) and sorted
	// resource catalogs; fpdf writes no /ID without encryption.
	stamp := synced.UTC()
	if synced.IsZero() {
		stamp = epoch
	}
	p.SetCreationDate(stamp)
	p.SetModificationDate(stamp)
	p.SetCatalogSort(true)
	p.SetProducer("Portico", false)
	p.SetLang(l.tag.String())
	p.AddUTF8FontFromBytes(fontName, "", goregular.TTF)
	p.AddUTF8FontFromBytes(fontName, "B", gobold.TTF)
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, bottom)
	p.AliasNbPages("")
	d := &doc{pdf: p, l: l, site: site, synced: synced,
		primary: colorOf(site.PrimaryColor, brand.DefaultPrimary), accnt: colorOf(site.AccentColor, brand.DefaultAccent)}
	p.SetAuthor(safe(d.portalName()), true)
	p.SetFooterFunc(d.footer)
	p.AddPage()
	d.header()
	return d
}

func (d *doc) portalName() string {
	if d.site.Name != "" {
		return d.site.Name
	}
	return d.l.T("portal")
}

func (d *doc) font(style string, size float64, c rgb) {
	d.pdf.SetFont(fontName, style, size)
	d.pdf.SetTextColor(c.r, c.g, c.b)
}

// header draws the logo (or the portal's name as a wordmark) and the
// brand's rule at the top of the first page.
func (d *doc) header() {
	p := d.pdf
	if img, ok := registerLogo(p, d.site.Logo); ok {
		w := logoH * img.Width() / img.Height()
		h := logoH
		if w > logoMaxW {
			w, h = logoMaxW, logoMaxW*img.Height()/img.Width()
		}
		p.ImageOptions(logoName, margin, margin, w, h, false, fpdf.ImageOptions{}, 0, "")
		d.font("B", 12, black)
		p.SetXY(margin+w+4, margin)
		p.CellFormat(contentW-w-4, h, safe(d.portalName()), "", 0, "R", false, 0, "")
	} else {
		d.font("B", 18, d.primary)
		p.SetXY(margin, margin)
		p.CellFormat(contentW, logoH, safe(d.portalName()), "", 0, "L", false, 0, "")
	}
	y := margin + logoH + 3
	p.SetDrawColor(d.primary.r, d.primary.g, d.primary.b)
	p.SetLineWidth(0.8)
	p.Line(margin, y, pageW-margin, y)
	p.SetXY(margin, y+6)
}

// footer prints on every page when the data was synced, the page number
// and the portal's support contact.
func (d *doc) footer() {
	p := d.pdf
	p.SetDrawColor(rule.r, rule.g, rule.b)
	p.SetLineWidth(0.2)
	p.Line(margin, pageH-17, pageW-margin, pageH-17)
	p.SetXY(margin, pageH-16)
	d.font("", smallSize, muted)
	synced := d.l.T("synced", d.l.DateTime(d.synced))
	if d.synced.IsZero() {
		synced = ""
	}
	pageNo := d.l.T("page", p.PageNo(), "{nb}")
	p.CellFormat(contentW-35, 4, safe(synced), "", 0, "L", false, 0, "")
	p.CellFormat(35, 4, safe(pageNo), "", 1, "R", false, 0, "")
	p.SetX(margin)
	p.CellFormat(contentW, 4, safe(d.contact()), "", 0, "L", false, 0, "")
}

func (d *doc) contact() string {
	parts := []string{d.portalName()}
	for _, s := range []string{d.site.SupportEmail, d.site.SupportPhone, d.site.SupportURL} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " · ")
}

// title is the document's title, in the PDF's metadata too.
func (d *doc) title(s string) {
	d.pdf.SetTitle(safe(s), true)
	d.font("B", 18, black)
	d.pdf.MultiCell(contentW, 8, safe(s), "", "L", false)
	d.pdf.Ln(2)
}

// heading starts a section.
func (d *doc) heading(s string) {
	d.pdf.Ln(4)
	d.keepRoom(12)
	d.font("B", 12, d.primary)
	d.pdf.CellFormat(contentW, 7, safe(s), "", 1, "L", false, 0, "")
	d.pdf.Ln(1)
}

// keepRoom starts a new page unless h millimetres are left on this one.
func (d *doc) keepRoom(h float64) {
	if d.pdf.GetY()+h > pageH-bottom {
		d.pdf.AddPage()
	}
}

// paragraph is running text.
func (d *doc) paragraph(s string) {
	d.font("", textSize, black)
	d.pdf.MultiCell(contentW, lineH, safe(s), "", "L", false)
}

// fact is one labelled value; strong values are set bold in the accent
// colour (what is due).
type fact struct {
	label, value string
	strong       bool
}

// facts prints labelled values in two columns; empty values are left out.
func (d *doc) facts(fs ...fact) {
	const labelW = 50.0
	p := d.pdf
	for _, f := range fs {
		if f.value == "" {
			continue
		}
		d.keepRoom(lineH + 1)
		d.font("", textSize, muted)
		p.CellFormat(labelW, lineH+1, safe(f.label), "", 0, "L", false, 0, "")
		if f.strong {
			d.font("B", textSize+1, d.accnt)
		} else {
			d.font("", textSize, black)
		}
		p.MultiCell(contentW-labelW, lineH+1, safe(f.value), "", "L", false)
	}
}

// column is one column of a table.
type column struct {
	title string
	width float64 // a share of the content's width
	align string  // L or R
}

// table prints rows under a header row in the brand's primary colour
// (white text on it, a pair the brand holds to WCAG AA), repeating the
// header on each new page; long cells wrap.
func (d *doc) table(cols []column, rows [][]string) {
	p := d.pdf
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = c.width * contentW
	}
	head := func() {
		d.font("B", textSize, white)
		p.SetFillColor(d.primary.r, d.primary.g, d.primary.b)
		for i, c := range cols {
			p.CellFormat(widths[i], lineH+2*cellPad, safe(c.title), "", 0, c.align, true, 0, "")
		}
		p.Ln(-1)
	}
	d.keepRoom(2 * (lineH + 2*cellPad))
	head()
	d.font("", textSize, black)
	p.SetDrawColor(rule.r, rule.g, rule.b)
	p.SetLineWidth(0.2)
	for _, row := range rows {
		lines := make([][]string, len(row))
		n := 1
		for i, cell := range row {
			lines[i] = p.SplitText(safe(cell), widths[i])
			n = max(n, len(lines[i]))
		}
		h := float64(n)*lineH + 2*cellPad
		if p.GetY()+h > pageH-bottom {
			p.AddPage()
			head()
			d.font("", textSize, black)
			p.SetDrawColor(rule.r, rule.g, rule.b)
			p.SetLineWidth(0.2)
		}
		x, y := margin, p.GetY()
		for i, cell := range lines {
			for j, ln := range cell {
				p.SetXY(x, y+cellPad+float64(j)*lineH)
				p.CellFormat(widths[i], lineH, safe(ln), "", 0, cols[i].align, false, 0, "")
			}
			x += widths[i]
		}
		p.Line(margin, y+h, pageW-margin, y+h)
		p.SetXY(margin, y+h)
	}
}

// safe is s as the embedded fonts can set it: fpdf refuses a character
// beyond the Basic Multilingual Plane (an emoji) and the whole document
// with it, so each becomes U+FFFD; control characters other than a line
// break go (a tab becomes a space). A character the fonts have no glyph
// for within the plane is drawn as the fonts' missing glyph.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		case r > 0xFFFF:
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// tableOr is table, or the words for none when there are no rows.
func (d *doc) tableOr(cols []column, rows [][]string, none string) {
	if len(rows) == 0 {
		d.empty(none)
		return
	}
	d.table(cols, rows)
}

// empty is a section's words for having nothing.
func (d *doc) empty(s string) {
	d.font("", textSize, muted)
	d.pdf.MultiCell(contentW, lineH, safe(s), "", "L", false)
}

package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Evidence is what a signing records, as the certificate page lists it and
// as the sealed file carries it (a JSON stream the signature covers).
type Evidence struct {
	// Document names what was signed: the portal object, its id and name.
	Object       string `json:"object"`
	RecordID     string `json:"record_id"`
	DocumentName string `json:"document_name,omitempty"`
	// DocumentSHA256 is the hex SHA-256 of the exact PDF the signer was
	// shown, DocumentLength its size: the first DocumentLength bytes of
	// the sealed file. Seal fills both from the bytes it is given.
	DocumentSHA256 string `json:"document_sha256"`
	DocumentLength int64  `json:"document_length"`
	// The signer: their portal user id and email, the name they typed,
	// how they signed in and when.
	SignerUserID    string    `json:"signer_user_id"`
	SignerEmail     string    `json:"signer_email"`
	SignerName      string    `json:"signer_name"`
	AuthMethod      string    `json:"auth_method"`
	AuthenticatedAt time.Time `json:"authenticated_at"`
	SignedAt        time.Time `json:"signed_at"`
	IP              string    `json:"ip"`
	UserAgent       string    `json:"user_agent"`
	// The consent statement the signer ticked: its version, language and
	// text.
	ConsentVersion string `json:"consent_version"`
	ConsentLocale  string `json:"consent_locale"`
	ConsentText    string `json:"consent_text"`
	Decision       string `json:"decision"`
}

// Page is the completion certificate page's text, in the signer's
// language: a title, an introduction and the evidence as label/value rows.
type Page struct {
	Title  string
	Intro  string
	Rows   []Row
	Footer string
}

// Row is one line of evidence on the certificate page.
type Row struct{ Label, Value string }

// ErrEncrypted: an encrypted PDF is not sealed (its strings would need
// the document's key).
var ErrEncrypted = errors.New("seal: the PDF is encrypted")

// contentsSize is the room kept for the CMS signature, in bytes.
func contentsSize(s *Signer) int {
	n := 4096
	for _, c := range append(s.Chain, s.Cert) {
		n += len(c.Raw)
	}
	return n
}

// Seal appends to pdf the certificate page, the evidence and a PAdES-B-B
// signature made with s over the whole result; pdf itself is not changed.
// The evidence's document hash and length are taken from pdf; when the
// caller set DocumentSHA256 (the hash of what the signer was shown), it
// must match.
func Seal(pdf []byte, ev Evidence, page Page, s *Signer) ([]byte, error) {
	sum := sha256.Sum256(pdf)
	if ev.DocumentSHA256 != "" && !strings.EqualFold(ev.DocumentSHA256, hex.EncodeToString(sum[:])) {
		return nil, errors.New("seal: the document is not the one the signer was shown")
	}
	ev.DocumentSHA256, ev.DocumentLength = hex.EncodeToString(sum[:]), int64(len(pdf))
	doc, err := parseDocument(pdf)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, ok := doc.trailer["Encrypt"]; ok {
		return nil, ErrEncrypted
	}
	rootRef := doc.trailer["Root"].(ref)
	root, err := doc.dict(rootRef)
	if err != nil {
		return nil, fmt.Errorf("seal: catalog: %w", err)
	}
	pagesRef, ok := root["Pages"].(ref)
	if !ok {
		return nil, errors.New("seal: the catalog has no page tree")
	}
	pages, err := doc.dict(pagesRef)
	if err != nil {
		return nil, fmt.Errorf("seal: page tree: %w", err)
	}
	kidsV, err := doc.resolve(pages["Kids"])
	kids, ok := kidsV.(array)
	count, isInt := intOf(pages["Count"])
	if err != nil || !ok || !isInt {
		return nil, errors.New("seal: the page tree has no /Kids or /Count")
	}
	size, _ := intOf(doc.trailer["Size"])
	if size <= 0 {
		return nil, errors.New("seal: the trailer has no /Size")
	}
	evJSON, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return nil, err
	}

	u := &update{base: pdf, next: int(size)}
	content, fonts := u.alloc(), [3]ref{u.alloc(), u.alloc(), u.alloc()}
	pageRef, widget, sigRef, evRef := u.alloc(), u.alloc(), u.alloc(), u.alloc()

	u.stream(content, nil, certificatePage(page))
	for i, base := range []string{"Helvetica", "Helvetica-Bold", "Courier"} {
		u.object(fonts[i], dict{"Type": name("Font"), "Subtype": name("Type1"), "BaseFont": name(base),
			"Encoding": name("WinAnsiEncoding")})
	}
	u.object(pageRef, dict{"Type": name("Page"), "Parent": pagesRef, "MediaBox": array{0, 0, 595, 842},
		"Contents": content, "Annots": array{widget},
		"Resources": dict{"Font": dict{"F1": fonts[0], "F2": fonts[1], "F3": fonts[2]}}})
	u.object(widget, dict{"Type": name("Annot"), "Subtype": name("Widget"), "FT": name("Sig"),
		"T": pdfString("Portico seal"), "V": sigRef, "P": pageRef, "Rect": array{0, 0, 0, 0}, "F": 132})
	u.stream(evRef, dict{"Type": name("PorticoEvidence"), "Subtype": name("application#2Fjson")}, evJSON)

	// The page tree root and the catalog get new versions of themselves.
	newPages := clone(pages)
	newPages["Kids"] = append(clone(kids), pageRef)
	newPages["Count"] = count + 1
	u.object(pagesRef, newPages)
	newRoot := clone(root)
	if err := u.acroForm(doc, newRoot, widget); err != nil {
		return nil, err
	}
	u.object(rootRef, newRoot)

	// The signature dictionary, with placeholders for its byte range and
	// value; written last but one so the offsets below are final.
	hexLen := 2 * contentsSize(s)
	reason := "Signed by " + ev.SignerName + " <" + ev.SignerEmail + ">"
	var sig bytes.Buffer
	sig.WriteString("<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M ")
	writeValue(&sig, pdfString(pdfDate(ev.SignedAt)))
	sig.WriteString(" /Reason ")
	writeValue(&sig, textString(reason))
	sig.WriteString(" /PorticoEvidence ")
	writeValue(&sig, evRef)
	sig.WriteString(" /ByteRange [0 " + strings.Repeat(" ", 32) + "] /Contents <")
	sig.WriteString(strings.Repeat("0", hexLen))
	sig.WriteString(">>>")
	u.object(sigRef, raw(sig.String()))
	u.finish(doc)

	out := u.buf.Bytes()
	full := append(append(make([]byte, 0, len(pdf)+len(out)), pdf...), out...)
	brAt := bytes.LastIndex(full, []byte("/ByteRange [0 "))
	cAt := bytes.Index(full[brAt:], []byte("/Contents <"))
	if brAt < len(pdf) || cAt < 0 {
		return nil, errors.New("seal: placeholder lost")
	}
	a := brAt + cAt + len("/Contents ")
	b := a + hexLen + 2
	br := fmt.Sprintf("%d %d %d", a, b, len(full)-b)
	if len(br) > 32 {
		return nil, errors.New("seal: file too large")
	}
	copy(full[brAt+len("/ByteRange [0 "):], br)
	h := sha256.New()
	h.Write(full[:a])
	h.Write(full[b:])
	cms, err := signCMS(h.Sum(nil), s)
	if err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	if 2*len(cms) > hexLen {
		return nil, errors.New("seal: the signature outgrew its room")
	}
	hex.Encode(full[a+1:], cms)
	copy(full[a+1:a+1+2*len(cms)], bytes.ToUpper(full[a+1:a+1+2*len(cms)]))
	return full, nil
}

// acroForm gives the catalog a form whose fields include the signature
// widget, keeping any fields it had.
func (u *update) acroForm(doc *document, root dict, widget ref) error {
	form := dict{}
	formRef, isRef := root["AcroForm"].(ref)
	if v, ok := root["AcroForm"]; ok {
		d, err := doc.dict(v)
		if err != nil {
			return fmt.Errorf("seal: /AcroForm: %w", err)
		}
		form = clone(d)
	}
	fv, err := doc.resolve(form["Fields"])
	if err != nil {
		return fmt.Errorf("seal: /AcroForm /Fields: %w", err)
	}
	fields, _ := fv.(array)
	form["Fields"] = append(clone(fields), widget)
	form["SigFlags"] = 3 // signatures exist; append only
	if isRef {
		u.object(formRef, form)
		return nil
	}
	root["AcroForm"] = form
	return nil
}

func clone[T dict | array](v T) T {
	switch v := any(v).(type) {
	case dict:
		out := make(dict, len(v))
		for k, e := range v {
			out[k] = e
		}
		return any(out).(T)
	case array:
		return any(append(array(nil), v...)).(T)
	}
	panic("unreachable")
}

// update is an incremental update being written after base.
type update struct {
	base    []byte
	buf     bytes.Buffer
	next    int
	offsets map[int]int64
}

func (u *update) alloc() ref {
	r := ref{u.next, 0}
	u.next++
	return r
}

func (u *update) start(r ref) {
	if u.offsets == nil {
		u.offsets = map[int]int64{}
		if n := len(u.base); n > 0 && u.base[n-1] != '\n' && u.base[n-1] != '\r' {
			u.buf.WriteByte('\n')
		}
	}
	u.offsets[r.num] = int64(len(u.base) + u.buf.Len())
	fmt.Fprintf(&u.buf, "%d %d obj\n", r.num, r.gen)
}

func (u *update) object(r ref, v any) {
	u.start(r)
	writeValue(&u.buf, v)
	u.buf.WriteString("\nendobj\n")
}

func (u *update) stream(r ref, d dict, data []byte) {
	u.start(r)
	d = clone(d)
	d["Length"] = len(data)
	writeValue(&u.buf, d)
	u.buf.WriteString("\nstream\n")
	u.buf.Write(data)
	u.buf.WriteString("\nendstream\nendobj\n")
}

// finish writes the cross-reference section (a table, or a stream when
// the file's newest section is one) and the trailer.
func (u *update) finish(doc *document) {
	tr := dict{"Root": doc.trailer["Root"], "Prev": doc.startxref}
	for _, k := range []name{"Info", "ID"} {
		if v, ok := doc.trailer[k]; ok {
			tr[k] = v
		}
	}
	if doc.xrefStream {
		x := u.alloc()
		at := int64(len(u.base) + u.buf.Len())
		u.offsets[x.num] = at
		nums := u.sorted()
		var rows []byte
		index := array{}
		for _, run := range runs(nums) {
			index = append(index, run[0], len(run))
			for _, n := range run {
				o := u.offsets[n]
				rows = append(rows, 1, byte(o>>24), byte(o>>16), byte(o>>8), byte(o), 0, 0)
			}
		}
		tr["Type"], tr["Size"], tr["W"], tr["Index"] = name("XRef"), u.next, array{1, 4, 2}, index
		u.stream(x, tr, rows)
		fmt.Fprintf(&u.buf, "startxref\n%d\n%%%%EOF\n", at)
		return
	}
	at := int64(len(u.base) + u.buf.Len())
	u.buf.WriteString("xref\n")
	for _, run := range runs(u.sorted()) {
		fmt.Fprintf(&u.buf, "%d %d\n", run[0], len(run))
		for _, n := range run {
			fmt.Fprintf(&u.buf, "%010d 00000 n\r\n", u.offsets[n])
		}
	}
	tr["Size"] = u.next
	u.buf.WriteString("trailer\n")
	writeValue(&u.buf, tr)
	fmt.Fprintf(&u.buf, "\nstartxref\n%d\n%%%%EOF\n", at)
}

func (u *update) sorted() []int {
	nums := make([]int, 0, len(u.offsets))
	for n := range u.offsets {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums
}

func runs(nums []int) [][]int {
	var out [][]int
	for i, n := range nums {
		if i > 0 && n == nums[i-1]+1 {
			out[len(out)-1] = append(out[len(out)-1], n)
			continue
		}
		out = append(out, []int{n})
	}
	return out
}

// pdfDate is a PDF date in UTC: D:YYYYMMDDHHmmSSZ.
func pdfDate(t time.Time) string { return "D:" + t.UTC().Format("20060102150405") + "Z" }

// textString encodes a text string as UTF-16BE with a byte order mark, so
// any name survives.
func textString(s string) pdfString {
	out := []byte{0xFE, 0xFF}
	for _, r := range s {
		if r > 0xFFFF {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			out = append(out, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return out
}

// certificatePage is the page's content stream: the title, the
// introduction, then each row's label and its value, wrapped.
func certificatePage(p Page) []byte {
	var b bytes.Buffer
	y := 790.0
	line := func(font string, size float64, text string) {
		fmt.Fprintf(&b, "BT /%s %s Tf 56 %s Td ", font, ftoa(size), ftoa(y))
		writeText(&b, text)
		b.WriteString(" Tj ET\n")
		y -= size + 4
	}
	b.WriteString("0 g\n")
	line("F2", 16, p.Title)
	y -= 6
	for _, l := range wrap(p.Intro, 95) {
		line("F1", 10, l)
	}
	y -= 8
	for _, r := range p.Rows {
		if y < 80 {
			break
		}
		line("F2", 9, r.Label)
		ls := wrap(r.Value, 88)
		if len(ls) > 6 {
			ls = append(ls[:5], ls[5][:min(len(ls[5]), 85)]+"...")
		}
		for _, l := range ls {
			line("F3", 9, l)
		}
		y -= 5
	}
	y = 50
	for _, l := range wrap(p.Footer, 110) {
		line("F1", 8, l)
	}
	return b.Bytes()
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// writeText writes s as a literal string in WinAnsiEncoding; characters
// it lacks become '?'.
func writeText(b *bytes.Buffer, s string) {
	enc := charmap.Windows1252.NewEncoder()
	b.WriteByte('(')
	for _, r := range s {
		c := byte('?')
		if e, err := enc.Bytes([]byte(string(r))); err == nil && len(e) == 1 {
			c = e[0]
		}
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
}

// wrap breaks s into lines of at most width characters, at spaces where
// it can.
func wrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		for utf8.RuneCountInString(para) > width {
			rs := []rune(para)
			cut := width
			for i := width; i > width/2; i-- {
				if rs[i] == ' ' {
					cut = i
					break
				}
			}
			out = append(out, strings.TrimRight(string(rs[:cut]), " "))
			para = strings.TrimLeft(string(rs[cut:]), " ")
		}
		out = append(out, para)
	}
	return out
}

package seal

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// The PDF values this package reads and writes. Numbers keep their text,
// so a dictionary copied into the update says exactly what it said.
type (
	name   string
	number string
	ref    struct{ num, gen int }
	dict   map[name]any
	array  []any
	// pdfString is a literal or hexadecimal string's bytes.
	pdfString []byte
	stream    struct {
		d    dict
		data []byte // as stored, still encoded
	}
)

func (n number) int() (int64, bool) {
	v, err := strconv.ParseInt(string(n), 10, 64)
	return v, err == nil
}

// document is a parsed PDF: its bytes, its cross-reference (the newest
// entry of each object) and its newest trailer.
type document struct {
	b       []byte
	xref    map[int]xrefEntry
	trailer dict
	// startxref is where the newest cross-reference section starts; an
	// update's /Prev.
	startxref int64
	// xrefStream: the newest section is a stream, so the update's is too.
	xrefStream bool
}

type xrefEntry struct {
	offset int64 // in the file, or the object stream's number
	inStm  bool  // compressed: offset is the stream object, idx the index
	idx    int
	free   bool
}

var errNotPDF = errors.New("not a PDF")

func parseDocument(b []byte) (*document, error) {
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		return nil, errNotPDF
	}
	tail := b[max(0, len(b)-1024):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return nil, fmt.Errorf("%w: no startxref", errNotPDF)
	}
	lx := &lexer{b: tail, pos: i + len("startxref")}
	n, ok := lx.next().(number)
	start, isInt := n.int()
	if !ok || !isInt || start <= 0 || start >= int64(len(b)) {
		return nil, fmt.Errorf("%w: bad startxref", errNotPDF)
	}
	d := &document{b: b, xref: map[int]xrefEntry{}, startxref: start}
	seen := map[int64]bool{}
	for off := start; off > 0; {
		if seen[off] {
			return nil, errors.New("cross-reference sections loop")
		}
		seen[off] = true
		trailer, isStream, err := d.readSection(off)
		if err != nil {
			return nil, fmt.Errorf("cross-reference at %d: %w", off, err)
		}
		if d.trailer == nil {
			d.trailer, d.xrefStream = trailer, isStream
		}
		// A hybrid file's classic trailer points at its stream too.
		if s, ok := trailer["XRefStm"].(number); ok {
			if so, _ := s.int(); so > 0 && !seen[so] {
				seen[so] = true
				if _, _, err := d.readSection(so); err != nil {
					return nil, fmt.Errorf("cross-reference stream at %d: %w", so, err)
				}
			}
		}
		p, _ := trailer["Prev"].(number)
		off, _ = p.int()
	}
	if _, ok := d.trailer["Root"].(ref); !ok {
		return nil, fmt.Errorf("%w: the trailer names no /Root", errNotPDF)
	}
	return d, nil
}

// readSection reads one cross-reference section at off, adding the
// entries not already known (newer sections are read first).
func (d *document) readSection(off int64) (dict, bool, error) {
	lx := &lexer{b: d.b, pos: int(off)}
	if bytes.HasPrefix(d.b[off:], []byte("xref")) {
		lx.pos += 4
		for {
			t := lx.next()
			if kw, ok := t.(keyword); ok && kw == "trailer" {
				tr, ok := lx.value().(dict)
				if !ok {
					return nil, false, errors.New("bad trailer")
				}
				return tr, false, nil
			}
			first, ok1 := t.(number)
			count, ok2 := lx.next().(number)
			f, _ := first.int()
			c, _ := count.int()
			if !ok1 || !ok2 || c < 0 || c > 10_000_000 {
				return nil, false, errors.New("bad subsection header")
			}
			for k := int64(0); k < c; k++ {
				o, ok1 := lx.next().(number)
				_, ok2 := lx.next().(number)
				typ, ok3 := lx.next().(keyword)
				if !ok1 || !ok2 || !ok3 {
					return nil, false, errors.New("bad entry")
				}
				num := int(f + k)
				if _, known := d.xref[num]; known {
					continue
				}
				ov, _ := o.int()
				d.xref[num] = xrefEntry{offset: ov, free: typ != "n"}
			}
		}
	}
	_, v, err := d.objectAt(off)
	if err != nil {
		return nil, false, err
	}
	s, ok := v.(stream)
	if !ok || s.d["Type"] != name("XRef") {
		return nil, false, errors.New("neither a table nor a stream")
	}
	data, err := decode(s)
	if err != nil {
		return nil, false, err
	}
	w, ok := s.d["W"].(array)
	if !ok || len(w) != 3 {
		return nil, false, errors.New("bad /W")
	}
	var widths [3]int
	for i := range w {
		n, _ := intOf(w[i])
		if n < 0 || n > 8 {
			return nil, false, errors.New("bad /W")
		}
		widths[i] = int(n)
	}
	size, _ := intOf(s.d["Size"])
	index := array{number("0"), number(strconv.FormatInt(size, 10))}
	if ix, ok := s.d["Index"].(array); ok {
		index = ix
	}
	row := widths[0] + widths[1] + widths[2]
	pos := 0
	for i := 0; i+1 < len(index); i += 2 {
		first, _ := intOf(index[i])
		count, _ := intOf(index[i+1])
		for k := int64(0); k < count; k++ {
			if pos+row > len(data) {
				return nil, false, errors.New("short stream")
			}
			f := [3]int64{1, 0, 0}
			for j, wd := range widths {
				if wd == 0 {
					continue
				}
				var v int64
				for _, c := range data[pos : pos+wd] {
					v = v<<8 | int64(c)
				}
				f[j] = v
				pos += wd
			}
			num := int(first + k)
			if _, known := d.xref[num]; known {
				continue
			}
			switch f[0] {
			case 0:
				d.xref[num] = xrefEntry{free: true}
			case 1:
				d.xref[num] = xrefEntry{offset: f[1]}
			case 2:
				d.xref[num] = xrefEntry{offset: f[1], inStm: true, idx: int(f[2])}
			}
		}
	}
	return s.d, true, nil
}

// objectAt parses "N G obj value [stream]" at off.
func (d *document) objectAt(off int64) (ref, any, error) {
	if off < 0 || off >= int64(len(d.b)) {
		return ref{}, nil, fmt.Errorf("object offset %d outside the file", off)
	}
	lx := &lexer{b: d.b, pos: int(off)}
	n, ok1 := lx.next().(number)
	g, ok2 := lx.next().(number)
	kw, ok3 := lx.next().(keyword)
	if !ok1 || !ok2 || !ok3 || kw != "obj" {
		return ref{}, nil, fmt.Errorf("no object at %d", off)
	}
	num, _ := n.int()
	gen, _ := g.int()
	v := lx.value()
	if lx.err != nil {
		return ref{}, nil, lx.err
	}
	r := ref{int(num), int(gen)}
	dv, isDict := v.(dict)
	save := lx.pos
	if kw, ok := lx.next().(keyword); !isDict || !ok || kw != "stream" {
		lx.pos = save
		return r, v, nil
	}
	// The data starts after the end of line that follows "stream".
	if lx.pos < len(d.b) && d.b[lx.pos] == '\r' {
		lx.pos++
	}
	if lx.pos < len(d.b) && d.b[lx.pos] == '\n' {
		lx.pos++
	}
	length, err := d.length(dv["Length"])
	if err != nil {
		return r, nil, err
	}
	if length < 0 || int64(lx.pos)+length > int64(len(d.b)) {
		return r, nil, fmt.Errorf("object %d: stream runs past the end of the file", num)
	}
	return r, stream{d: dv, data: d.b[lx.pos : int64(lx.pos)+length]}, nil
}

func (d *document) length(v any) (int64, error) {
	if r, ok := v.(ref); ok {
		e, ok := d.xref[r.num]
		if !ok || e.inStm || e.free {
			return 0, errors.New("stream /Length names a missing object")
		}
		_, lv, err := d.objectAt(e.offset)
		if err != nil {
			return 0, err
		}
		v = lv
	}
	n, ok := v.(number)
	l, isInt := n.int()
	if !ok || !isInt {
		return 0, errors.New("stream without a /Length")
	}
	return l, nil
}

// resolve follows a reference (anything else is itself).
func (d *document) resolve(v any) (any, error) {
	r, ok := v.(ref)
	if !ok {
		return v, nil
	}
	e, ok := d.xref[r.num]
	if !ok || e.free {
		return nil, nil // a missing object is null
	}
	if !e.inStm {
		got, v, err := d.objectAt(e.offset)
		if err == nil && got.num != r.num {
			err = fmt.Errorf("cross-reference for object %d points at object %d", r.num, got.num)
		}
		return v, err
	}
	return d.fromObjectStream(int(e.offset), e.idx)
}

func (d *document) fromObjectStream(stmNum, idx int) (any, error) {
	sv, err := d.resolve(ref{stmNum, 0})
	if err != nil {
		return nil, err
	}
	s, ok := sv.(stream)
	if !ok {
		return nil, fmt.Errorf("object stream %d is missing", stmNum)
	}
	data, err := decode(s)
	if err != nil {
		return nil, err
	}
	n, _ := intOf(s.d["N"])
	first, _ := intOf(s.d["First"])
	if int64(idx) >= n || first > int64(len(data)) {
		return nil, fmt.Errorf("object stream %d: bad index", stmNum)
	}
	lx := &lexer{b: data}
	var off int64
	for i := 0; i <= idx; i++ {
		lx.next()
		o, _ := lx.next().(number)
		off, _ = o.int()
	}
	if first+off > int64(len(data)) {
		return nil, fmt.Errorf("object stream %d: bad offset", stmNum)
	}
	lx = &lexer{b: data, pos: int(first + off)}
	v := lx.value()
	return v, lx.err
}

func (d *document) dict(v any) (dict, error) {
	v, err := d.resolve(v)
	if err != nil {
		return nil, err
	}
	dv, ok := v.(dict)
	if !ok {
		return nil, errors.New("expected a dictionary")
	}
	return dv, nil
}

// decode undoes a stream's FlateDecode (with PNG predictors, as
// cross-reference streams use them); other filters are not read here.
func decode(s stream) ([]byte, error) {
	switch f := s.d["Filter"].(type) {
	case nil:
		return s.data, nil
	case array:
		if len(f) != 1 || f[0] != name("FlateDecode") {
			return nil, fmt.Errorf("unsupported filter %v", f)
		}
	case name:
		if f != "FlateDecode" {
			return nil, fmt.Errorf("unsupported filter %s", f)
		}
	}
	zr, err := zlib.NewReader(bytes.NewReader(s.data))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(zr, 256<<20))
	if err != nil {
		return nil, err
	}
	parms, _ := s.d["DecodeParms"].(dict)
	pred, _ := intOf(parms["Predictor"])
	if pred < 10 {
		return data, nil
	}
	cols, _ := intOf(parms["Columns"])
	if cols <= 0 {
		cols = 1
	}
	var out []byte
	prev := make([]byte, cols)
	for i := 0; i+int(cols)+1 <= len(data); i += int(cols) + 1 {
		ft, row := data[i], slices.Clone(data[i+1:i+1+int(cols)])
		for j := range row {
			var left, up, ul byte
			if j > 0 {
				left, ul = row[j-1], prev[j-1]
			}
			up = prev[j]
			switch ft {
			case 1:
				row[j] += left
			case 2:
				row[j] += up
			case 3:
				row[j] += byte((int(left) + int(up)) / 2)
			case 4:
				row[j] += paeth(left, up, ul)
			}
		}
		out = append(out, row...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// keyword is a bare token: obj, endobj, stream, R, true, n, f, ...
type keyword string

type delim string

type lexer struct {
	b   []byte
	pos int
	err error
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool { return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0 }

func (lx *lexer) fail(format string, args ...any) {
	if lx.err == nil {
		lx.err = fmt.Errorf("at %d: "+format, append([]any{lx.pos}, args...)...)
	}
	lx.pos = len(lx.b)
}

// next returns the next token: number, name, pdfString, keyword or delim.
func (lx *lexer) next() any {
	for lx.pos < len(lx.b) {
		c := lx.b[lx.pos]
		if isSpace(c) {
			lx.pos++
			continue
		}
		if c == '%' {
			for lx.pos < len(lx.b) && lx.b[lx.pos] != '\n' && lx.b[lx.pos] != '\r' {
				lx.pos++
			}
			continue
		}
		break
	}
	if lx.pos >= len(lx.b) {
		return nil
	}
	c := lx.b[lx.pos]
	switch {
	case c == '/':
		lx.pos++
		var out []byte
		for lx.pos < len(lx.b) && !isSpace(lx.b[lx.pos]) && !isDelim(lx.b[lx.pos]) {
			ch := lx.b[lx.pos]
			if ch == '#' && lx.pos+2 < len(lx.b) {
				if v, err := strconv.ParseUint(string(lx.b[lx.pos+1:lx.pos+3]), 16, 8); err == nil {
					out = append(out, byte(v))
					lx.pos += 3
					continue
				}
			}
			out = append(out, ch)
			lx.pos++
		}
		return name(out)
	case c == '(':
		return lx.literal()
	case c == '<' && lx.pos+1 < len(lx.b) && lx.b[lx.pos+1] == '<':
		lx.pos += 2
		return delim("<<")
	case c == '>' && lx.pos+1 < len(lx.b) && lx.b[lx.pos+1] == '>':
		lx.pos += 2
		return delim(">>")
	case c == '<':
		return lx.hex()
	case c == '[' || c == ']' || c == '{' || c == '}':
		lx.pos++
		return delim(string(c))
	}
	start := lx.pos
	for lx.pos < len(lx.b) && !isSpace(lx.b[lx.pos]) && !isDelim(lx.b[lx.pos]) {
		lx.pos++
	}
	tok := string(lx.b[start:lx.pos])
	if tok == "" {
		lx.fail("unexpected %q", c)
		return nil
	}
	if _, err := strconv.ParseFloat(tok, 64); err == nil {
		return number(tok)
	}
	return keyword(tok)
}

func (lx *lexer) literal() any {
	lx.pos++ // (
	var out []byte
	depth := 1
	for lx.pos < len(lx.b) {
		c := lx.b[lx.pos]
		lx.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return pdfString(out)
			}
		case '\\':
			if lx.pos >= len(lx.b) {
				break
			}
			e := lx.b[lx.pos]
			lx.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if lx.pos < len(lx.b) && lx.b[lx.pos] == '\n' {
					lx.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && lx.pos < len(lx.b) && lx.b[lx.pos] >= '0' && lx.b[lx.pos] <= '7'; k++ {
						v = v*8 + int(lx.b[lx.pos]-'0')
						lx.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	lx.fail("unterminated string")
	return nil
}

func (lx *lexer) hex() any {
	lx.pos++ // <
	var digits []byte
	for lx.pos < len(lx.b) && lx.b[lx.pos] != '>' {
		if c := lx.b[lx.pos]; !isSpace(c) {
			digits = append(digits, c)
		}
		lx.pos++
	}
	if lx.pos >= len(lx.b) {
		lx.fail("unterminated hex string")
		return nil
	}
	lx.pos++
	if len(digits)%2 == 1 {
		digits = append(digits, '0')
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		v, err := strconv.ParseUint(string(digits[2*i:2*i+2]), 16, 8)
		if err != nil {
			lx.fail("bad hex string")
			return nil
		}
		out[i] = byte(v)
	}
	return pdfString(out)
}

// value parses one value: a number followed by "G R" is a reference.
func (lx *lexer) value() any {
	t := lx.next()
	switch t := t.(type) {
	case number:
		save := lx.pos
		if g, ok := lx.next().(number); ok {
			if kw, ok := lx.next().(keyword); ok && kw == "R" {
				n, ok1 := t.int()
				gen, ok2 := g.int()
				if ok1 && ok2 {
					return ref{int(n), int(gen)}
				}
			}
		}
		lx.pos = save
		return t
	case keyword:
		switch t {
		case "true":
			return true
		case "false":
			return false
		case "null":
			return nil
		}
		lx.fail("unexpected keyword %s", t)
		return nil
	case delim:
		switch t {
		case "<<":
			d := dict{}
			for lx.err == nil {
				k := lx.next()
				if k == delim(">>") {
					return d
				}
				kn, ok := k.(name)
				if !ok {
					lx.fail("dictionary key is not a name")
					return nil
				}
				d[kn] = lx.value()
			}
			return nil
		case "[":
			a := array{}
			for lx.err == nil {
				save := lx.pos
				if lx.next() == delim("]") {
					return a
				}
				lx.pos = save
				a = append(a, lx.value())
			}
			return nil
		}
		lx.fail("unexpected %s", t)
		return nil
	case nil:
		lx.fail("unexpected end")
		return nil
	}
	return t
}

// writeValue writes v in PDF syntax; dictionary keys in sorted order, so
// the same update gives the same bytes.
func writeValue(w *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		w.WriteString("null")
	case bool:
		w.WriteString(strconv.FormatBool(v))
	case number:
		w.WriteString(string(v))
	case int:
		w.WriteString(strconv.Itoa(v))
	case int64:
		w.WriteString(strconv.FormatInt(v, 10))
	case name:
		w.WriteByte('/')
		for _, c := range []byte(v) {
			if c <= ' ' || c > '~' || c == '#' || isDelim(c) {
				fmt.Fprintf(w, "#%02X", c)
			} else {
				w.WriteByte(c)
			}
		}
	case pdfString:
		fmt.Fprintf(w, "<%X>", []byte(v))
	case ref:
		fmt.Fprintf(w, "%d %d R", v.num, v.gen)
	case array:
		w.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				w.WriteByte(' ')
			}
			writeValue(w, e)
		}
		w.WriteByte(']')
	case dict:
		keys := make([]name, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.WriteString("<<")
		for _, k := range keys {
			writeValue(w, k)
			w.WriteByte(' ')
			writeValue(w, v[k])
		}
		w.WriteString(">>")
	case raw:
		w.WriteString(string(v))
	default:
		panic(fmt.Sprintf("seal: cannot write %T", v))
	}
}

// raw is written as it is: the signature's placeholders.
type raw string

// intOf is an integer value; false for anything else.
func intOf(v any) (int64, bool) {
	n, ok := v.(number)
	if !ok {
		return 0, false
	}
	return n.int()
}

package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner reads a record's raw JSON once and decodes only the values a
// mapping asks for; everything else is skipped without allocating. Values
// are Go natives: string, int64 (integers that fit), float64, bool, nil,
// map[string]any and []any. Strings without escapes are substrings of the
// input, so a record costs one copy of its payload plus the wanted values.

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

var errSyntax = errors.New("invalid JSON")

// trieNode is one segment of the wanted paths.
type trieNode struct {
	slot int // index into the values slice, -1 if this prefix is not wanted itself
	kids map[string]*trieNode
	// byLen indexes kids by name length: comparing the one or two names of
	// a length beats hashing every member name of every record.
	byLen [][]namedNode
}

type namedNode struct {
	name string
	node *trieNode
}

func (t *trieNode) kid(name string) *trieNode {
	if len(name) >= len(t.byLen) {
		return nil
	}
	for _, k := range t.byLen[len(name)] {
		if k.name == name {
			return k.node
		}
	}
	return nil
}

func newTrie() *trieNode { return &trieNode{slot: -1} }

func (t *trieNode) add(path []string, slot int) {
	n := t
	for _, seg := range path {
		if n.kids == nil {
			n.kids = map[string]*trieNode{}
		}
		k, ok := n.kids[seg]
		if !ok {
			k = newTrie()
			n.kids[seg] = k
			for len(n.byLen) <= len(seg) {
				n.byLen = append(n.byLen, nil)
			}
			n.byLen[len(seg)] = append(n.byLen[len(seg)], namedNode{seg, k})
		}
		n = k
	}
	n.slot = slot
}

type scanner struct {
	s   string
	i   int
	err error
}

func (p *scanner) fail(what string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w at offset %d: %s", errSyntax, p.i, what)
	}
}

func (p *scanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// scanRecord fills vals for the paths in t from the JSON object in s.
func scanRecord(s string, t *trieNode, vals []any) error {
	p := &scanner{s: s}
	p.ws()
	if p.i >= len(s) || s[p.i] != '{' {
		return fmt.Errorf("%w: a record must be a JSON object", errSyntax)
	}
	p.object(t, vals, 0)
	p.ws()
	if p.err == nil && p.i != len(s) {
		p.fail("trailing data")
	}
	return p.err
}

// parseRecord decodes the whole JSON object in s.
func parseRecord(s string) (map[string]any, error) {
	p := &scanner{s: s}
	p.ws()
	if p.i >= len(s) || s[p.i] != '{' {
		return nil, fmt.Errorf("%w: a record must be a JSON object", errSyntax)
	}
	v := p.value(0)
	p.ws()
	if p.err == nil && p.i != len(s) {
		p.fail("trailing data")
	}
	if p.err != nil {
		return nil, p.err
	}
	return v.(map[string]any), nil
}

// object walks an object at p.i, decoding the members t wants.
func (p *scanner) object(t *trieNode, vals []any, depth int) {
	if depth > maxDepth {
		p.fail("nesting too deep")
		return
	}
	p.members(true, func(key string) {
		kid := t.kid(key)
		switch {
		case kid == nil:
			p.skip(depth + 1)
		case kid.slot >= 0:
			v := p.value(depth + 1)
			vals[kid.slot] = v
			if kid.kids != nil {
				fillFrom(kid, v, vals)
			}
		case p.i < len(p.s) && p.s[p.i] == '{':
			p.object(kid, vals, depth+1)
		default:
			p.skip(depth + 1)
		}
	})
}

// members walks the object whose '{' is at p.i, calling member with each
// member's name (empty unless names is set: skipping decodes none) once
// p.i stands at its value; member reads the value. It reports whether
// the object was well formed.
func (p *scanner) members(names bool, member func(name string)) bool {
	return p.elements('}', "object", func() {
		var name string
		if names {
			var ok bool
			if name, ok = p.str(); !ok {
				p.fail("expected a member name")
				return
			}
		} else {
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				p.fail("expected a member name")
				return
			}
			p.skipString()
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			p.fail("expected ':'")
			return
		}
		p.i++
		p.ws()
		member(name)
	})
}

// elements walks the object or array whose opening bracket is at p.i up
// to its close, calling element with p.i at each element; element reads
// it. It reports whether the container was well formed; after the first
// error it stops.
func (p *scanner) elements(close byte, what string, element func()) bool {
	p.i++ // the opening bracket
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == close {
		p.i++
		return true
	}
	for p.err == nil {
		p.ws()
		element()
		if p.err != nil {
			return false
		}
		p.ws()
		if p.i >= len(p.s) {
			p.fail("unterminated " + what)
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case close:
			p.i++
			return true
		default:
			p.fail("expected ',' or '" + string(close) + "'")
			return false
		}
	}
	return false
}

// fillFrom resolves t's descendants inside an already decoded value.
func fillFrom(t *trieNode, v any, vals []any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, kid := range t.kids {
		kv, ok := m[k]
		if !ok {
			continue
		}
		if kid.slot >= 0 {
			vals[kid.slot] = kv
		}
		if kid.kids != nil {
			fillFrom(kid, kv, vals)
		}
	}
}

// lookup follows a dotted path through decoded objects.
func lookup(v any, path []string) any {
	for _, seg := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}

// str reads a string at p.i; ok is false if there is none. Raw control
// characters inside strings are accepted: sources do send them.
func (p *scanner) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	q := strings.IndexByte(p.s[start:], '"')
	if q < 0 {
		p.i = len(p.s)
		p.fail("unterminated string")
		return "", false
	}
	if strings.IndexByte(p.s[start:start+q], '\\') >= 0 {
		return p.escaped(start)
	}
	p.i = start + q + 1
	return p.s[start : start+q], true
}

// escaped decodes a string with escapes, starting after its quote.
func (p *scanner) escaped(start int) (string, bool) {
	var b strings.Builder
	b.Grow(strings.IndexByte(p.s[start:], '"') + 1)
	j := start
	for j < len(p.s) {
		c := p.s[j]
		switch {
		case c == '"':
			p.i = j + 1
			return b.String(), true
		case c != '\\':
			// Copy the run up to the next quote or backslash at once.
			end := j + 1
			for end < len(p.s) && p.s[end] != '"' && p.s[end] != '\\' {
				end++
			}
			b.WriteString(p.s[j:end])
			j = end
			continue
		}
		if j+1 >= len(p.s) {
			break
		}
		e := p.s[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(p.s, j)
			if !ok {
				p.i = j
				p.fail("bad \\u escape")
				return "", false
			}
			j += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(p.s, j+2); ok && j+1 < len(p.s) && p.s[j] == '\\' && p.s[j+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						j += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			p.i = j - 1
			p.fail("bad escape")
			return "", false
		}
	}
	p.i = len(p.s)
	p.fail("unterminated string")
	return "", false
}

func hex4(s string, j int) (rune, bool) {
	if j+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[j:j+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// value decodes any value at p.i.
func (p *scanner) value(depth int) any {
	if depth > maxDepth {
		p.fail("nesting too deep")
		return nil
	}
	if p.i >= len(p.s) {
		p.fail("unexpected end")
		return nil
	}
	switch c := p.s[p.i]; {
	case c == '"':
		s, _ := p.str()
		return s
	case c == '{':
		m := map[string]any{}
		if !p.members(true, func(k string) { m[k] = p.value(depth + 1) }) {
			return nil
		}
		return m
	case c == '[':
		l := []any{}
		if !p.elements(']', "array", func() { l = append(l, p.value(depth+1)) }) {
			return nil
		}
		return l
	case c == 't':
		return p.lit("true", true)
	case c == 'f':
		return p.lit("false", false)
	case c == 'n':
		return p.lit("null", nil)
	default:
		return p.number()
	}
}

func (p *scanner) lit(word string, v any) any {
	if strings.HasPrefix(p.s[p.i:], word) {
		p.i += len(word)
		return v
	}
	p.fail("bad literal")
	return nil
}

func (p *scanner) numberText() (string, bool) {
	start := p.i
	isInt := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c >= '0' && c <= '9' || c == '-' {
			p.i++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' || c == '+' {
			isInt = false
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		p.fail("unexpected character")
	}
	return p.s[start:p.i], isInt
}

func (p *scanner) number() any {
	txt, isInt := p.numberText()
	if p.err != nil {
		return nil
	}
	if !validNumber(txt) {
		p.fail("bad number")
		return nil
	}
	if isInt {
		if n, err := strconv.ParseInt(txt, 10, 64); err == nil {
			return n
		}
	}
	f, err := strconv.ParseFloat(txt, 64)
	if err != nil {
		// Out of range: keep the text rather than lose it.
		return txt
	}
	return f
}

// validNumber checks the JSON number grammar.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else {
		if s[i] < '1' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// skip passes over one value without decoding it, checking its grammar.
func (p *scanner) skip(depth int) {
	if depth > maxDepth {
		p.fail("nesting too deep")
		return
	}
	if p.i >= len(p.s) {
		p.fail("unexpected end")
		return
	}
	switch c := p.s[p.i]; {
	case c == '"':
		p.skipString()
	case c == '{':
		p.members(false, func(string) { p.skip(depth + 1) })
	case c == '[':
		p.elements(']', "array", func() { p.skip(depth + 1) })
	case c == 't':
		p.lit("true", nil)
	case c == 'f':
		p.lit("false", nil)
	case c == 'n':
		p.lit("null", nil)
	default:
		txt, _ := p.numberText()
		if p.err == nil && !validNumber(txt) {
			p.fail("bad number")
		}
	}
}

// skipString passes over a string without decoding escapes.
func (p *scanner) skipString() {
	j := p.i + 1
	for {
		q := strings.IndexByte(p.s[j:], '"')
		if q < 0 {
			p.i = len(p.s)
			p.fail("unterminated string")
			return
		}
		end := j + q
		// The quote is escaped if an odd number of backslashes precede it.
		bs := 0
		for k := end - 1; k > p.i && p.s[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			p.i = end + 1
			return
		}
		j = end + 1
	}
}

package fakesource

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// soqlQuery is the subset of SOQL the simulator understands:
//
//	SELECT f1, f2, Rel.Field FROM Obj [WHERE c1 AND c2 ...] [ORDER BY SystemModstamp [ASC][, Id [ASC]]] [LIMIT n]
//
// where a condition is `field op literal`, `field [NOT] IN (literals)` or `field LIKE 'x%'`.
type soqlQuery struct {
	Fields  []string
	Object  string
	Where   []soqlCond
	Limit   int // 0 = none
	Count   bool
	OrderBy string
}

type soqlCond struct {
	Field  string
	Op     string // = != < <= > >= IN NOTIN LIKE
	Values []soqlValue
	Exact  bool // compare strings case-sensitively (ids, so Id > 'x' agrees with ORDER BY Id)
}

type soqlValue struct {
	Kind string // string number bool null datetime date
	S    string
	N    float64
	B    bool
	T    time.Time
}

type soqlError struct{ msg string }

func (e *soqlError) Error() string { return e.msg }

func malformed(format string, a ...any) error { return &soqlError{msg: fmt.Sprintf(format, a...)} }

type token struct {
	kind string // ident string number op punct
	text string
}

func lexSOQL(q string) ([]token, error) {
	var out []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case unicode.IsSpace(rune(c)):
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(q) && q[j] != '\''; j++ {
				if q[j] == '\\' && j+1 < len(q) {
					j++
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, malformed("unterminated string literal at position %d", i)
			}
			out = append(out, token{"string", b.String()})
			i = j + 1
		case c == ',' || c == '(' || c == ')':
			out = append(out, token{"punct", string(c)})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(q) && (q[j] == '=' || (c == '<' && q[j] == '>')) {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, malformed("unexpected '!' at position %d", i)
			}
			if op == "<>" {
				op = "!="
			}
			out = append(out, token{"op", op})
			i = j
		default:
			j := i
			for j < len(q) && !unicode.IsSpace(rune(q[j])) && !strings.ContainsRune(",()=<>!'", rune(q[j])) {
				j++
			}
			if j == i {
				return nil, malformed("unexpected character %q at position %d", c, i)
			}
			w := q[i:j]
			kind := "ident"
			if (w[0] >= '0' && w[0] <= '9') || w[0] == '-' || w[0] == '+' {
				kind = "number"
			}
			out = append(out, token{kind, w})
			i = j
		}
	}
	return out, nil
}

type soqlParser struct {
	toks []token
	pos  int
}

func (p *soqlParser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *soqlParser) next() token { t := p.peek(); p.pos++; return t }

func (p *soqlParser) keyword(k string) bool {
	if t := p.peek(); t.kind == "ident" && strings.EqualFold(t.text, k) {
		p.pos++
		return true
	}
	return false
}

func (p *soqlParser) expectKeyword(k string) error {
	if !p.keyword(k) {
		return malformed("unexpected token: '%s' (expected %s)", p.peek().text, k)
	}
	return nil
}

func parseSOQL(q string) (*soqlQuery, error) {
	toks, err := lexSOQL(q)
	if err != nil {
		return nil, err
	}
	p := &soqlParser{toks: toks}
	out := &soqlQuery{}
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	for {
		t := p.next()
		if t.kind != "ident" {
			return nil, malformed("unexpected token: '%s' in the field list", t.text)
		}
		if strings.EqualFold(t.text, "COUNT") && p.peek().text == "(" {
			p.next()
			if p.next().text != ")" {
				return nil, malformed("only COUNT() is supported")
			}
			out.Count = true
		} else {
			out.Fields = append(out.Fields, t.text)
		}
		if p.peek().text != "," {
			break
		}
		p.next()
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	obj := p.next()
	if obj.kind != "ident" {
		return nil, malformed("unexpected token: '%s' after FROM", obj.text)
	}
	out.Object = obj.text
	if p.keyword("WHERE") {
		for {
			c, err := p.cond()
			if err != nil {
				return nil, err
			}
			out.Where = append(out.Where, c)
			if p.keyword("AND") {
				continue
			}
			if t := p.peek(); t.kind == "ident" && strings.EqualFold(t.text, "OR") {
				return nil, malformed("OR is not supported by the simulator; use AND or IN")
			}
			break
		}
	}
	if p.keyword("ORDER") {
		if err := p.expectKeyword("BY"); err != nil {
			return nil, err
		}
		var parts []string
		for {
			t := p.next()
			if t.kind != "ident" {
				return nil, malformed("unexpected token: '%s' in ORDER BY", t.text)
			}
			if p.keyword("DESC") {
				return nil, malformed("ORDER BY ... DESC is not supported by the simulator")
			}
			p.keyword("ASC")
			if p.keyword("NULLS") {
				if !p.keyword("FIRST") && !p.keyword("LAST") {
					return nil, malformed("expected FIRST or LAST after NULLS")
				}
			}
			parts = append(parts, strings.ToLower(t.text))
			if p.peek().text != "," {
				break
			}
			p.next()
		}
		out.OrderBy = strings.Join(parts, ",")
		switch out.OrderBy {
		case "systemmodstamp", "systemmodstamp,id", "lastmodifieddate", "lastmodifieddate,id":
		default:
			return nil, malformed("the simulator only supports ORDER BY SystemModstamp[, Id] or LastModifiedDate[, Id], got %q", out.OrderBy)
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if err != nil || n < 0 {
			return nil, malformed("invalid LIMIT %q", t.text)
		}
		out.Limit = n
	}
	if p.pos < len(p.toks) {
		return nil, malformed("unexpected token: '%s'", p.peek().text)
	}
	if len(out.Fields) == 0 && !out.Count {
		return nil, malformed("SELECT needs at least one field")
	}
	return out, nil
}

func (p *soqlParser) cond() (soqlCond, error) {
	f := p.next()
	if f.kind != "ident" {
		return soqlCond{}, malformed("unexpected token: '%s' in WHERE", f.text)
	}
	c := soqlCond{Field: f.text}
	switch {
	case p.keyword("NOT"):
		if err := p.expectKeyword("IN"); err != nil {
			return c, err
		}
		c.Op = "NOTIN"
	case p.keyword("IN"):
		c.Op = "IN"
	case p.keyword("LIKE"):
		c.Op = "LIKE"
	default:
		t := p.next()
		if t.kind != "op" {
			return c, malformed("unexpected token: '%s' after %s", t.text, f.text)
		}
		c.Op = t.text
	}
	if c.Op == "IN" || c.Op == "NOTIN" {
		if p.next().text != "(" {
			return c, malformed("expected ( after IN")
		}
		for {
			v, err := p.value()
			if err != nil {
				return c, err
			}
			c.Values = append(c.Values, v)
			t := p.next()
			if t.text == ")" {
				break
			}
			if t.text != "," {
				return c, malformed("expected , or ) in IN list")
			}
		}
		return c, nil
	}
	v, err := p.value()
	if err != nil {
		return c, err
	}
	c.Values = []soqlValue{v}
	return c, nil
}

func (p *soqlParser) value() (soqlValue, error) {
	t := p.next()
	switch t.kind {
	case "string":
		return soqlValue{Kind: "string", S: t.text}, nil
	case "number":
		if ts, err := parseSFTime(t.text); err == nil {
			return soqlValue{Kind: "datetime", T: ts}, nil
		}
		if d, err := time.Parse("2006-01-02", t.text); err == nil {
			return soqlValue{Kind: "date", T: d, S: t.text}, nil
		}
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return soqlValue{}, malformed("invalid literal %q", t.text)
		}
		return soqlValue{Kind: "number", N: n}, nil
	case "ident":
		switch strings.ToLower(t.text) {
		case "true", "false":
			return soqlValue{Kind: "bool", B: strings.EqualFold(t.text, "true")}, nil
		case "null":
			return soqlValue{Kind: "null"}, nil
		}
	}
	return soqlValue{}, malformed("unexpected token: '%s' where a value was expected", t.text)
}

// parseSFTime accepts the datetime forms Salesforce accepts in SOQL and REST parameters.
func parseSFTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q", s)
}

// Package textcheck refuses text PostgreSQL cannot store: a NUL character
// (text and jsonb reject it) or bytes that are not UTF-8. Input carrying
// either gets a 4xx naming the field instead of a database error.
package textcheck

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Valid reports whether s can be stored as text.
func Valid(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// Problem is one value of a JSON body that must be refused.
type Problem struct {
	Path    string // "subject", "items[2].name"
	Message string
}

// JSON returns the first string (key or value) or number of a JSON body
// that cannot be taken as it is: a NUL character, bytes that are not
// UTF-8 or a lone surrogate escape (encoding/json would silently store
// U+FFFD instead), or a number beyond float64's range. It reports nothing
// for a body that is not JSON: decoding it says what is wrong.
func JSON(body []byte) (Problem, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var (
		stack []frame
		start int64
	)
	for {
		tok, err := dec.Token()
		if err != nil {
			return Problem{}, false
		}
		end := dec.InputOffset()
		// The token's own bytes, with at most the separators and blanks
		// before it: encoding/json has already replaced bad bytes in tok.
		raw := body[start:end]
		start = end
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			top.key, top.wantKey = tok.(string), false
			if msg := badString(top.key, raw); msg != "" {
				top.key = strconv.Quote(top.key)
				return Problem{Path: path(stack), Message: msg}, true
			}
			continue
		}
		if top != nil && !top.object {
			top.index++
		}
		msg := ""
		switch v := tok.(type) {
		case string:
			msg = badString(v, raw)
		case json.Number:
			if f, err := strconv.ParseFloat(string(v), 64); err != nil && math.IsInf(f, 0) {
				msg = "is a number out of range"
			}
		case json.Delim:
			stack = append(stack, frame{object: v == '{', wantKey: true, index: -1})
			continue
		}
		if msg != "" {
			return Problem{Path: path(stack), Message: msg}, true
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// frame is one open object or array on the way to the current value.
type frame struct {
	object  bool
	wantKey bool   // objects: the next string is a key
	key     string // objects: the current key
	index   int    // arrays: the current element
}

func path(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case !f.object:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case b.Len() > 0:
			b.WriteString("." + f.key)
		default:
			b.WriteString(f.key)
		}
	}
	return b.String()
}

// badString says what is wrong with a decoded string, given its raw
// bytes in the body; "" when nothing is.
func badString(s string, raw []byte) string {
	switch {
	case strings.ContainsRune(s, 0):
		return "must not contain a NUL character"
	case !utf8.Valid(raw) || loneSurrogate(raw):
		return "must be valid UTF-8 text"
	}
	return ""
}

// loneSurrogate reports whether a raw JSON string escapes half of a
// UTF-16 surrogate pair without the other half.
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		i++ // the escaped character; "\\u..." is not an escape
		r, ok := hex4(raw, i)
		switch {
		case !ok:
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(raw) || raw[i+5] != '\\' {
				return true
			}
			if lo, ok := hex4(raw, i+6); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 10
		}
	}
	return false
}

// hex4 reads the code unit of a \u escape whose 'u' is at raw[i].
func hex4(raw []byte, i int) (rune, bool) {
	if raw[i] != 'u' || i+4 >= len(raw) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 16)
	return rune(n), err == nil
}

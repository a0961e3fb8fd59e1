// Package textcheck refuses text PostgreSQL cannot store: a NUL character
// (text and jsonb reject it) or bytes that are not UTF-8. Input carrying
// either gets a 4xx naming the field instead of a database error.
package textcheck

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Valid reports whether s can be stored as text.
func Valid(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// JSON returns the path of the first string (key or value) in a JSON body
// that holds a NUL character ("subject", "items[2].name"); "" and false
// when there is none or the body is not JSON. Invalid UTF-8 needs no check
// here: decoding replaces it.
func JSON(body []byte) (string, bool) {
	if !strings.Contains(string(body), `\u0000`) {
		return "", false
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	return walk(v, "")
}

func walk(v any, path string) (string, bool) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case string:
		return path, strings.ContainsRune(x, 0)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) {
				return join(strconv.Quote(k)), true
			}
			if p, bad := walk(e, join(k)); bad {
				return p, true
			}
		}
	case []any:
		for i, e := range x {
			if p, bad := walk(e, path+"["+strconv.Itoa(i)+"]"); bad {
				return p, true
			}
		}
	}
	return "", false
}

package fakesource

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sqCatalogQuery is SearchCatalogObjects' query: one of its kinds.
type sqCatalogQuery struct {
	ExactQuery *struct {
		AttributeName  string `json:"attribute_name"`
		AttributeValue string `json:"attribute_value"`
	} `json:"exact_query"`
	SetQuery *struct {
		AttributeName   string   `json:"attribute_name"`
		AttributeValues []string `json:"attribute_values"`
	} `json:"set_query"`
	PrefixQuery *struct {
		AttributeName   string `json:"attribute_name"`
		AttributePrefix string `json:"attribute_prefix"`
	} `json:"prefix_query"`
	RangeQuery *struct {
		AttributeName     string `json:"attribute_name"`
		AttributeMinValue *int64 `json:"attribute_min_value"`
		AttributeMaxValue *int64 `json:"attribute_max_value"`
	} `json:"range_query"`
	TextQuery *struct {
		Keywords []string `json:"keywords"`
	} `json:"text_query"`
	SortedAttributeQuery          any `json:"sorted_attribute_query"`
	ItemsForTaxQuery              any `json:"items_for_tax_query"`
	ItemsForModifierListQuery     any `json:"items_for_modifier_list_query"`
	ItemsForItemOptionsQuery      any `json:"items_for_item_options_query"`
	ItemVariationsForOptionValues any `json:"item_variations_for_item_option_values_query"`
}

// sqAttr is a catalog object's attribute as a query names it: a member of
// its item_data or item_variation_data ("name", "sku", "description").
func sqAttr(rec *record, name string) (any, bool) {
	for _, data := range []string{"item_data", "item_variation_data"} {
		if m, ok := rec.fields[data].(map[string]any); ok {
			if v, ok := m[name]; ok {
				return v, true
			}
		}
	}
	return nil, false
}

func sqAttrString(rec *record, name string) (string, bool) {
	v, ok := sqAttr(rec, name)
	if !ok || v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

// matcher compiles the query; it reports an unsupported query with the
// field to name. Matching is case-insensitive, as Square's is.
func (q *sqCatalogQuery) matcher() (func(*record) bool, string, string) {
	all := func(*record) bool { return true }
	if q == nil {
		return all, "", ""
	}
	switch {
	case q.ExactQuery != nil:
		e := q.ExactQuery
		return func(r *record) bool {
			v, ok := sqAttrString(r, e.AttributeName)
			return ok && strings.EqualFold(v, e.AttributeValue)
		}, "", ""
	case q.SetQuery != nil:
		e := q.SetQuery
		return func(r *record) bool {
			v, ok := sqAttrString(r, e.AttributeName)
			return ok && slices.ContainsFunc(e.AttributeValues, func(x string) bool { return strings.EqualFold(v, x) })
		}, "", ""
	case q.PrefixQuery != nil:
		e := q.PrefixQuery
		return func(r *record) bool {
			v, ok := sqAttrString(r, e.AttributeName)
			return ok && strings.HasPrefix(strings.ToLower(v), strings.ToLower(e.AttributePrefix))
		}, "", ""
	case q.RangeQuery != nil:
		e := q.RangeQuery
		return func(r *record) bool {
			v, ok := sqAttrString(r, e.AttributeName)
			n, err := strconv.ParseInt(v, 10, 64)
			return ok && err == nil && (e.AttributeMinValue == nil || n >= *e.AttributeMinValue) && (e.AttributeMaxValue == nil || n <= *e.AttributeMaxValue)
		}, "", ""
	case q.TextQuery != nil:
		if n := len(q.TextQuery.Keywords); n == 0 || n > 3 {
			return nil, "query.text_query.keywords", "text_query.keywords must hold 1 to 3 keywords."
		}
		kws := q.TextQuery.Keywords
		// Every keyword must begin a word of the name, description or SKU.
		return func(r *record) bool {
			var words []string
			for _, a := range []string{"name", "description", "sku"} {
				if v, ok := sqAttrString(r, a); ok {
					words = append(words, strings.FieldsFunc(strings.ToLower(v), func(c rune) bool { return c == ' ' || c == '-' || c == ',' || c == '.' })...)
				}
			}
			for _, k := range kws {
				k = strings.ToLower(k)
				if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, k) }) {
					return false
				}
			}
			return true
		}, "", ""
	case q.SortedAttributeQuery != nil, q.ItemsForTaxQuery != nil, q.ItemsForModifierListQuery != nil, q.ItemsForItemOptionsQuery != nil, q.ItemVariationsForOptionValues != nil:
		return nil, "query", "The simulator supports exact_query, set_query, prefix_query, range_query and text_query."
	}
	return all, "", ""
}

// sqSortedPageLocked pages through every matching record sorted by field
// (CREATED_AT, UPDATED_AT, CLOSED_AT; a record without the time sorts
// last) in order, the cursor being the position of the next one.
func (s *Sim) sqSortedPageLocked(field, order string) func([]*objectState, time.Time, string, int, func(*objectState, *record) bool) ([]*record, []*objectState, string, error) {
	return func(objs []*objectState, from time.Time, after string, limit int, keep func(*objectState, *record) bool) ([]*record, []*objectState, string, error) {
		start := 0
		if after != "" {
			raw, err := base64.RawURLEncoding.DecodeString(after)
			n, cerr := strconv.Atoi(strings.TrimPrefix(string(raw), "pos:"))
			if err != nil || cerr != nil || !strings.HasPrefix(string(raw), "pos:") || n < 0 {
				return nil, nil, "", fmt.Errorf("invalid cursor")
			}
			start = n
		}
		type hit struct {
			r *record
			o *objectState
			t time.Time
		}
		var hits []hit
		for _, o := range objs {
			o.iterate(from, -1, func(c cand) bool {
				if !s.visible(c.stamp) {
					return true
				}
				r := o.materialize(c)
				if keep(o, r) {
					var t time.Time
					switch field {
					case "CREATED_AT":
						t = r.created
					case "UPDATED_AT":
						t = r.stamp
					case "CLOSED_AT":
						t, _ = time.Parse(time.RFC3339Nano, fmt.Sprint(r.fields["closed_at"]))
					}
					hits = append(hits, hit{r, o, t})
				}
				return true
			})
		}
		slices.SortStableFunc(hits, func(a, b hit) int {
			switch {
			case a.t.IsZero() != b.t.IsZero():
				if a.t.IsZero() {
					return 1
				}
				return -1
			case !a.t.Equal(b.t):
				if c := a.t.Compare(b.t); order == "DESC" {
					return -c
				} else {
					return c
				}
			}
			return strings.Compare(a.r.id, b.r.id)
		})
		if start > len(hits) {
			start = len(hits)
		}
		end := min(len(hits), start+limit)
		var recs []*record
		var os []*objectState
		for _, h := range hits[start:end] {
			recs, os = append(recs, h.r), append(os, h.o)
		}
		next := ""
		if end < len(hits) {
			next = base64.RawURLEncoding.EncodeToString([]byte("pos:" + strconv.Itoa(end)))
		}
		return recs, os, next, nil
	}
}

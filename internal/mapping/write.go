package mapping

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"sort"
	"unicode/utf8"
)

// Actor is who a write is made for. Write expressions see it as actor:
// actor.account_id, actor.contact_id, and the account's reference keys
// (actor.accounting_customer_id, ...).
type Actor struct {
	AccountID string
	ContactID string
	// Refs holds the account's reference keys for other systems.
	Refs map[string]string
}

func (a Actor) vars() map[string]string {
	m := map[string]string{"account_id": a.AccountID, "contact_id": a.ContactID}
	for k, v := range a.Refs {
		m[k] = v
	}
	return m
}

// ToSource validates portal input for op and converts it to source fields
// (vendor names, nested where the path is). Invalid input returns a
// *ValidationError naming every bad field, and no fields.
func (o *Object) ToSource(op Op, input map[string]any, actor Actor) (map[string]any, error) {
	if op != OpCreate && op != OpUpdate {
		return nil, fmt.Errorf("mapping: %s: unknown operation %q", o.name, op)
	}
	var bad []FieldError
	for _, k := range sortedKeys(input) {
		f := o.fieldByName(k)
		switch {
		case f == nil:
			bad = append(bad, FieldError{Path: k, Code: CodeUnknown, Message: fmt.Sprintf("%s has no field %q", o.name, k)})
		case !f.dir.allows(op):
			bad = append(bad, FieldError{Path: k, Code: CodeReadOnly, Message: fmt.Sprintf("%s cannot be set on %s", k, op)})
		}
	}
	out := map[string]any{}
	act := &activation{input: input, actor: actor.vars()}
	for _, f := range o.fields {
		if !f.dir.allows(op) {
			continue
		}
		v, present := input[f.name]
		if !present && op == OpCreate && f.def != nil {
			v, present = f.def, true
		}
		if !present {
			if op == OpCreate && f.valid.required {
				bad = append(bad, FieldError{Path: f.name, Code: CodeRequired, Message: f.name + " is required"})
			}
			continue
		}
		pv, fe := validate(f, v)
		if fe != nil {
			bad = append(bad, *fe)
			continue
		}
		sv, err := writeValue(f, pv, act)
		if err != nil {
			bad = append(bad, FieldError{Path: f.name, Code: CodeType, Message: err.Error()})
			continue
		}
		setPath(out, f.path, sv)
	}
	if len(bad) > 0 {
		return nil, &ValidationError{Object: o.name, Fields: bad}
	}
	if ws := o.writes[op]; ws != nil {
		for _, s := range ws.set {
			act.value = nil
			v, err := s.prg.eval(act)
			if err != nil {
				return nil, fmt.Errorf("mapping: %s %s: set %s: %w", o.name, op, joinPath(s.path), err)
			}
			setPath(out, s.path, v)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// validate checks one input value against its field and returns it in
// the portal type.
func validate(f *field, v any) (any, *FieldError) {
	fe := func(code, format string, args ...any) *FieldError {
		return &FieldError{Path: f.name, Code: code, Message: f.name + " " + fmt.Sprintf(format, args...)}
	}
	if v == nil {
		if f.valid.required {
			return nil, fe(CodeRequired, "is required")
		}
		return nil, nil
	}
	pv, err := coerceInput(f.typ, v)
	if err != nil {
		return nil, fe(CodeType, "must be %s", describe(f.typ))
	}
	vd := f.valid
	if s, ok := pv.(string); ok {
		n := utf8.RuneCountInString(s)
		switch {
		case vd.required && s == "":
			return nil, fe(CodeEmpty, "must not be empty")
		case vd.maxLength > 0 && n > vd.maxLength:
			return nil, fe(CodeMaxLength, "must be at most %d characters", vd.maxLength)
		case n < vd.minLength:
			return nil, fe(CodeMinLength, "must be at least %d characters", vd.minLength)
		case vd.pattern != nil && !vd.pattern.MatchString(s):
			return nil, fe(CodePattern, "does not match %s", vd.pattern)
		case vd.allowed != nil && !slices.Contains(vd.allowed, s):
			return nil, fe(CodeAllowed, "must be one of %v", vd.allowed)
		case f.typ == TypeEnum && vd.allowed == nil && f.reverse != nil && f.reverse[s] == "":
			return nil, fe(CodeAllowed, "must be one of %v", sortedPortalValues(f))
		}
	}
	if x, ok := number(pv); ok {
		if (vd.min != nil && x < *vd.min) || (vd.max != nil && x > *vd.max) {
			return nil, fe(CodeRange, "is out of range")
		}
	}
	return pv, nil
}

func sortedPortalValues(f *field) []string {
	var out []string
	for pv := range f.reverse {
		out = append(out, pv)
	}
	sort.Strings(out)
	return out
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func describe(t Type) string {
	switch t {
	case TypeInt:
		return "a whole number"
	case TypeNumber:
		return "a number"
	case TypeBool:
		return "true or false"
	case TypeDate:
		return "a date (YYYY-MM-DD)"
	case TypeDateTime:
		return "a date and time (RFC 3339)"
	case TypeEmail:
		return "an email address"
	case TypeBinary:
		return "base64 data"
	}
	return "text"
}

// coerceInput is stricter than coerce: customer input must already have
// the right JSON type.
func coerceInput(t Type, v any) (any, error) {
	switch t {
	case TypeID, TypeString, TypeText, TypeEnum:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeEmail:
		if s, ok := v.(string); ok {
			if a, err := mail.ParseAddress(s); err == nil && a.Address == s {
				return s, nil
			}
		}
	case TypeBinary:
		if s, ok := v.(string); ok {
			if _, err := base64.StdEncoding.DecodeString(s); err == nil {
				return s, nil
			}
		}
	case TypeInt, TypeNumber:
		switch x := v.(type) {
		case float64, int64, int, json.Number:
			if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				break
			}
			return coerce(t, x)
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeDate, TypeDateTime:
		if _, ok := v.(string); ok {
			return coerce(t, v)
		}
	}
	return nil, fmt.Errorf("want %s", describe(t))
}

// writeValue converts a validated portal value to the source value.
func writeValue(f *field, v any, act *activation) (any, error) {
	if f.wtrans != nil {
		act.value = v
		return f.wtrans.eval(act)
	}
	if f.reverse != nil && v != nil {
		if sv, ok := f.reverse[asString(v)]; ok && sv != ambiguous {
			return sv, nil
		}
		return nil, fmt.Errorf("%v has no source value", v)
	}
	return v, nil
}

// setPath sets a nested value, creating objects along the path.
func setPath(m map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

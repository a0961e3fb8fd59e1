package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// OwnerRef is an owner that must be resolved through a portal-account key:
// the account whose Key field equals Value owns the record.
type OwnerRef struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ParentRef names a portal record by its object and source id.
type ParentRef struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

// Mapped is one source record converted to a portal record.
type Mapped struct {
	Object   string    `json:"object"`
	ID       string    `json:"id"`
	Version  string    `json:"version,omitempty"`
	Modified time.Time `json:"modified,omitzero"`
	// OwnerAccount is the owning portal account id, when the source holds
	// it directly; OwnerRef is set instead when it must be resolved.
	OwnerAccount string    `json:"owner_account,omitempty"`
	OwnerRef     *OwnerRef `json:"owner_ref,omitempty"`
	OwnerContact string    `json:"owner_contact,omitempty"`
	// OwnerParent is set instead when the record shares the owner
	// (account and contact) of another portal record from the same
	// connection: a case comment, its case.
	OwnerParent *ParentRef `json:"owner_parent,omitempty"`
	// Hidden records failed the mapping's include filter: keep them in
	// the cache (a later change may show them) but show them to no one.
	Hidden      bool   `json:"hidden,omitempty"`
	Status      string `json:"status,omitempty"`
	StatusLabel string `json:"status_label,omitempty"`
	NextStep    string `json:"next_step,omitempty"`
	// Fields holds every read field; a missing source value is nil.
	Fields map[string]any `json:"fields"`
	// Hash is the mapping hash the record was mapped with.
	Hash string `json:"mapping_hash"`
	// Problems are values that could not be converted; their fields are
	// nil. A record with problems is still stored: one odd value must not
	// stop a sync.
	Problems []FieldError `json:"problems,omitempty"`
}

// Problem codes in Mapped.Problems.
const (
	ProblemTransform = "transform"
	ProblemUnmapped  = "unmapped_value"
)

// ToPortal converts a source record's raw JSON into a portal record. It
// fails only when the payload is not a JSON object or has no key.
func (o *Object) ToPortal(raw json.RawMessage) (*Mapped, error) {
	s := string(raw)
	w, _ := o.work.Get().(*work)
	if w == nil {
		w = &work{vals: make([]any, len(o.paths))}
	}
	defer o.work.Put(w)
	defer w.reset()
	vals := w.vals
	var rec map[string]any
	var err error
	if o.needsRecord {
		rec, err = parseRecord(s)
		for i, p := range o.paths {
			if err == nil {
				vals[i] = lookup(rec, p)
			}
		}
	} else {
		err = scanRecord(s, o.trie, vals)
	}
	if err != nil {
		return nil, fmt.Errorf("mapping: %s: %w", o.name, err)
	}
	m := &Mapped{Object: o.name, Hash: o.hash, Fields: make(map[string]any, len(o.fields))}
	act := &w.act
	if rec != nil {
		act.record = rec
	}
	for i, k := range o.keys {
		ks := asString(vals[k.slot])
		if ks == "" {
			return nil, fmt.Errorf("mapping: %s: record has no key %s", o.name, joinPath(k.path))
		}
		if i > 0 {
			m.ID += ":"
		}
		m.ID += ks
	}
	if o.version != nil {
		m.Version = asString(vals[o.version.slot])
	}
	if o.modified != nil {
		if t, ok := parseTime(asString(vals[o.modified.slot])); ok {
			m.Modified = t
		}
	}
	if p := o.account; p != nil {
		if v := o.ownerValue(m, p, vals, act); v != "" {
			if p.via != "" {
				m.OwnerRef = &OwnerRef{Key: p.via, Value: v}
			} else {
				m.OwnerAccount = v
			}
		}
	}
	if p := o.contact; p != nil {
		m.OwnerContact = o.ownerValue(m, p, vals, act)
	}
	if p := o.parent; p != nil {
		if id := o.ownerValue(m, &ownerPart{f: p.f}, vals, act); id != "" {
			m.OwnerParent = &ParentRef{Object: p.object, ID: id}
		}
	}
	if f := o.include; f != nil {
		var v any
		if f.slot >= 0 {
			v = vals[f.slot]
		}
		m.Hidden = readValue(m, "include", f, v, act) != true
	}
	for _, f := range o.fields {
		if f.dir&dirRead == 0 {
			continue
		}
		var v any
		if f.slot >= 0 {
			v = vals[f.slot]
		}
		m.Fields[f.name] = readValue(m, f.name, f, v, act)
	}
	if o.status != nil {
		m.Status = asString(m.Fields[o.status.name])
		if si, ok := o.statuses[m.Status]; ok {
			m.StatusLabel, m.NextStep = si.Label, si.NextStep
		} else {
			m.StatusLabel = m.Status
		}
	}
	return m, nil
}

// work is the scratch space of one ToPortal call.
type work struct {
	vals []any
	act  activation
}

func (w *work) reset() {
	clear(w.vals)
	w.act = activation{}
}

func (o *Object) ownerValue(m *Mapped, p *ownerPart, vals []any, act *activation) string {
	var v any
	if p.f.slot >= 0 {
		v = vals[p.f.slot]
	}
	return asString(readValue(m, "owner", p.f, v, act))
}

// readValue runs a field's read pipeline: transform, value map, default,
// element fields, type.
func readValue(m *Mapped, path string, f *field, v any, act *activation) any {
	if f.trans != nil {
		act.value = v
		out, err := f.trans.eval(act)
		if err != nil {
			m.Problems = append(m.Problems, FieldError{Path: path, Code: ProblemTransform, Message: err.Error()})
			return nil
		}
		v = out
	}
	if f.values != nil && v != nil {
		if pv, ok := f.boxed[asString(v)]; ok {
			v = pv
		} else if f.def != nil {
			v = f.def
		} else {
			m.Problems = append(m.Problems, FieldError{Path: path, Code: ProblemUnmapped, Message: fmt.Sprintf("source value %q has no portal value", asString(v))})
		}
	}
	if v == nil && f.def != nil {
		v = f.def
	}
	if f.children != nil {
		l, ok := v.([]any)
		if !ok {
			return []any{}
		}
		out := make([]any, 0, len(l))
		for i, e := range l {
			em := make(map[string]any, len(f.children))
			for _, ch := range f.children {
				var cv any
				if ch.path != nil {
					cv = lookup(e, ch.path)
				}
				em[ch.name] = readValue(m, path+"["+strconv.Itoa(i)+"]."+ch.name, ch, cv, act)
			}
			out = append(out, em)
		}
		return out
	}
	cv, err := coerce(f.typ, v)
	if err != nil {
		m.Problems = append(m.Problems, FieldError{Path: path, Code: CodeType, Message: err.Error()})
		return nil
	}
	return cv
}

// asString renders a scalar as text; "" for nil and composites.
func asString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case json.Number:
		return string(t)
	}
	return ""
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700", // Salesforce: 2024-05-01T10:00:00.000+0000
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, ok := fastTime(s); ok {
		return t, true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var errNotScalar = errors.New("not a single value")

// coerce converts a value to a portal type.
func coerce(t Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case TypeID, TypeString, TypeText, TypeEmail, TypeEnum, TypeBinary:
		switch v.(type) {
		case string:
			return v, nil // already boxed: no new allocation
		case map[string]any, []any:
			return nil, fmt.Errorf("%w: want %s", errNotScalar, t)
		}
		return asString(v), nil
	case TypeInt:
		switch x := v.(type) {
		case int64:
			return v, nil
		case int:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		case string:
			s := strings.TrimSpace(x)
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f), nil
			}
		case json.Number:
			return coerce(t, string(x))
		}
		return nil, fmt.Errorf("%v is not a whole number", v)
	case TypeNumber:
		switch x := v.(type) {
		case float64:
			return v, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
		case json.Number:
			return coerce(t, string(x))
		}
		return nil, fmt.Errorf("%v is not a number", v)
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return v, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("%v is not true or false", v)
	case TypeDate:
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.DateOnly, s); err == nil {
				return s, nil
			}
			if tm, ok := parseTime(s); ok {
				return tm.Format(time.DateOnly), nil
			}
		}
		return nil, fmt.Errorf("%v is not a date (YYYY-MM-DD)", v)
	case TypeDateTime:
		if s, ok := v.(string); ok {
			if tm, ok := parseTime(s); ok {
				var buf [40]byte
				out := appendUTC(buf[:0], tm)
				if string(out) == s {
					return v, nil // already canonical: keep the boxed input
				}
				return string(out), nil
			}
		}
		return nil, fmt.Errorf("%v is not a date and time (RFC 3339)", v)
	case TypeList:
		if l, ok := v.([]any); ok {
			return l, nil
		}
		return nil, fmt.Errorf("%v is not a list", v)
	}
	return nil, fmt.Errorf("unknown type %s", t)
}

// fastTime parses the ISO 8601 forms the sources send
// (2024-05-01T10:00:00Z, ...T10:00:00.000+0000, ...T10:00:00-07:00)
// without time.Parse's layout interpretation: datetimes are most of the
// per-record cost otherwise.
func fastTime(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if s[i] == '.' {
		i++
		start := i
		scale := 100000000
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 9 {
				nsec += int(s[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == start {
			return time.Time{}, false
		}
	}
	off := 0
	rest := s[i:]
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(i+1, i+3)
		om, ok2 := num(i+4, i+6)
		if !ok1 || !ok2 {
			return time.Time{}, false
		}
		off = oh*3600 + om*60
	case len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, ok1 := num(i+1, i+3)
		om, ok2 := num(i+3, i+5)
		if !ok1 || !ok2 {
			return time.Time{}, false
		}
		off = oh*3600 + om*60
	default:
		return time.Time{}, false
	}
	if len(rest) > 1 && rest[0] == '-' {
		off = -off
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // February 30th and friends
	}
	return t.Add(-time.Duration(off) * time.Second), true
}

// appendUTC formats t (in UTC) as time.RFC3339Nano does, without the
// layout interpreter: one portal datetime format, cheaply.
func appendUTC(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	b = appendInt(b, y, 4)
	b = append(b, '-')
	b = appendInt(b, int(mo), 2)
	b = append(b, '-')
	b = appendInt(b, d, 2)
	b = append(b, 'T')
	b = appendInt(b, h, 2)
	b = append(b, ':')
	b = appendInt(b, mi, 2)
	b = append(b, ':')
	b = appendInt(b, sec, 2)
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		digits := 9
		for ns%10 == 0 {
			ns /= 10
			digits--
		}
		b = appendInt(b, ns, digits)
	}
	return append(b, 'Z')
}

func appendInt(b []byte, n, width int) []byte {
	var tmp [9]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[:width]...)
}

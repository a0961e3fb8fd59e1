package mapping

import (
	"encoding/json"
	"sort"
)

// IntakeSchema returns the JSON Schema (draft 2020-12) of the input op
// accepts for this object, the contract of the API's create and update
// requests and of the UI's forms. It is nil when the mapping allows no op.
func (o *Object) IntakeSchema(op Op) []byte {
	if !o.Writable(op) {
		return nil
	}
	props := map[string]any{}
	var required []string
	for _, f := range o.fields {
		if !f.dir.allows(op) {
			continue
		}
		props[f.name] = fieldSchema(o, f, op)
		if op == OpCreate && f.valid.required && f.def == nil {
			required = append(required, f.name)
		}
	}
	sort.Strings(required)
	s := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "urn:portico:intake:" + o.connection + ":" + o.name + ":" + string(op),
		"title":                o.name + " (" + string(op) + ")",
		"description":          o.def.Doc,
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if op == OpUpdate {
		s["minProperties"] = 1
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		// Only plain maps, strings and numbers go in; this cannot fail.
		panic(err)
	}
	return b
}

func fieldSchema(o *Object, f *field, op Op) map[string]any {
	p := map[string]any{}
	if fd, ok := o.def.Field(f.name); ok && fd.Doc != "" {
		p["description"] = fd.Doc
	}
	var t string
	switch f.typ {
	case TypeInt:
		t = "integer"
	case TypeNumber:
		t = "number"
	case TypeBool:
		t = "boolean"
	default:
		t = "string"
	}
	switch f.typ {
	case TypeEmail:
		p["format"] = "email"
	case TypeDate:
		p["format"] = "date"
	case TypeDateTime:
		p["format"] = "date-time"
	case TypeBinary:
		p["contentEncoding"] = "base64"
	}
	vd := f.valid
	if vd.maxLength > 0 {
		p["maxLength"] = vd.maxLength
	}
	if vd.minLength > 0 {
		p["minLength"] = vd.minLength
	} else if vd.required && t == "string" {
		p["minLength"] = 1
	}
	if vd.pattern != nil {
		p["pattern"] = vd.pattern.String()
	}
	if vd.min != nil {
		p["minimum"] = *vd.min
	}
	if vd.max != nil {
		p["maximum"] = *vd.max
	}
	switch {
	case vd.allowed != nil:
		p["enum"] = vd.allowed
	case f.typ == TypeEnum:
		p["enum"] = sortedPortalValues(f)
	}
	if f.def != nil && op == OpCreate {
		p["default"] = f.def
	}
	if vd.required {
		p["type"] = t
	} else {
		p["type"] = []string{t, "null"}
		if e, ok := p["enum"].([]string); ok {
			p["enum"] = append(append([]any{}, toAny(e)...), nil)
		}
	}
	return p
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

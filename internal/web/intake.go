package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/reply"
)

// intakeField is one field of a form generated from a mapping's intake
// JSON Schema: what the browser checks before sending (required, lengths,
// pattern, range, choices), and how the value is read back.
type intakeField struct {
	Name, Type, Format, Pattern, Default string
	Required                             bool
	MinLength, MaxLength                 int
	Minimum, Maximum                     *float64
	Enum                                 []string
}

// InputType is the HTML input type of a field that is not a choice.
func (f intakeField) InputType() string {
	switch {
	case f.Type == "integer" || f.Type == "number":
		return "number"
	case f.Type == "boolean":
		return "checkbox"
	case f.Format == "email" || f.Format == "date":
		return f.Format
	case f.Format == "date-time":
		return "datetime-local"
	}
	return "text"
}

// Long reports a text field long enough for a text area.
func (f intakeField) Long() bool { return f.MaxLength > 255 }

// Label is the message key of the field's label, and Choice of one of
// its choices.
func (f intakeField) Label(object string) string { return "intake." + object + "." + f.Name }

// Choice is the message key of one of the field's choices.
func (f intakeField) Choice(object, value string) string { return f.Label(object) + "." + value }

// schemaProperty is the part of a JSON Schema property a form uses.
type schemaProperty struct {
	Type      json.RawMessage `json:"type"`
	Format    string          `json:"format"`
	Pattern   string          `json:"pattern"`
	MinLength int             `json:"minLength"`
	MaxLength int             `json:"maxLength"`
	Minimum   *float64        `json:"minimum"`
	Maximum   *float64        `json:"maximum"`
	Enum      []any           `json:"enum"`
	Default   any             `json:"default"`
	Encoding  string          `json:"contentEncoding"`
}

// intakeForm reads an intake schema (mapping.Object.IntakeSchema) into
// form fields: the required ones first, then the others by name. Fields
// a form cannot carry (files, whose upload has its own page) are left out.
func intakeForm(schema []byte) ([]intakeField, error) {
	var s struct {
		Properties map[string]schemaProperty `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("web: intake schema: %w", err)
	}
	var out []intakeField
	for name, p := range s.Properties {
		if p.Encoding != "" {
			continue
		}
		f := intakeField{Name: name, Format: p.Format, Pattern: p.Pattern, MinLength: p.MinLength, MaxLength: p.MaxLength,
			Minimum: p.Minimum, Maximum: p.Maximum, Required: slices.Contains(s.Required, name)}
		var types []string
		if err := json.Unmarshal(p.Type, &types); err != nil {
			var one string
			if err := json.Unmarshal(p.Type, &one); err != nil {
				return nil, fmt.Errorf("web: intake schema: %s: type: %w", name, err)
			}
			types = []string{one}
		}
		f.Type = types[0]
		for _, v := range p.Enum {
			if sv, ok := v.(string); ok {
				f.Enum = append(f.Enum, sv)
			}
		}
		if p.Default != nil {
			f.Default = fmt.Sprint(p.Default)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b intakeField) int {
		if a.Required != b.Required {
			if a.Required {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// input reads the posted form into the action's input by the schema's
// types. Empty optional fields are left out; a number that is not one is
// a field error here, everything else the mapping validates.
func intakeInput(fields []intakeField, form map[string][]string) (map[string]any, []reply.Field) {
	in := map[string]any{}
	var bad []reply.Field
	for _, f := range fields {
		v := strings.TrimSpace(first(form[f.Name]))
		if f.Type == "boolean" {
			in[f.Name] = v != ""
			continue
		}
		if v == "" {
			continue
		}
		switch f.Type {
		case "integer":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				bad = append(bad, reply.Field{Path: f.Name, Message: key("field.whole_number")})
				continue
			}
			in[f.Name] = n
		case "number":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				bad = append(bad, reply.Field{Path: f.Name, Message: key("field.number")})
				continue
			}
			in[f.Name] = n
		default:
			in[f.Name] = v
		}
	}
	return in, bad
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// newCasePage is the form for a new case.
type newCasePage struct {
	Fields []intakeField
	Key    string
}

func (wb *Web) newCaseForm(r *http.Request) ([]intakeField, bool, error) {
	obj, ok := wb.d.Mappings.Object("case")
	if !ok || !wb.d.API.Reaches(r.Context(), "case") {
		return nil, false, nil
	}
	schema := obj.IntakeSchema(mapping.OpCreate)
	if schema == nil {
		return nil, false, nil
	}
	fields, err := intakeForm(schema)
	return fields, true, err
}

// newCase shows the form generated from the case mapping's intake schema.
func (wb *Web) newCase(w http.ResponseWriter, r *http.Request) {
	fields, ok, err := wb.newCaseForm(r)
	switch {
	case err != nil:
		wb.internal(w, r, err)
	case !ok:
		wb.fail(w, r, &reply.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "your role cannot open cases"})
	default:
		v := wb.newView(r, key("newcase.title"), newCasePage{Fields: fields, Key: formKey()})
		v.Section = "cases"
		for _, f := range fields {
			v.Form[f.Name] = f.Default
		}
		wb.render(w, r, http.StatusOK, "newcase", v)
	}
}

// createCase sends the new case through the write-back, as POST
// /api/v1/cases does; the mapping's field errors come back inline (422).
func (wb *Web) createCase(w http.ResponseWriter, r *http.Request) {
	fields, ok, err := wb.newCaseForm(r)
	switch {
	case err != nil:
		wb.internal(w, r, err)
		return
	case !ok:
		wb.fail(w, r, &reply.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "your role cannot open cases"})
		return
	}
	input, bad := intakeInput(fields, r.PostForm)
	var e *reply.Error
	if len(bad) > 0 {
		e = reply.Invalid(bad...)
	} else {
		_, _, e = wb.d.API.Submit(r, api.Submission{Object: "case", Op: mapping.OpCreate, Input: input, IdempotencyKey: formIdempotencyKey(r)})
	}
	if e == nil {
		http.Redirect(w, r, "/cases?sent=case", http.StatusSeeOther)
		return
	}
	if e.Status != http.StatusUnprocessableEntity {
		wb.fail(w, r, e)
		return
	}
	v := wb.newView(r, key("newcase.title"), newCasePage{Fields: fields, Key: first(r.PostForm["idempotency_key"])})
	v.Section = "cases"
	v.Fields = fieldErrors(v.L, e.Fields)
	v.Alert = key("form.fix_fields")
	for _, f := range fields {
		v.Form[f.Name] = r.PostForm.Get(f.Name)
	}
	wb.render(w, r, http.StatusUnprocessableEntity, "newcase", v)
}

// formIdempotencyKey is the form's idempotency key if it is one a page
// could have made: a bad one only loses the double-submit protection.
func formIdempotencyKey(r *http.Request) string {
	k := r.PostForm.Get("idempotency_key")
	if len(k) > 200 || strings.ContainsFunc(k, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return ""
	}
	return k
}

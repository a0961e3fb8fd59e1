package connectors

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Describer is implemented by connectors that can describe their source's
// objects: the fields, their types, which a create or an update may set,
// which a create must set, and a picklist's values. `portico mappings
// check --connection` checks the mappings against it and `portico
// mappings scaffold` starts a mapping from it.
//
// Where the source has a describe call (Salesforce) the schema is the
// org's own, custom fields included. Where it has none (QuickBooks'
// entities, Square's objects) it is the connector's built-in copy of the
// vendor's published shapes, and ObjectSchema.From says so.
type Describer interface {
	Describe(ctx context.Context, object string) (*ObjectSchema, error)
}

// ObjectSchema is one source object as the source describes it.
type ObjectSchema struct {
	Name   string        `json:"name"`
	Label  string        `json:"label"`
	From   string        `json:"from"` // "describe" or where a built-in schema was taken from
	Fields []FieldSchema `json:"fields"`
}

// FieldKind is the kind of value a field holds in the source's JSON,
// whatever the vendor calls its type.
type FieldKind string

const (
	KindString   FieldKind = "string"   // text, picklists, phone numbers, URLs
	KindText     FieldKind = "text"     // long text
	KindID       FieldKind = "id"       // the record's or another record's id
	KindInt      FieldKind = "int"      // a JSON integer
	KindNumber   FieldKind = "number"   // a JSON number (currency, percent, double)
	KindBool     FieldKind = "bool"     // true or false
	KindDate     FieldKind = "date"     // a string, YYYY-MM-DD
	KindDateTime FieldKind = "datetime" // a string, RFC 3339
	KindBinary   FieldKind = "binary"   // base64, or the URL of the content
	KindObject   FieldKind = "object"   // a nested object: Fields
	KindList     FieldKind = "list"     // an array: Fields are its elements' (none for a list of values)
)

// FieldSchema is one field of an ObjectSchema.
type FieldSchema struct {
	Name  string    `json:"name"`
	Label string    `json:"label"`
	Type  string    `json:"type"` // the vendor's own type name: picklist, reference, Money, ...
	Kind  FieldKind `json:"kind"`
	// Createable and Updateable say whether a create or an update may set
	// the field.
	Createable bool `json:"createable"`
	Updateable bool `json:"updateable"`
	// Required means a create must set the field.
	Required bool `json:"required,omitempty"`
	// Picklist lists the values a picklist field takes; Restricted means
	// the source refuses any other.
	Picklist   []string `json:"picklist,omitempty"`
	Restricted bool     `json:"restricted,omitempty"`
	// ReferenceTo and Relationship describe a reference to other records:
	// the objects it may point at and the name a path through it uses
	// (Salesforce AccountId: [Account], "Account" as in Account.Name).
	ReferenceTo  []string `json:"reference_to,omitempty"`
	Relationship string   `json:"relationship,omitempty"`
	// Length is the longest text the field holds (0: unknown).
	Length int `json:"length,omitempty"`
	// Fields are a nested object's fields, or a list's elements'.
	Fields []FieldSchema `json:"fields,omitempty"`
}

// Field finds a field by name; fold ignores case (Salesforce does).
func (s *ObjectSchema) Field(name string, fold bool) (FieldSchema, bool) {
	return findField(s.Fields, name, fold)
}

// Field finds one of a nested object's (or a list's elements') fields.
func (f *FieldSchema) Field(name string, fold bool) (FieldSchema, bool) {
	return findField(f.Fields, name, fold)
}

// ByRelationship finds the reference field whose relationship name is rel
// (case ignored, as Salesforce does).
func (s *ObjectSchema) ByRelationship(rel string) (FieldSchema, bool) {
	for _, f := range s.Fields {
		if f.Relationship != "" && strings.EqualFold(f.Relationship, rel) {
			return f, true
		}
	}
	return FieldSchema{}, false
}

func findField(fs []FieldSchema, name string, fold bool) (FieldSchema, bool) {
	for _, f := range fs {
		if f.Name == name || (fold && strings.EqualFold(f.Name, name)) {
			return f, true
		}
	}
	return FieldSchema{}, false
}

// KindDecimal is a number the source writes as a JSON string (Square's
// quantities: "2.5"), so that no precision is lost.
const KindDecimal FieldKind = "decimal"

// ParseSchemas reads built-in object schemas, for connectors whose source
// has no describe call, from a small indented text format:
//
//	# a comment
//	from: where the shapes were taken from
//	Invoice: Invoice
//	  Id id type=String
//	  DocNumber string c u len=21
//	  CustomerRef object c u req
//	    value id c u ref=Customer
//	  EmailStatus string c u enum=NotSet|NeedToSend|EmailSent
//
// An object line has no indentation: NAME: LABEL. A field line is
// indented two spaces per level of nesting under its object (or the
// object or list field it belongs to): NAME KIND, then any of type=
// (the vendor's type name), c (createable), u (updateable), req
// (required on create), len=N, enum=A|B (a restricted picklist) and
// ref=OBJECT.
func ParseSchemas(text string) (map[string]*ObjectSchema, error) {
	out := map[string]*ObjectSchema{}
	from := ""
	var obj *ObjectSchema
	// stack[i] is the field list at nesting depth i+1.
	var stack []*[]FieldSchema
	for n, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		bad := func(msg string) error { return fmt.Errorf("connectors: schema line %d: %s: %q", n+1, msg, line) }
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if indent == 0 {
			name, label, ok := strings.Cut(trimmed, ":")
			switch {
			case !ok:
				return nil, bad("want NAME: LABEL")
			case name == "from":
				from = strings.TrimSpace(label)
				continue
			}
			obj = &ObjectSchema{Name: name, Label: strings.TrimSpace(label), From: from}
			out[name] = obj
			stack = []*[]FieldSchema{&obj.Fields}
			continue
		}
		if obj == nil || indent%2 != 0 || indent/2 > len(stack) {
			return nil, bad("a field belongs under an object, indented two spaces per level")
		}
		stack = stack[:indent/2]
		words := strings.Fields(trimmed)
		if len(words) < 2 {
			return nil, bad("want NAME KIND [flags]")
		}
		f := FieldSchema{Name: words[0], Label: words[0], Kind: FieldKind(words[1]), Type: words[1]}
		for _, w := range words[2:] {
			k, v, _ := strings.Cut(w, "=")
			switch k {
			case "c":
				f.Createable = true
			case "u":
				f.Updateable = true
			case "req":
				f.Required = true
			case "type":
				f.Type = v
			case "len":
				if _, err := fmt.Sscan(v, &f.Length); err != nil {
					return nil, bad("len= wants a number")
				}
			case "enum":
				f.Picklist, f.Restricted = strings.Split(v, "|"), true
				if f.Type == string(f.Kind) {
					f.Type = "enum"
				}
			case "ref":
				f.ReferenceTo = []string{v}
			default:
				return nil, bad("unknown flag " + w)
			}
		}
		list := stack[len(stack)-1]
		*list = append(*list, f)
		if f.Kind == KindObject || f.Kind == KindList {
			stack = append(stack, &(*list)[len(*list)-1].Fields)
		}
	}
	return out, nil
}

// BuiltinSchemas answers Describe from built-in schemas in ParseSchemas'
// format, for a connector whose source has no describe call.
type BuiltinSchemas struct {
	parsed func() (map[string]*ObjectSchema, error)
}

// NewBuiltinSchemas parses text on first use.
func NewBuiltinSchemas(text string) *BuiltinSchemas {
	return &BuiltinSchemas{parsed: sync.OnceValues(func() (map[string]*ObjectSchema, error) { return ParseSchemas(text) })}
}

// Describe implements Describer: a copy of object's built-in schema.
func (b *BuiltinSchemas) Describe(_ context.Context, object string) (*ObjectSchema, error) {
	all, err := b.parsed()
	if err != nil {
		return nil, err
	}
	s, ok := all[object]
	if !ok {
		return nil, &InvalidError{Field: "object", Msg: "no built-in schema of " + object}
	}
	out := *s
	out.Fields = slices.Clone(s.Fields)
	return &out, nil
}

package mapping

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Type is a portal field type.
type Type string

// Portal field types. Values travel as JSON: dates and times as strings
// (RFC 3339, UTC), binary as base64.
const (
	TypeID       Type = "id"
	TypeString   Type = "string"
	TypeText     Type = "text"
	TypeEmail    Type = "email"
	TypeEnum     Type = "enum"
	TypeInt      Type = "int"
	TypeNumber   Type = "number"
	TypeBool     Type = "bool"
	TypeDate     Type = "date"
	TypeDateTime Type = "datetime"
	TypeBinary   Type = "binary"
	TypeList     Type = "list"
)

var knownTypes = []Type{TypeID, TypeString, TypeText, TypeEmail, TypeEnum, TypeInt, TypeNumber, TypeBool, TypeDate, TypeDateTime, TypeBinary, TypeList}

func (t Type) known() bool {
	for _, k := range knownTypes {
		if k == t {
			return true
		}
	}
	return false
}

func (t Type) stringy() bool {
	switch t {
	case TypeID, TypeString, TypeText, TypeEmail, TypeEnum, TypeBinary:
		return true
	}
	return false
}

// Customer roles within an account, and the staff role.
const (
	RoleAccountAdmin  = "account_admin"
	RoleMember        = "member"
	RoleBilling       = "billing"
	RolePurchasing    = "purchasing"
	RoleOperatorAdmin = "operator_admin"
)

// Roles lists every role a mapping may name.
func Roles() []string {
	return []string{RoleAccountAdmin, RoleMember, RoleBilling, RolePurchasing, RoleOperatorAdmin}
}

// seesAll reports roles that see every field of every object they can
// reach: the account's admin and the operator's staff.
func seesAll(role string) bool { return role == RoleAccountAdmin || role == RoleOperatorAdmin }

// FieldDef is one field of a canonical portal object.
type FieldDef struct {
	Name     string
	Type     Type
	Of       string // element object of a list field
	Required bool   // every mapping must fill it
	Doc      string
}

// ObjectDef is a canonical portal object. API and UI work against these,
// never against vendor fields. In model.yaml each key is the field's name
// in lower case.
type ObjectDef struct {
	Name string
	Doc  string
	// Owned objects belong to an account; their mapping must say how
	// (the owner relation). Public ones (articles, products) do not.
	Owned bool
	// Embedded objects exist only inside a parent's list field.
	Embedded bool
	// RefKeys are account fields other systems' records point at; an
	// owner relation may resolve through one of them.
	RefKeys []string `yaml:"ref_keys"`
	Fields  []FieldDef
}

// Field returns the named field.
func (d *ObjectDef) Field(name string) (FieldDef, bool) {
	for _, f := range d.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldDef{}, false
}

// HasStatus reports objects whose status needs a customer-facing label and
// next step for every value.
func (d *ObjectDef) HasStatus() bool {
	f, ok := d.Field("status")
	return ok && f.Type == TypeEnum && !d.Embedded
}

// modelYAML is the model as data: a table of objects and fields reads
// better there than as Go literals, and mappings/README.md is rendered
// from it.
//
//go:embed model.yaml
var modelYAML []byte

// model is modelYAML decoded and checked once; a bad model.yaml fails
// every test of the package (TestModelIsWellFormed names the problem).
var model = sync.OnceValues(func() ([]ObjectDef, error) { return parseModel(modelYAML) })

func parseModel(data []byte) ([]ObjectDef, error) {
	var objs []ObjectDef
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&objs); err != nil {
		return nil, fmt.Errorf("mapping: model.yaml: %w", err)
	}
	names := map[string]bool{}
	for _, o := range objs {
		names[o.Name] = true
	}
	for _, o := range objs {
		if o.Name == "" || o.Doc == "" || len(o.Fields) == 0 {
			return nil, fmt.Errorf("mapping: model.yaml: object %q needs a name, a doc and fields", o.Name)
		}
		for _, fd := range o.Fields {
			switch {
			case fd.Name == "" || fd.Doc == "" || !fd.Type.known():
				return nil, fmt.Errorf("mapping: model.yaml: %s.%s needs a name, a doc and a known type (got %q)", o.Name, fd.Name, fd.Type)
			case fd.Of != "" && (fd.Type != TypeList || !names[fd.Of]):
				return nil, fmt.Errorf("mapping: model.yaml: %s.%s: of names an object of the model, on a list field", o.Name, fd.Name)
			}
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
	return objs, nil
}

// Model returns the canonical portal objects, sorted by name. It is a fresh
// copy each call.
func Model() []ObjectDef {
	objs, err := model()
	if err != nil {
		panic(err) // model.yaml is compiled in; TestModelIsWellFormed catches this
	}
	out := make([]ObjectDef, len(objs))
	for i, o := range objs {
		o.RefKeys = slices.Clone(o.RefKeys)
		o.Fields = slices.Clone(o.Fields)
		out[i] = o
	}
	return out
}

// ModelMarkdown renders the model as the tables in mappings/README.md.
func ModelMarkdown() string {
	var b strings.Builder
	for _, o := range Model() {
		kind := "owned by an account"
		switch {
		case o.Embedded:
			kind = "embedded in its parent"
		case !o.Owned:
			kind = "public"
		}
		fmt.Fprintf(&b, "### %s\n\n%s (%s)\n\n| field | type | required | meaning |\n|---|---|---|---|\n", o.Name, o.Doc, kind)
		for _, fd := range o.Fields {
			t := string(fd.Type)
			if fd.Type == TypeList {
				t = "list of " + fd.Of
				if fd.Of == "" {
					t = "list of id"
				}
			}
			r := ""
			if fd.Required {
				r = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", fd.Name, t, r, fd.Doc)
		}
		b.WriteString("\n")
	}
	return b.String()
}

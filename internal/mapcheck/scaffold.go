package mapcheck

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/mapping"
)

// ScaffoldInput says what to scaffold.
type ScaffoldInput struct {
	Connection string // the connection's name
	Type       string // its connector type, for the comments
	Object     string // the source object ("Case")
	Portal     string // the portal object ("case"); "" to guess from Object
	// Info is the connector's ObjectInfo of Object (its key and cursor
	// field), when the connector syncs it.
	Info *connectors.ObjectInfo
}

// Scaffold writes a starting mapping of one source object from its
// schema: the portal object's fields matched to source fields by name
// (Subject for subject, AccountId for account_id, Account.Name for
// account_name, CreatedDate for created_at), picklists as enum values,
// the owner from the references to accounts and contacts, and every
// other scalar source field as a custom portal field (x_...) for the
// integrator to trim. Each field carries a comment with the source's type
// and label. What cannot be matched is marked TODO with a placeholder
// that compiles, so `portico mappings check --connection` accepts the
// result as written.
func Scaffold(ctx context.Context, d connectors.Describer, in ScaffoldInput) ([]byte, error) {
	s, err := d.Describe(ctx, in.Object)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", in.Object, err)
	}
	def, err := portalDef(in)
	if err != nil {
		return nil, err
	}
	sc := &scaffold{ctx: ctx, d: d, s: s, def: def, in: in, used: map[string]bool{}}
	return sc.write(), nil
}

func portalDef(in ScaffoldInput) (mapping.ObjectDef, error) {
	want := in.Portal
	if want == "" {
		want = snake(in.Object)
	}
	var names []string
	for _, def := range mapping.Model() {
		if def.Embedded {
			continue
		}
		if def.Name == want {
			return def, nil
		}
		names = append(names, def.Name)
	}
	if in.Portal == "" {
		return mapping.ObjectDef{}, fmt.Errorf("no portal object is called %q like %s: name one with --as (%s)", want, in.Object, strings.Join(names, ", "))
	}
	return mapping.ObjectDef{}, fmt.Errorf("unknown portal object %q (known: %s)", in.Portal, strings.Join(names, ", "))
}

type scaffold struct {
	ctx  context.Context
	d    connectors.Describer
	s    *connectors.ObjectSchema
	def  mapping.ObjectDef
	in   ScaffoldInput
	used map[string]bool
	sync []string
	b    strings.Builder
}

func (sc *scaffold) line(indent int, format string, args ...any) {
	sc.b.WriteString(strings.Repeat("  ", indent))
	fmt.Fprintf(&sc.b, format, args...)
	sc.b.WriteByte('\n')
}

// lookup finds a dotted path in the schema (through nested objects).
func (sc *scaffold) lookup(path string) (connectors.FieldSchema, bool) {
	fields := sc.s.Fields
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		f, ok := find(fields, seg)
		if !ok {
			return f, false
		}
		if i == len(segs)-1 {
			return f, true
		}
		fields = f.Fields
	}
	return connectors.FieldSchema{}, false
}

// first is the first of paths the schema has, unused, and fitting t.
func (sc *scaffold) first(t mapping.Type, paths ...string) (string, connectors.FieldSchema, bool) {
	for _, p := range paths {
		if p == "" || sc.used[p] {
			continue
		}
		if f, ok := sc.lookup(p); ok && fits(t, f.Kind) && (t != mapping.TypeEnum || len(f.Picklist) > 0) {
			return p, f, true
		}
		// Salesforce names are case-insensitive in SOQL but not in JSON:
		// take the source's spelling.
		if !strings.Contains(p, ".") {
			for _, f := range sc.s.Fields {
				if strings.EqualFold(f.Name, p) && !sc.used[f.Name] && fits(t, f.Kind) && (t != mapping.TypeEnum || len(f.Picklist) > 0) {
					return f.Name, f, true
				}
			}
		}
	}
	return "", connectors.FieldSchema{}, false
}

// candidates are the source paths a portal field is likely fed from, best
// first.
func (sc *scaffold) candidates(name string) []string {
	cc := camel(name)
	out := []string{name, cc}
	switch {
	case name == "created_at":
		out = append(out, "CreatedDate", "MetaData.CreateTime", "created_at")
	case name == "updated_at":
		out = append(out, "LastModifiedDate", "MetaData.LastUpdatedTime", "updated_at")
	case strings.HasSuffix(name, "_at"):
		out = append(out, cc[:len(cc)-2]+"Date")
	case name == "issued_on" || name == "paid_on":
		out = append(out, "TxnDate")
	case strings.HasSuffix(name, "_on"):
		out = append(out, cc[:len(cc)-2]+"Date")
	case name == "currency":
		out = append(out, "CurrencyRef.value", "CurrencyIsoCode", "total_money.currency")
	case name == "number":
		out = append(out, sc.s.Name+"Number", "DocNumber")
	case name == "name":
		out = append(out, "Name", "DisplayName", "Title")
	case name == "title":
		out = append(out, "Name")
	case name == "total":
		out = append(out, "TotalAmt", "GrandTotal", "total_money.amount")
	case strings.HasSuffix(name, "_name"):
		// account_name: the name of the record account_id points at.
		ref := strings.TrimSuffix(name, "_name")
		if f, ok := find(sc.s.Fields, camel(ref)+"Id"); ok && f.Relationship != "" {
			out = append(out, f.Relationship+".Name")
		}
	case strings.HasSuffix(name, "_id"):
		out = append(out, strings.TrimSuffix(cc, "Id")+"Ref.value")
	}
	return out
}

// relatedName checks a relationship path Rel.Name against the related
// object's describe.
func (sc *scaffold) relatedName(path string) (connectors.FieldSchema, bool) {
	rel, fname, ok := strings.Cut(path, ".")
	if !ok || sc.used[path] {
		return connectors.FieldSchema{}, false
	}
	ref, ok := relationship(sc.s.Fields, rel)
	if !ok || len(ref.ReferenceTo) == 0 {
		return connectors.FieldSchema{}, false
	}
	ts, err := sc.d.Describe(sc.ctx, ref.ReferenceTo[0])
	if err != nil {
		return connectors.FieldSchema{}, false
	}
	return find(ts.Fields, fname)
}

func (sc *scaffold) write() []byte {
	in, s, def := sc.in, sc.s, sc.def
	sc.line(0, "# %s -> portal %s: a starting mapping written by `portico mappings scaffold`", in.Object, def.Name)
	sc.line(0, "# from the %s connector's schema of %s: %s.", in.Type, in.Object, s.From)
	sc.line(0, "# Trim it: delete what customers should not see, fix each TODO, then run")
	sc.line(0, "# `portico mappings check --connection %s` and `portico mappings apply`.", in.Connection)
	sc.line(0, "# Reference: mappings/README.md.")
	sc.line(0, "version: 1")
	sc.line(0, "connection: %s", in.Connection)
	sc.line(0, "")
	sc.line(0, "objects:")
	sc.line(1, "%s:", def.Name)
	sc.source()
	if def.Owned {
		sc.owner()
	}
	sc.line(2, "# How old a record may be before the portal reads it again.")
	sc.line(2, "freshness: 15m")
	sc.line(2, "# The customer roles that see %s records at all.", def.Name)
	sc.line(2, "roles: [account_admin, member]")
	sc.line(2, "fields:")
	var statusValues []string
	for _, pf := range def.Fields {
		if pf.Type == mapping.TypeList || pf.Type == mapping.TypeBinary {
			sc.line(3, "# %s (%s, %s) is not scaffolded: map it by hand (see mappings/README.md).", pf.Name, pf.Type, pf.Doc)
			continue
		}
		vals := sc.field(pf)
		if pf.Name == "status" && def.HasStatus() {
			statusValues = vals
		}
	}
	sc.customs()
	if def.HasStatus() {
		sc.line(2, "# What each status means to a customer: a label and the next step.")
		sc.line(2, "status:")
		for _, v := range statusValues {
			sc.line(3, "%s: {label: %s, next_step: %s}", v, quote(valueLabel(v)), quote("TODO: say what happens next."))
		}
	}
	return []byte(sc.b.String())
}

func (sc *scaffold) source() {
	key, version, modified := "", "", ""
	if sc.in.Info != nil {
		key, modified = sc.in.Info.Key, sc.in.Info.CursorField
	}
	if strings.Contains(key, ":") || key == "" {
		key = firstOf(sc, "Id", "id")
	}
	for _, v := range []string{"SystemModstamp", "SyncToken", "version"} {
		if _, ok := sc.lookup(v); ok {
			version = v
			break
		}
	}
	if _, ok := sc.lookup(modified); !ok {
		modified = firstOf(sc, "LastModifiedDate", "MetaData.LastUpdatedTime", "updated_at", "CreatedDate")
	}
	parts := []string{"object: " + sc.in.Object, "key: " + key}
	if version != "" {
		parts = append(parts, "version: "+version)
	}
	if modified != "" {
		parts = append(parts, "modified: "+modified)
	}
	sc.line(2, "source: {%s}", strings.Join(parts, ", "))
	// The sync reads them: they are no custom fields (a portal field may
	// still show them, as id shows the key).
	sc.sync = []string{key, version, modified}
}

func firstOf(sc *scaffold, paths ...string) string {
	for _, p := range paths {
		if _, ok := sc.lookup(p); ok {
			return p
		}
	}
	return ""
}

// owner finds the account (and contact) a record belongs to: its own id
// for an account, else a reference to an account or a contact.
func (sc *scaffold) owner() {
	refTo := func(objs ...string) string {
		for _, f := range sc.s.Fields {
			for _, o := range objs {
				if slices.Contains(f.ReferenceTo, o) {
					return f.Name
				}
			}
		}
		return ""
	}
	account, contact := "", refTo("Contact")
	switch {
	case sc.def.Name == "account":
		account = firstOf(sc, "Id", "id")
	case sc.def.Name == "contact":
		account, contact = refTo("Account"), firstOf(sc, "Id", "id")
	default:
		account = refTo("Account")
	}
	if account == "" {
		if p, ok := sc.lookup("CustomerRef.value"); ok && p.Kind == connectors.KindID {
			sc.line(2, "# The owner is the portal account whose accounting_customer_id is the record's customer.")
			sc.line(2, "owner: {account: {source: CustomerRef.value, via: accounting_customer_id}, hierarchy: true}")
			return
		}
		if _, ok := sc.lookup("customer_id"); ok {
			sc.line(2, "# The owner is the portal account whose inventory_customer_id is the record's customer.")
			sc.line(2, "owner: {account: {source: customer_id, via: inventory_customer_id}, hierarchy: true}")
			return
		}
		key := firstOf(sc, "Id", "id")
		sc.line(2, "# TODO: %s has no reference to an account: say whose records these are", sc.s.Name)
		sc.line(2, "# (owner.account, owner.parent); until then each record is owned by an account of its own id.")
		sc.line(2, "owner: {account: %s, hierarchy: true}", key)
		return
	}
	sc.line(2, "# Whose record it is: the account (and contact) it belongs to; parent accounts see it too.")
	if contact != "" && contact != account {
		sc.line(2, "owner: {account: %s, contact: %s, hierarchy: true}", account, contact)
		return
	}
	sc.line(2, "owner: {account: %s, hierarchy: true}", account)
}

// field writes one portal field of the model and returns an enum's portal
// values.
func (sc *scaffold) field(pf mapping.FieldDef) []string {
	path, f, ok := sc.first(pf.Type, sc.candidates(pf.Name)...)
	if !ok {
		for _, c := range sc.candidates(pf.Name) {
			if rf, rok := sc.relatedName(c); rok && fits(pf.Type, rf.Kind) {
				path, f, ok = c, rf, true
				break
			}
		}
	}
	if !ok {
		if !pf.Required {
			sc.line(3, "# %s (%s): no matching source field found; map one by hand or leave it out.", pf.Name, pf.Doc)
			return nil
		}
		sc.line(3, "# TODO: %s (%s) is required and no source field matched: map it.", pf.Name, pf.Doc)
		if pf.Type == mapping.TypeEnum {
			sc.line(3, "%s: {transform: \"'unknown'\", values: {unknown: unknown}}", pf.Name)
			return []string{"unknown"}
		}
		sc.line(3, "%s: {transform: \"'TODO'\"}", pf.Name)
		return nil
	}
	sc.used[path] = true
	comment := describeField(f)
	if rel, fname, ok := strings.Cut(path, "."); ok {
		if _, isRel := relationship(sc.s.Fields, rel); isRel {
			comment = fmt.Sprintf("the %s of the related %s (%s)", fname, rel, f.Type)
		}
	}
	if pf.Type != mapping.TypeEnum {
		sc.line(3, "%s: %s  # %s", pf.Name, path, comment)
		return nil
	}
	sc.line(3, "%s:  # %s", pf.Name, comment)
	sc.line(4, "source: %s", path)
	var pairs, portal []string
	for _, v := range f.Picklist {
		pv := snake(v)
		if pv == "" {
			pv = "value"
		}
		pairs = append(pairs, quote(v)+": "+pv)
		if !slices.Contains(portal, pv) {
			portal = append(portal, pv)
		}
	}
	sc.line(4, "# Source value: portal value. Map values that mean the same to the customer onto one.")
	sc.line(4, "values: {%s}", strings.Join(pairs, ", "))
	return portal
}

// customs writes every other scalar source field as a custom portal field.
func (sc *scaffold) customs() {
	var lines []string
	names := map[string]bool{}
	for _, pf := range sc.def.Fields {
		names[pf.Name] = true
	}
	for _, f := range sc.s.Fields {
		if sc.used[f.Name] || slices.Contains(sc.sync, f.Name) || f.Kind == connectors.KindObject || f.Kind == connectors.KindList {
			continue
		}
		t, ok := portalType(f.Kind)
		if !ok {
			continue
		}
		name := "x_" + snake(strings.TrimSuffix(f.Name, "__c"))
		if names[name] || name == "x_" {
			continue
		}
		names[name] = true
		lines = append(lines, fmt.Sprintf("%s: {source: %s, type: %s}  # %s", name, f.Name, t, describeField(f)))
	}
	if len(lines) == 0 {
		return
	}
	sc.line(3, "# The source's other fields, as custom portal fields: delete those customers")
	sc.line(3, "# should not see (or give them roles: [...]).")
	for _, l := range lines {
		sc.line(3, "%s", l)
	}
}

func portalType(k connectors.FieldKind) (mapping.Type, bool) {
	switch k {
	case connectors.KindString:
		return mapping.TypeString, true
	case connectors.KindText:
		return mapping.TypeText, true
	case connectors.KindID:
		return mapping.TypeID, true
	case connectors.KindInt:
		return mapping.TypeInt, true
	case connectors.KindNumber, connectors.KindDecimal:
		return mapping.TypeNumber, true
	case connectors.KindBool:
		return mapping.TypeBool, true
	case connectors.KindDate:
		return mapping.TypeDate, true
	case connectors.KindDateTime:
		return mapping.TypeDateTime, true
	}
	return "", false
}

// describeField is a field's comment: the source's type and label, what
// a write may do with it, and a picklist's values.
func describeField(f connectors.FieldSchema) string {
	var parts []string
	t := f.Type
	if t == "" {
		t = string(f.Kind)
	}
	parts = append(parts, t)
	if f.Label != "" && f.Label != f.Name {
		parts = append(parts, fmt.Sprintf("%q", f.Label))
	}
	switch {
	case f.Required:
		parts = append(parts, "required on create")
	case !f.Createable && !f.Updateable:
		parts = append(parts, "read-only")
	}
	return strings.Join(parts, ", ")
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// snake turns a source name or value into a portal name: AccountId
// account_id, "Waiting on Customer" waiting_on_customer.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Trim(nonWord.ReplaceAllString(b.String(), "_"), "_")
}

// camel turns a portal name into a Salesforce-style one: account_id
// AccountId.
func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "_") {
		if w == "" {
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// valueLabel turns a portal value into a label: in_progress "In progress".
func valueLabel(v string) string {
	s := strings.ReplaceAll(v, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var plain = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _.-]*$`)

// quote writes a YAML scalar, quoted when it would not read back as the
// same string.
func quote(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return fmt.Sprintf("%q", s)
	}
	if plain.MatchString(s) && !strings.HasSuffix(s, " ") {
		return s
	}
	return fmt.Sprintf("%q", s)
}
